"""What may reach a terminal from peer text: the oracle the property tests check udptui's
output against. Written apart from udptui's own rules (`udptui/chat/visible.py`) and coarser.

No control, format, surrogate, private-use or unassigned character, and no bidi or
zero-width character, may pass; except a zero-width joiner or an emoji variation
selector (VS15, VS16) that sits between visible characters, where it can only join them
into one glyph and can hide nothing: not at an end, not beside a space, an ASCII
character, a control or another invisible character. No other variation selector passes.
"""

from __future__ import annotations

import unicodedata

FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
FORBIDDEN_RANGES = [(0x00, 0x1F), (0x7F, 0x9F), (0x202A, 0x202E), (0x2066, 0x2069), (0x200B, 0x200F)]
ZWJ = "\u200d"
EMOJI_SELECTORS = {"\ufe0e", "\ufe0f"}
OTHER_SELECTORS = {chr(code) for code in [*range(0xFE00, 0xFE0E), *range(0xE0100, 0xE01F0)]}


def is_forbidden(char: str) -> bool:
    code = ord(char)
    if code == 0xFEFF or char in OTHER_SELECTORS:
        return True
    if any(low <= code <= high for low, high in FORBIDDEN_RANGES):
        return True
    return unicodedata.category(char) in FORBIDDEN_CATEGORIES


def is_visible(char: str) -> bool:
    """A character that draws something by itself."""
    return not is_forbidden(char) and not char.isspace() and char not in EMOJI_SELECTORS


def joiner_is_safe(text: str, index: int) -> bool:
    char = text[index]
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if char == ZWJ:
        before_ok = before == "\ufe0f" or (is_visible(before) and not before.isascii())
        return before_ok and is_visible(after) and not after.isascii()
    # VS15 / VS16: after a visible character; ASCII only as a keycap base (1️⃣).
    return is_visible(before) and (not before.isascii() or before in "0123456789#*")


def unsafe_characters(text: str) -> list[str]:
    """`U+XXXX` of each character that must not reach a terminal where it stands."""
    return [
        f"U+{ord(char):04X} at {index}"
        for index, char in enumerate(text)
        if ((char == ZWJ or char in EMOJI_SELECTORS) and not joiner_is_safe(text, index))
        or (char != ZWJ and is_forbidden(char))
    ]


def assert_safe_text(text: str) -> None:
    bad = unsafe_characters(text)
    assert not bad, f"unsafe characters {bad} in {text!r}"
