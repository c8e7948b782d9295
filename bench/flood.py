"""Flood benchmark: how fast udptui takes in datagrams, against a plain Python `recvfrom` loop.

Runs the real app (the screen, in Textual's headless test mode), the real `--jsonl` runner
with its records going to /dev/null, and, in the same run on the same machine, a bare
`recvfrom` loop with the same receive buffer and the same kernel drop counter (SO_RXQ_OVFL).
A small C
sender (`bench/sender.c`, compiled into a temporary directory) blasts numbered 64-byte
datagrams at full speed, then at fixed rates. It also measures the UI's timer lag under a
20k/s flood, memory after a million datagrams, and start-up time.

    python bench/flood.py            # full run, a minute or two
    python bench/flood.py --quick    # smoke run, a few seconds of traffic

Only loopback traffic; every count and wait is bounded. Prints a table and writes JSON
(default `bench/results/flood.json`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from terminal import terminal_run  # noqa: E402
from threads import per_datagram_us, thread_ns  # noqa: E402

from udptui.chat.session import IngestResult  # noqa: E402
from udptui.config import Config  # noqa: E402
from udptui.net.transport import DEFAULT_RCVBUF, SO_RXQ_OVFL, UdpTransport, set_receive_buffer  # noqa: E402
from udptui.ui.app import UdpTuiApp, make_app  # noqa: E402

HOST = "127.0.0.1"
END = b"end"
"""The marker sent after a run: its arrival proves the socket is empty and carries the drop count."""
QUIET = 0.5
"""A run is over when the sender has finished and the count has not moved for this long."""
RUN_LIMIT = 60.0
"""No run waits longer than this after its sender has finished."""
LAG_INTERVAL = 0.01
WARM_UP = 200
"""Datagrams the app draws before a measured run: the first ones pull in lazy imports
(Rich's Unicode width tables, Textual's scrollbar) that cost a one-off ~0.2 s stall."""


# -- the sender ---------------------------------------------------------------------------


def compile_sender(directory: Path) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        sys.exit("flood: needs a C compiler (cc or gcc) to build bench/sender.c")
    binary = directory / "sender"
    subprocess.run([compiler, "-O2", "-o", str(binary), str(HERE / "sender.c")], check=True)
    return binary


@dataclass
class SenderReport:
    sent: int
    start: float
    """CLOCK_MONOTONIC seconds (time.monotonic) of the first send."""
    end: float


def parse_sender(output: bytes) -> SenderReport:
    words = output.decode().split()
    return SenderReport(int(words[1]), float(words[3]), float(words[5]))


def sender_command(sender: Path, port: int, count: int, rate: int, size: int) -> list[str]:
    return [str(sender), HOST, str(port), str(count), str(rate), str(size)]


# -- counting drops the same way for both receivers ------------------------------------------


def read_drop_counter(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(data) >= 4:
            return int(struct.unpack("=I", data[:4])[0])
    return None


def proc_drops(sock: socket.socket) -> int | None:
    """The kernel's own drop count for this socket, from /proc/net/udp{,6} (a cross-check)."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 12 and fields[9] == inode:
                return int(fields[-1])
    return None


def cpu_seconds() -> float:
    """CPU time of this process, every thread, without the sender (a child)."""
    times = os.times()
    return times.user + times.system


def send_marker(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.sendto(END, (HOST, port))


# -- results ------------------------------------------------------------------------------


@dataclass
class RunResult:
    receiver: str
    rate: int
    """Requested send rate, 0 for full speed."""
    sent: int = 0
    received: int = 0
    kernel_dropped: int = 0
    app_dropped: int = 0
    unaccounted: int = 0
    send_seconds: float = 0.0
    ingest_seconds: float = 0.0
    """From the first datagram sent to the last one the receiver had in hand."""
    ingest_rate: float = 0.0
    proc_dropped: int | None = None
    """The same drops as /proc/net/udp counts them, to check the SO_RXQ_OVFL figure."""
    cpu_percent: float = 0.0
    """This process's CPU time (all its threads) over the run's wall time: 100 is one core."""
    timed_out: bool = False
    lag_ms: dict[str, float] = field(default_factory=dict)
    receive_rate: float = 0.0
    """Received / time from the first datagram sent to the last one the receive thread read."""
    cpu_us: dict[str, float] = field(default_factory=dict)
    """CPU microseconds per received datagram, per thread (`receive`, `ui`) and in all."""
    receive_call: str = ""

    def finish(self, report: SenderReport, last: float) -> None:
        self.sent = report.sent
        self.send_seconds = report.end - report.start
        self.unaccounted = self.sent - self.received - self.kernel_dropped - self.app_dropped
        self.ingest_seconds = max(last - report.start, 1e-9)
        self.ingest_rate = self.received / self.ingest_seconds if self.received else 0.0


# -- the plain recvfrom loop --------------------------------------------------------------


class RawReceiver:
    """A bare `recvfrom` loop in a thread; the yardstick."""

    def __init__(self, rcvbuf: int) -> None:
        # The same socket the app opens by default: dual-stack, same buffer request.
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        set_receive_buffer(self.sock, rcvbuf)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
        self.sock.bind(("::", 0))
        self.port: int = self.sock.getsockname()[1]
        self.received = 0
        self.last = 0.0
        self.thread = threading.Thread(target=self._loop, name="raw-recvfrom", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        recvfrom = self.sock.recvfrom
        clock = time.monotonic
        while True:
            data, _ = recvfrom(65535)
            if data == END:
                return
            self.received += 1
            self.last = clock()

    def drops(self) -> int:
        """Send one more datagram and read the cumulative drop count it carries."""
        send_marker(self.port)
        _, ancillary, _, _ = self.sock.recvmsg(16, socket.CMSG_SPACE(4))
        return read_drop_counter(ancillary) or 0

    def close(self) -> None:
        self.sock.close()


async def wait_quiet(count: Callable[[], int], sender: asyncio.subprocess.Process) -> tuple[bytes, bool]:
    """Wait for the sender to finish, then for the count to stop moving for QUIET seconds."""
    output, _ = await sender.communicate()
    if sender.returncode != 0:
        raise RuntimeError(f"sender failed with status {sender.returncode}")
    deadline = time.monotonic() + RUN_LIMIT
    seen, since = count(), time.monotonic()
    while time.monotonic() - since < QUIET:
        await asyncio.sleep(0.02)
        if (now := count()) != seen:
            seen, since = now, time.monotonic()
        if time.monotonic() > deadline:
            return output, True
    return output, False


async def raw_run(sender: Path, count: int, rate: int, size: int, rcvbuf: int) -> RunResult:
    receiver = RawReceiver(rcvbuf)
    result = RunResult("raw", rate)
    try:
        cpu_before, wall_before = cpu_seconds(), time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *sender_command(sender, receiver.port, count, rate, size), stdout=subprocess.PIPE
        )
        tid = receiver.thread.native_id or 0
        thread_before = thread_ns(tid)
        output, result.timed_out = await wait_quiet(lambda: receiver.received, process)
        result.cpu_percent = 100 * (cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
        result.cpu_us["receive"] = per_datagram_us(thread_before, thread_ns(tid), receiver.received)
        send_marker(receiver.port)  # ends the loop
        receiver.thread.join(5)
        result.received = receiver.received
        result.kernel_dropped = receiver.drops()
        result.proc_dropped = proc_drops(receiver.sock)
        result.finish(parse_sender(output), receiver.last)
        result.receive_rate = result.ingest_rate
        result.receive_call = "recvfrom"
    finally:
        receiver.close()
    return result


# -- the app ------------------------------------------------------------------------------


class LagProbe:
    """How late a 10 ms timer (`app.set_interval`) fires on the app's event loop.

    Textual aims its timer at a fixed grid, start + k * 10 ms; after a late tick it skips
    the grid points already past, plus one. The probe follows the same rule, so each
    firing is compared with the time Textual actually aimed it at. The grid's start is
    taken from the first firing, on a still idle app.
    """

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        """(time of firing, lateness) pairs."""
        self._origin: float | None = None
        self._aim = 0.0
        self._previous = 0.0

    def tick(self) -> None:
        now = time.perf_counter()
        if self._origin is None:
            self._origin = now - LAG_INTERVAL
            self._aim = self._previous = now
            return
        # Textual's Timer._run: the next aim is one interval on, unless that is already
        # past when the previous tick returns; then it moves to the grid point after next.
        aim = self._aim + LAG_INTERVAL
        if aim < self._previous:
            count = int((self._previous - self._origin) / LAG_INTERVAL + 1)
            aim = self._origin + (count + 1) * LAG_INTERVAL
        self.samples.append((now, max(0.0, now - aim)))
        self._aim, self._previous = aim, now

    def between(self, start: float, end: float) -> dict[str, float]:
        lags = sorted(lag for when, lag in self.samples if start <= when <= end)
        if not lags:
            return {}
        return {
            "p50": lags[len(lags) // 2] * 1000,
            "p99": lags[min(len(lags) - 1, int(len(lags) * 0.99))] * 1000,
            "max": lags[-1] * 1000,
            "samples": len(lags),
        }


@dataclass
class AppProbe:
    app: UdpTuiApp
    transport: UdpTransport
    lag: LagProbe
    last_ingest: float = 0.0
    last_receive: float = 0.0
    receive_tid: int = 0


@asynccontextmanager
async def running_app(rcvbuf: int, what_if: dict[str, Any] | None = None) -> AsyncIterator[AppProbe]:
    transport = UdpTransport.open(port=0, rcvbuf=rcvbuf)  # dual-stack, as `udptui --listen` opens it
    app = make_app(
        Config(port=transport.local_address.port, listening=True, rcvbuf=rcvbuf), transport=transport
    )
    probe = AppProbe(app, transport, LagProbe())
    ingest = app.session.ingest

    def timed_ingest(batch: Any) -> IngestResult:
        result = ingest(batch)
        if result.entries:
            probe.last_ingest = time.monotonic()
        return result

    app.session.ingest = timed_ingest  # type: ignore[method-assign,assignment]
    # getattr: the bench also measures older code (the `before` figures), which lacks these.
    run_receiver, queue = transport.run_receiver, getattr(transport, "_queue", None)

    def named_receiver() -> None:
        probe.receive_tid = threading.get_native_id()
        run_receiver()

    def timed_queue(batch: Any) -> None:
        assert queue is not None
        queue(batch)
        probe.last_receive = time.monotonic()

    transport.run_receiver = named_receiver  # type: ignore[method-assign]
    if queue is not None:
        transport._queue = timed_queue  # type: ignore[method-assign]
    try:
        async with app.run_test(headless=True, size=(110, 32)) as pilot:
            app.set_interval(LAG_INTERVAL, probe.lag.tick)
            await pilot.pause(0.3)
            apply_what_if(app, what_if or {})
            await warm_up(probe)
            yield probe
    finally:
        transport.close()


def apply_what_if(app: UdpTuiApp, what_if: dict[str, Any]) -> None:
    """Changes to the app the bench can try before they are made in the app (--what-if-*)."""
    if what_if.get("strip_cache"):
        from textual.cache import LRUCache

        from udptui.ui.widgets.chat_log import ChatLog

        app.query_one(ChatLog)._strips = LRUCache(what_if["strip_cache"])
    if what_if.get("gc_freeze"):
        gc.collect()
        gc.freeze()


async def warm_up(probe: AppProbe) -> None:
    counters = probe.app.session.counters
    port = probe.transport.local_address.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as warm:
        for number in range(WARM_UP):
            warm.sendto(number.to_bytes(8, "big") + b"w" * 56, (HOST, port))
            if number % 20 == 19:
                await asyncio.sleep(0.01)
    deadline = time.monotonic() + 5
    while counters.received < WARM_UP and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)


async def app_run(probe: AppProbe, sender: Path, count: int, rate: int, size: int) -> RunResult:
    app, transport = probe.app, probe.transport
    result = RunResult("app", rate)
    counters = app.session.counters
    received_before = counters.received
    kernel_before, app_before = transport.kernel_drops, transport.inbox_drops
    proc_before = proc_drops(transport.sock)
    port = transport.local_address.port
    started = time.perf_counter()
    cpu_before, wall_before = cpu_seconds(), time.monotonic()
    ui_tid = threading.get_native_id()  # the app's event loop runs on this thread
    ui_before, receive_before = thread_ns(ui_tid), thread_ns(probe.receive_tid)
    process = await asyncio.create_subprocess_exec(
        *sender_command(sender, port, count, rate, size), stdout=subprocess.PIPE
    )
    samples: list[tuple[float, int, int]] = []

    async def sample() -> None:
        """Each thread's CPU every 20 ms, to read it off at the moment the flood was taken in
        (after that the UI idles through the quiet wait, at a cost that is not per datagram)."""
        while True:
            samples.append((time.monotonic(), thread_ns(ui_tid), thread_ns(probe.receive_tid)))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    output, result.timed_out = await wait_quiet(lambda: counters.received, process)
    sampler.cancel()
    ended = time.perf_counter()
    cpu_spent = cpu_seconds() - cpu_before
    result.cpu_percent = 100 * cpu_spent / (time.monotonic() - wall_before)
    result.received = counters.received - received_before
    result.cpu_us = {
        "receive": per_datagram_us(receive_before, thread_ns(probe.receive_tid), result.received),
        "ui": per_datagram_us(ui_before, thread_ns(ui_tid), result.received),
        "process": per_datagram_us(0, int(cpu_spent * 1e9), result.received),
    }
    result.receive_call = getattr(transport, "receive_call", "recvmsg loop")
    last, last_receive = probe.last_ingest, probe.last_receive
    taken = next((sample for sample in samples if sample[0] >= last), None)
    if taken is not None:
        result.cpu_us["ui_until_taken"] = per_datagram_us(ui_before, taken[1], result.received)
        result.cpu_us["receive_until_taken"] = per_datagram_us(receive_before, taken[2], result.received)
    # The marker proves the socket is empty and brings the kernel's drop count up to date.
    send_marker(port)
    deadline = time.monotonic() + 5
    while counters.received < received_before + result.received + 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    result.kernel_dropped = transport.kernel_drops - kernel_before
    result.app_dropped = transport.inbox_drops - app_before
    proc_after = proc_drops(transport.sock)
    if proc_before is not None and proc_after is not None:
        result.proc_dropped = proc_after - proc_before
    result.lag_ms = probe.lag.between(started, ended)
    result.finish(parse_sender(output), last)
    if last_receive:
        result.receive_rate = result.received / max(last_receive - parse_sender(output).start, 1e-9)
    return result


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def memory_run(
    sender: Path, count: int, rate: int, size: int, rcvbuf: int, what_if: dict[str, Any]
) -> dict[str, Any]:
    async with running_app(rcvbuf, what_if) as probe:
        await asyncio.sleep(0.5)
        before = rss_mib()
        run = await app_run(probe, sender, count, rate, size)
        await asyncio.sleep(0.5)
        after = rss_mib()
        scrollback = len(probe.app.session.store)
    return {
        "rss_start_mib": before,
        "rss_after_mib": after,
        "growth_mib": after - before,
        "datagrams": run.received,
        "sent": run.sent,
        "rate": rate,
        "entries_kept": scrollback,
    }


async def app_child(spec: dict[str, Any]) -> dict[str, Any]:
    """One app measurement, in the child process it runs in."""
    sender = Path(spec["sender"])
    if spec["mode"] == "memory":
        return await memory_run(
            sender, spec["count"], spec["rate"], spec["size"], spec["rcvbuf"], spec["what_if"]
        )
    async with running_app(spec["rcvbuf"], spec["what_if"]) as probe:
        result = await app_run(probe, sender, spec["count"], spec["rate"], spec["size"])
        return {"run": asdict(result), "rcvbuf_granted": probe.transport.rcvbuf_granted}


def headless_child(spec: dict[str, Any]) -> dict[str, Any]:
    """`udptui --listen 0 --jsonl >/dev/null`: the real headless runner, its records written
    to /dev/null, measured from a thread while the runner has the main thread."""
    from udptui.headless import build_runner

    rate = spec["rate"]
    transport = UdpTransport.open(port=0, rcvbuf=spec["rcvbuf"])
    port = transport.local_address.port
    with open(os.devnull, "wb") as devnull:
        runner = build_runner(Config(port=port, listening=True, jsonl=True), transport, devnull, None)
        session, result, last = runner.session, RunResult("jsonl", rate), [0.0]
        ingest = session.ingest

        def timed_ingest(batch: list[Any]) -> IngestResult:
            ingested = ingest(batch)
            if ingested.entries:
                last[0] = time.monotonic()
            return ingested

        session.ingest = timed_ingest  # type: ignore[method-assign]

        def measure() -> None:
            try:
                counters = session.counters
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as warm:  # as the app is warmed up
                    for number in range(WARM_UP):
                        warm.sendto(number.to_bytes(8, "big") + b"w" * 56, (HOST, port))
                deadline = time.monotonic() + 5
                while counters.received < WARM_UP and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(0.3)
                before = (counters.received, transport.kernel_drops, transport.inbox_drops)
                wall_before, cpu_before = time.monotonic(), cpu_seconds()
                sent = subprocess.run(
                    sender_command(Path(spec["sender"]), port, spec["count"], rate, spec["size"]),
                    capture_output=True,
                    check=True,
                )
                seen, since, deadline = counters.received, time.monotonic(), time.monotonic() + RUN_LIMIT
                expected = before[0] + parse_sender(sent.stdout).sent
                # Headless writes a whole take's records before it takes the next, so its count
                # can stand still for longer than QUIET while the socket still holds datagrams:
                # it is over when all arrived or were dropped, or the count stood still 5 s.
                while not result.timed_out:
                    time.sleep(0.02)
                    if counters.received != seen:
                        seen, since = counters.received, time.monotonic()
                    lost = transport.kernel_drops - before[1] + transport.inbox_drops - before[2]
                    quiet_for = time.monotonic() - since
                    if (seen + lost >= expected and quiet_for >= QUIET) or quiet_for >= 5:
                        break
                    result.timed_out = time.monotonic() > deadline
                result.cpu_percent = 100 * (cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
                result.received, last_ingest = counters.received - before[0], last[0]
                send_marker(port)  # brings the kernel's drop count up to date
                end = time.monotonic() + 5
                while counters.received <= before[0] + result.received and time.monotonic() < end:
                    time.sleep(0.01)
                result.kernel_dropped = transport.kernel_drops - before[1]
                result.app_dropped = transport.inbox_drops - before[2]
                result.finish(parse_sender(sent.stdout), last_ingest)
            finally:
                runner.stop()

        thread = threading.Thread(target=measure)
        thread.start()
        runner.run()
        thread.join()
    transport.close()
    return {"run": asdict(result), "rcvbuf_granted": transport.rcvbuf_granted}


async def in_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run an app measurement in a fresh Python process, as the app runs for real.

    Apps started one after another in one process do not leave: a thread started while
    one runs keeps its redirected stderr, and with it the whole app, so later apps would
    be measured with the earlier ones' objects slowing every garbage collection.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--child", json.dumps(spec), stdout=subprocess.PIPE
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"app measurement failed with status {process.returncode}")
    result: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    return result


# -- start-up -----------------------------------------------------------------------------


def udptui_command() -> list[str]:
    script = Path(sys.executable).parent / "udptui"
    if script.exists():
        return [str(script)]
    found = shutil.which("udptui")
    return [found] if found else [sys.executable, "-m", "udptui"]


def version_time(repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([*udptui_command(), "--version"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def tmux(server: str, *args: str) -> str:
    done = subprocess.run(["tmux", "-L", server, *args], capture_output=True, text=True, timeout=10)
    return done.stdout


def first_frame_times(repeat: int) -> list[float]:
    """Spawn `udptui --listen 0` in a tmux window; time until `listening on` is on screen."""
    if shutil.which("tmux") is None:
        sys.exit("flood: needs tmux for the first-frame measurement (or pass --no-startup)")
    server = f"udptui-bench-{os.getpid()}"
    command = " ".join([*udptui_command(), "--listen", "0"])
    times = []
    socket_path = ""
    try:
        tmux(server, "new-session", "-d", "-s", "bench", "-x", "110", "-y", "32", "sleep 600")
        socket_path = tmux(server, "display-message", "-p", "#{socket_path}").strip()
        for index in range(repeat):
            window = f"bench:{index + 1}"
            start = time.perf_counter()
            tmux(server, "new-window", "-d", "-t", window, command)
            deadline = start + 10
            while time.perf_counter() < deadline:
                if "listening on" in tmux(server, "capture-pane", "-p", "-t", window):
                    times.append(time.perf_counter() - start)
                    break
                time.sleep(0.005)
            tmux(server, "kill-window", "-t", window)
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)
        if socket_path:  # tmux leaves its socket file behind after kill-server
            Path(socket_path).unlink(missing_ok=True)
    return times


# -- the run ------------------------------------------------------------------------------


def print_table(runs: list[tuple[RunResult, RunResult]]) -> None:
    print()
    header = (
        f"{'rate':>9} {'recv':>4} {'sent':>8} {'received':>9} {'dropped':>8} {'unacct':>6} "
        f"{'rx/s':>9} {'ingest/s':>9} {'count':>5} {'rate':>5} {'µs rx/ui/ui+quiet':>17} "
        f"{'lag p50/p99 ms':>15}"
    )
    print(header)
    print("-" * len(header))
    for raw, app in runs:
        for result in (raw, app):
            rate = "full" if result.rate == 0 else f"{result.rate:,}/s"
            dropped = result.kernel_dropped + result.app_dropped
            if result.proc_dropped is not None and result.proc_dropped != result.kernel_dropped:
                flag = f" (/proc/net/udp says {result.proc_dropped} dropped)"
            else:
                flag = ""
            count_ratio = rate_ratio = ""
            if result is app:
                count_ratio = f"{app.received / max(raw.received, 1):.2f}"
                rate_ratio = f"{app.ingest_rate / max(raw.ingest_rate, 1):.2f}"
            cpu = result.cpu_us
            micros = "/".join(f"{cpu[key]:.2f}" for key in ("receive", "ui_until_taken", "ui") if key in cpu)
            lag = f"{result.lag_ms['p50']:.1f}/{result.lag_ms['p99']:.1f}" if result.lag_ms else ""
            flag += " (timed out)" if result.timed_out else ""
            print(
                f"{rate:>9} {result.receiver:>4} {result.sent:>8} {result.received:>9} {dropped:>8} "
                f"{result.unaccounted:>6} {result.receive_rate:>9,.0f} {result.ingest_rate:>9,.0f} "
                f"{count_ratio:>5} {rate_ratio:>5} {micros:>17} {lag:>15}{flag}"
            )


def spread(values: list[float]) -> str:
    """`0.93 (0.90-0.95)`: the median and the range of a few runs."""
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200_000, help="datagrams per run (default 200000)")
    parser.add_argument(
        "--rates", default="20000,50000,100000", help="fixed rates after the full-speed run, per second"
    )
    parser.add_argument("--size", type=int, default=64, help="payload bytes (default 64)")
    parser.add_argument("--rcvbuf", type=int, default=DEFAULT_RCVBUF, help="SO_RCVBUF to ask for")
    parser.add_argument("--memory-count", type=int, default=1_000_000, help="datagrams for the memory figure")
    parser.add_argument("--memory-rate", type=int, default=50_000, help="their send rate per second")
    parser.add_argument(
        "--lag-rate", type=int, default=100_000, help="rate at which lag is the target figure"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: small counts")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up timings")
    parser.add_argument("--no-headless", action="store_true", help="skip the headless (--jsonl) runs")
    parser.add_argument("--no-tmux", action="store_true", help="skip the runs of udptui in tmux")
    parser.add_argument(
        "--repeat", type=int, default=3, help="full-speed runs, headless and in tmux (default 3)"
    )
    parser.add_argument(
        "--what-if-gc-freeze",
        action="store_true",
        help="try a change to the app: gc.collect() and gc.freeze() once it has started",
    )
    parser.add_argument(
        "--what-if-strip-cache",
        type=int,
        metavar="N",
        help="try a change to the app: the log caches N rendered lines",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: one app measurement
    parser.add_argument("--json", type=Path, default=HERE / "results" / "flood.json", help="where to write")
    args = parser.parse_args(argv)
    args.rate_list = [int(rate) for rate in args.rates.split(",") if rate.strip()]
    args.what_if = {"gc_freeze": args.what_if_gc_freeze, "strip_cache": args.what_if_strip_cache}
    if args.quick:
        args.repeat = min(args.repeat, 1)
        args.count = min(args.count, 20_000)
        args.memory_count = min(args.memory_count, 50_000)
    return args


async def bench(args: argparse.Namespace, sender: Path) -> dict[str, Any]:
    load_before = os.getloadavg()
    memory: dict[str, Any] = {}
    if args.memory_count:
        print(
            f"memory: {args.memory_count:,} datagrams at {args.memory_rate:,}/s through the app ...",
            flush=True,
        )
        memory = await in_child(
            {
                "mode": "memory",
                "sender": str(sender),
                "count": args.memory_count,
                "rate": args.memory_rate,
                "size": args.size,
                "rcvbuf": args.rcvbuf,
                "what_if": args.what_if,
            }
        )
    runs: list[tuple[RunResult, RunResult]] = []
    headless_runs: list[tuple[RunResult, RunResult]] = []
    rcvbuf_granted = 0
    for rate in [0] * args.repeat + args.rate_list:
        label = "full speed" if rate == 0 else f"{rate:,}/s"
        print(f"flood: {args.count:,} datagrams at {label}: raw loop, then the app ...", flush=True)
        raw = await raw_run(sender, args.count, rate, args.size, args.rcvbuf)
        measured = await in_child(
            {
                "mode": "run",
                "sender": str(sender),
                "count": args.count,
                "rate": rate,
                "size": args.size,
                "rcvbuf": args.rcvbuf,
                "what_if": args.what_if,
            }
        )
        rcvbuf_granted = measured["rcvbuf_granted"]
        runs.append((raw, RunResult(**measured["run"])))
        if not args.no_headless:
            print(f"flood: {args.count:,} datagrams at {label}: headless, --jsonl >/dev/null ...", flush=True)
            spec = {"mode": "headless", "sender": str(sender), "count": args.count, "rate": rate}
            measured = await in_child({**spec, "size": args.size, "rcvbuf": args.rcvbuf})
            headless_runs.append((raw, RunResult(**measured["run"])))
    terminal: list[dict[str, Any]] = []
    if not args.no_tmux:
        for _ in range(args.repeat):
            print(
                f"tmux: {args.count:,} datagrams at full speed: raw loop, then udptui in tmux ...", flush=True
            )
            raw = await raw_run(sender, args.count, 0, args.size, args.rcvbuf)
            shown = terminal_run(udptui_command(), sender, args.count, 0, args.size)
            terminal.append({"raw": asdict(raw), "tmux": asdict(shown)})
    startup: dict[str, Any] = {}
    if not args.no_startup:
        print("start-up: udptui --version x5, first frame in tmux x5 ...", flush=True)
        versions = version_time(5)
        frames = first_frame_times(5)
        startup = {
            "version_seconds": versions,
            "version_median": statistics.median(versions),
            "first_frame_seconds": frames,
            "first_frame_median": statistics.median(frames) if frames else None,
        }
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kernel": platform.release(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
        "settings": {
            "count": args.count,
            "size": args.size,
            "rcvbuf_requested": args.rcvbuf,
            "what_if": args.what_if,
        },
        "rcvbuf_granted": rcvbuf_granted,
        "runs": [{"raw": asdict(raw), "app": asdict(app)} for raw, app in runs],
        "headless_runs": [{"raw": asdict(raw), "jsonl": asdict(jsonl)} for raw, jsonl in headless_runs],
        "memory": memory,
        "startup": startup,
        "terminal": terminal,
        "_runs": runs,
        "_headless_runs": headless_runs,
    }


def report(results: dict[str, Any], lag_rate: int) -> None:
    runs: list[tuple[RunResult, RunResult]] = results.pop("_runs")
    print_table(runs)
    headless_runs: list[tuple[RunResult, RunResult]] = results.pop("_headless_runs")
    if headless_runs:
        print("\nheadless, `udptui --listen 0 --jsonl >/dev/null`, against the same raw runs:")
        print_table(headless_runs)
    what_if = {name: value for name, value in results["settings"]["what_if"].items() if value}
    if what_if:
        print(f"\nWHAT-IF: the app was changed for this run: {what_if}")
    call = runs[0][1].receive_call if runs else "-"
    print(f"\nrcvbuf granted: {results['rcvbuf_granted']:,} bytes; the app read with {call}")
    machine = results["machine"]
    print(
        f"load average (1 min) before {machine['load_before'][0]:.2f}, after {machine['load_after'][0]:.2f} "
        f"on {machine['cpus']} CPUs"
    )
    full = [(raw, app) for raw, app in runs if app.rate == 0]
    counts = [app.received / max(raw.received, 1) for raw, app in full]
    rates = [app.ingest_rate / max(raw.ingest_rate, 1) for raw, app in full]
    receive_rates = [app.receive_rate / max(raw.ingest_rate, 1) for raw, app in full]
    both = [
        app.cpu_us.get("receive", 0) + app.cpu_us.get("ui_until_taken", app.cpu_us.get("ui", 0))
        for _, app in full
    ]
    summary = {
        "count_ratio": counts,
        "rate_ratio": rates,
        "receive_rate_ratio": receive_rates,
        "cpu_us_both_threads": both,
        "raw_cpu_us": [raw.cpu_us.get("receive", 0) for raw, _ in full],
    }
    print(f"\nfull speed, {len(full)} runs, median (range):")
    print(f"  received, app/raw (count):      {spread(counts)}")
    print(f"  ingest rate, app/raw:           {spread(rates)}")
    print(f"  receive-thread rate, app/raw:   {spread(receive_rates)}")
    print(f"  CPU µs/datagram, rx+UI threads: {spread(both)}  (raw loop {spread(summary['raw_cpu_us'])})")
    terminal = results.get("terminal") or []
    tmux_counts = [run["tmux"]["received"] / max(run["raw"]["received"], 1) for run in terminal]
    if terminal:
        tmux_cpu = [
            run["tmux"]["cpu_us"].get("receive", 0) + run["tmux"]["cpu_us"].get("ui", 0) for run in terminal
        ]
        summary["tmux_count_ratio"], summary["tmux_cpu_us_both_threads"] = tmux_counts, tmux_cpu
        print(f"  in tmux, received app/raw:      {spread(tmux_counts)}")
        print(f"  in tmux, CPU µs rx+UI threads:  {spread(tmux_cpu)}")
        unaccounted = [run["tmux"]["unaccounted"] for run in terminal]
        print(
            f"  in tmux, unaccounted:           {unaccounted}; "
            f"last status bar: {terminal[-1]['tmux']['screen'].strip()}"
        )
    results["summary"] = summary
    memory = results["memory"]
    if memory:
        print(
            f"memory: RSS {memory['rss_start_mib']:.1f} MiB after start, {memory['rss_after_mib']:.1f} MiB "
            f"after {memory['datagrams']:,} datagrams (growth {memory['growth_mib']:.1f} MiB)"
        )
    startup = results["startup"]
    if startup:
        frame = startup["first_frame_median"]
        print(
            f"start-up: udptui --version {startup['version_median'] * 1000:.0f} ms (median of 5), "
            f"first frame {'-' if frame is None else f'{frame * 1000:.0f} ms'} (median of 5)"
        )
    # The targets from issue 9, each with its figure.
    checks = [("unaccounted 0 at every rate", all(r.unaccounted == 0 for pair in runs for r in pair))]
    if full:  # none with --repeat 0
        checks.append(
            (
                f"full speed, the app without a terminal: app/raw received >= 0.9 ({spread(counts)})",
                statistics.median(counts) >= 0.9,
            )
        )
        checks.append(
            (f"CPU per datagram, both threads <= 1.8 µs ({spread(both)})", statistics.median(both) <= 1.8)
        )
    if tmux_counts:
        checks.append(
            (
                f"full speed in tmux: app/raw >= 0.85 ({spread(tmux_counts)})",
                statistics.median(tmux_counts) >= 0.85,
            )
        )
        checks.append(("unaccounted 0 in tmux", all(run["tmux"]["unaccounted"] == 0 for run in terminal)))
    for _, app in runs:
        if app.rate == 100_000:
            dropped = app.kernel_dropped
            checks.append((f"no kernel drops at 100k/s ({dropped})", dropped == 0))
        if app.rate == lag_rate and app.lag_ms:
            p99 = app.lag_ms["p99"]
            checks.append((f"UI lag p99 < 50 ms at {lag_rate:,}/s ({p99:.1f} ms)", p99 < 50))
    if memory:
        growth = memory["growth_mib"]
        checks.append((f"RSS growth < 50 MiB after {memory['datagrams']:,} ({growth:.1f} MiB)", growth < 50))
    if startup:
        checks.append(
            (
                f"udptui --version < 0.1 s ({startup['version_median']:.3f} s)",
                startup["version_median"] < 0.1,
            )
        )
        frame = startup["first_frame_median"]
        checks.append((f"first frame < 0.4 s ({frame} s)", frame is not None and frame < 0.4))
    results["targets"] = {name: ok for name, ok in checks}
    print()
    for name, ok in checks:
        print(f"  [{'met' if ok else 'MISSED'}] {name}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        measured = headless_child(spec) if spec["mode"] == "headless" else asyncio.run(app_child(spec))
        print(json.dumps(measured))
        return
    with tempfile.TemporaryDirectory(prefix="udptui-flood-") as directory:
        sender = compile_sender(Path(directory))
        results = asyncio.run(bench(args, sender))
    report(results, args.lag_rate)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
