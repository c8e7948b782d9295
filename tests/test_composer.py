"""The input box through Pilot: a multi-line paste is one datagram, shown whole in the box."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from conftest import Notices, address_of, app_address, fixed_clock, receive_from, wait_for
from textual import events
from textual.command import CommandList, CommandPalette

from udptui.chat.datagram import Direction
from udptui.config import Config
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import Composer
from udptui.ui.widgets.composer import pasted_lines, shown

OpenTransport = Callable[..., UdpTransport]
QUIET_SECONDS = 0.3
"""How long a socket waits to prove that nothing more was sent to it (loopback delivers at once)."""


def build(open_transport: OpenTransport) -> UdpTuiApp:
    return make_app(Config(listening=True), transport=open_transport(), clock=fixed_clock)


def box_text(app: UdpTuiApp) -> str:
    """The input box's text line as drawn."""
    composer = app.query_one(Composer)
    return composer.render_line(0).text


def test_line_breaks_are_shown_as_one_mark_each() -> None:
    assert shown("one\ntwo\n") == "one⏎two⏎"
    assert pasted_lines("a\r\nb\rc\nd") == "a\nb\nc\nd"


async def test_a_multi_line_paste_is_one_datagram_with_its_newlines(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=(100, 24)) as pilot:
        await receive_from(pilot, app, peer, b"ping")
        composer = app.query_one(Composer)
        # Terminals send a pasted line break as \r; a clipboard from Windows holds \r\n.
        composer.post_message(events.Paste("first line\rsecond\r\nthird\nfourth"))
        await wait_for(pilot, lambda: composer.value != "", "the paste to land")
        assert composer.value == "first line\nsecond\nthird\nfourth"
        assert composer.cursor_position == len(composer.value)
        assert "first line⏎second⏎third⏎fourth" in box_text(app)

        await pilot.press("enter")
        assert peer.recvfrom(100) == (b"first line\nsecond\nthird\nfourth", app_address(app))
        peer.settimeout(QUIET_SECONDS)
        with pytest.raises(TimeoutError):
            peer.recvfrom(100)  # one paste, one datagram: nothing split off
        sent = [entry for entry in app.session.store if entry.direction is Direction.SENT]
        assert [entry.payload for entry in sent] == [b"first line\nsecond\nthird\nfourth"]
        assert composer.value == ""


async def test_a_paste_goes_in_at_the_cursor_and_the_cursor_lands_after_it(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=(100, 24)) as pilot:
        await receive_from(pilot, app, peer, b"ping")
        composer = app.query_one(Composer)
        await pilot.press("a", "b", "left")
        composer.post_message(events.Paste("X\nY"))
        await wait_for(pilot, lambda: composer.value == "aX\nYb", "the paste in the middle")
        assert composer.cursor_position == 4
        assert composer._position_to_cell(4) == 4  # the ⏎ is one cell wide, as drawn
        await pilot.press("x")  # typing goes on where the cursor is shown
        assert composer.value == "aX\nYxb"
        await pilot.press("enter")
        assert peer.recvfrom(100) == (b"aX\nYxb", app_address(app))
        assert address_of(peer) == app.session.target


async def test_the_palette_prefill_keeps_an_unsent_draft_for_up(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    notices = Notices()
    async with app.run_test(size=(100, 24), message_hook=notices) as pilot:
        await receive_from(pilot, app, peer, b"ping")
        composer = app.query_one(Composer)
        await pilot.press(*"half", "space", *"written")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the command palette")
        await pilot.press(*"Send hex")
        options = app.screen.query_one(CommandList)

        def offers_send_hex() -> bool:
            prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
            return len(prompts) == 1 and prompts[0].startswith("Send hex bytes…")

        await wait_for(pilot, offers_send_hex, "the palette to offer 'Send hex bytes…'")
        await pilot.press("enter")
        await wait_for(pilot, lambda: composer.value == "/hex ", "the palette to prefill /hex")
        [kept] = notices.matching("Up brings it back")
        assert kept.notification.message == "Up brings it back: half written"
        assert kept.notification.title == "Draft kept"

        await pilot.press("up")
        assert composer.value == "half written"
        await pilot.press("down")
        assert composer.value == "/hex "
        await pilot.press("4", "2", "enter")
        assert peer.recv(100) == b"B"
        await pilot.press("up", "up")
        assert composer.value == "half written"  # still there, under the hex line that went
        await pilot.press("enter")
        assert peer.recv(100) == b"half written"


async def test_prefill_over_an_empty_box_says_nothing(open_transport: OpenTransport) -> None:
    app = build(open_transport)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        composer = app.query_one(Composer)
        composer.prefill("/to ")
        await pilot.pause()
        assert (composer.value, composer.cursor_position) == ("/to ", 4)
        assert app.focused is composer
        composer.prefill("/to ")  # the same text again: nothing to keep
        await pilot.pause()
        assert notices.matching("Draft kept", "Up brings") == []
        await pilot.press("up")
        assert composer.value == "/to "  # no history: Up has nothing to bring
