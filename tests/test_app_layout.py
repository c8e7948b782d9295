"""Layout at every size, through Pilot: the peers pane gives way to the log on a narrow terminal,
the header keeps the target and the mode, and toasts hide neither the input box nor the status bar."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from conftest import address_of, fixed_clock, receive_from

from udptui.address import Address
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


def screen_lines(app: UdpTuiApp) -> list[str]:
    """What the terminal shows now, line by line, as plain text."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize("width", [120, 80, 60, 50, 40])
async def test_the_header_keeps_the_target_and_the_mode_down_to_40_columns(
    open_transport: OpenTransport, peer: socket.socket, width: int
) -> None:
    transport = open_transport(bind_host="::")  # the longest local address: both wildcards
    target = address_of(peer)
    app = make_app(Config(peer=target, listening=False), transport=transport, clock=fixed_clock)
    port = transport.local_address.port
    async with app.run_test(size=(width, 20)) as pilot:
        await pilot.pause()
        header = screen_lines(app)[0]
        assert f"peer {target}" in header or f" {target}  pinned" in header, header
        assert header.rstrip().endswith(f"{target}  pinned"), header
        assert f":{port}" in header or width < 50, header  # the local port goes only after the rest
        if width >= 100:
            assert f"udptui  bound to 0.0.0.0:{port} and [::]:{port}" in header, header


async def test_a_long_ipv6_target_is_cut_in_the_middle_at_40_columns(open_transport: OpenTransport) -> None:
    target = Address("2001:db8:aaaa:bbbb:cccc:dddd:eeee:1", 65000)
    app = make_app(Config(peer=target, listening=False), transport=open_transport(), clock=fixed_clock)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.pause()
        header = screen_lines(app)[0].strip()
        assert header.startswith("[2001:db8") and header.endswith(":1]:65000  pinned"), header
        assert "…" in header
