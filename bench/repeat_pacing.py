"""Repeat pacing: the rate `/repeat` achieves against the rate asked, with the UI running.

Runs the real app headless (`run_test`), types `/repeat COUNT INTERVAL ping` at 1k, 10k and
50k datagrams a second (about a second of traffic each, several runs, the median shown),
and counts on a plain Python socket, read on its own thread, what arrived; then
`/repeat 100000 0 ping`, as fast as the socket takes them.

    python bench/repeat_pacing.py             # 5 runs per rate
    python bench/repeat_pacing.py --runs 3

Only loopback traffic; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from udptui.chat.repeat import Repeat, RepeatPlan  # noqa: E402
from udptui.config import Config  # noqa: E402
from udptui.net.address import Address  # noqa: E402
from udptui.net.transport import UdpTransport, set_receive_buffer  # noqa: E402
from udptui.ui.app import make_app  # noqa: E402
from udptui.ui.widgets import Composer  # noqa: E402

RATES = (1_000, 10_000, 50_000, 0)
"""Rates asked for; 0 is `/repeat N 0 ping`, as fast as the socket takes them."""
FULL_SPEED_COUNT = 100_000
SECONDS = 1.0


class Counter:
    """A plain socket on a thread, counting datagrams and the time from the first to the last."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        set_receive_buffer(self.sock, 16 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.count = 0
        self.first = self.last = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def address(self) -> Address:
        host, port = self.sock.getsockname()
        return Address(host, port)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sock.recv(2048)
            except TimeoutError:
                continue
            now = time.perf_counter()
            if not self.count:
                self.first = now
            self.last = now
            self.count += 1

    def wait_quiet(self, expected: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count < expected and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


async def one_run(rate: int) -> tuple[float, float, int, int]:
    """(achieved send rate, receive-side rate, sent, received) for one repeat at `rate`/s
    (0: no pause between sends, FULL_SPEED_COUNT of them)."""
    counter = Counter()
    count = int(rate * SECONDS) if rate else FULL_SPEED_COUNT
    interval = f"{1e6 / rate:g}us" if rate else "0"
    transport = UdpTransport.open(bind_host="127.0.0.1")
    app = make_app(Config(peer=counter.address), transport=transport)
    try:
        async with app.run_test() as pilot:
            composer = app.query_one(Composer)
            composer.value = f"/repeat {count} {interval} ping"
            started: list[Repeat] = []
            start_repeat = app.sending.start_repeat

            def keep(plan: RepeatPlan) -> None:  # the app forgets a repeat once it has ended
                start_repeat(plan)
                assert app.sending.repeat is not None
                started.append(app.sending.repeat)

            app.sending.start_repeat = keep  # type: ignore[method-assign]
            await pilot.press("enter")
            if not started:
                raise SystemExit(f"the repeat did not start: {composer.value!r}")
            repeat = started[0]
            deadline = time.monotonic() + SECONDS * 20
            while repeat.running and time.monotonic() < deadline:
                await pilot.pause(0.05)
            repeat.stop()
            achieved, sent = repeat.achieved_rate, repeat.sent
    finally:
        transport.close()
    counter.wait_quiet(sent)
    span = counter.last - counter.first
    received_rate = (counter.count - 1) / span if span > 0 else float("nan")
    received = counter.count
    counter.close()
    return achieved, received_rate, sent, received


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    header = (
        f"{'asked/s':>9} {'sent/s (median)':>16} {'error':>7} {'received/s':>11} {'sent':>8} {'received':>9}"
    )
    print(header)
    for rate in RATES:
        runs = [await one_run(rate) for _ in range(args.runs)]
        achieved = statistics.median(run[0] for run in runs)
        received_rate = statistics.median(run[1] for run in runs)
        sent = statistics.median(run[2] for run in runs)
        received = statistics.median(run[3] for run in runs)
        asked, error = (
            (f"{rate:>9,}", f"{(achieved - rate) / rate * 100:>+6.1f}%") if rate else ("full", "     -")
        )
        counts = f"{sent:>8,.0f} {received:>9,.0f}"
        print(f"{asked:>9} {achieved:>16,.0f} {error:>7} {received_rate:>11,.0f} {counts}")


if __name__ == "__main__":
    asyncio.run(main())
