"""CPU per datagram of the JSON lines `--log` and `--jsonl` write, read straight off real
batches (`batch_records.records_text`): the one per-datagram path the destination mark adds
work to (a scan of the control bytes for the pktinfo address).

Receives `--count` datagrams sent to 127.0.0.1 (unicast: no `"to"`), and as many sent to a
group joined on lo (each record gets `"to"`), then times writing their records, best of
`--repeat`.

    python bench/records_cost.py [--count 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from udptui.chat.session import ChatSession
from udptui.chat.store import FreshEntries
from udptui.net.transport import UdpTransport
from udptui.record.batch_records import records_text

GROUP = f"239.{os.getpid() % 250 + 1}.7.9"


class Keeper:
    label = "keeper"

    def __init__(self) -> None:
        self.handed: list[FreshEntries] = []

    def write(self, entries: FreshEntries) -> None:
        self.handed.append(entries)

    def close(self) -> None:
        pass


def received(count: int, to_group: bool) -> list[FreshEntries]:
    transport = UdpTransport.open(port=0, rcvbuf=64 * 1024 * 1024)
    port = transport.local_address.port
    if to_group:
        request = (
            socket.inet_aton(GROUP)
            + socket.inet_aton("0.0.0.0")
            + struct.pack("@i", socket.if_nametoindex("lo"))
        )
        transport.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
    session, keeper = ChatSession(transport), Keeper()
    session.add_writer(keeper)
    thread = threading.Thread(target=transport.run_receiver, daemon=True)
    thread.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        where = (GROUP if to_group else "127.0.0.1", port)
        for number in range(count):
            sender.sendto(b"datagram %d" % number, where)
            if number % 2000 == 1999:
                time.sleep(0.002)  # let the receiver keep up: the figure is per record, not loss
    deadline = time.monotonic() + 30
    while session.counters.received < count and time.monotonic() < deadline:
        session.ingest(transport.take_all())
        time.sleep(0.01)
    transport.stop()
    thread.join(timeout=2)
    transport.close()
    return keeper.handed


def cost(handed: list[FreshEntries]) -> tuple[float, int]:
    records = sum(len(written) for written in handed)
    started = time.thread_time_ns()
    text = "".join(records_text(written) for written in handed)
    spent = time.thread_time_ns() - started
    assert text.count("\n") == records
    return spent / 1000 / max(records, 1), records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'datagrams':<28} {'µs per record (median)':>22} {'records':>9}  load {os.getloadavg()[0]:.2f}")
    for name, to_group in (('unicast (no "to")', False), (f'to {GROUP} ("to")', True)):
        handed = received(args.count, to_group)
        runs = [cost(handed) for _ in range(args.repeat)]
        print(f"{name:<28} {statistics.median(run[0] for run in runs):>22.3f} {runs[0][1]:>9,}")


if __name__ == "__main__":
    main()
