"""The log walked with keys and the mouse, the inspector, and the actions on the selected
entry, through Pilot with real peer sockets on loopback. Every wait polls with a deadline."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from conftest import Notices, address_of, app_address, fixed_clock, receive_from, wait_for
from textual.pilot import Pilot

from udptui.chat.view import TimeMode
from udptui.config import Config
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import ChatLog, Composer, Inspector, LogPane
from udptui.ui.widgets.save_bytes import SaveBytes

OpenTransport = Callable[..., UdpTransport]
NARROW, WIDE = (100, 40), (180, 40)


def build(open_transport: OpenTransport, config: Config | None = None) -> UdpTuiApp:
    config = config or Config(listening=True)
    transport = open_transport(bufsize=config.bufsize, rcvbuf=config.rcvbuf)
    return make_app(config, transport=transport, clock=fixed_clock)


def screen_of(widget: ChatLog | Inspector) -> list[str]:
    """The widget's lines as drawn now, without styles."""
    return [widget.render_line(y).text.rstrip() for y in range(widget.scrollable_content_region.height)]


def seqs(app: UdpTuiApp) -> list[int]:
    return [entry.seq for entry in app.session.store]


async def open_inspector(pilot: Pilot[None]) -> tuple[ChatLog, Inspector]:
    app = pilot.app
    await pilot.press("f6")
    inspector = app.query_one(Inspector)
    await wait_for(pilot, lambda: inspector.display and inspector.entry is not None, "the inspector")
    return app.query_one(ChatLog), inspector


async def test_keys_and_a_click_walk_the_log(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, *(b"entry %d " % n + b"x" * 150 for n in range(5)))
        log = app.query_one(ChatLog)
        order = seqs(app)
        await pilot.click(ChatLog, offset=(5, 2))
        assert app.focused is log
        assert log.selected == order[2]
        await pilot.press("up")
        assert log.selected == order[1]
        await pilot.press("down", "down")
        assert log.selected == order[3]
        await pilot.press("home")
        assert log.selected == order[0]
        await pilot.press("end")
        assert log.selected == order[4]
        await pilot.press("pageup")
        assert log.selected == order[0]
        await pilot.press("down", "pagedown")
        assert log.selected == order[4]
        assert log.scroll_x == 0
        await pilot.press("right", "right")
        await wait_for(pilot, lambda: log.scroll_x > 0, "Right to scroll the log sideways")
        await pilot.press("left", "left")
        await wait_for(pilot, lambda: log.scroll_x == 0, "Left to scroll back")


async def test_the_cursor_follows_a_flood_on_the_newest_and_stays_elsewhere(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, b"first", b"second")
        log, inspector = await open_inspector(pilot)
        assert log.selected == seqs(app)[-1]

        await receive_from(pilot, app, peer, *(b"flood %03d" % n for n in range(300)))
        assert log.selected == seqs(app)[-1] == app.session.store[-1].seq
        assert log.is_vertical_scroll_end
        newest = app.session.store[-1]
        await wait_for(pilot, lambda: inspector.entry is newest, "the inspector to follow the cursor")

        await pilot.press("up")
        reading = log.selected
        assert reading == seqs(app)[-2]
        await receive_from(pilot, app, peer, *(b"more %03d" % n for n in range(50)))
        assert log.selected == reading
        assert log.unseen == 50
        assert "▼ 50 new below" in screen_of(log)[-1]
        await wait_for(pilot, lambda: inspector.entry is log.selected_entry, "the inspector on the selection")

        await pilot.press("end")
        assert log.selected == seqs(app)[-1]
        await receive_from(pilot, app, peer, b"following again")
        assert log.selected == seqs(app)[-1]
        assert log.unseen == 0


async def test_inspector_opens_follows_the_selection_and_closes(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, b"hello", b"\x00\x01binary\xff")
        composer = app.query_one(Composer)
        assert app.focused is composer
        log, inspector = await open_inspector(pilot)
        assert app.focused is log
        lines = screen_of(inspector)
        assert lines[0] == "Received datagram #2, 9 B"
        assert any(line.startswith("from") and str(address_of(peer)) in line for line in lines)
        assert any("local" in line and str(app.transport.local_address.port) in line for line in lines)
        assert any(line.startswith("since peer's last") and line.endswith(" s") for line in lines)
        hex_at = lines.index("Hex: 9 bytes, 2 rows")  # binary: the bytes come before the text
        assert lines[hex_at + 1] == "00000000: 0001 6269 6e61 7279  ..binary"  # 8 a row: 65 columns
        assert lines[hex_at + 2].startswith("00000008: ff")
        assert "Text: 1 line" in lines

        await pilot.press("up")
        await wait_for(pilot, lambda: screen_of(inspector)[0] == "Received datagram #1, 5 B", "follow")
        lines = screen_of(inspector)
        assert lines.index("Text: 1 line") < lines.index("Hex: 5 bytes, 1 row")  # text first for text
        assert "hello" in lines

        await pilot.press("escape")
        assert not inspector.display
        assert app.focused is composer
        await pilot.press("f6")
        assert inspector.display and app.focused is log
        await pilot.press("f6")
        assert not inspector.display and app.focused is composer


async def test_inspector_sits_beside_the_log_when_wide_and_below_when_narrow(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"hi")
        log, inspector = await open_inspector(pilot)
        assert app.query_one(LogPane).has_class("-beside")
        assert inspector.region.x > log.region.x and inspector.region.y == log.region.y
        await pilot.resize_terminal(*NARROW)
        await wait_for(pilot, lambda: not app.query_one(LogPane).has_class("-beside"), "the narrow layout")
        await pilot.pause()
        assert inspector.region.y > log.region.y and inspector.region.x == log.region.x - 0 * 1


async def test_a_65507_byte_datagram_opens_drawing_only_what_is_on_screen(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    payload = bytes(range(256)) * 255 + bytes(227)
    assert len(payload) == 65507
    async with app.run_test(size=(90, 40)) as pilot:
        await receive_from(pilot, app, peer, payload)
        await pilot.press("f2")  # no peers pane: 16-byte hex rows fit
        _, inspector = await open_inspector(pilot)
        await pilot.pause()
        assert inspector.virtual_size.height > 65507 // 16
        # The text (65,507 bytes, most of them escapes) is laid out on a thread, then shown.
        hex_section = 8 + 1 + 65507 // 16 + 1
        await wait_for(pilot, lambda: inspector.virtual_size.height > hex_section + 1000, "the whole text")
        drawn = len(inspector._cache)
        assert 0 < drawn <= inspector.size.height, "only the lines on screen are drawn"
        inspector.focus()
        await pilot.press("end")
        await wait_for(pilot, lambda: inspector.is_vertical_scroll_end, "the end of the inspector")
        # Binary: the hex dump comes before the text, so find the last hex row by its offset.
        title_and_fields, heading = 8, 1
        inspector.scroll_to(y=title_and_fields + heading + 0xFFD0 // 16 - 2, animate=False, immediate=True)
        await pilot.pause()
        assert any(line.startswith("0000ffd0: 0000 0000") for line in screen_of(inspector)), screen_of(
            inspector
        )


async def test_reply_pins_the_selected_sender(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, b"from the first")
        await receive_from(pilot, app, stranger, b"from the second")
        assert app.session.target == address_of(stranger)  # follow mode: the last sender
        await open_inspector(pilot)
        await pilot.press("up", "r")
        await wait_for(pilot, lambda: app.session.target == address_of(peer), "r to pin the first peer")
        assert app.session.follow is False
        assert app.focused is app.query_one(Composer)


async def test_send_again_resends_the_bytes_as_they_were(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, b"\x00ping\xff")
        await receive_from(pilot, app, stranger, b"other")
        await open_inspector(pilot)
        await pilot.press("up", "a")
        data, sender = peer.recvfrom(100)
        assert (data, sender[1]) == (b"\x00ping\xff", app_address(app)[1])
        await wait_for(pilot, lambda: app.session.counters.sent == 1, "the resent entry")
        # The sent entry is the newest now; again on it sends to the same peer once more.
        await pilot.press("end", "a")
        assert peer.recvfrom(100)[0] == b"\x00ping\xff"


async def test_edit_puts_text_or_hex_in_the_box_and_keeps_the_draft(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    notices = Notices()
    async with app.run_test(size=NARROW, message_hook=notices) as pilot:
        await receive_from(pilot, app, peer, b"plain words", b"\xbe\xef\x00", b"/not a command")
        composer = app.query_one(Composer)
        composer.value = "my unsent draft"
        await open_inspector(pilot)
        await pilot.press("e")
        assert composer.value == "//not a command"  # `//` sends a literal slash
        assert app.focused is composer
        assert notices.matching("Up brings it back: my unsent draft")
        log = app.query_one(ChatLog)
        log.focus()
        await pilot.press("up", "e")
        assert composer.value == "/hex be ef 00"
        log.focus()
        await pilot.press("up", "e")
        assert composer.value == "plain words"
        await pilot.press("up")
        assert composer.value == "my unsent draft"


async def test_copy_as_text_and_as_hex(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, b"copy \x1b me")
        await open_inspector(pilot)
        await pilot.press("c")
        assert app.clipboard == "copy \\x{1b} me"  # as the log shows it
        await pilot.press("x")
        assert app.clipboard == "63 6f 70 79 20 1b 20 6d 65"


async def test_save_writes_the_bytes_and_asks_before_overwriting(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    app = build(open_transport)
    target = tmp_path / "datagram.bin"
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, b"\x00first\xff", b"second")
        await open_inspector(pilot)
        await pilot.press("up", "s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveBytes), "the save dialog")
        app.screen.query_one("#save-path").value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, SaveBytes), "the dialog to close")
        assert target.read_bytes() == b"\x00first\xff"

        await pilot.press("down", "s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveBytes), "the save dialog")
        app.screen.query_one("#save-path").value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        hint = app.screen.query_one("#save-hint")
        assert "exists: Enter again overwrites it" in str(hint.render())
        assert target.read_bytes() == b"\x00first\xff"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, SaveBytes), "the dialog to close")
        assert target.read_bytes() == b"second"


async def test_wrap_and_time_keys(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        long = b"word " * 60
        await receive_from(pilot, app, peer, b"short", long)
        log, _ = await open_inspector(pilot)
        assert log.virtual_size.height == 2
        await pilot.press("w")
        assert log.wrap
        await wait_for(pilot, lambda: log.virtual_size.height >= 4, "the long entry to wrap")
        lines = [line for line in screen_of(log) if line.strip()]
        indent = lines[1].index("word")
        assert all(line[:indent].isspace() and len(line) > indent for line in lines[2:]), lines
        wrapped = "".join(line[indent:] for line in lines[1:])  # the screen has no trailing spaces
        assert wrapped.replace(" ", "") == long.decode().replace(" ", "")
        assert lines[0].startswith("12:00:01.000 ← ")
        await pilot.press("t")
        assert log.time_mode is TimeMode.SINCE_PREVIOUS
        assert screen_of(log)[1].startswith("      +0.000 ← ")
        await pilot.press("t")
        assert log.time_mode is TimeMode.SINCE_START
        await pilot.press("t", "w")
        assert log.time_mode is TimeMode.CLOCK and not log.wrap
        await wait_for(pilot, lambda: log.virtual_size.height == 2, "one line per entry again")


async def test_the_cursor_walks_the_filtered_view_and_clear_empties_the_inspector(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=NARROW) as pilot:
        await receive_from(pilot, app, peer, b"keep one", b"drop", b"keep two")
        log, inspector = await open_inspector(pilot)
        log.filter_text = "keep"
        await wait_for(pilot, lambda: log.row_count == 2, "the filter")
        await pilot.press("end")
        assert log.selected_entry is not None and log.selected_entry.payload == b"keep two"
        await receive_from(pilot, app, peer, b"drop again", b"keep three")
        assert log.selected_entry is not None and log.selected_entry.payload == b"keep three"
        await pilot.press("up")
        assert log.selected_entry is not None and log.selected_entry.payload == b"keep two"

        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: inspector.entry is None, "the inspector to let go of the entry")
        assert log.selected is None and log.row_count == 0
        assert screen_of(inspector)[0] == "Nothing selected: ↑↓ in the log"
        await receive_from(pilot, app, peer, b"keep four")
        await pilot.press("up")
        assert log.selected_entry is not None and log.selected_entry.payload == b"keep four"
