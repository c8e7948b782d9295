"""What relay mode looks like: an SVG snapshot of a real relay between two plain clients and
a plain echo server on loopback. Fixed clock and fixed ports (25000-25099: the relay's, the
server's, the clients' and every upstream socket's), so the picture is the same every run.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from conftest import SNAPSHOT_RCVBUF, fixed_clock, udp_socket, wait_for
from test_relay import EchoServer
from test_snapshots import send, still_cursor
from textual.pilot import Pilot

from udptui.config import Config
from udptui.net.address import Address
from udptui.net.relay_transport import RelayTransport
from udptui.net.transport import bind_socket
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import Composer

SnapCompare = Callable[..., bool]
LISTEN, SERVER, ALICE, BOB = 25001, 25002, 25003, 25004
UPSTREAM = (25010, 25011, 25012)
"""udptui's own socket to the server, then alice's session, then bob's."""


@pytest.fixture
def sockets() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


async def relayed(pilot: Pilot[None], client: socket.socket, payload: bytes) -> None:
    """A client writes to the relay; wait until its echo came back through it and is stored."""
    app = pilot.app
    assert isinstance(app, UdpTuiApp)
    before = sum(bool(entry.relay) for entry in app.session.store)
    client.sendto(payload, ("127.0.0.1", LISTEN))
    assert client.recvfrom(100)[0] == b"echo:" + payload
    await wait_for(pilot, lambda: sum(bool(e.relay) for e in app.session.store) == before + 2, "both ways")


def test_relay_between_two_clients_and_a_server(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """udptui relaying port 25001 to an echo server at 127.0.0.1:25002, two clients talking.

    The header reads `udptui  relaying 127.0.0.1:25001 → 127.0.0.1:25002   to client
    127.0.0.1:25003  pinned`. The log, all at 12:00:01.000: a note `client 127.0.0.1:25003:
    new session, upstream port 25011 → server`, `↑ client 127.0.0.1:25003 → server  hello`,
    `↓ server → client 127.0.0.1:25003  echo:hello`; the same three for bob (25004, upstream
    port 25012, `hi`); then `→ server 127.0.0.1:25002  status?` typed to the server and
    `← server 127.0.0.1:25002  echo:status?`, its answer to udptui's own port; then the note
    `replying to 127.0.0.1:25003 (pinned)`. The peers pane lists the two clients (1 in and
    1 out each), and the server, which udptui talked to itself.
    """
    echo = EchoServer(SERVER)
    sockets.callback(echo.close)
    server = Address("127.0.0.1", SERVER)
    ports = itertools.chain(UPSTREAM, itertools.repeat(0))
    transport = RelayTransport(
        bind_socket("127.0.0.1", LISTEN, SNAPSHOT_RCVBUF),
        server=server,
        rcvbuf_requested=SNAPSHOT_RCVBUF,
        upstream_port=lambda: next(ports),
    )
    sockets.callback(transport.close)
    config = Config(port=LISTEN, listening=True, forward=server, rcvbuf=SNAPSHOT_RCVBUF)
    app = make_app(config, transport=transport, clock=fixed_clock)
    alice = sockets.enter_context(udp_socket("127.0.0.1", ALICE))
    bob = sockets.enter_context(udp_socket("127.0.0.1", BOB))
    for client in (alice, bob):
        client.settimeout(5)

    async def run_before(pilot: Pilot[None]) -> None:
        await relayed(pilot, alice, b"hello")
        await relayed(pilot, bob, b"hi")
        await send(pilot, "status?")
        await wait_for(pilot, lambda: app.session.counters.received == 5, "the server's answer")
        app.query_one(Composer).value = f"/to 127.0.0.1:{ALICE}"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.session.target == Address("127.0.0.1", ALICE), "/to alice")
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=(110, 30), run_before=run_before)
