"""The chat session without a screen: reply target (follow or pinned), sends, size warnings,
counters, scrollback, and datagrams whose sender makes no sense."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from conftest import RunningTransport, closed_port

from udptui.chat.datagram import Direction, Level, Truncation
from udptui.chat.session import ChatSession
from udptui.chat.sizes import size_warnings
from udptui.net.address import Address
from udptui.net.faults import TIMES
from udptui.net.transport import Fault, Inbound, SendError, UdpTransport

DEADLINE = 5.0
T0 = datetime(2024, 1, 2, 3, 4, 5)


@pytest.fixture
def receiving() -> Iterator[Callable[..., RunningTransport]]:
    opened: list[RunningTransport] = []

    def make(**kwargs: int) -> RunningTransport:
        opened.append(RunningTransport(UdpTransport.open(bind_host="127.0.0.1", **kwargs)))
        return opened[-1]

    yield make
    for item in opened:
        item.finish()


@pytest.fixture
def peers() -> Iterator[Callable[[], socket.socket]]:
    """Plain UDP sockets on 127.0.0.1, each a different peer."""
    made: list[socket.socket] = []

    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(DEADLINE)
        sock.bind(("127.0.0.1", 0))
        made.append(sock)
        return sock

    yield make
    for sock in made:
        sock.close()


def address_of(sock: socket.socket) -> Address:
    return Address.from_sockaddr(sock.getsockname())


def test_follow_mode_replies_to_the_last_sender(
    receiving: Callable[..., RunningTransport], peers: Callable[[], socket.socket]
) -> None:
    rx = receiving()
    session = ChatSession(rx.transport, follow=True, clock=lambda: T0)
    alice, bob = peers(), peers()

    alice.sendto(b"hi from alice", rx.address)
    result = session.ingest(rx.wait_for(1))
    assert result.target_changed
    assert session.target == address_of(alice)
    assert [(e.peer, e.payload, e.stranger) for e in result.entries] == [
        (address_of(alice), b"hi from alice", False)
    ]

    bob.sendto(b"hi from bob", rx.address)
    result = session.ingest(rx.wait_for(1))
    assert result.target_changed
    assert session.target == address_of(bob)
    assert not result.entries[0].stranger

    sent = session.send(b"reply")
    assert sent.entry.peer == address_of(bob)
    assert sent.entry.direction is Direction.SENT
    assert bob.recv(100) == b"reply"


def test_follow_mode_target_is_the_last_of_a_batch(
    receiving: Callable[..., RunningTransport], peers: Callable[[], socket.socket]
) -> None:
    rx = receiving()
    session = ChatSession(rx.transport, follow=True)
    alice, bob = peers(), peers()
    alice.sendto(b"1", rx.address)
    bob.sendto(b"2", rx.address)
    batch = rx.wait_for(2)
    result = session.ingest(batch)
    assert [e.payload for e in result.entries] == [b"1", b"2"]
    assert session.target == address_of(bob)
    assert not any(e.stranger for e in result.entries)


def test_pinned_mode_keeps_the_target_and_marks_strangers(
    receiving: Callable[..., RunningTransport], peers: Callable[[], socket.socket]
) -> None:
    rx = receiving()
    alice, mallory = peers(), peers()
    session = ChatSession(rx.transport, target=address_of(alice), follow=False)

    mallory.sendto(b"let me in", rx.address)
    result = session.ingest(rx.wait_for(1))
    assert not result.target_changed
    assert session.target == address_of(alice)
    assert result.entries[0].stranger
    assert result.entries[0].peer == address_of(mallory)

    alice.sendto(b"it's me", rx.address)
    result = session.ingest(rx.wait_for(1))
    assert not result.entries[0].stranger

    session.send(b"only to alice")
    assert alice.recv(100) == b"only to alice"


def test_send_without_a_target_says_no_peer_yet(receiving: Callable[..., RunningTransport]) -> None:
    session = ChatSession(receiving().transport)
    with pytest.raises(SendError, match="no peer yet"):
        session.send(b"hello?")
    assert session.counters.sent == 0
    assert len(session.store) == 0


def test_send_to_an_explicit_address(
    receiving: Callable[..., RunningTransport], peers: Callable[[], socket.socket]
) -> None:
    session = ChatSession(receiving().transport)
    bob = peers()
    session.send(b"direct", address_of(bob))
    assert bob.recv(100) == b"direct"
    assert session.target is None


@pytest.mark.parametrize(
    ("size", "ipv6", "words"),
    [
        (508, False, None),
        (509, False, "over 508, it may be dropped"),
        (1472, False, "over 508, it may be dropped"),
        (1473, False, "over 1472, it will be fragmented"),
        (1232, True, None),
        (1233, True, "over 1232, it may be dropped"),
        (1452, True, "over 1232, it may be dropped"),
        (1453, True, "over 1452, it will be fragmented"),
    ],
)
def test_size_warnings(size: int, ipv6: bool, words: str | None) -> None:
    warnings = size_warnings(size, ipv6)
    if words is None:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert words in warnings[0]
        assert f"sent {size} bytes" in warnings[0]


def test_send_reports_size_warnings(
    receiving: Callable[..., RunningTransport], peers: Callable[[], socket.socket]
) -> None:
    bob = peers()
    session = ChatSession(receiving().transport, target=address_of(bob), follow=False)
    assert session.send(b"x" * 508).warnings == []
    assert "over 508" in session.send(b"x" * 509).warnings[0]
    assert "over 1472" in session.send(b"x" * 1473).warnings[0]
    assert [len(bob.recv(2000)) for _ in range(3)] == [508, 509, 1473]


def test_counters(receiving: Callable[..., RunningTransport], peers: Callable[[], socket.socket]) -> None:
    rx = receiving()
    session = ChatSession(rx.transport)
    alice = peers()
    alice.sendto(b"hello", rx.address)
    alice.sendto(b"abc", rx.address)
    session.ingest(rx.wait_for(2))
    session.send(b"four")
    assert alice.recv(100) == b"four"
    counters = session.counters
    assert (counters.received, counters.bytes_in, counters.sent, counters.bytes_out) == (2, 8, 1, 4)
    session.note("a note is not traffic")
    assert (counters.received, counters.sent) == (2, 1)


def test_truncated_datagrams_count_their_wire_size(
    receiving: Callable[..., RunningTransport], peers: Callable[[], socket.socket]
) -> None:
    rx = receiving(bufsize=1)
    session = ChatSession(rx.transport)
    peers().sendto(b"hello", rx.address)
    [entry] = session.ingest(rx.wait_for(1)).entries
    assert entry.payload == b"h"
    if rx.transport.detects_truncation:
        assert entry.truncation is Truncation.CUT
        assert entry.truncation_text == "truncated: 5 bytes sent, 1 kept"
        assert session.counters.bytes_in == 5
    else:
        assert entry.truncation is Truncation.POSSIBLE


def test_faults_become_warning_notes(receiving: Callable[..., RunningTransport]) -> None:
    session = ChatSession(receiving().transport)
    nobody = Address("127.0.0.1", 9)
    fault = Fault("peer port closed? (ICMP port unreachable)", nobody, unreachable=True)
    result = session.ingest([fault])
    assert result.faults == [fault]
    [entry] = result.entries
    assert entry.direction is Direction.NOTE
    assert entry.level is Level.WARNING
    assert entry.note == "peer port closed? (ICMP port unreachable) 127.0.0.1:9"
    assert session.counters.received == 0


def test_scrollback_lets_old_entries_go(receiving: Callable[..., RunningTransport]) -> None:
    session = ChatSession(receiving().transport, scrollback=3)
    sender = ("127.0.0.1", 5000)
    batch: list[Inbound] = [(str(i).encode(), sender, 1, 0) for i in range(5)]
    result = session.ingest(batch)
    assert result.let_go == 2
    assert session.store.let_go == 2
    assert [e.payload for e in session.store] == [b"2", b"3", b"4"]
    assert [e.seq for e in session.store] == [2, 3, 4]
    assert session.store.total == 5

    session.note("one more")
    assert session.store.let_go == 3
    assert len(session.store) == 3

    session.store.clear()
    assert session.store.let_go == 6
    assert session.counters.received == 5


def test_unparseable_sender_still_becomes_an_entry(receiving: Callable[..., RunningTransport]) -> None:
    session = ChatSession(receiving().transport, clock=lambda: T0)
    good = ("127.0.0.1", 5000)
    batch: list[Inbound] = [
        (b"\xffodd", None, 4, 0),  # not subscriptable
        (b"unhashable", ["127.0.0.1", 5001], 10, 0),  # cannot be a cache key
        (b"fine", good, 4, 0),
    ]
    result = session.ingest(batch)
    odd, unhashable, fine = result.entries
    assert (odd.peer, odd.payload, odd.direction) == (None, b"\xffodd", Direction.RECEIVED)
    assert odd.wire_length == 4
    assert (unhashable.peer, unhashable.payload) == (None, b"unhashable")
    assert fine.peer == Address("127.0.0.1", 5000)
    assert session.target == Address("127.0.0.1", 5000)
    assert session.counters.received == 3
    assert len(session.store) == 3


def test_the_roster_puts_the_latest_sender_of_a_batch_first(
    receiving: Callable[..., RunningTransport], peers: Callable[[], socket.socket]
) -> None:
    """A batch from alice, bob, alice: alice spoke last, so she tops the peers pane."""
    rx = receiving()
    session = ChatSession(rx.transport, clock=lambda: T0)
    alice, bob = peers(), peers()
    for sender in (alice, bob, alice):
        sender.sendto(b"x", rx.address)
    session.ingest(rx.wait_for(3))
    assert [peer.address for peer in session.roster.ordered()] == [address_of(alice), address_of(bob)]
    alice_in_roster = session.roster.get(address_of(alice))
    assert alice_in_roster is not None and alice_in_roster.received == 2


def test_a_sends_round_trip_starts_before_the_datagram_goes(
    receiving: Callable[..., RunningTransport], peers: Callable[[], socket.socket]
) -> None:
    """The time is read once, before sendto, for the entry and the round trip alike: read after
    it (and after the transcript write), a fast loopback reply's kernel time could come first,
    its round trip was dropped, and the log showed the reply before its request."""
    bob = peers()
    readings = iter(datetime(2026, 1, 2, 12, 0, second) for second in range(1, 10))
    session = ChatSession(
        receiving().transport, target=address_of(bob), follow=False, clock=lambda: next(readings)
    )
    result = session.send(b"are you there?")
    assert result.entry.time == datetime(2026, 1, 2, 12, 0, 1)  # the one reading, before the send
    assert (
        session.rtt.arrived(address_of(bob), int(datetime(2026, 1, 2, 12, 0, 2).timestamp() * 1e9)) == 1000.0
    )


def test_a_flood_of_icmp_errors_is_one_counted_note_a_second(
    receiving: Callable[..., RunningTransport],
) -> None:
    """A repeat to a closed port made a note per ICMP error (461,139 flushed the scrollback):
    identical faults are one note with a count, the same fault is said at most once a second,
    and what it held back is counted into its next note and the status bar's total."""
    running = receiving()
    session = ChatSession(running.transport, clock=lambda: T0)
    seconds = [0.0]
    session.fault_notes.clock = lambda: seconds[0]
    nobody = Address("127.0.0.1", closed_port())
    sends = refused = 0
    notes: list[str] = []
    deadline = time.monotonic() + DEADLINE
    while sends < 500:
        try:
            running.transport.send(b"x", nobody)
        except SendError:  # the socket's pending error answered the send itself
            refused += 1
        sends += 1
        while session.counters.faults + refused < sends and time.monotonic() < deadline:
            notes += [entry.note for entry in session.ingest(running.transport.take_all()).entries]
        assert time.monotonic() < deadline, f"{session.counters.faults} faults, {refused} refused of {sends}"
    notes += [entry.note for entry in session.ingest(running.transport.take_all()).entries]
    text = f"peer port closed? (ICMP port unreachable) {nobody}"
    assert notes[0] == text or notes[0].startswith(f"{text} ({TIMES}")
    assert len(notes) == 1  # the rest fell within the same second: held and counted
    said = int(notes[0].rpartition(TIMES)[2].rstrip(")").replace(",", "") or 1) if TIMES in notes[0] else 1
    assert said + session.fault_notes.held == session.counters.faults >= 250

    seconds[0] = 1.0  # the second is up: the next take, even an empty one, says the rest
    [late] = session.ingest([]).entries
    assert late.note == f"{text} ({TIMES}{session.counters.faults - said:,})"
    assert session.fault_notes.held == 0
    assert session.ingest([]).added == 0


def test_identical_faults_in_one_take_are_one_note_in_place(
    receiving: Callable[..., RunningTransport],
) -> None:
    session = ChatSession(receiving().transport, clock=lambda: T0)
    a, b = Address("127.0.0.1", 9), Address("127.0.0.1", 10)
    sender = ("127.0.0.1", 5000)
    result = session.ingest(
        [Fault("gone", a), Fault("gone", b, count=3), (b"hi", sender, 2, 0), Fault("gone", a)]
    )
    assert [entry.note or entry.payload for entry in result.entries] == [
        f"gone 127.0.0.1:9 ({TIMES}2)",
        f"gone 127.0.0.1:10 ({TIMES}3)",
        b"hi",
    ]
    assert session.counters.faults == 5
