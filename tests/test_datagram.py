"""Peer bytes made safe and truthful: visible escapes, binary detection, hex dumps, entry wording."""

from __future__ import annotations

from datetime import datetime

import pytest

from udptui.chat.datagram import (
    SHOWN_CHARACTERS,
    Direction,
    Entry,
    Piece,
    Truncation,
    decode_payload,
    escape_char,
    hex_preview,
    hexdump,
    make_visible,
)
from udptui.net.address import Address

PEER = Address("127.0.0.1", 5000)
T0 = datetime(2024, 1, 2, 3, 4, 5)


def visible(text: str) -> str:
    return "".join(piece.text for piece in make_visible(text))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b", "\\x{1b}"),
        ("\x1b]0;x\x07", "\\x{1b}]0;x\\x{07}"),
        ("\x1b[2J", "\\x{1b}[2J"),
        ("a\x85b", "a\\x{85}b"),
        ("\x9b31m", "\\x{9b}31m"),
        ("\x7f", "\\x{7f}"),
        ("\x00", "\\x{00}"),
        ("x\ny", "x\\x{0a}y"),
        ("\r\n", "\\x{0d}\\x{0a}"),
        ("\u202a\u202b\u202c\u202d\u202e", "\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}"),
        ("\u2066\u2067\u2068\u2069", "\\u{2066}\\u{2067}\\u{2068}\\u{2069}"),
        ("a\u200bb\u200dc\ufeff", "a\\u{200b}b\\u{200d}c\\u{feff}"),
        ("\u0378", "\\u{0378}"),  # unassigned (Cn)
        ("\ue000", "\\u{e000}"),  # private use (Co)
        ("\U000e0001", "\\u{e0001}"),  # language tag (Cf), outside the BMP
        ("\u2028", "\\u{2028}"),  # line separator (Zl)
        ("\x124", "\\x{12}4"),  # the brace ends the escape: not \x124
    ],
)
def test_dangerous_characters_become_visible_escapes(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_escapes_are_marked_and_text_runs_are_not() -> None:
    assert make_visible("\x1b]0;x\x07") == (
        Piece("\\x{1b}", escaped=True),
        Piece("]0;x"),
        Piece("\\x{07}", escaped=True),
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\tb", "a|→      |b"),
        ("abc\tb", "abc|→    |b"),
        ("1234567\tx", "1234567|→|x"),
        ("12345678\tx", "12345678|→       |x"),
        ("\t\tx", "→       →       |x"),
        ("你好\tx", "你好|→   |x"),  # wide characters take two columns
        ("\x1b\tx", "\\x{1b}→ |x"),
    ],
)
def test_a_tab_is_a_dim_arrow_padded_to_the_next_tab_stop(raw: str, shown: str) -> None:
    """Told apart from spaces (an escaped piece, drawn dim), and columns stay aligned."""
    pieces = make_visible(raw)
    assert "|".join(piece.text for piece in pieces) == shown
    assert all(piece.escaped == ("→" in piece.text) for piece in pieces)


@pytest.mark.parametrize(
    "text",
    [
        "family 👨\u200d👩\u200d👧 here",
        "❤\ufe0f",
        "❤\ufe0f\u200d🔥",
        "🏳\ufe0f\u200d🌈",
        "👩🏽\u200d💻",
        "#\ufe0f\u20e3 1\ufe0f\u20e3",
        "☺\ufe0e",
        "क्\u200dष",  # a virama, ZWJ, a consonant: a half form in Devanagari
    ],
)
def test_joiners_inside_one_glyph_are_kept(text: str) -> None:
    assert make_visible(text) == (Piece(text),)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\u200d", "\\u{200d}"),
        ("\u200d😀", "\\u{200d}😀"),
        ("😀\u200d", "😀\\u{200d}"),
        ("pay\u200dpal", "pay\\u{200d}pal"),
        ("😀\u200d\u200d😀", "😀\\u{200d}\\u{200d}😀"),
        ("😀\u200d\x1b", "😀\\u{200d}\\x{1b}"),
        ("😀\u200d a", "😀\\u{200d} a"),
        ("\ufe0f", "\\u{fe0f}"),
        ("a\ufe0f", "a\\u{fe0f}"),
        ("1\ufe0f", "1\\u{fe0f}"),
        ("❤\ufe0f\ufe0f", "❤\ufe0f\\u{fe0f}"),
        ("😀\ufe00\U000e0100", "😀\\u{fe00}\\u{e0100}"),  # bytes hidden in selectors
        ("🏴\U000e0067\U000e007f", "🏴\\u{e0067}\\u{e007f}"),  # tags can carry hidden text
    ],
)
def test_joiners_alone_or_hiding_text_are_escaped(raw: str, shown: str) -> None:
    assert visible(raw) == shown


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("C:\\Users\\x", "C:\\Users\\x"),
        ("\\x{1b}", "\\x{5c}x{1b}"),
        ("\\u{202e}", "\\x{5c}u{202e}"),
        ("\\\x1b", "\\\\x{1b}"),
    ],
)
def test_a_backslash_that_would_pass_for_an_escape_is_escaped(raw: str, shown: str) -> None:
    """Without colour, every `\\x{..}` on screen is an escape udptui made."""
    assert visible(raw) == shown


@pytest.mark.parametrize(
    "text", ["hello", "你好 世界", "emoji 😀", "nbsp\xa0here", "ideographic\u3000space", ""]
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert visible(text) == text
    assert not any(piece.escaped for piece in make_visible(text))


def test_empty_text_has_no_pieces() -> None:
    assert make_visible("") == ()


def test_escape_char_spellings() -> None:
    assert escape_char("\x1b") == "\\x{1b}"
    assert escape_char("\xff") == "\\x{ff}"
    assert escape_char("\u0100") == "\\u{0100}"
    assert escape_char("\u202e") == "\\u{202e}"
    assert escape_char("\U000e0001") == "\\u{e0001}"


def test_valid_utf8_is_not_binary() -> None:
    decoded = decode_payload("héllo 你好".encode())
    assert decoded.plain == "héllo 你好"
    assert not decoded.binary


def test_invalid_utf8_becomes_replacement_char_and_binary() -> None:
    decoded = decode_payload(b"\xff\xfeA")
    assert decoded.plain == "\ufffd\ufffdA"
    assert decoded.binary


def test_invalid_utf8_with_controls_is_still_escaped() -> None:
    decoded = decode_payload(b"\xff\x1b[2J")
    assert decoded.binary
    assert decoded.plain == "\ufffd\\x{1b}[2J"


def test_empty_datagram() -> None:
    decoded = decode_payload(b"")
    assert decoded.pieces == ()
    assert not decoded.binary
    entry = Entry(T0, Direction.RECEIVED, PEER, b"", 0)
    assert entry.is_empty_datagram
    # Cut to nothing by a tiny buffer is not an empty datagram: bytes were sent.
    assert not Entry(T0, Direction.RECEIVED, PEER, b"", 5, Truncation.CUT).is_empty_datagram
    assert not Entry(T0, Direction.NOTE, None, note="").is_empty_datagram


def test_note_entries_are_made_visible_too() -> None:
    entry = Entry(T0, Direction.NOTE, None, note="from \x1b[31mred\u202e")
    assert entry.decoded.plain == "from \\x{1b}[31mred\\u{202e}"
    assert not entry.decoded.binary


def test_hexdump_matches_xxd_layout() -> None:
    """Expected lines are what `xxd` printed for the same bytes."""
    payload = b"hello, world\x00\x01\xff\x7fABCDEFGHIJKLMNOPQRS"
    assert hexdump(payload) == [
        "00000000: 6865 6c6c 6f2c 2077 6f72 6c64 0001 ff7f  hello, world....",
        "00000010: 4142 4344 4546 4748 494a 4b4c 4d4e 4f50  ABCDEFGHIJKLMNOP",
        "00000020: 5152 53                                  QRS",
    ]
    assert hexdump(b"abc") == ["00000000: 6162 63                                  abc"]


def test_hexdump_of_nothing_is_no_lines() -> None:
    assert hexdump(b"") == []


def test_hex_preview() -> None:
    assert hex_preview(b"\xff\xfeA") == "ff fe 41"
    assert hex_preview(bytes(16)) == " ".join(["00"] * 16)
    assert hex_preview(bytes(17)) == " ".join(["00"] * 16) + " …"


def test_truncation_text_wording() -> None:
    cut = Entry(T0, Direction.RECEIVED, PEER, b"h", 5, Truncation.CUT)
    assert cut.truncation_text == "truncated: 5 bytes sent, 1 kept"
    possible = Entry(T0, Direction.RECEIVED, PEER, b"hello", 5, Truncation.POSSIBLE)
    assert possible.truncation_text == "possibly truncated: 5 bytes filled the buffer"
    whole = Entry(T0, Direction.RECEIVED, PEER, b"hello", 5)
    assert whole.truncation_text == ""


def test_runs_of_escapes_are_one_piece() -> None:
    """A datagram of 65,507 NULs is one escaped piece, not 65,507 (which froze the screen)."""
    assert make_visible("a\x1b\x1b[2J") == (Piece("a"), Piece("\\x{1b}\\x{1b}", escaped=True), Piece("[2J"))
    decoded = decode_payload(b"\0" * 65507)
    assert len(decoded.pieces) == 1 and decoded.pieces[0].escaped


def test_a_log_line_shows_the_first_characters_and_counts_the_rest() -> None:
    decoded = decode_payload(b"x" * 5000)
    assert decoded.plain == "x" * SHOWN_CHARACTERS
    assert decoded.hidden_characters == 5000 - SHOWN_CHARACTERS
    assert decode_payload(b"short").hidden_characters == 0


@pytest.mark.parametrize("filler", ["\u034f", "\u115f", "\u1160", "\u17b4", "\u3164", "\uffa0"])
def test_invisible_fillers_are_escaped(filler: str) -> None:
    """Default-ignorable characters filed as letters or marks draw as nothing: escaped too."""
    assert make_visible(f"a{filler}b")[1] == Piece(f"\\u{{{ord(filler):04x}}}", escaped=True)
