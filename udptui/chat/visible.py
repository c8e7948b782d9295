"""Peer text made safe and truthful to show: which characters go to the terminal as they are,
and the visible escapes for the rest.

An escape is `\\x{1b}` (a code point up to ff) or `\\u{202e}` (above): the braces say where
it ends, so `\\x{12}4` cannot be read as one escape, without colour. A backslash that would
start something looking like an escape is escaped itself (`\\x{5c}x{12}` is what a peer
typed), so every escape on screen is one. A tab shows as a dim `→` padded to the next tab
stop (every 8 columns of the text), so it is told from spaces and columns stay aligned.

The zero-width joiner and the emoji variation selectors are kept where they join visible
characters into one glyph (`👨‍👩‍👧`, `❤️`, `1️⃣`), and escaped anywhere else: alone, at an end,
beside a control, in a row, or after a plain letter, where they would only hide text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

TAB_STOP = 8
"""Columns between tab stops, as terminals and `cat` have them."""
TAB_MARK = "→"
ZWJ = "\u200d"
VS15, VS16 = "\ufe0e", "\ufe0f"
"""Variation selectors asking for the text or the emoji form of the character before."""
KEYCAP = "\u20e3"
KEYCAP_BASES = frozenset("0123456789#*")
VARIATION_SELECTORS = frozenset(chr(code) for code in [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])
"""All 256 of them: printable (category Mn), invisible, and able to carry hidden bytes in a
row after one character; only VS15 and VS16 after a pictograph (or a keycap base) are kept."""
INVISIBLE_FILLERS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")
"""Default-ignorable characters that Unicode files under letters or marks, not format:
they draw as nothing, so they are escaped like the format characters."""
SPECIAL = INVISIBLE_FILLERS | VARIATION_SELECTORS
"""Printable characters that still need a look at their context (or an escape)."""
EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)
"""The five skin tones: an emoji sequence may go on with a ZWJ after one."""
ESCAPE_LOOKALIKE = re.compile(r"\\[xu]\{")

_PICTOGRAPHIC = """
    a9 ae 203c 2049 2122 2139 2194-2199 21a9-21aa 231a-231b 2328 2388 23cf 23e9-23f3 23f8-23fa 24c2
    25aa-25ab 25b6 25c0 25fb-25fe 2600-2605 2607-2612 2614-2685 2690-2705 2708-2712 2714 2716 271d
    2721 2728 2733-2734 2744 2747 274c 274e 2753-2755 2757 2763-2767 2795-2797 27a1 27b0 27bf
    2934-2935 2b05-2b07 2b1b-2b1c 2b50 2b55 3030 303d 3297 3299 1f000-1f0ff 1f10d-1f10f 1f12f
    1f16c-1f171 1f17e-1f17f 1f18e 1f191-1f19a 1f1ad-1f1e5 1f201-1f20f 1f21a 1f22f 1f232-1f23a
    1f23c-1f23f 1f249-1f3fa 1f400-1f53d 1f546-1f64f 1f680-1f6ff 1f774-1f77f 1f7d5-1f7ff 1f80c-1f80f
    1f848-1f84f 1f85a-1f85f 1f888-1f88f 1f8ae-1f8ff 1f90c-1f93a 1f93c-1f945 1f947-1faff 1fc00-1fffd
"""
"""Unicode 14's Extended_Pictographic property (emoji-data.txt), which Python's unicodedata lacks."""
_RANGES = [[int(end, 16) for end in (span + "-" + span).split("-")[:2]] for span in _PICTOGRAPHIC.split()]
_STARTS = [low for low, _ in _RANGES]


def is_pictographic(char: str) -> bool:
    """Extended_Pictographic: what emoji ZWJ sequences are made of."""
    code = ord(char)
    index = bisect_right(_STARTS, code) - 1
    return index >= 0 and code <= _RANGES[index][1]


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of displayable text; `escaped` marks made-visible characters (escapes, tabs)."""

    text: str
    escaped: bool = False


def escape_char(char: str) -> str:
    """`\\x{1b}`, `\\u{202e}` or `\\u{e0001}`: one code point, with braces that say where it ends."""
    code = ord(char)
    return f"\\x{{{code:02x}}}" if code <= 0xFF else f"\\u{{{code:04x}}}"


def is_safe_char(char: str) -> bool:
    """Whether a character may go to the terminal as it is, whatever is around it.

    `str.isprintable` is false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs but the
    ASCII space; of those, plain spaces (Zs) are harmless and kept.
    """
    return (char.isprintable() or unicodedata.category(char) == "Zs") and char not in SPECIAL


def is_plain(text: str) -> bool:
    """Every character shows as itself, whatever the context (the fast path, in C)."""
    return text.isprintable() and (text.isascii() or SPECIAL.isdisjoint(text))  # isascii is O(1)


def _joins(before: str, after: str) -> bool:
    """Whether a ZWJ between these two (kept) characters joins them into one glyph."""
    if not after or not is_safe_char(after):
        return False
    if before == VS16 or is_pictographic(before) or ord(before) in EMOJI_MODIFIERS:
        return is_pictographic(after)
    # A virama, then ZWJ: the half form of a consonant in Indic scripts (क्‍ष).
    return unicodedata.combining(before) == 9 and unicodedata.category(after).startswith("L")


def shown_as_is(text: str) -> Iterator[tuple[str, bool]]:
    """Each character of text, and whether it may go to a terminal as itself where it stands."""
    before = ""  # the character before, when it was kept as itself
    for index, char in enumerate(text):
        if is_safe_char(char):
            keep = True
        elif char == ZWJ:
            keep = bool(before) and _joins(before, text[index + 1 : index + 2])
        elif char in (VS15, VS16):
            keycap = before in KEYCAP_BASES and text[index + 1 : index + 2] == KEYCAP
            keep = bool(before) and (is_pictographic(before) or keycap)
        else:
            keep = False
        before = char if keep else ""
        yield char, keep


def make_visible(text: str) -> tuple[Piece, ...]:
    """Split text into safe runs and runs of escaped characters (one piece per run, so a
    datagram of 65,507 NULs is one piece, not 65,507)."""
    if is_plain(text) and ("\\" not in text or not ESCAPE_LOOKALIKE.search(text)):
        return (Piece(text),) if text else ()
    pieces: list[Piece] = []
    run: list[str] = []
    run_escaped = False
    since_tab: list[str] = []  # what was shown since the last tab stop, to find the next
    column = 0
    for index, (char, keep) in enumerate(shown_as_is(text)):
        if char == "\t":
            column += _cells("".join(since_tab))
            since_tab.clear()
            width = TAB_STOP - column % TAB_STOP
            column += width
            visible, escaped = TAB_MARK + " " * (width - 1), True
        elif char == "\\" and ESCAPE_LOOKALIKE.match(text, index):
            visible, escaped = escape_char(char), True
        elif keep:
            visible, escaped = char, False
        else:
            visible, escaped = escape_char(char), True
        if char != "\t":
            since_tab.append(visible)
        if escaped != run_escaped and run:
            pieces.append(Piece("".join(run), run_escaped))
            run.clear()
        run_escaped = escaped
        run.append(visible)
    if run:
        pieces.append(Piece("".join(run), run_escaped))
    return tuple(pieces)


def _cells(text: str) -> int:
    """Terminal columns of text, as the log measures them."""
    from rich.cells import cell_len  # only text with tabs needs it

    return cell_len(text)


def json_escape_unsafe(line: str) -> str:
    """A JSON text with every character that could act on a terminal written as `\\uXXXX`
    (valid only inside JSON strings: everything outside them is printable ASCII)."""
    if is_plain(line):
        return line
    parts = []
    for char, keep in shown_as_is(line):
        if keep:
            parts.append(char)
            continue
        code = ord(char)
        if code > 0xFFFF:  # JSON spells these as a surrogate pair
            code -= 0x10000
            parts.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            parts.append(f"\\u{code:04x}")
    return "".join(parts)
