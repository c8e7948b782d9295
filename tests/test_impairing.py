"""Impairments hooked into a session (`udptui.impairing`), on a real loopback socket and a
scheduler whose clock moves only when the test says: the way in keeps what it holds until
its time, drops into entries of their own, and leaves the session unhooked when off."""

from __future__ import annotations

import time
from collections.abc import Callable

from conftest import fixed_clock

from udptui.batch import RecvBatch
from udptui.datagram import Direction
from udptui.impairing import Impairing
from udptui.net.impair_settings import ImpairSettings
from udptui.net.scheduler import ManualScheduler
from udptui.session import ChatSession
from udptui.transport import UdpTransport

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
