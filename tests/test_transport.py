"""The UDP transport on real loopback sockets: both directions on IPv4, IPv6 and dual stack,
message boundaries, truncation, size limits, ICMP errors, stopping, and bind errors."""

from __future__ import annotations

import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import RunningTransport

from udptui.net.address import Address
from udptui.net.batch import RecvBatch, address_of
from udptui.net.transport import (
    MAX_PAYLOAD_IPV4,
    MAX_PAYLOAD_IPV6,
    Fault,
    Inbound,
    SendError,
    TransportError,
    UdpTransport,
)

DEADLINE = 5.0
"""Seconds to wait for something that should happen at once on loopback."""


@pytest.fixture(autouse=True, params=["recvmmsg", "recvmsg"])
def receive_call(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on both receive paths: recvmmsg batches, and the recvmsg loop
    (which other platforms use; `UDPTUI_RECVMMSG=0` forces it on Linux)."""
    call: str = request.param
    if call == "recvmmsg" and not sys.platform.startswith("linux"):
        pytest.skip("recvmmsg is Linux's")
    monkeypatch.setenv("UDPTUI_RECVMMSG", "1" if call == "recvmmsg" else "0")
    return call


@pytest.fixture
def start() -> Iterator[Callable[..., RunningTransport]]:
    """Open a transport (same arguments as `UdpTransport.open`) with its receiver running."""
    running: list[RunningTransport] = []

    def open_running(**kwargs: Any) -> RunningTransport:
        item = RunningTransport(UdpTransport.open(**kwargs))
        running.append(item)
        return item

    yield open_running
    for item in running:
        item.finish()


@pytest.fixture
def peer_socket() -> Iterator[Callable[[str], socket.socket]]:
    """A plain UDP socket bound to a loopback address, as the tutorial's client would use."""
    sockets: list[socket.socket] = []

    def make(host: str) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.settimeout(DEADLINE)
        sock.bind((host, 0))
        sockets.append(sock)
        return sock

    yield make
    for sock in sockets:
        sock.close()


def closed_port(host: str) -> int:
    """A port on `host` that nothing listens on (bound, then released)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def sender_of(item: Inbound) -> Address:
    assert not isinstance(item, Fault), item
    return address_of(item[1])


@pytest.mark.parametrize(("bind_host", "loopback"), [("127.0.0.1", "127.0.0.1"), ("::1", "::1")])
def test_both_directions(
    start: Callable[..., RunningTransport],
    peer_socket: Callable[[str], socket.socket],
    bind_host: str,
    loopback: str,
) -> None:
    running = start(bind_host=bind_host)
    peer = peer_socket(loopback)
    peer_port = peer.getsockname()[1]

    peer.sendto(b"ping", (loopback, running.port))
    [item] = running.wait_for(1)
    assert not isinstance(item, Fault)
    payload, _, wire_length, cut = item
    assert (payload, wire_length, cut) == (b"ping", 4, 0)
    assert sender_of(item) == Address(loopback, peer_port)

    assert running.transport.send(b"pong", Address(loopback, peer_port)) == 4
    data, source = peer.recvfrom(65535)
    assert data == b"pong"
    assert source[:2] == (loopback, running.port)


def test_dual_stack_default_shows_ipv4_peers_plainly(
    start: Callable[..., RunningTransport], peer_socket: Callable[[str], socket.socket]
) -> None:
    running = start()
    transport = running.transport
    assert transport.dual_stack
    assert transport.local_description == f"0.0.0.0:{running.port} and [::]:{running.port}"

    v4 = peer_socket("127.0.0.1")
    v6 = peer_socket("::1")
    v4.sendto(b"from v4", ("127.0.0.1", running.port))
    [first] = running.wait_for(1)
    v6.sendto(b"from v6", ("::1", running.port))
    [second] = running.wait_for(1)

    v4_sender = sender_of(first)
    assert str(v4_sender) == f"127.0.0.1:{v4.getsockname()[1]}"
    assert "::ffff:" not in str(v4_sender)
    assert str(sender_of(second)) == f"[::1]:{v6.getsockname()[1]}"

    transport.send(b"back to v4", v4_sender)
    transport.send(b"back to v6", sender_of(second))
    assert v4.recvfrom(100) == (b"back to v4", ("127.0.0.1", running.port))
    assert v6.recv(100) == b"back to v6"


def test_message_boundaries_are_kept(
    start: Callable[..., RunningTransport], peer_socket: Callable[[str], socket.socket], receive_call: str
) -> None:
    """The tutorial's lesson: three sendto calls are three datagrams, never glued together."""
    running = start(bind_host="127.0.0.1")
    peer = peer_socket("127.0.0.1")
    for word in (b"hello", b"world", b"egon"):
        peer.sendto(word, ("127.0.0.1", running.port))
    items = running.wait_for(3)
    assert [item[0] for item in items if not isinstance(item, Fault)] == [b"hello", b"world", b"egon"]
    assert running.transport.receive_call == receive_call


def test_small_buffer_cuts_and_says_so(
    start: Callable[..., RunningTransport], peer_socket: Callable[[str], socket.socket]
) -> None:
    """The tutorial's `recvfrom(1)`: `hello` arrives as `h`, and the rest is lost."""
    running = start(bind_host="127.0.0.1", bufsize=1)
    peer = peer_socket("127.0.0.1")
    peer.sendto(b"hello", ("127.0.0.1", running.port))
    [item] = running.wait_for(1)
    assert not isinstance(item, Fault)
    payload, _, wire_length, cut = item
    assert payload == b"h"
    if sys.platform.startswith("linux"):
        assert running.transport.detects_truncation
        assert (wire_length, cut) == (5, 1)  # MSG_TRUNC: the kernel reports the size sent
    else:
        assert (wire_length, cut) == (1, 2)  # only "possibly cut" can be said


def test_largest_ipv4_datagram_arrives_whole(
    start: Callable[..., RunningTransport], peer_socket: Callable[[str], socket.socket]
) -> None:
    running = start(bind_host="127.0.0.1")
    peer = peer_socket("127.0.0.1")
    big = bytes(range(256)) * (MAX_PAYLOAD_IPV4 // 256) + b"z" * (MAX_PAYLOAD_IPV4 % 256)
    assert len(big) == 65507

    peer.sendto(big, ("127.0.0.1", running.port))
    [item] = running.wait_for(1)
    assert not isinstance(item, Fault)
    assert (item[0] == big, item[2], item[3]) == (True, 65507, 0)

    assert running.transport.send(big, Address("127.0.0.1", peer.getsockname()[1])) == 65507
    assert peer.recv(65535) == big


def test_oversize_to_ipv4_is_refused_and_nothing_is_sent(
    start: Callable[..., RunningTransport], peer_socket: Callable[[str], socket.socket]
) -> None:
    running = start()
    peer = peer_socket("127.0.0.1")
    to = Address("127.0.0.1", peer.getsockname()[1])
    with pytest.raises(
        SendError, match=r"65508 bytes is over the largest UDP payload \(65507 bytes on IPv4\)"
    ):
        running.transport.send(b"x" * (MAX_PAYLOAD_IPV4 + 1), to)
    running.transport.send(b"marker", to)
    assert peer.recv(65535) == b"marker"  # the first thing to arrive: the refused one never went


def test_oversize_to_ipv6_is_refused(start: Callable[..., RunningTransport]) -> None:
    running = start(bind_host="::1")
    with pytest.raises(SendError, match="65527 bytes on IPv6"):
        running.transport.send(b"x" * (MAX_PAYLOAD_IPV6 + 1), Address("::1", 9))


def test_ipv4_only_socket_refuses_ipv6_peer(start: Callable[..., RunningTransport]) -> None:
    running = start(bind_host="127.0.0.1")
    with pytest.raises(SendError, match="IPv4 only"):
        running.transport.send(b"x", Address("::1", 9))


@pytest.mark.parametrize(
    ("bind_host", "loopback"), [(None, "127.0.0.1"), ("127.0.0.1", "127.0.0.1"), ("::1", "::1")]
)
def test_closed_port_becomes_a_fault_and_receiving_goes_on(
    start: Callable[..., RunningTransport],
    peer_socket: Callable[[str], socket.socket],
    bind_host: str | None,
    loopback: str,
) -> None:
    running = start(bind_host=bind_host)
    nobody = Address(loopback, closed_port(loopback))
    running.transport.send(b"anyone there?", nobody)
    [fault] = running.wait_for(1)
    assert isinstance(fault, Fault)
    assert fault.unreachable
    if sys.platform.startswith("linux"):
        assert fault.address == nobody  # read from the ICMP error queue
    assert "\n" not in fault.message

    peer = peer_socket(loopback)
    peer.sendto(b"still listening", (loopback, running.port))
    [item] = running.wait_for(1)
    assert not isinstance(item, Fault)
    assert item[0] == b"still listening"


def test_stop_ends_a_waiting_receiver(
    start: Callable[..., RunningTransport], peer_socket: Callable[[str], socket.socket]
) -> None:
    running = start(bind_host="127.0.0.1")
    peer = peer_socket("127.0.0.1")
    peer.sendto(b"the loop is up", ("127.0.0.1", running.port))
    running.wait_for(1)  # the loop ran; now it waits in the selector with nothing to read
    running.transport.stop()
    running.thread.join(timeout=2)
    assert not running.thread.is_alive()


def test_close_ends_waiting_receivers() -> None:
    """`close` alone must wake the loop: closing a socket does not wake a thread selecting on it."""
    transports = [UdpTransport.open(bind_host="127.0.0.1") for _ in range(10)]
    threads = [threading.Thread(target=t.run_receiver, daemon=True) for t in transports]
    for thread in threads:
        thread.start()
    for transport in transports:
        transport.close()
    deadline = time.monotonic() + DEADLINE
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads)


def test_counters_start_sane(start: Callable[..., RunningTransport]) -> None:
    transport = start(bind_host="127.0.0.1").transport
    assert transport.rcvbuf_granted > 0
    assert transport.kernel_drops == 0
    assert transport.inbox_drops == 0
    assert transport.pending == 0


@pytest.mark.parametrize(("holder_host", "bind_host"), [("127.0.0.1", "127.0.0.1"), ("127.0.0.1", None)])
def test_port_in_use_is_a_transport_error(holder_host: str, bind_host: str | None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind((holder_host, 0))
        port = holder.getsockname()[1]
        with pytest.raises(TransportError, match="already in use") as caught:
            UdpTransport.open(bind_host=bind_host, port=port)
    assert str(port) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_address_not_on_this_machine_is_a_transport_error() -> None:
    # Binding is local: no datagram goes to 192.0.2.1 (TEST-NET-1).
    with pytest.raises(TransportError, match=r"cannot bind 192\.0\.2\.1:0") as caught:
        UdpTransport.open(bind_host="192.0.2.1")
    assert "\n" not in str(caught.value)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_RXQ_OVFL and SO_MEMINFO are Linux's")
def test_every_datagram_of_a_burst_is_received_or_counted_as_dropped() -> None:
    """A burst into a tiny receive buffer: what did not fit is counted, at once, not at the next datagram."""
    transport = UdpTransport.open(bind_host="127.0.0.1", port=0, rcvbuf=4096)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sent = 300
        for number in range(sent):
            sender.sendto(b"%063d" % number, ("127.0.0.1", transport.local_address.port))
        dropped = transport.refresh_drop_count()
        assert dropped > 0  # the buffer holds a few dozen; the count is there before any read
        receiver = threading.Thread(target=transport.run_receiver)
        receiver.start()
        received = 0
        deadline = time.monotonic() + 5
        while received + dropped < sent and time.monotonic() < deadline:
            received += sum(len(item) for item in transport.take_all() if isinstance(item, RecvBatch))
            time.sleep(0.02)
        assert received + transport.refresh_drop_count() == sent
    finally:
        transport.close()
        sender.close()


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp_unreachable(code: int, from_port: int, to: tuple[str, int]) -> bytes:
    """An ICMP destination-unreachable message quoting a UDP datagram from `from_port` to `to`."""
    inner_ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0, socket.inet_aton("127.0.0.1"), socket.inet_aton(to[0])
    )
    inner_ip = inner_ip[:10] + struct.pack("!H", _checksum(inner_ip)) + inner_ip[12:]
    message = struct.pack("!BBHI", 3, code, 0, 0) + inner_ip + struct.pack("!HHHH", from_port, to[1], 8, 0)
    return message[:2] + struct.pack("!H", _checksum(message)) + message[4:]


@pytest.mark.parametrize(("code", "words"), [(1, "host unreachable"), (0, "network unreachable")])
def test_icmp_host_or_network_unreachable_is_a_fault_and_leaves_the_socket_quiet(
    start: Callable[..., RunningTransport], peer_socket: Callable[[str], socket.socket], code: int, words: str
) -> None:
    """The kernel keeps an ICMP error queued until it is read; unread, the socket stays readable
    and the receive loop spins. Needs a raw socket (CAP_NET_RAW), which CI has as root."""
    running = start(port=0)
    port = running.transport.local_address.port
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        raw.sendto(icmp_unreachable(code, port, ("127.0.0.2", 9)), ("127.0.0.1", 0))
        [fault] = running.wait_for(1)
        assert isinstance(fault, Fault) and fault.unreachable
        assert words in fault.message
        assert fault.address == Address("127.0.0.2", 9)
        readable, _, _ = select.select([running.transport.sock], [], [], 0.2)
        assert readable == []  # the error queue was read: nothing left to wake the loop
        sender = peer_socket("127.0.0.1")
        sender.sendto(b"still receiving", ("127.0.0.1", port))
        [item] = running.wait_for(1)
        assert not isinstance(item, Fault) and item[0] == b"still receiving"
    finally:
        raw.close()
