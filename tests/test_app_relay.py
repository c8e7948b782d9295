"""Relay mode on the screen, through Pilot: both directions in the log with their client,
the clients in the peers pane, and the header saying whether typing goes to the server or to
the client chosen (`/to CLIENT`, the pane, `/to server`). Real sockets on 127.0.0.1: two
plain clients and a plain echo server; every wait polls with a deadline.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from conftest import WAIT_SECONDS, fixed_clock, type_line, udp_socket, wait_for
from test_relay import EchoServer

from udptui.chat.datagram import Direction
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.relay_transport import RelayTransport
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import ChatHeader, ChatLog, Composer, PeerList

WIDE = (120, 30)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def relay_app(server: Address) -> UdpTuiApp:
    transport = RelayTransport.open_relay(server=server, bind_host="127.0.0.1")
    config = Config(listening=True, forward=server)
    return make_app(config, transport=transport, clock=fixed_clock)


def client() -> socket.socket:
    sock = udp_socket()
    sock.settimeout(WAIT_SECONDS)
    return sock


def header_text(app: UdpTuiApp) -> str:
    return str(app.query_one(ChatHeader).render())


def log_lines(app: UdpTuiApp) -> list[str]:
    log = app.query_one(ChatLog)
    return [log.render_entry(entry).text for entry in app.session.store]


def pane_text(app: UdpTuiApp) -> str:
    pane = app.query_one(PeerList)
    return "\n".join(pane.render_line(y).text for y in range(8))


async def test_both_directions_and_the_clients_are_shown(echo: EchoServer) -> None:
    app = relay_app(echo.address)
    try:
        await relayed_both_ways(app, echo)
    finally:
        app.transport.close()


async def relayed_both_ways(app: UdpTuiApp, echo: EchoServer) -> None:
    async with app.run_test(size=WIDE) as pilot:
        assert "relaying" in header_text(app) and f"→ {echo.address}" in header_text(app)
        assert "to server" in header_text(app)
        relay = ("127.0.0.1", app.transport.local_address.port)
        with client() as alice, client() as bob:
            a, b = (Address("127.0.0.1", sock.getsockname()[1]) for sock in (alice, bob))
            alice.sendto(b"hi from alice", relay)
            bob.sendto(b"hi from bob", relay)
            assert alice.recvfrom(100)[0] == b"echo:hi from alice"
            assert bob.recvfrom(100)[0] == b"echo:hi from bob"
            await wait_for(pilot, lambda: sum(bool(e.relay) for e in app.session.store) == 4, "four relayed")
            lines = log_lines(app)
            assert any(f"↑ client {a} → server  hi from alice" in line for line in lines), lines
            assert any(f"↓ server → client {a}  echo:hi from alice" in line for line in lines), lines
            assert any(f"↑ client {b} → server  hi from bob" in line for line in lines), lines
            assert any(f"↓ server → client {b}  echo:hi from bob" in line for line in lines), lines
            await wait_for(pilot, lambda: str(a) in pane_text(app) and str(b) in pane_text(app), "the pane")
            assert str(echo.address) not in pane_text(app)  # the pane lists the clients

            # Typing goes to the server (from udptui's own port) until a client is chosen.
            await type_line(pilot, app, "to the server")
            await wait_for(pilot, lambda: b"to the server" in echo.payloads, "the server to get it")
            await wait_for(
                pilot,
                lambda: any(
                    f"← server {echo.address}  echo:to the server" in line for line in log_lines(app)
                ),
                "the server's answer, shown and not forwarded",
            )
            await type_line(pilot, app, f"/to {b}")
            assert f"to client {b}" in header_text(app)
            await type_line(pilot, app, "psst, bob")
            assert bob.recvfrom(100) == (b"psst, bob", relay)

            # The pane chooses a client too; `/to server` goes back.
            pane = app.query_one(PeerList)
            pane.focus()
            await pilot.pause()
            row = next(i for i, peer in enumerate(app.session.roster.ordered()) if peer.address == a)
            pane.cursor = row
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.session.target == a, "Enter on alice in the pane")
            assert f"to client {a}" in header_text(app)
            assert app.focused is app.query_one(Composer)
            await type_line(pilot, app, "psst, alice")
            assert alice.recvfrom(100) == (b"psst, alice", relay)
            await type_line(pilot, app, "/to server")
            assert "to server" in header_text(app)
            sent = [e for e in app.session.store if e.direction is Direction.SENT]
            assert [e.peer for e in sent] == [echo.address, b, a]


async def test_to_server_outside_relay_mode_says_why_not() -> None:
    transport = UdpTransport.open(bind_host="127.0.0.1")
    app = make_app(Config(listening=True), transport=transport, clock=fixed_clock)
    try:
        async with app.run_test() as pilot:
            composer = app.query_one(Composer)
            composer.value = "/to server"
            await pilot.press("enter")
            await pilot.pause()
            notes = [e.note for e in app.session.store if e.direction is Direction.NOTE]
            assert any("/to server is for relay mode" in note for note in notes), notes
            assert composer.value == "/to server"  # the line stays, to be corrected
    finally:
        transport.close()


async def test_the_palette_types_to_the_server_again(echo: EchoServer) -> None:
    app = relay_app(echo.address)
    try:
        with client() as alice:
            async with app.run_test(size=WIDE) as pilot:
                alice.sendto(b"hi", ("127.0.0.1", app.transport.local_address.port))
                a = Address("127.0.0.1", alice.getsockname()[1])
                await wait_for(
                    pilot, lambda: app.session.roster.get(a) is not None, "the client in the roster"
                )
                await type_line(pilot, app, f"/to {a}")
                assert f"to client {a}" in header_text(app)
                entry = next(
                    c for c in app.get_system_commands(app.screen) if c.title == "Type to the server"
                )
                entry.callback()
                await pilot.pause()
                assert app.session.target == echo.address
                assert "to server" in header_text(app)
    finally:
        app.transport.close()
