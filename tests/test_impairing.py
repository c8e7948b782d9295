"""Impairments hooked into a session (`udptui.chat.impairing`), on a real loopback socket and a
scheduler whose clock moves only when the test says: the way in keeps what it holds until
its time, drops into entries of their own, and leaves the session unhooked when off."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import address_of, fixed_clock

from udptui.chat.datagram import Direction
from udptui.chat.impairing import Impairing
from udptui.chat.responder import Rule
from udptui.chat.saved_messages import SavedMessages
from udptui.chat.sending import Sending
from udptui.chat.session import ChatSession
from udptui.net.address import Address
from udptui.net.batch import RecvBatch
from udptui.net.impair_settings import ImpairSettings
from udptui.net.impairments import ImpairClosed
from udptui.net.scheduler import ManualScheduler
from udptui.net.transport import SendError, UdpTransport

OpenTransport = Callable[..., UdpTransport]
SENDER = ("127.0.0.1", 40000)


def batch(*payloads: bytes) -> RecvBatch:
    return RecvBatch(list(payloads), [SENDER] * len(payloads), read_ns=time.time_ns())


def session_with(
    open_transport: OpenTransport, settings: ImpairSettings, direction: str
) -> tuple[ChatSession, Impairing, ManualScheduler]:
    session = ChatSession(open_transport(), clock=fixed_clock)
    scheduler = ManualScheduler(start=time.monotonic())
    return session, Impairing(session, settings, direction, scheduler=scheduler), scheduler


def test_no_impairment_leaves_the_session_unhooked(open_transport: OpenTransport) -> None:
    """The receive path is the one it always was: the session holds no hook at all."""
    session, impairing, _ = session_with(open_transport, ImpairSettings(seed=1), "both")
    assert session.impair_in is None and session.impair_out is None
    impairing.update(ImpairSettings(loss=0.1), "in")
    assert session.impair_in is impairing and session.impair_out is None
    impairing.update(ImpairSettings(), "in")
    assert session.impair_in is None


def test_the_way_in_holds_a_delayed_datagram_until_its_time(open_transport: OpenTransport) -> None:
    session, _, scheduler = session_with(open_transport, ImpairSettings(delay=0.2, seed=1), "in")
    result = session.ingest([batch(b"slow")])
    assert result.added == 0 and session.counters.received == 0
    scheduler.advance(0.1)
    assert session.ingest([]).added == 0
    scheduler.advance(0.2)
    result = session.ingest([])
    [entry] = list(result.entries)
    assert (entry.direction, entry.payload, entry.peer and entry.peer.port) == (
        Direction.RECEIVED,
        b"slow",
        40000,
    )
    assert entry.impairment is not None and entry.impairment.text() == "delayed 200.0 ms"
    assert session.counters.received == 1
    assert session.target is not None and session.target.port == 40000


def test_the_way_in_drops_into_entries_that_count_as_nothing_received(open_transport: OpenTransport) -> None:
    session, _, _ = session_with(open_transport, ImpairSettings(loss=1.0, seed=1), "in")
    result = session.ingest([batch(b"a", b"b", b"c")])
    assert [entry.payload for entry in result.entries] == [b"a", b"b", b"c"]
    assert all(entry.impairment and entry.impairment.lost == "loss" for entry in result.entries)
    assert session.counters.received == 0 and session.target is None
    assert len(session.roster) == 0


def test_turning_the_way_in_off_still_delivers_what_it_held(open_transport: OpenTransport) -> None:
    session, impairing, scheduler = session_with(open_transport, ImpairSettings(delay=0.05, seed=1), "in")
    session.ingest([batch(b"held")])
    impairing.update(ImpairSettings(seed=1))
    assert session.impair_in is impairing  # one is still held
    session.ingest([batch(b"plain")])
    scheduler.advance(0.1)
    result = session.ingest([])
    assert [entry.payload for entry in result.entries] == [b"held"]
    assert session.impair_in is None
    assert [entry.payload for entry in session.store] == [b"plain", b"held"]


def test_datagrams_lost_on_the_way_in_get_no_reply_and_end_no_round_trip(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    """With `--impair in --loss 50%` (under 100%, so some of the batch survives and the
    responder runs), only the datagrams that got through are answered, and the round trip
    of a send ends at the first one that got through, not at a lost one before it."""
    session = ChatSession(open_transport(), clock=fixed_clock)
    settings = ImpairSettings(loss=0.5, seed=3)  # seed 3 drops m0 and m1, then lets m2 through
    sending = Sending(session, rules=[Rule("(.*)", r"re:\1")], impair=settings, impair_direction="in")
    session.send(b"ping", address_of(peer))
    assert session.rtt.is_waiting_for(address_of(peer))
    payloads = [f"m{index}".encode() for index in range(10)]
    sender = peer.getsockname()
    result = session.ingest([RecvBatch(payloads, [sender] * 10, read_ns=time.time_ns())])
    entries = list(result.entries)
    lost = [entry.payload for entry in entries if entry.impairment is not None and entry.impairment.lost]
    survived = [entry.payload for entry in entries if entry.impairment is None]
    assert lost[:2] == [b"m0", b"m1"] and survived[0] == b"m2" and len(lost) + len(survived) == 10
    assert [entry.payload for entry in result.sent] == [b"re:" + payload for payload in survived]
    assert [entry.payload for entry in entries if sending.marks.get(entry.seq)] == [b"m2"]
    assert session.counters.received == len(survived)
    assert session.roster.get(address_of(peer)).received == len(survived)  # type: ignore[union-attr]


def test_a_held_send_that_can_never_go_fails_at_once(open_transport: OpenTransport) -> None:
    """`--bind 127.0.0.1 --delay 100ms` and a send to an IPv6 address (or one too big): the
    transport's checks run before the datagram is held, so the send fails while the text is
    still typed, and nothing says it went."""
    session, impairing, scheduler = session_with(open_transport, ImpairSettings(delay=0.1, seed=1), "out")
    for payload, to, words in (
        (b"hi", Address("::1", 9), "IPv4 only"),
        (b"x" * 70_000, Address("127.0.0.1", 9), "largest UDP payload"),
    ):
        with pytest.raises(SendError, match=words):
            session.send(payload, to)
    assert session.counters.sent == 0 and len(session.store) == 0 and impairing.out.held == 0
    scheduler.advance(1)
    assert not impairing.errors


def test_a_held_broadcast_says_so_with_its_own_send(open_transport: OpenTransport) -> None:
    """SO_BROADCAST is turned on when the broadcast is sent (and held), not when the
    scheduler's thread releases it: the note comes with this send's result, not a later one's."""
    session, _, _ = session_with(open_transport, ImpairSettings(delay=0.1, seed=1), "out")
    result = session.send(b"all", Address("255.255.255.255", 9))
    assert [title for title, _ in result.notices()] == ["Broadcast"]
    assert session.transport.broadcast
    later = session.send(b"one", Address("127.0.0.1", 9))
    assert later.notes == []


def test_a_send_entirely_lost_waits_for_no_reply(open_transport: OpenTransport, peer: socket.socket) -> None:
    session, _, _ = session_with(open_transport, ImpairSettings(loss=1.0, seed=1), "out")
    session.send(b"gone", address_of(peer))
    assert not session.rtt.is_waiting_for(address_of(peer))
    assert session.last_sent is not None and session.last_sent.payload == b"gone"


def test_keep_after_a_corrupted_send_saves_the_bytes_as_typed(
    open_transport: OpenTransport, tmp_path: Path
) -> None:
    """The entry shows the bytes as they went (one bit flipped); `/keep` saves them as typed."""
    session = ChatSession(open_transport(), clock=fixed_clock)
    sending = Sending(
        session, impair=ImpairSettings(corrupt=1.0, seed=1), saved=SavedMessages(tmp_path / "messages")
    )
    result = session.send(b"hello", Address("127.0.0.1", 9))
    assert result.entry.impairment is not None and result.entry.payload != b"hello"
    assert sending.keep("greeting").payload == b"hello"


def test_after_close_nothing_is_held_where_no_one_would_release_it(open_transport: OpenTransport) -> None:
    """The last take of the inbox at quit comes after the impairments closed: it is recorded
    as received (unimpaired) rather than held by a scheduler that releases nothing more, and
    the impairer itself refuses a datagram it could never release."""
    session, impairing, scheduler = session_with(open_transport, ImpairSettings(delay=0.2, seed=1), "both")
    session.ingest([batch(b"held")])
    assert impairing.close() == 1
    assert session.impair_in is None and session.impair_out is None
    assert [entry.payload for entry in session.ingest([batch(b"last")]).entries] == [b"last"]
    assert session.counters.received == 1
    with pytest.raises(ImpairClosed):
        impairing.inbound.submit(b"late", None)  # type: ignore[arg-type]
    scheduler.advance(1)
    assert session.ingest([]).added == 0


def test_an_auto_reply_duplicated_on_the_way_out_shows_both_copies(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    session = ChatSession(open_transport(), clock=fixed_clock)
    sending = Sending(session, rules=[Rule("ping", "pong")], impair=ImpairSettings(duplicate=1.0, seed=1))
    result = session.ingest([RecvBatch([b"ping"], [peer.getsockname()], read_ns=time.time_ns())])
    assert [
        (entry.payload, bool(entry.impairment and entry.impairment.duplicate)) for entry in result.sent
    ] == [
        (b"pong", False),
        (b"pong", True),
    ]
    assert all(sending.marks.get(entry.seq) == "auto" for entry in result.sent)


def test_an_impaired_repeat_waits_out_a_full_send_buffer(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    """A repeat's send through impairments keeps the back-pressure of a plain repeat: a full
    send buffer is waited out and the same copy goes (its fate is drawn once), rather than
    counting as a failed send. Loopback never fills a send buffer, so the kernel's EAGAIN is
    made here: the real socket's `sendto` refuses the first three tries."""
    session, impairing, _ = session_with(open_transport, ImpairSettings(corrupt=1e-9, seed=1), "out")
    transport = session.transport
    real, refusals = transport._sendto, [3]

    def full_then_real(payload: bytes, to: Address) -> int:
        if refusals[0]:
            refusals[0] -= 1
            raise BlockingIOError
        return real(payload, to)

    transport._sendto = full_then_real  # type: ignore[method-assign]
    sends = impairing.repeat_sender(address_of(peer), record=False)
    sends(b"again")
    assert sends.went == 1 and refusals == [0]
    assert peer.recv(100) == b"again"
    refusals[0] = 1
    with pytest.raises(SendError, match="send buffer is full"):  # a typed send says so at once
        session.send(b"typed", address_of(peer))


def test_held_sends_that_fail_together_are_one_note(open_transport: OpenTransport) -> None:
    session = ChatSession(open_transport(), clock=fixed_clock)
    sending = Sending(session)
    scheduler = ManualScheduler(start=time.monotonic())
    sending.impairing = Impairing(session, ImpairSettings(delay=0.1, seed=1), "out", scheduler=scheduler)
    for index in range(5):
        session.send(f"m{index}".encode(), Address("127.0.0.1", 9))
    session.transport.sock.close()  # each release now fails
    scheduler.advance(1)
    [note] = sending.poll().entries
    assert note.note.startswith("5 datagrams held by impairments failed when their time came; the last: ")
    assert sending.poll().entries == []
