"""The log's cursor and following, as a user meets them: what is on screen after datagrams
arrive, after the view's height changes, and what the entry keys put on the clipboard.
Real peer sockets on loopback, a real app through Pilot."""

from __future__ import annotations

import socket
from collections.abc import Callable

from conftest import receive_from, wait_for
from test_inspector import NARROW, build, open_inspector, screen_of, seqs
from textual.pilot import Pilot

from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp
from udptui.ui.widgets import ChatLog, Inspector

OpenTransport = Callable[..., UdpTransport]


def shown_seqs(log: ChatLog) -> list[int]:
    """The entries whose lines are on screen, the marker's row left out."""
    height = log.scrollable_content_region.height - (1 if log.unseen else 0)
    top = log.scroll_offset.y
    return sorted({log._row(row)[0].seq for row in range(top, min(top + height, log.row_count))})


async def settle(pilot: Pilot[None]) -> None:
    """Let layout and drawing catch up (a scrollbar appears after a frame draws a wide line)."""
    for _ in range(3):
        await pilot.pause(0.05)


async def test_the_cursor_line_is_highlighted_and_dimmer_without_focus(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, b"one", b"two", b"three")
        log = app.query_one(ChatLog)
        log.focus()
        await pilot.press("up")
        await settle(pilot)
        row = shown_seqs(log).index(log.selected) if log.selected is not None else -1

        def backgrounds(y: int) -> set[object]:
            return {segment.style.bgcolor for segment in log.render_line(y) if segment.style}

        focused = backgrounds(row)
        plain = backgrounds(row + 1)
        assert focused != plain, "the cursor line looks like any other"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.focused is not log, "focus to leave the log")
        await settle(pilot)
        unfocused = backgrounds(row)
        assert unfocused not in (focused, plain)


async def test_a_long_datagram_does_not_stop_the_log_following(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=(110, 20)) as pilot:
        log = app.query_one(ChatLog)
        await receive_from(pilot, app, peer, *(b"short %02d" % n for n in range(30)))
        await settle(pilot)
        await receive_from(pilot, app, peer, b"L" * 200)
        await wait_for(pilot, lambda: log.show_horizontal_scrollbar, "the horizontal scrollbar")
        await settle(pilot)
        await receive_from(pilot, app, peer, b"after 1", b"after 2", b"after 3")
        await settle(pilot)
        assert log.unseen == 0
        assert seqs(app)[-1] in shown_seqs(log)
        assert "after 3" in "\n".join(screen_of(log))


async def test_ctrl_end_from_the_box_moves_the_cursor_to_the_newest_and_follows(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, *(b"entry %02d" % n for n in range(60)))
        log, _ = await open_inspector(pilot)
        await pilot.press("home")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.focused is not log, "focus back in the box")
        await pilot.press("ctrl+end")
        await receive_from(pilot, app, peer, b"new one", b"new two")
        await settle(pilot)
        assert log.selected == seqs(app)[-1]
        assert log.unseen == 0
        assert seqs(app)[-1] in shown_seqs(log)


async def test_the_new_below_marker_never_hides_an_entry(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, *(b"entry %02d" % n for n in range(60)))
        log = app.query_one(ChatLog)
        log.focus()
        await pilot.press("up", "up")  # the cursor off the newest: the log stops following
        await settle(pilot)
        was_newest = seqs(app)[-1]
        assert was_newest in shown_seqs(log)
        await receive_from(pilot, app, peer, *(b"more %d" % n for n in range(5)))
        await settle(pilot)
        assert log.unseen == 5
        lines = screen_of(log)
        assert "▼ 5 new below" in lines[-1]
        assert "entry 59" in "\n".join(lines[:-1]), "the marker covers the newest entry seen"
        await pilot.press("down", "down")  # onto the first new entry: it shows above the marker
        await settle(pilot)
        assert log.selected in shown_seqs(log)


async def test_opening_the_inspector_below_keeps_the_selected_entry_on_screen(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=(80, 40)) as pilot:
        await receive_from(pilot, app, peer, *(b"entry %02d" % n for n in range(60)))
        log = app.query_one(ChatLog)
        log.focus()
        await pilot.press("up", "up")
        await settle(pilot)
        chosen = log.selected
        assert chosen in shown_seqs(log)
        await pilot.press("f6")
        inspector = app.query_one(Inspector)
        await wait_for(pilot, lambda: inspector.entry is not None, "the inspector")
        await settle(pilot)
        assert log.selected == chosen
        assert chosen in shown_seqs(log), "the selected entry left the screen"


async def test_copy_as_text_shows_controls_as_escapes(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app: UdpTuiApp = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, "\x1b[2J\x1b]0;PWNED\x07 \u202eevil \x1b[201~".encode())
        await open_inspector(pilot)
        await pilot.press("c")
        assert app.clipboard == "\\x{1b}[2J\\x{1b}]0;PWNED\\x{07} \\u{202e}evil \\x{1b}[201~"
        assert not any(ord(char) < 0x20 or char == "\u202e" for char in app.clipboard)


async def test_the_cursor_line_keeps_its_colours(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, b"one", b"two")
        log = app.query_one(ChatLog)
        log.focus()
        await pilot.press("up", "up")
        await settle(pilot)

        def colours(y: int) -> list[object]:
            return [
                segment.style.color
                for segment in log.render_line(y)
                if segment.style and segment.text.strip()
            ]

        assert colours(0) == colours(1), "the tint took the time, arrow and peer colours away"
