"""Layout at every size, through Pilot: the peers pane gives way to the log on a narrow terminal,
the header keeps the target and the mode, and toasts hide neither the input box nor the status bar."""

from __future__ import annotations

import socket
from collections.abc import Callable

from conftest import address_of, fixed_clock, receive_from

from udptui.app import UdpTuiApp, make_app
from udptui.config import Config
from udptui.transport import UdpTransport
from udptui.widgets import ChatLog, PeerList
from udptui.widgets.chat_body import LOG_MIN_WIDTH

OpenTransport = Callable[..., UdpTransport]


def build(open_transport: OpenTransport) -> UdpTuiApp:
    return make_app(Config(listening=True), transport=open_transport(), clock=fixed_clock)


def pane_shown(app: UdpTuiApp) -> bool:
    pane = app.query_one(PeerList)
    return pane.display and pane.region.width > 0


async def test_the_peers_pane_gives_way_below_50_log_columns_and_comes_back(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=(30, 20)) as pilot:
        await receive_from(pilot, app, peer, b"hello")
        log = app.query_one(ChatLog)
        assert not pane_shown(app)
        assert log.region.width == 30  # the log has the whole width, not the pane

        await pilot.resize_terminal(60, 20)
        assert not pane_shown(app)
        assert log.region.width == 60

        await pilot.resize_terminal(120, 20)
        assert pane_shown(app)
        assert log.region.width >= LOG_MIN_WIDTH
        pane = app.query_one(PeerList)
        assert str(address_of(peer)) in pane.render_line(0).text  # caught up on what came meanwhile

        await pilot.resize_terminal(60, 20)
        assert not pane_shown(app)
        assert log.region.width == 60


async def test_after_f2_the_pane_stays_as_the_user_chose(open_transport: OpenTransport) -> None:
    app = build(open_transport)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.press("f2")
        assert pane_shown(app)  # shown by hand although the log gets less than 50 columns
        await pilot.resize_terminal(50, 20)
        assert pane_shown(app)
        await pilot.resize_terminal(120, 20)
        await pilot.press("f2")
        assert not pane_shown(app)
        await pilot.resize_terminal(140, 20)
        assert not pane_shown(app)  # hidden by hand: growing does not bring it back
