"""The app driven through Pilot, talking to real UDP sockets on loopback.

Every test waits for what it expects by polling with a deadline; none measures time.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from conftest import (
    Notices,
    address_of,
    app_address,
    closed_port,
    fixed_clock,
    receive_from,
    receiver_running,
    type_line,
    wait_for,
    wait_until,
)
from textual.events import MouseScrollDown, MouseScrollUp

from udptui.chat.datagram import Direction, Entry, Truncation
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import ChatHeader, ChatLog, Composer, PeerList, StatusBar

OpenTransport = Callable[..., UdpTransport]


def build(open_transport: OpenTransport, config: Config | None = None) -> UdpTuiApp:
    """The app as `make_app` builds it, on a loopback socket opened with the config's buffer sizes."""
    config = config or Config(listening=True)
    transport = open_transport(bufsize=config.bufsize, rcvbuf=config.rcvbuf)
    return make_app(config, transport=transport, clock=fixed_clock)


def received(app: UdpTuiApp) -> list[Entry]:
    return [entry for entry in app.session.store if entry.direction is Direction.RECEIVED]


def line_text(app: UdpTuiApp, entry: Entry) -> str:
    """The entry's log line as drawn, without styles."""
    return app.query_one(ChatLog).render_entry(entry).text


async def test_received_datagram_is_logged_and_becomes_the_target(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test() as pilot:
        header = app.query_one(ChatHeader)
        assert header.target is None
        await receive_from(pilot, app, peer, b"hello from the peer")

        [entry] = received(app)
        assert entry.peer == address_of(peer)
        assert entry.payload == b"hello from the peer"
        assert f"← {address_of(peer)}  hello from the peer" in line_text(app, entry)
        assert header.target == address_of(peer)
        assert header.follow is True
        assert "follow" in str(header.render())


async def test_follow_mode_replies_to_whoever_wrote_last(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test() as pilot:
        await receive_from(pilot, app, peer, b"first")
        await receive_from(pilot, app, stranger, b"second")
        assert app.query_one(ChatHeader).target == address_of(stranger)
        assert not any(entry.stranger for entry in received(app))

        await type_line(pilot, app, "to the last sender")
        assert stranger.recvfrom(65535) == (b"to the last sender", app_address(app))


async def test_enter_sends_the_typed_text_to_the_last_sender_and_clears_the_box(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test() as pilot:
        await receive_from(pilot, app, peer, b"ping")
        await pilot.press(*"hi", "space", *"there")
        composer = app.query_one(Composer)
        assert composer.value == "hi there"
        await pilot.press("enter")
        data, sender = peer.recvfrom(65535)
        assert data == b"hi there"
        assert sender == app_address(app)

        await type_line(pilot, app, "grüße 👋")
        data, _ = peer.recvfrom(65535)
        assert data == "grüße 👋".encode()
        assert composer.value == ""
        sent = [entry for entry in app.session.store if entry.direction is Direction.SENT]
        assert [entry.payload for entry in sent] == [b"hi there", "grüße 👋".encode()]
        assert all(entry.peer == address_of(peer) for entry in sent)
        assert f"→ {address_of(peer)}  hi there" in line_text(app, sent[0])


async def test_sending_with_no_peer_yet_notifies_and_keeps_the_text(open_transport: OpenTransport) -> None:
    app = build(open_transport)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await pilot.press(*"hello")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(notices.matching("no peer yet")), "a 'no peer yet' notice")
        [notice] = notices.matching("no peer yet")
        assert notice.notification.severity == "error"
        assert app.query_one(Composer).value == "hello"
        assert app.session.counters.sent == 0


async def test_pinned_peer_marks_strangers_and_keeps_the_target(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport, Config(peer=address_of(peer), listening=False))
    async with app.run_test() as pilot:
        header = app.query_one(ChatHeader)
        assert header.target == address_of(peer)
        assert header.follow is False
        await receive_from(pilot, app, stranger, b"who is this?")

        [entry] = received(app)
        assert entry.stranger is True
        assert entry.peer == address_of(stranger)
        assert f"← {address_of(stranger)} (other peer)  who is this?" in line_text(app, entry)
        assert header.target == address_of(peer)

        await type_line(pilot, app, "reply")
        assert peer.recvfrom(65535) == (b"reply", app_address(app))
        stranger.setblocking(False)
        with pytest.raises(BlockingIOError):
            stranger.recvfrom(65535)  # sendto on loopback delivers at once: nothing went here

        await receive_from(pilot, app, peer, b"from the pinned peer")
        assert received(app)[-1].stranger is False


async def test_datagram_boundaries_are_kept(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    async with app.run_test() as pilot:
        await receive_from(pilot, app, peer, b"one\ntwo\r\nthree")
        [entry] = received(app)
        assert entry.payload == b"one\ntwo\r\nthree"
        text = line_text(app, entry)
        assert "\n" not in text
        assert "one\\x{0a}two\\x{0d}\\x{0a}three" in text

        await receive_from(pilot, app, peer, b"hello", b"world", b"egon")
        assert [entry.payload for entry in received(app)[1:]] == [b"hello", b"world", b"egon"]
        assert len(app.session.store) == 4


async def test_oversized_send_is_refused_and_the_text_stays(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await receive_from(pilot, app, peer, b"ping")
        text = "x" * 65508
        await type_line(pilot, app, text)
        await wait_for(pilot, lambda: bool(notices.matching("65508 bytes")), "a notice about 65508 bytes")
        [notice] = notices.matching("65508 bytes")
        assert notice.notification.severity == "error"
        assert "65507" in notice.notification.message
        assert app.query_one(Composer).value == text
        assert app.session.counters.sent == 0
        peer.setblocking(False)
        with pytest.raises(BlockingIOError):
            peer.recvfrom(65535)


async def test_large_send_goes_with_a_warning(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await receive_from(pilot, app, peer, b"ping")
        await type_line(pilot, app, "y" * 600)
        data, _ = peer.recvfrom(65535)
        assert data == b"y" * 600
        await wait_for(pilot, lambda: bool(notices.matching("600 bytes")), "a notice about 600 bytes")
        [notice] = notices.matching("600 bytes")
        assert notice.notification.severity == "warning"
        assert "508" in notice.notification.message
        assert app.query_one(Composer).value == ""


async def test_sending_to_a_closed_port_warns(open_transport: OpenTransport) -> None:
    nobody = Address("127.0.0.1", closed_port())
    app = build(open_transport, Config(peer=nobody))
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await type_line(pilot, app, "anyone there?")
        await wait_for(pilot, lambda: bool(notices.matching("peer port closed?")), "a 'port closed' notice")
        notice = notices.matching("peer port closed?")[0]
        assert notice.notification.severity == "warning"
        assert str(nobody) in notice.notification.message
        notes = [entry for entry in app.session.store if entry.direction is Direction.NOTE]
        assert any("peer port closed?" in entry.note for entry in notes)


async def test_small_bufsize_truncates_and_says_so(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport, Config(listening=True, bufsize=1))
    async with app.run_test() as pilot:
        await receive_from(pilot, app, peer, b"hello")
        [entry] = received(app)
        assert entry.payload == b"h"
        assert entry.wire_length == 5
        assert entry.truncation is Truncation.CUT
        assert line_text(app, entry).endswith("  h  [truncated: 5 bytes sent, 1 kept]")


async def test_markup_and_links_in_payloads_stay_literal(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    hostile = [
        b"[@click=app.quit]x[/]",
        b"[link=https://example.com]y[/link]",
        b"[bold red]z[/]",
        b"\x1b]8;;https://example.com\x1b\\w\x1b]8;;\x1b\\",
    ]
    app = build(open_transport)
    async with app.run_test(size=(100, 30)) as pilot:
        await receive_from(pilot, app, peer, *hostile)
        entries = received(app)
        texts = [line_text(app, entry) for entry in entries]
        assert "[@click=app.quit]x[/]" in texts[0]
        assert "[link=https://example.com]y[/link]" in texts[1]
        assert "[bold red]z[/]" in texts[2]
        assert "\\x{1b}]8;;https://example.com\\x{1b}\\w" in texts[3]
        for entry in entries:
            for segment in app.query_one(ChatLog).render_entry(entry):
                style = segment.style
                assert style is None or (not style.link and not style.meta), segment
        # Click right on the text that would quit the app, were it markup.
        column = texts[0].index("[@click") + 1 + 1  # +1 for the log's left padding
        await pilot.click(ChatLog, offset=(column, 0))
        await pilot.pause()
        assert app.is_running


async def test_scrollback_keeps_the_newest_and_counts_the_rest(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport, Config(listening=True, scrollback=5))
    async with app.run_test() as pilot:
        await receive_from(pilot, app, peer, *(f"message {n}".encode() for n in range(8)))
        store = app.session.store
        assert [entry.payload for entry in store] == [f"message {n}".encode() for n in range(3, 8)]
        status = app.query_one(StatusBar)
        await wait_for(pilot, lambda: status.stats.received == 8, "the status bar to count 8")
        assert status.stats.let_go == 3
        assert "scrollback let go 3" in str(status.render())


@pytest.mark.parametrize("key", ["ctrl+q", "ctrl+c"])
async def test_quit_keys_end_the_app_and_its_receive_thread(open_transport: OpenTransport, key: str) -> None:
    app = build(open_transport)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: receiver_running(app.transport), "the receive loop to start")
        await pilot.press(key)
        await wait_for(pilot, lambda: not app.is_running, f"{key} to end the app")
    assert app.return_code == 0
    wait_until(lambda: not receiver_running(app.transport), "the receive loop to return")


async def test_mouse_wheel_scrolls_the_log_and_a_click_focuses_the_input(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    """The wheel moves the log (it stops following, new entries are counted); a click gives the box focus."""
    app = build(open_transport)
    async with app.run_test(size=(110, 32)) as pilot:
        await receive_from(pilot, app, peer, *(b"line %02d" % number for number in range(60)))
        await pilot.pause()
        log = app.query_one(ChatLog)
        assert log.is_vertical_scroll_end
        bottom = log.scroll_y

        await pilot._post_mouse_events([MouseScrollUp], ChatLog, offset=(10, 5), times=3)
        await wait_for(pilot, lambda: log.scroll_y < bottom, "the log to scroll up")
        await receive_from(pilot, app, peer, b"while you read")
        await pilot.pause()
        assert log.unseen == 1 and not log.is_vertical_scroll_end

        await pilot._post_mouse_events([MouseScrollDown], ChatLog, offset=(10, 5), times=30)
        await wait_for(pilot, lambda: log.is_vertical_scroll_end, "the log back at the end")
        assert log.unseen == 0

        app.query_one(PeerList).focus()
        await pilot.pause()
        await pilot.click(Composer)
        assert app.focused is app.query_one(Composer)
