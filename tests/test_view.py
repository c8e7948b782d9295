"""The display core without a screen: binary-first summaries, time figures, wrapping,
the inspector's fields and the decoder seam."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from rich.cells import cell_len
from rich.style import Style

from udptui.chat.datagram import Direction, Entry, Level, Truncation, escape_char, make_visible
from udptui.chat.view import (
    TIME_WIDTH,
    TimeMode,
    binary_summary,
    clock_time,
    delta_text,
    entry_fields,
    looks_binary,
    precise_time,
    time_column,
    wrap_pieces,
)
from udptui.net.address import Address
from udptui.ui.widgets.entry_lines import EntryLines

DNS_QUERY = bytes.fromhex("74ea01200001000000000001076578616d706c6503636f6d0000010001")
"""`dig example.com +noedns`, as it goes on the wire (ID 0x74ea)."""
T0 = datetime(2026, 11, 25, 14, 19, 59, 162345)


def received(payload: bytes, *, seq: int = 0, time: datetime = T0) -> Entry:
    entry = Entry(time, Direction.RECEIVED, Address("127.0.0.1", 5353), payload, len(payload))
    entry.seq = seq
    return entry


@pytest.mark.parametrize(
    ("payload", "binary"),
    [
        (b"hello world", False),
        (b"line one\nline two\r\n\ttabbed", False),
        (b"\x1b[31mred\x1b[0m \x1b[2J", False),  # terminal sequences read better as text
        (b"NUL\x00 BEL\x07 BS\x08 DEL\x7f", False),  # a few controls in text
        (DNS_QUERY, True),  # valid UTF-8 this time, but mostly NULs and lengths
        (b"\xbe\xef\x00\x1a", True),  # not UTF-8
        (b"", False),
    ],
)
def test_binary_is_invalid_utf8_or_mostly_controls(payload: bytes, binary: bool) -> None:
    valid = True
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        valid = False
    assert looks_binary(payload, valid) is binary


def test_binary_summary_is_size_hex_then_printable_ascii() -> None:
    size, hex_text, ascii_text = binary_summary(DNS_QUERY)
    assert size == "29 B"
    assert hex_text == "74 ea 01 20 00 01 00 00 00 00 00 01 07 65 78 61 …"
    assert ascii_text == "t.. .........example.com....."
    assert binary_summary(b"\xbe\xef\x00\x1aB") == ("5 B", "be ef 00 1a 42", "....B")


def test_times_are_milliseconds_in_the_log_and_microseconds_in_the_inspector() -> None:
    assert clock_time(T0) == "14:19:59.162"
    assert precise_time(T0) == "2026-11-25 14:19:59.162345"
    assert delta_text(0.03) == "+0.030"
    assert delta_text(61.5) == "+1:01.500"
    assert delta_text(3723.456) == "+1:02:03.456"
    assert delta_text(-0.002) == "-0.002"
    assert delta_text(0.0300004, precision=6) == "+0.030000"


def test_time_column_cycles_clock_since_previous_since_start() -> None:
    later = T0 + timedelta(milliseconds=30)
    start = T0 - timedelta(seconds=90)
    columns = {mode: time_column(mode, later, T0, start) for mode in TimeMode}
    assert columns == {
        TimeMode.CLOCK: "14:19:59.192",
        TimeMode.SINCE_PREVIOUS: "      +0.030",
        TimeMode.SINCE_START: "   +1:30.030",
    }
    assert all(len(column) == TIME_WIDTH for column in columns.values())
    assert time_column(TimeMode.SINCE_PREVIOUS, later, None, start).strip() == ""
    assert [TimeMode.CLOCK.next(), TimeMode.SINCE_START.next()] == [TimeMode.SINCE_PREVIOUS, TimeMode.CLOCK]


def line_texts(text: str, width: int) -> list[str]:
    return ["".join(part for part, _ in line) for line in wrap_pieces(make_visible(text), width)]


def test_wrap_keeps_every_character_and_every_line_fits() -> None:
    text = "the quick brown fox \x1b[2J jumps \u202e over 漢字漢字 the lazy dog" * 3
    visible = "".join(piece.text for piece in make_visible(text))
    for width in (1, 2, 5, 8, 13, 40):
        lines = line_texts(text, width)
        assert "".join(lines) == visible
        assert all(cell_len(line) <= max(width, 2) for line in lines)


def test_wrap_never_cuts_an_escape_and_breaks_after_a_newline() -> None:
    esc = escape_char("\x1b")
    lines = line_texts("ab\x1b\x1b\x1bcd", len(esc) * 2 + 1)
    assert all(not line.endswith("\\") for line in lines)
    assert esc * 2 in "".join(lines)
    for line in lines:  # every escape whole on one line
        assert line.count("\\") == line.count(esc)
    newline = escape_char("\n")
    assert line_texts("one\ntwo\nthree", 80) == [f"one{newline}", f"two{newline}", "three"]


def test_wrap_of_nothing_is_one_empty_line() -> None:
    assert wrap_pieces((), 10) == [[]]


def test_fields_say_where_when_and_which() -> None:
    first = received(b"ping", seq=4)
    second = received(b"\xff\x00", seq=9, time=T0 + timedelta(microseconds=30_250))
    second.truncation, second.wire_length = Truncation.CUT, 500
    fields = dict(entry_fields(second, local="0.0.0.0:9999", previous_from_peer=first, scanned_back=True))
    assert fields["from"] == "127.0.0.1:5353"
    assert fields["local"] == "0.0.0.0:9999"
    assert fields["size"] == "500 B on the wire, 2 B kept"
    assert fields["truncated"] == "truncated: 500 bytes sent, 2 kept"
    assert fields["content"] == "binary (not valid UTF-8)"
    assert fields["time"] == "2026-11-25 14:19:59.192595"
    assert fields["since peer's last"] == "+0.030250 s"
    assert fields["entry"] == "#10 of the session"
    alone = dict(entry_fields(first, local="x", previous_from_peer=None, scanned_back=True))
    assert alone["since peer's last"] == "none earlier in the scrollback"
    assert "truncated" not in alone


def test_fields_prefer_the_address_the_datagram_arrived_on() -> None:
    entry = received(b"x")
    entry.local_address = Address("127.0.0.2", 9999)  # type: ignore[attr-defined]
    assert (
        dict(entry_fields(entry, local="0.0.0.0:9999", previous_from_peer=None, scanned_back=True))["local"]
        == "127.0.0.2:9999"
    )


def test_a_note_has_its_level_time_and_number() -> None:
    note = Entry(T0, Direction.NOTE, None, note="saved", level=Level.WARNING)
    note.seq = 0
    assert entry_fields(note, local="", previous_from_peer=None, scanned_back=True) == [
        ("note", "warning"),
        ("time", "2026-11-25 14:19:59.162345"),
        ("entry", "#1 of the session"),
    ]


def test_wrap_keeps_joined_emoji_and_accents_whole() -> None:
    family, coder = "👨\u200d👩\u200d👧", "👩🏽\u200d💻"
    text = f"ab{family} e\u0301e\u0301 {coder} end"
    for width in range(2, 12):
        lines = line_texts(text, width)
        assert "".join(lines) == "".join(piece.text for piece in make_visible(text))
        assert any(family in line for line in lines), (width, lines)
        assert any(coder in line for line in lines), (width, lines)
        assert not any(line.startswith(("\u0301", "\u200d")) for line in lines), (width, lines)


def test_wrapped_binary_lines_break_only_between_byte_pairs() -> None:
    payload = bytes(range(7)) + b"\x07e\x00\xff" * 4
    entry = Entry(T0, Direction.RECEIVED, Address("127.0.0.1", 5353), payload, len(payload))
    hex_style = Style(color="red")  # to tell the bytes from the rest of each line
    lines = EntryLines(lambda name: hex_style if name == "hex" else Style(), Style())
    for width in range(16, 90):
        for line in lines.lines(entry, width):
            hex_text = "".join(segment.text for segment in line if segment.style == hex_style)
            assert all(len(pair) == 2 for pair in hex_text.split() if pair != "…"), (width, line.text)
