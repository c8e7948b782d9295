"""What impaired datagrams look like: an SVG snapshot of a real session over loopback UDP
with a fixed clock, fixed ports (21961 and 21971 here) and a fixed seed. Accept a deliberate
change with `pytest --snapshot-update`, after reading the SVG."""

from __future__ import annotations

import socket
from contextlib import ExitStack

from conftest import SNAPSHOT_RCVBUF, wait_for
from test_snapshots import SIZE, SnapCompare, open_app, peer_socket, sockets, still_cursor
from textual.pilot import Pilot

from udptui.config import Config
from udptui.net.address import Address
from udptui.net.impair_settings import ImpairSettings
from udptui.ui.app import UdpTuiApp
from udptui.ui.widgets import Composer

__all__ = ["sockets"]  # the fixture, used by name


async def send(pilot: Pilot[None], text: str) -> None:
    """Type a message and press Enter; wait until its entry (or entries) are in the log."""
    app = pilot.app
    assert isinstance(app, UdpTuiApp)
    before = len(app.session.store)
    app.query_one(Composer).value = text
    await pilot.press("end", "enter")
    await wait_for(pilot, lambda: len(app.session.store) > before, f"{text!r} in the log")


def impair(app: UdpTuiApp, direction: str = "out", **settings: float) -> None:
    app.sending.impairing.update(ImpairSettings(seed=1, **settings), direction)  # type: ignore[arg-type]


def test_impaired_datagrams_are_marked(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """Each impairment marks the datagram it hit, all at 12:00:01.000, to and from 127.0.0.1:21971.

    The log shows, in order: a blue `→ … this one is lost  [✗ dropped by --loss]` with the mark
    in bold red; `→ … this one is late  [delayed 80.0 ms]`; `→ … xello  [corrupted: byte 0
    bit 4]` (the `h` of `hello` with bit 4 flipped, as it went on the wire); `→ … twice` then
    `→ … twice  [duplicate]`; a green `← … never delivered  [✗ dropped by --loss]` (dropped on
    the way in: it counts as nothing received); then, impairments off, `← … arrives  [↩ 0.00 ms]`
    (a reply, as the round trip says). These marks are bold yellow but the dropped ones. The
    peers pane is hidden (F2). The status bar reads `rx 1  tx 4` (the lost send is not
    counted, the duplicate is) and `impair⇄ off  lost 2, delayed 1, duplicated 1, corrupted 1`.
    """
    config = Config(port=21961, peer=Address("127.0.0.1", 21971), rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 21971)

    async def run_before(pilot: Pilot[None]) -> None:
        impair(app, loss=1.0)
        await send(pilot, "this one is lost")
        impair(app, delay=0.08)
        await send(pilot, "this one is late")
        assert peer.recv(100) == b"this one is late"
        impair(app, corrupt=1.0)
        await send(pilot, "hello")
        assert peer.recv(100) == b"xello"
        impair(app, duplicate=1.0)
        await send(pilot, "twice")
        impair(app, "both", loss=1.0)
        peer.sendto(b"never delivered", to.sockaddr_for(socket.AF_INET))
        await wait_for(pilot, lambda: len(app.session.store) == 6, "the dropped datagram's entry")
        impair(app, "both")
        peer.sendto(b"arrives", to.sockaddr_for(socket.AF_INET))
        await wait_for(pilot, lambda: app.session.counters.received == 1, "the last datagram")
        await pilot.press("f2")  # the peers pane hides: the log has the width for the marks
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
