"""Receiving in batches on real loopback sockets, on both receive paths: whole batches for
the UI, the kernel's arrival time of each datagram, the local address it arrived on,
link-local IPv6 senders, and the receive buffer as granted."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from conftest import RunningTransport

from udptui.chat.session import ChatSession
from udptui.net.address import Address
from udptui.net.batch import RecvBatch
from udptui.net.transport import UdpTransport, rcvbuf_shortfall
from udptui.record.transcript import Transcript

LINUX = sys.platform.startswith("linux")
GAP = 0.030
"""Seconds between the two datagrams of the arrival-time tests."""
TOLERANCE = 0.010


@pytest.fixture(params=["recvmmsg", "recvmsg"])
def receive_call(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    call: str = request.param
    if call == "recvmmsg" and not LINUX:
        pytest.skip("recvmmsg is Linux's")
    monkeypatch.setenv("UDPTUI_RECVMMSG", "1" if call == "recvmmsg" else "0")
    return call


@pytest.fixture
def start(receive_call: str) -> Iterator[Callable[..., RunningTransport]]:
    running: list[RunningTransport] = []

    def open_running(**kwargs: object) -> RunningTransport:
        item = RunningTransport(UdpTransport.open(**kwargs))  # type: ignore[arg-type]
        running.append(item)
        return item

    yield open_running
    for item in running:
        item.finish()


def test_a_burst_reaches_the_ui_in_whole_batches(
    start: Callable[..., RunningTransport], receive_call: str
) -> None:
    running = start(bind_host="127.0.0.1")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for number in range(500):
            sender.sendto(b"%d" % number, running.address)
        items = running.wait_batches(500)
    assert all(isinstance(item, RecvBatch) for item in items)
    assert len(items) < 500  # not one inbox item per datagram
    payloads = [payload for item in items if isinstance(item, RecvBatch) for payload in item.payloads]
    assert payloads == [b"%d" % number for number in range(500)]
    assert running.transport.receive_call == receive_call


def test_entries_and_transcript_carry_the_arrival_time_even_when_the_ui_is_busy(
    start: Callable[..., RunningTransport], tmp_path: Path
) -> None:
    """Two datagrams 30 ms apart, taken by the UI 300 ms later in one go: their entries and
    transcript records are 30 ms apart, not stamped with the time the UI took them."""
    running = start(bind_host="127.0.0.1")
    log = tmp_path / "log.jsonl"
    session = ChatSession(running.transport, transcript=Transcript(str(log)))
    assert session.arrival_times
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"first", running.address)
        started = time.perf_counter()
        time.sleep(GAP)
        sender.sendto(b"second", running.address)
        sent, gap = datetime.now(), time.perf_counter() - started  # 30 ms, more on a busy machine
    time.sleep(0.3)  # the UI is busy: nothing is taken meanwhile
    result = session.ingest(running.wait_batches(2))
    first, second = result.entries
    assert (first.payload, second.payload) == (b"first", b"second")
    assert abs((second.time - first.time).total_seconds() - gap) <= TOLERANCE
    assert (datetime.now() - second.time).total_seconds() >= 0.25  # not the time it was taken
    assert abs((sent - second.time).total_seconds()) <= TOLERANCE
    session.transcript.close()  # type: ignore[union-attr]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    stamps = [datetime.fromisoformat(record["ts"]) for record in records]
    assert abs((stamps[1] - stamps[0]).total_seconds() - gap) <= TOLERANCE
    assert all(len(record["ts"].split(".")[1]) == len("123456+00:00") for record in records)


def test_an_injected_clock_fixes_arrival_times(start: Callable[..., RunningTransport]) -> None:
    """Snapshots stay still: with a clock given, received entries show the clock's time."""
    running = start(bind_host="127.0.0.1")
    moment = datetime(2026, 1, 2, 12, 0, 1)
    session = ChatSession(running.transport, clock=lambda: moment)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"x", running.address)
        [entry] = session.ingest(running.wait_batches(1)).entries
    assert entry.time == moment


@pytest.mark.skipif(not LINUX, reason="IP_PKTINFO is Linux's")
@pytest.mark.parametrize(
    ("bind_host", "sender_host", "local"),
    [("127.0.0.1", "127.0.0.1", "127.0.0.1"), ("::1", "::1", "::1"), (None, "127.0.0.2", "127.0.0.2")],
)
def test_each_entry_knows_the_local_address_it_arrived_on(
    start: Callable[..., RunningTransport], bind_host: str | None, sender_host: str, local: str
) -> None:
    """On a wildcard socket the datagram to 127.0.0.2 says it arrived on 127.0.0.2."""
    running = start(bind_host=bind_host)
    family = socket.AF_INET6 if ":" in sender_host else socket.AF_INET
    session = ChatSession(running.transport)
    with socket.socket(family, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"where am I", (sender_host, running.port))
        [entry] = session.ingest(running.wait_batches(1)).entries
    assert entry.local_address == Address(local, running.port)


def test_the_status_bar_figure_is_what_was_asked_for() -> None:
    """Linux reports twice the receive buffer asked for; the transport gives the comparable figure."""
    transport = UdpTransport.open(bind_host="127.0.0.1", rcvbuf=1024 * 1024)
    try:
        if LINUX and os.geteuid() == 0:  # SO_RCVBUFFORCE: root gets exactly what it asks for
            assert transport.rcvbuf_granted == 1024 * 1024
            assert transport.rcvbuf_kernel == 2 * 1024 * 1024
        assert transport.take_all() == []  # nothing to say when the request was granted
    finally:
        transport.close()


def test_a_smaller_grant_is_said_with_the_sysctl_that_raises_it() -> None:
    text = rcvbuf_shortfall(64 * 1024 * 1024, 4 * 1024 * 1024)
    assert text is not None
    assert "asked for 64.0 MiB" in text and "granted 4.0 MiB" in text
    if LINUX:
        assert "sudo sysctl -w net.core.rmem_max=67108864" in text
    assert rcvbuf_shortfall(4 * 1024 * 1024, 4 * 1024 * 1024) is None


SHORTFALL_SCRIPT = """
from udptui.net.transport import Fault, UdpTransport
transport = UdpTransport.open(bind_host="127.0.0.1", rcvbuf=64 * 1024 * 1024)
print([item.message for item in transport.take_all() if isinstance(item, Fault)])
"""


@pytest.mark.skipif(not LINUX, reason="user namespaces are Linux's (unshare is essential there)")
def test_without_cap_net_admin_the_ceiling_is_said_once() -> None:
    """In a user namespace the process has no CAP_NET_ADMIN for the real network: SO_RCVBUFFORCE
    fails, `net.core.rmem_max` caps the buffer, and one notice says how to raise it."""
    done = subprocess.run(
        ["unshare", "-U", "-r", sys.executable, "-c", SHORTFALL_SCRIPT],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    max_text = Path("/proc/sys/net/core/rmem_max").read_text().strip()
    if int(max_text) >= 64 * 1024 * 1024:
        assert done.stdout.strip() == "[]"
    else:
        [message] = eval(done.stdout)  # a printed list of str
        assert "asked for 64.0 MiB" in message
        assert "sudo sysctl -w net.core.rmem_max=67108864" in message


LINK_LOCAL_SCRIPT = """
import os, socket, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
os.environ["UDPTUI_RECVMMSG"] = sys.argv[2]
from conftest import RunningTransport
from udptui.net.transport import UdpTransport
subprocess.run(
    "ip link set lo up; ip link add v0 type veth peer name v1; ip link set v0 up; ip link set v1 up;"
    "ip addr add fe80::10/64 dev v0 nodad; ip addr add fe80::11/64 dev v1 nodad",
    shell=True, check=True,
)
time.sleep(0.2)
running = RunningTransport(UdpTransport.open(port=0))
peer = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
peer.bind(("fe80::11", 0, 0, socket.if_nametoindex("v1")))
peer.settimeout(5)
peer.sendto(b"hello", ("fe80::10", running.port, 0, socket.if_nametoindex("v1")))
[(payload, sender, _, _)] = running.wait_for(1)
from udptui.net.batch import address_of
address = address_of(sender)
running.transport.send(b"reply", address)
data, source = peer.recvfrom(100)
print(str(address), data.decode(), running.transport.receive_call)
running.finish()
"""


@pytest.mark.skipif(not LINUX, reason="network namespaces are Linux's (unshare is essential there)")
def test_a_link_local_sender_keeps_its_interface_and_gets_the_reply(receive_call: str) -> None:
    """`fe80::11%v0`: without the scope, neither the log nor a reply would know the interface.
    Runs in its own network namespace (as root) with a veth pair."""
    tests = str(Path(__file__).parent)
    done = subprocess.run(
        [
            "unshare",
            "-n",
            sys.executable,
            "-c",
            LINK_LOCAL_SCRIPT,
            tests,
            "1" if receive_call == "recvmmsg" else "0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    address, reply, call = done.stdout.split()
    assert address.startswith("[fe80::11%v0]:")
    assert reply == "reply"
    assert call == receive_call


async def test_the_app_shows_arrival_times_though_its_screen_was_busy(tmp_path: Path) -> None:
    """The real app, blocked for 300 ms after two datagrams sent 30 ms apart: the log's
    entries and the --log transcript still say 30 ms apart."""
    from conftest import wait_for

    from udptui.config import Config
    from udptui.ui.app import make_app

    log = tmp_path / "log.jsonl"
    config = Config(bind_host="127.0.0.1", listening=True, log_path=str(log))
    app = make_app(config)
    async with app.run_test() as pilot:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            to = ("127.0.0.1", app.transport.local_address.port)
            sender.sendto(b"first", to)
            started = time.perf_counter()
            time.sleep(GAP)
            sender.sendto(b"second", to)
            gap = time.perf_counter() - started  # 30 ms, more on a busy machine
            time.sleep(0.3)  # the UI thread is busy: no drain, no frame
        await wait_for(pilot, lambda: app.session.counters.received == 2, "both datagrams")
        first, second = [entry for entry in app.session.store if entry.payload]  # not a notice
        assert abs((second.time - first.time).total_seconds() - gap) <= TOLERANCE
    app.transport.close()
    app.session.transcript.close()  # type: ignore[union-attr]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    stamps = [datetime.fromisoformat(record["ts"]) for record in records if record["dir"] == "in"]
    assert abs((stamps[1] - stamps[0]).total_seconds() - gap) <= TOLERANCE
