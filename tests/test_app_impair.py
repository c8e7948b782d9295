"""Impairments on the screen, through Pilot with a real peer socket: each datagram an
impairment hits is marked in its log line, the inspector names it, the status bar counts
it, `/impair` changes them, and a failed send still keeps the typed text."""

from __future__ import annotations

import socket
from collections.abc import Callable

from conftest import address_of, closed_port, fixed_clock, type_line, wait_for
from test_app import line_text
from test_app_commands import screen_text

from udptui.chat.datagram import Direction, Entry
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.impair_settings import ImpairSettings
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import Composer, StatusBar

OpenTransport = Callable[..., UdpTransport]


def build(open_transport: OpenTransport, peer: socket.socket, **config: object) -> UdpTuiApp:
    transport = open_transport()
    settings = Config(peer=address_of(peer), **config)  # type: ignore[arg-type]
    return make_app(settings, transport=transport, clock=fixed_clock)


def entries(app: UdpTuiApp, direction: Direction) -> list[Entry]:
    return [entry for entry in app.session.store if entry.direction is direction]


def status_text(app: UdpTuiApp) -> str:
    return str(app.query_one(StatusBar).render())


async def test_lost_and_delayed_sends_are_marked(open_transport: OpenTransport, peer: socket.socket) -> None:
    """`--loss 100%`: the send is an entry marked as dropped and nothing reaches the peer;
    then `--delay 80ms`: it arrives, marked with its delay."""
    app = build(open_transport, peer, impair=ImpairSettings(loss=1.0, seed=1))
    async with app.run_test() as pilot:
        await type_line(pilot, app, "into the void")
        [lost] = entries(app, Direction.SENT)
        assert line_text(app, lost).endswith("into the void  [✗ dropped by --loss]")
        assert app.query_one(Composer).value == ""  # it was sent, as far as you can tell
        await type_line(pilot, app, "/impair loss off delay 80ms")
        await type_line(pilot, app, "late")
        peer.settimeout(5)
        assert peer.recv(100) == b"late"  # the lost one never came
        late = entries(app, Direction.SENT)[-1]
        assert line_text(app, late).endswith("late  [delayed 80.0 ms]")
        await pilot.pause()
        status = status_text(app)
        assert "impair→ delay 80ms" in status and "lost 1, delayed 1" in status


async def test_inspector_names_the_flipped_bit(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport, peer, impair=ImpairSettings(corrupt=1.0, seed=2))
    async with app.run_test(size=(160, 40)) as pilot:
        await type_line(pilot, app, "hello")
        peer.settimeout(5)
        data = peer.recv(100)
        [entry] = entries(app, Direction.SENT)
        fate = entry.impairment
        assert fate is not None and entry.payload == data != b"hello"
        byte, bit = fate.corrupt_place
        assert data[byte] ^ b"hello"[byte] == 1 << bit
        assert f"[corrupted: byte {byte} bit {bit}]" in line_text(app, entry)
        await pilot.press("f6")
        await wait_for(pilot, lambda: "impaired" in screen_text(app), "the inspector's impaired line")
        assert f"corrupted: byte {byte} bit {bit}" in screen_text(app)


async def test_impair_in_shows_a_dropped_datagram_as_its_own_entry(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    """`--impair in --loss 100%`: the datagram is an entry marked dropped, not received."""
    app = build(open_transport, peer, impair=ImpairSettings(loss=1.0, seed=1), impair_direction="in")
    async with app.run_test() as pilot:
        peer.sendto(b"never delivered", app.transport.local_address.sockaddr_for(socket.AF_INET))
        await wait_for(pilot, lambda: len(app.session.store) >= 1, "the dropped datagram's entry")
        [entry] = entries(app, Direction.RECEIVED)
        assert line_text(app, entry).endswith("never delivered  [✗ dropped by --loss]")
        assert app.session.counters.received == 0
        await type_line(pilot, app, "/impair off")
        peer.sendto(b"delivered", app.transport.local_address.sockaddr_for(socket.AF_INET))
        await wait_for(pilot, lambda: app.session.counters.received == 1, "the next datagram")
        assert "[" not in line_text(app, entries(app, Direction.RECEIVED)[-1])


async def test_duplicates_are_two_entries(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport, peer, impair=ImpairSettings(duplicate=1.0, seed=1))
    async with app.run_test() as pilot:
        await type_line(pilot, app, "twice")
        peer.settimeout(5)
        assert [peer.recv(100), peer.recv(100)] == [b"twice", b"twice"]
        first, second = entries(app, Direction.SENT)
        assert line_text(app, first).endswith("twice")
        assert line_text(app, second).endswith("twice  [duplicate]")
        assert app.session.counters.sent == 2


async def test_a_failed_send_keeps_the_text_with_impairments_on(open_transport: OpenTransport) -> None:
    transport = open_transport()
    config = Config(peer=Address("127.0.0.1", closed_port()), impair=ImpairSettings(duplicate=0.5, seed=1))
    app = make_app(config, transport=transport, clock=fixed_clock)
    async with app.run_test() as pilot:
        app.query_one(Composer).value = "x" * 70_000
        await pilot.press("end", "enter")
        await pilot.pause()
        assert app.query_one(Composer).value == "x" * 70_000
        assert entries(app, Direction.SENT) == []


async def test_impair_alone_lists_the_settings_and_counts(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport, peer, impair=ImpairSettings(loss=0.25, delay=0.2, seed=9))
    async with app.run_test() as pilot:
        await type_line(pilot, app, "/impair")
        notes = [entry.note for entry in entries(app, Direction.NOTE)]
        assert notes[-2:] == [
            "impairments: loss 25%, delay 200ms on what udptui sends (seed 9)",
            "impaired so far: none",
        ]
        await type_line(pilot, app, "/impair delay -5ms")
        assert app.query_one(Composer).value == "/impair delay -5ms"
        assert "bad delay '-5ms': a time cannot be negative" in entries(app, Direction.NOTE)[-1].note


async def test_the_inspector_calls_a_dropped_send_dropped(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    """F6 on a send `--loss` dropped says so, and the next send to that peer counts its gap
    from the last one that went, not from the one that never did."""
    app = build(open_transport, peer, impair=ImpairSettings(loss=1.0, seed=1))
    async with app.run_test(size=(160, 40)) as pilot:
        await type_line(pilot, app, "first")
        await type_line(pilot, app, "/impair loss off")
        await type_line(pilot, app, "second")
        await pilot.press("f6")
        for _ in range(3):  # up from `second`, past the note `/impair` wrote, to `first`
            if "Dropped datagram #" in screen_text(app):
                break
            await pilot.press("up")
            await pilot.pause()
        await wait_for(pilot, lambda: "Dropped datagram #" in screen_text(app), screen_text(app))
        text = screen_text(app)
        assert "dropped before the wire" in text and "Sent datagram" not in text, text
        await pilot.press("end")
        await wait_for(pilot, lambda: "Sent datagram #" in screen_text(app), "the sent one")
        assert "none earlier in the scrollback" in screen_text(app)
