"""Layout at every size, through Pilot: the peers pane gives way to the log on a narrow terminal,
the header keeps the target and the mode, and toasts hide neither the input box nor the status bar."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from conftest import address_of, fixed_clock, receive_from, type_line, wait_for
from textual.widgets._toast import Toast

from udptui.config import Config
from udptui.net.address import Address
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import ChatLog, Composer, FilterBar, PeerList, StatusBar
from udptui.ui.widgets.chat_body import LOG_MIN_WIDTH

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


@pytest.mark.parametrize("size", [(80, 24), (120, 30), (50, 20)])
async def test_toasts_hide_neither_the_input_box_nor_the_status_bar(
    open_transport: OpenTransport, size: tuple[int, int]
) -> None:
    app = build(open_transport)
    async with app.run_test(size=size, notifications=True) as pilot:
        await type_line(pilot, app, "nobody to send to")  # a 'no peer yet' error toast
        app.notify("a second, longer toast " * 4, title="Test")
        await wait_for(pilot, lambda: len(app.screen.query(Toast)) == 2, "two toasts")
        await pilot.pause()
        toasts = [toast.region for toast in app.screen.query(Toast)]
        guarded = {
            "input box": app.query_one(Composer).region,
            "status bar": app.query_one(StatusBar).region,
        }
        for name, region in guarded.items():
            assert region.area, name
            for toast in toasts:
                assert not toast.overlaps(region), f"a toast at {toast} hides the {name} at {region}"

        await pilot.press("f5")  # the filter bar opens above the input box: toasts move above it too
        app.notify("while filtering", title="Test")
        await pilot.pause()
        bar = app.query_one(FilterBar).region
        for toast in app.screen.query(Toast):
            assert not toast.region.overlaps(bar)
            assert not toast.region.overlaps(app.query_one(Composer).region)
