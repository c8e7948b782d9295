"""CPU per datagram of the receive path alone (no screen), for each way it can be set up.

Floods a transport with the C sender and measures, per received datagram, the receive
thread's CPU and the CPU of `session.ingest` on the main thread (what the UI thread pays
before drawing), from /proc/self/task/TID/schedstat. Variants: recvmmsg or the recvmsg loop,
with or without the arrival timestamp and the local address (pktinfo).

    python bench/receive_cost.py [--count 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from flood import compile_sender  # noqa: E402
from threads import thread_ns  # noqa: E402

import udptui.net.transport as transport_module  # noqa: E402
from udptui.chat.session import ChatSession  # noqa: E402
from udptui.net.batch import SO_TIMESTAMPNS  # noqa: E402
from udptui.net.transport import UdpTransport  # noqa: E402

VARIANTS = {
    "recvmmsg, time + local address": {"mmsg": True, "timestamps": True, "pktinfo": True},
    "recvmmsg, time only": {"mmsg": True, "timestamps": True, "pktinfo": False},
    "recvmmsg, neither": {"mmsg": True, "timestamps": False, "pktinfo": False},
    "recvmsg loop, time + local address": {"mmsg": False, "timestamps": True, "pktinfo": True},
}


def measure(sender: Path, count: int, variant: dict[str, bool]) -> dict[str, float]:
    transport_module.LOCAL_ADDRESSES = variant["pktinfo"]
    os.environ["UDPTUI_RECVMMSG"] = "1" if variant["mmsg"] else "0"
    transport = UdpTransport.open(port=0, rcvbuf=64 * 1024 * 1024)
    if not variant["timestamps"]:
        transport.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)
    session = ChatSession(transport, follow=True)
    tids: list[int] = []

    def receive() -> None:
        tids.append(threading.get_native_id())
        transport.run_receiver()

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    while not tids:
        time.sleep(0.01)
    session.ingest(transport.take_all())  # the rcvbuf notice, if any
    main = threading.get_native_id()
    rx_before, ui_spent = thread_ns(tids[0]), 0
    port = transport.local_address.port
    process = subprocess.Popen(
        [str(sender), "127.0.0.1", str(port), str(count), "0", "64"], stdout=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while session.counters.received + transport.refresh_drop_count() < count and time.monotonic() < deadline:
        time.sleep(0.05)  # the UI's timer
        before = thread_ns(main)
        session.ingest(transport.take_all())
        ui_spent += thread_ns(main) - before
    process.wait()
    rx_spent = thread_ns(tids[0]) - rx_before
    received = session.counters.received
    transport.close()
    # The store must still give every kept entry with a time and, where asked, a local address.
    last = session.store[len(session.store) - 1]
    return {
        "received": received,
        "rx_us": rx_spent / 1000 / max(received, 1),
        "ingest_us": ui_spent / 1000 / max(received, 1),
        "local_address_known": float(last.local_address is not None),
        "call": transport.receive_call == "recvmmsg",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="udptui-cost-") as directory:
        sender = compile_sender(Path(directory))
        print(
            f"{'variant':<36} {'rx µs/dgram':>14} {'ingest µs/dgram':>16} {'received':>9}  "
            f"load {os.getloadavg()[0]:.2f}"
        )
        for name, variant in VARIANTS.items():
            runs = [measure(sender, args.count, variant) for _ in range(args.repeat)]
            rx = statistics.median(run["rx_us"] for run in runs)
            ingest = statistics.median(run["ingest_us"] for run in runs)
            received = statistics.median(run["received"] for run in runs)
            print(f"{name:<36} {rx:>14.3f} {ingest:>16.3f} {received:>9,.0f}")


if __name__ == "__main__":
    main()
