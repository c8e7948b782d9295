"""Whatever bytes a peer sends, the log line drawn for them never raises, never carries a
character that acts on a terminal, and never turns peer text into markup, links or actions."""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from safe_text import assert_safe_text
from textual.content import Content
from textual.strip import Strip

from udptui.chat.datagram import Direction, Entry, Level, Truncation, decode_payload, make_visible
from udptui.chat.view import TimeMode, entry_fields
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.transport import Fault, UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import ChatHeader, ChatLog, Inspector
from udptui.ui.widgets.entry_lines import EntryLines

T0 = datetime(2024, 1, 2, 3, 4, 5)
PEER = Address("127.0.0.1", 5000)
MARKUP_CLICK = "[@click=app.quit]x[/]"

HOSTILE_PIECES = [
    "\x1b",
    "\x1b[2J",
    "\x1b[31m",
    "\x1b]0;pwned\x07",
    "\x1b]8;;https://e.example\x1b\\link\x1b]8;;\x1b\\",
    "\x1bP+q\x1b\\",
    MARKUP_CLICK,
    "[link=https://e.example]x[/link]",
    "[bold",
    "[/]",
    "[b]bold[/b]",
    "[@click=app.bell]",
    "\\[escaped]",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\ufeff",
    "\u0378",
    "\ue000",
    "\U000e0001",
    "\u2028",
    "\u2029",
    "\x85",
    "\x9b",
    "\x9d",
    "\x7f",
    "\x00",
    "\t",
    "\n",
    "\r",
    "\x08",
    "你好",
    "😀",
    "e\u0301",
    "plain text",
    "👨\u200d👩\u200d👧",
    "👩🏽\u200d💻",
    "❤\ufe0f",
    "❤\ufe0f\u200d🔥",
    "1\ufe0f\u20e3",
    "\ufe0f",
    "\ufe0e",
    "\ufe00",
    "\U000e0100",
    "\U0001f3fd",
    "क्\u200dष",
    "\\x{1b}",
    "\\u{202e}",
    "\\",
    "x{",
    "u{12}",
    "\t",
    "→",
]

hostile_text = st.lists(st.sampled_from(HOSTILE_PIECES) | st.text(max_size=8), max_size=12).map("".join)
payloads = st.binary(max_size=300) | hostile_text.map(lambda text: text.encode("utf-8", "surrogatepass"))


def assert_safe_segments(segments: Iterable[Segment]) -> None:
    segments = list(segments)
    assert_safe_text("".join(segment.text for segment in segments))  # joiners need their neighbours
    for segment in segments:
        assert segment.control is None
        style = segment.style
        if style is not None:
            assert not style.link, f"link in {segment!r}"
            assert "@click" not in (style.meta or {}), f"@click in {segment!r}"


def strip_text(strip: Strip) -> str:
    return "".join(segment.text for segment in strip)


@pytest.fixture
async def app() -> AsyncIterator[UdpTuiApp]:
    transport = UdpTransport.open(bind_host="127.0.0.1", port=0)
    try:
        yield make_app(Config(peer=PEER), transport=transport, clock=lambda: T0)
    finally:
        transport.close()


@given(payloads)
@settings(max_examples=300, deadline=None)
def test_decode_never_raises_and_is_safe(payload: bytes) -> None:
    decoded = decode_payload(payload)
    assert_safe_text(decoded.plain)
    try:
        payload.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert decoded.binary is not valid


ESCAPE = re.compile(r"\\x\{[0-9a-f]{2}\}|\\u\{[0-9a-f]{4,6}\}")
TAB = re.compile("→ *")


def undo(match: re.Match[str]) -> str:
    return "\t" if match[0].startswith("→") else chr(int(match[0][3:-1], 16))


@given(st.text(max_size=100) | hostile_text)
@settings(max_examples=300, deadline=None)
def test_make_visible_is_safe_and_loses_nothing(text: str) -> None:
    pieces = make_visible(text)
    shown = "".join(piece.text for piece in pieces)
    assert_safe_text(shown)
    # Undoing each escape (and tab mark) gives back the text exactly; an escaped piece is a
    # run of escapes and tab marks, and pieces alternate between the two kinds.
    either = re.compile(f"{ESCAPE.pattern}|{TAB.pattern}")
    undone = "".join(either.sub(undo, piece.text) if piece.escaped else piece.text for piece in pieces)
    assert undone == text
    assert all(piece.escaped != after.escaped for piece, after in itertools.pairwise(pieces))
    assert all(re.fullmatch(f"(?:{either.pattern})+", piece.text) for piece in pieces if piece.escaped)


@given(st.text(max_size=100) | hostile_text)
@settings(max_examples=300, deadline=None)
def test_escapes_are_unambiguous_without_colour(text: str) -> None:
    """Reading the plain text alone (no styles), every `\\x{..}` or `\\u{..}` in it is an
    escape udptui made, and every escape udptui made is found there: `\\x124` cannot be
    misread, and a peer cannot type something that passes for an escape."""
    made: list[tuple[int, int]] = []
    position = 0
    for piece in make_visible(text):
        if piece.escaped:
            made += [(position + m.start(), position + m.end()) for m in ESCAPE.finditer(piece.text)]
        position += len(piece.text)
    shown = "".join(piece.text for piece in make_visible(text))
    assert [(m.start(), m.end()) for m in ESCAPE.finditer(shown)] == made


@given(st.lists(st.sampled_from(["\t", "a", "你", "\x1b", " ", "😀", "\u202e"]), max_size=30).map("".join))
@settings(max_examples=300, deadline=None)
def test_tabs_reach_the_next_tab_stop(text: str) -> None:
    """Each tab ends on a multiple of 8 columns of the shown text, so columns line up."""
    shown, tabs = "", 0
    for piece in make_visible(text):
        for mark in TAB.finditer(piece.text) if piece.escaped else ():
            tabs += 1
            assert cell_len(shown + piece.text[: mark.end()]) % 8 == 0, shown + piece.text
        shown += piece.text
    assert tabs == text.count("\t")


async def test_rendered_entries_are_safe(app: UdpTuiApp) -> None:
    async with app.run_test() as pilot:
        await pilot.pause()
        log = app.query_one(ChatLog)

        @given(
            payload=payloads,
            note=hostile_text,
            direction=st.sampled_from(list(Direction)),
            truncation=st.sampled_from(list(Truncation)),
            stranger=st.booleans(),
            peer=st.sampled_from([PEER, Address("::1", 65535), None]),
            level=st.sampled_from(list(Level)),
        )
        @settings(max_examples=300, deadline=None)
        def check(
            payload: bytes,
            note: str,
            direction: Direction,
            truncation: Truncation,
            stranger: bool,
            peer: Address | None,
            level: Level,
        ) -> None:
            wire_length = len(payload) + (4 if truncation is Truncation.CUT else 0)
            entry = Entry(
                T0, direction, peer, payload, wire_length, truncation, stranger, note=note, level=level
            )
            strip = log.render_entry(entry)
            assert isinstance(strip, Strip)
            assert_safe_segments(strip)
            # The fallback (hex of the bytes) is only for entries that cannot be drawn.
            assert " hex: " not in strip_text(strip)

        check()


@given(payload=payloads, note=hostile_text, width=st.integers(1, 120), mode=st.sampled_from(list(TimeMode)))
@settings(max_examples=300, deadline=None)
def test_wrapped_log_lines_are_safe(payload: bytes, note: str, width: int, mode: TimeMode) -> None:
    lines = EntryLines(lambda name: Style(), Style())
    lines.time_mode = mode
    for entry in [
        Entry(T0, Direction.RECEIVED, PEER, payload, len(payload)),
        Entry(T0, Direction.NOTE, None, note=note),
    ]:
        for strip in lines.lines(entry, width):
            assert_safe_segments(strip)
            assert " hex: " not in strip_text(strip)


async def test_inspector_text_hex_and_fields_are_safe(app: UdpTuiApp) -> None:
    """Every line the inspector can show (details, the whole text, every hex row) for any bytes."""
    async with app.run_test(size=(70, 40)) as pilot:
        await pilot.pause()
        inspector = app.query_one(Inspector)
        inspector.display = True
        await pilot.pause()

        @given(payload=payloads, note=hostile_text, direction=st.sampled_from(list(Direction)))
        @settings(max_examples=300, deadline=None)
        def check(payload: bytes, note: str, direction: Direction) -> None:
            entry = Entry(T0, direction, PEER, payload, len(payload) + 1, Truncation.CUT, note=note)
            entry.seq = 7
            fields = entry_fields(entry, local="0.0.0.0:9", previous_from_peer=None, scanned_back=True)
            inspector.show(entry, fields)
            drawn = [draw(n) for count, draw in inspector._sections for n in range(count)]
            assert len(drawn) == inspector.virtual_size.height
            for strip in drawn:
                assert_safe_segments(strip)
            if direction is not Direction.NOTE and payload:
                assert any(strip_text(strip).startswith("00000000: ") for strip in drawn)

        check()


async def test_markup_in_peer_text_stays_literal(app: UdpTuiApp) -> None:
    async with app.run_test() as pilot:
        await pilot.pause()
        log = app.query_one(ChatLog)
        for entry in [
            Entry(T0, Direction.RECEIVED, PEER, MARKUP_CLICK.encode(), len(MARKUP_CLICK)),
            Entry(T0, Direction.SENT, PEER, b"[link=https://e.example]x[/link]", 32),
            Entry(T0, Direction.NOTE, None, note=f"quoted {MARKUP_CLICK} and [bold"),
        ]:
            strip = log.render_entry(entry)
            assert_safe_segments(strip)
            expected = entry.note if entry.direction is Direction.NOTE else entry.payload.decode()
            assert expected in strip_text(strip)

        # A fault's message goes into the log through the session, as a note.
        result = app.session.ingest([Fault(f"odd {MARKUP_CLICK}", PEER, unreachable=True)])
        [fault_entry] = result.entries
        strip = log.render_entry(fault_entry)
        assert_safe_segments(strip)
        assert f"odd {MARKUP_CLICK} {PEER}" in strip_text(strip)


async def test_header_does_not_parse_markup(app: UdpTuiApp) -> None:
    async with app.run_test() as pilot:
        await pilot.pause()
        header = app.query_one(ChatHeader)
        header.local = MARKUP_CLICK
        content = header.render()
        assert isinstance(content, Content)
        assert MARKUP_CLICK in content.plain
        for span in content.spans:
            assert "@click" not in str(span.style)
            assert "link" not in str(span.style)


async def test_network_toasts_do_not_parse_markup() -> None:
    """A real ICMP error from a closed loopback port raises a toast; it must be plain text."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as released:
        released.bind(("127.0.0.1", 0))
        closed = Address("127.0.0.1", released.getsockname()[1])
    transport = UdpTransport.open(bind_host="127.0.0.1", port=0)
    try:
        app = make_app(Config(peer=closed), transport=transport, clock=lambda: T0)
        async with app.run_test() as pilot:
            await pilot.pause()
            assert app.send_payload(b"anyone?")
            for _ in range(100):
                if any(n.title == "Network" for n in app._notifications):
                    break
                await asyncio.sleep(0.05)
            network = [n for n in app._notifications if n.title == "Network"]
            assert network, "no toast for the ICMP error within 5 s"
            assert all(not n.markup for n in app._notifications)
    finally:
        transport.close()
