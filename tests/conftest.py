"""Shared helpers for the app tests: real loopback sockets, a fixed clock, and polling waits."""

from __future__ import annotations

import json
import re
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot

from udptui.net.address import Address
from udptui.net.batch import RecvBatch
from udptui.net.transport import Fault, Inbound, RawDatagram, UdpTransport
from udptui.ui.app import UdpTuiApp
from udptui.ui.widgets import Composer

WAIT_SECONDS = 5.0
"""How long a test waits for a condition before it fails (a deadline, never a measurement)."""
SNAPSHOT_RCVBUF = 256 * 1024
"""An explicit receive buffer, so the status bar's `rcvbuf` reads the same on every run."""
FIXED_TIME = datetime(2026, 1, 2, 12, 0, 1)


def fixed_clock() -> datetime:
    """The app's clock in tests: always the same moment, so log lines never depend on the time of day."""
    return FIXED_TIME


async def wait_for(
    pilot: Pilot[None],
    condition: Callable[[], bool],
    what: str,
    timeout: float = WAIT_SECONDS,
) -> None:
    """Let the app run until `condition()` holds; fail with `what` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


class RunningTransport:
    """A transport with its receive loop on a thread, and a patient way to read its inbox."""

    def __init__(self, transport: UdpTransport) -> None:
        self.transport = transport
        self.thread = threading.Thread(target=transport.run_receiver, daemon=True)
        self.thread.start()
        self.received: list[Fault | RawDatagram] = []
        self.batches: list[Inbound] = []
        """Every inbox item taken so far, as the UI would take it (whole batches)."""

    @property
    def port(self) -> int:
        return self.transport.local_address.port

    @property
    def address(self) -> tuple[str, int]:
        """Where a plain IPv4 socket sends to reach it."""
        return ("127.0.0.1", self.port)

    def wait_for(self, count: int) -> list[Fault | RawDatagram]:
        """The next `count` datagrams (as tuples) or faults, waiting up to WAIT_SECONDS."""
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.received) < count and time.monotonic() < deadline:
            for item in self.transport.take_all():
                self.batches.append(item)
                self.received += item.datagrams() if isinstance(item, RecvBatch) else [item]
            time.sleep(0.005)
        got, self.received = self.received[:count], self.received[count:]
        assert len(got) == count, f"waited {WAIT_SECONDS} s for {count} items, got {got!r}"
        return got

    def wait_batches(self, count: int) -> list[Inbound]:
        """Inbox items, whole batches as the UI takes them, holding `count` datagrams and faults."""
        deadline = time.monotonic() + WAIT_SECONDS
        taken: list[Inbound] = []
        while sum(len(item) if isinstance(item, RecvBatch) else 1 for item in taken) < count:
            assert time.monotonic() < deadline, (
                f"waited {WAIT_SECONDS} s for {count} datagrams, got {taken!r}"
            )
            taken += self.transport.take_all()
            time.sleep(0.005)
        return taken

    def finish(self) -> None:
        self.transport.stop()
        self.thread.join(timeout=2)
        self.transport.close()


class Notices:
    """Collects the app's notifications through `run_test(message_hook=...)`."""

    def __init__(self) -> None:
        self.seen: list[Notify] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.seen.append(message)

    def matching(self, *texts: str) -> list[Notify]:
        """Notices whose message contains any of `texts`."""
        return [notice for notice in self.seen if any(text in notice.notification.message for text in texts)]


def app_address(app: UdpTuiApp) -> tuple[str, int]:
    """Where a plain IPv4 socket sends to reach the app."""
    return app.transport.local_address.sockaddr_for(socket.AF_INET)


async def receive_from(pilot: Pilot[None], app: UdpTuiApp, sender: socket.socket, *payloads: bytes) -> None:
    """Send datagrams from `sender` to the app and wait until the log shows them all."""
    before = app.session.counters.received
    for payload in payloads:
        sender.sendto(payload, app_address(app))
    await wait_for(
        pilot,
        lambda: app.session.counters.received >= before + len(payloads),
        f"{len(payloads)} datagram(s) in the log",
    )


async def type_line(pilot: Pilot[None], app: UdpTuiApp, text: str) -> None:
    """Put `text` in the input box and press Enter."""
    composer = app.query_one(Composer)
    composer.value = text
    composer.cursor_position = len(text)
    await pilot.press("enter")
    await pilot.pause()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """The same wait for code outside the app (no pilot): sleep-poll until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def run_in_namespace(script: str) -> dict[str, Any]:
    """Run `tests/SCRIPT` as root in a private network namespace (`unshare -n`) and return the
    JSON it prints of what it saw. Without `unshare` this fails: nothing is skipped."""
    path = Path(__file__).resolve().parent / script
    result = subprocess.run(
        ["unshare", "-n", sys.executable, str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def udp_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A plain UDP socket on loopback, standing in for the other side of the chat."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.settimeout(WAIT_SECONDS)
    return sock


def address_of(sock: socket.socket) -> Address:
    return Address.from_sockaddr(sock.getsockname())


def closed_port() -> int:
    """A loopback UDP port that nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def receiver_running(transport: UdpTransport) -> bool:
    """Whether any thread is executing this transport's receive loop right now."""
    code = UdpTransport.run_receiver.__code__
    for frame in sys._current_frames().values():
        current: FrameType | None = frame
        while current is not None:
            if current.f_code is code and current.f_locals.get("self") is transport:
                return True
            current = current.f_back
    return False


@pytest.fixture
def peer() -> Iterator[socket.socket]:
    """The other side of the chat: a real UDP socket on 127.0.0.1, any free port."""
    sock = udp_socket()
    yield sock
    sock.close()


@pytest.fixture
def stranger() -> Iterator[socket.socket]:
    """A second sender on 127.0.0.1, for pinned-peer tests."""
    sock = udp_socket()
    yield sock
    sock.close()


@pytest.fixture
def open_transport() -> Iterator[Callable[..., UdpTransport]]:
    """Open app sockets on 127.0.0.1 (any free port unless told); all are closed after the test."""
    opened: list[UdpTransport] = []

    def open_(*, bind_host: str = "127.0.0.1", port: int = 0, **options: int) -> UdpTransport:
        transport = UdpTransport.open(bind_host=bind_host, port=port, **options)
        opened.append(transport)
        return transport

    yield open_
    for transport in opened:
        transport.close()


# -- headless udptui processes (`--jsonl`) -----------------------------------------------------

REPO = Path(__file__).resolve().parent.parent
UDPTUI = [sys.executable, "-m", "udptui"]
LISTENING = re.compile(r"^udptui: listening on \S+:(\d+)")


def read_line(stream: IO[bytes], timeout: float = WAIT_SECONDS) -> bytes:
    """One line from a child's pipe, waiting up to `timeout` (b'' at its end)."""
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, f"no line within {timeout} s"
    return stream.readline()


class Headless:
    """A `udptui ... --jsonl` process; its port is read from its first line on standard error."""

    def __init__(self, *args: str, stdin: int | IO[Any] = subprocess.PIPE, cwd: Path = REPO) -> None:
        # Unbuffered pipes: a line read ahead into a buffer would hide from `select`.
        self.process = subprocess.Popen(
            [*UDPTUI, *args], cwd=cwd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
        )
        assert self.process.stderr is not None and self.process.stdout is not None
        self.stdout = self.process.stdout
        first = self.first_line = read_line(self.process.stderr).decode()
        match = LISTENING.match(first.strip())
        assert match, f"expected the listening line on stderr, got {first!r}"
        self.port = int(match.group(1))
        self.banner = first.strip()

    def record(self) -> dict[str, Any]:
        line = read_line(self.stdout)
        assert line, "standard output ended"
        record: dict[str, Any] = json.loads(line)
        return record

    def type(self, *lines: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("".join(line + "\n" for line in lines).encode())
        self.process.stdin.flush()

    def end_input(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.stdin = None  # communicate() must not flush it

    def finish(self, timeout: float = WAIT_SECONDS) -> tuple[int, list[dict[str, Any]], str]:
        """Wait for the exit: (status, the records not read yet, standard error after its first line)."""
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, [json.loads(line) for line in out.splitlines()], err.decode()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def headless() -> Iterator[list[Headless]]:
    """Started processes, killed after the test if still running."""
    started: list[Headless] = []
    yield started
    for process in started:
        process.kill()


def start(started: list[Headless], *args: str, **options: Any) -> Headless:
    process = Headless(*args, **options)
    started.append(process)
    return process
