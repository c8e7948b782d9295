"""CPU per datagram that muting adds to the UI thread, against a flood from one sender.

Feeds `session.ingest` whole batches of 256 datagrams (as the receive thread makes them) and
then does the log's own bookkeeping for them (what `ChatLog.entries_added` does for its rows),
for: nothing muted (the plain view, the baseline), another host muted while the flood is
shown (the view keeps runs of shown seqs), the flooding host itself muted, the text filter
(F5) for comparison, which makes and matches an entry per datagram, a flood of one-shot
senders (a new port each datagram, one in four from a muted host), looked at sender by sender,
and batches from two and from eight senders with datagrams of mixed sizes (their bytes per
sender summed for the peers pane).

    python bench/mute_cost.py [--count 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from udptui.chat.session import ChatSession
from udptui.chat.view import entry_matches
from udptui.net.batch import RecvBatch
from udptui.net.transport import UdpTransport
from udptui.ui.widgets.log_lines import LogLines, ShownRuns

BATCH = 256
SENDER = ("127.0.0.1", 40000)


def run(transport: UdpTransport, count: int, case: str) -> tuple[float, float]:
    """(ingest, log bookkeeping) in µs per datagram."""
    session = ChatSession(transport, follow=True, scrollback=10_000)
    if case == "another host muted":
        session.muting.mute("10.0.0.9", None)
    elif case == "the flooding host muted":
        session.muting.mute("127.0.0.1", None)
    payload = b"x" * 64
    senders = [SENDER] * BATCH
    if case.startswith("one-shot"):  # every datagram from another port, every 4th of host .9
        if "nothing" not in case:
            session.muting.mute("127.0.0.9", None)
        hosts = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.9")
        senders = [(hosts[index % 4], 20000 + index) for index in range(BATCH)]
    payloads = [payload] * BATCH
    if case.startswith(("two senders", "eight senders")):
        hosts = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4") * 2
        many = 2 if case.startswith("two") else 8
        senders = [(hosts[index % many], 30000 + index % many) for index in range(BATCH)]
        payloads = [b"x" * (16 + index % 64) for index in range(BATCH)]
    batches = [RecvBatch(payloads, senders, read_ns=time.time_ns()) for _ in range(count // BATCH)]
    runs, lines = ShownRuns(), LogLines()
    ingest_ns = log_ns = 0
    for batch in batches:
        started = time.perf_counter_ns()
        result = session.ingest([batch])
        ingest_ns += time.perf_counter_ns() - started
        started = time.perf_counter_ns()
        if case == "filter (F5), nothing muted":
            lines.extend((entry, 1, 0) for entry in result.entries if entry_matches(entry, "needle"))
        elif session.muting:
            oldest = session.store.total - len(session.store)
            runs.drop_before(oldest)
            for seq, length in session.muting.shown_seqs(result.entries):
                runs.add(seq, length)
        log_ns += time.perf_counter_ns() - started
    total = len(batches) * BATCH
    return ingest_ns / total / 1000, log_ns / total / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    transport = UdpTransport.open(bind_host="127.0.0.1", port=0)
    try:
        cases = [
            "nothing muted",
            "another host muted",
            "the flooding host muted",
            "filter (F5), nothing muted",
            "one-shot senders, nothing muted",
            "one-shot senders, 1 in 4 muted",
            "two senders, mixed sizes",
            "eight senders, mixed sizes",
        ]
        print(f"{options.count:,} datagrams, batches of {BATCH}, median of {options.repeat}:")
        print(f"{'case':32} {'ingest µs/dgram':>16} {'log rows µs/dgram':>18}")
        for case in cases:
            figures = [run(transport, options.count, case) for _ in range(options.repeat)]
            ingest = statistics.median(figure[0] for figure in figures)
            log = statistics.median(figure[1] for figure in figures)
            print(f"{case:32} {ingest:16.3f} {log:18.3f}")
    finally:
        transport.close()


if __name__ == "__main__":
    main()
