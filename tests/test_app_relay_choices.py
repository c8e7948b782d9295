"""Relay mode's header and `/to` through Pilot, with real sockets on loopback: at 80 columns
the header keeps the server (`relaying :P → SERVER`) and shortens the local address first;
`/to` chooses the server or a client the relay has seen, and refuses anything else with a
notice naming the choices, the typed line staying in the box.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import fixed_clock, type_line, wait_for
from test_app_relay import client, header_text, log_lines, pane_text, relay_app
from test_relay import EchoServer

from udptui.chat.datagram import Direction
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.relay_transport import RelayTransport
from udptui.ui.app import make_app
from udptui.ui.widgets import Composer


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


async def test_at_80_columns_the_header_keeps_the_server(echo: EchoServer) -> None:
    # Both stacks, as `--listen P` binds: `0.0.0.0:P and [::]:P` is the long local address.
    transport = RelayTransport.open_relay(server=echo.address)
    app = make_app(Config(listening=True, forward=echo.address), transport=transport, clock=fixed_clock)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            port = transport.local_address.port
            text = header_text(app)
            assert f"relaying :{port} → {echo.address}" in text, text
            assert "to server" in text and "pinned" in text, text
    finally:
        transport.close()


async def test_to_takes_the_server_or_a_known_client_only(echo: EchoServer) -> None:
    app = relay_app(echo.address)
    try:
        with client() as alice:
            async with app.run_test(size=(120, 30)) as pilot:
                relay = ("127.0.0.1", app.transport.local_address.port)
                a = Address("127.0.0.1", alice.getsockname()[1])
                composer = app.query_one(Composer)

                await type_line(pilot, app, "/to 127.0.0.1:9")
                notes = [e.note for e in app.session.store if e.direction is Direction.NOTE]
                assert any(
                    "127.0.0.1:9 is not a client of this relay" in n and "/to server" in n for n in notes
                ), notes
                assert composer.value == "/to 127.0.0.1:9"  # the line stays, to be corrected
                assert app.session.target == echo.address and "to server" in header_text(app)

                alice.sendto(b"hi", relay)
                assert alice.recvfrom(100)[0] == b"echo:hi"
                await wait_for(pilot, lambda: app.session.roster.get(a) is not None, "alice in the roster")
                await type_line(pilot, app, "/to 127.0.0.1:9")
                notes = [e.note for e in app.session.store if e.direction is Direction.NOTE]
                assert any(f"/to server, or a client: {a}" in n for n in notes), notes
                assert "127.0.0.1:9" not in pane_text(app)

                await type_line(pilot, app, f"/to {a}")
                assert app.session.target == a and f"to client {a}" in header_text(app)
                await type_line(pilot, app, f"/to {echo.address}")  # the server's own address is the server
                assert app.session.target == echo.address and "to server" in header_text(app)
    finally:
        app.transport.close()


async def test_a_send_to_a_client_says_client(echo: EchoServer) -> None:
    app = relay_app(echo.address)
    try:
        with client() as alice:
            async with app.run_test(size=(120, 30)) as pilot:
                alice.sendto(b"hi", ("127.0.0.1", app.transport.local_address.port))
                a = Address("127.0.0.1", alice.getsockname()[1])
                assert alice.recvfrom(100)[0] == b"echo:hi"
                await wait_for(pilot, lambda: app.session.roster.get(a) is not None, "alice in the roster")
                await type_line(pilot, app, f"/to {a}")
                await type_line(pilot, app, "psst")
                assert alice.recvfrom(100)[0] == b"psst"
                lines = log_lines(app)
                assert any(f"→ client {a}  psst" in line for line in lines), lines
    finally:
        app.transport.close()
