"""Log entries and the safe, truthful view of a datagram's bytes.

Everything here treats peer bytes as data: decoding never raises, and every character
that could act on a terminal (C0/C1 controls, ESC, bidi overrides, zero-width and other
format or unassigned characters) is turned into a visible escape like `\\x1b` or `\\u202e`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cached_property

from udptui.address import Address


class Direction(Enum):
    """Which way an entry went; notes are the app's own messages."""

    RECEIVED = "in"
    SENT = "out"
    NOTE = "note"


class Level(Enum):
    """How loud a note is."""

    INFO = "information"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of displayable text; `escaped` marks a made-visible control character."""

    text: str
    escaped: bool = False


@dataclass(frozen=True, slots=True)
class Decoded:
    """A payload made safe to draw."""

    pieces: tuple[Piece, ...]
    binary: bool
    """The bytes were not valid UTF-8 (invalid sequences show as U+FFFD)."""

    @property
    def plain(self) -> str:
        return "".join(piece.text for piece in self.pieces)


TAB_AS_SPACES = "    "


def escape_char(char: str) -> str:
    """`\\x1b`, `\\u202e` or `\\U000e0001`: the Python spelling of one code point."""
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def is_safe_char(char: str) -> bool:
    """Whether a character may go to the terminal as it is.

    `str.isprintable` is false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs but the
    ASCII space; of those, plain spaces (Zs) are harmless and kept.
    """
    return char.isprintable() or unicodedata.category(char) == "Zs"


def make_visible(text: str) -> tuple[Piece, ...]:
    """Split text into safe runs and escaped characters."""
    if text.isprintable():
        return (Piece(text),) if text else ()
    pieces: list[Piece] = []
    run: list[str] = []
    for char in text:
        if char == "\t":
            run.append(TAB_AS_SPACES)
        elif is_safe_char(char):
            run.append(char)
        else:
            if run:
                pieces.append(Piece("".join(run)))
                run.clear()
            pieces.append(Piece(escape_char(char), escaped=True))
    if run:
        pieces.append(Piece("".join(run)))
    return tuple(pieces)


def decode_payload(payload: bytes) -> Decoded:
    """Decode UTF-8 (invalid bytes become U+FFFD and mark the entry binary), then make it visible."""
    try:
        text = payload.decode("utf-8")
        binary = False
    except UnicodeDecodeError:
        text = payload.decode("utf-8", errors="replace")
        binary = True
    return Decoded(make_visible(text), binary)


def hex_preview(payload: bytes, limit: int = 16) -> str:
    """The first `limit` bytes as `ff fe 41`, with `…` when there are more."""
    preview = payload[:limit].hex(" ")
    return preview + " …" if len(payload) > limit else preview


def hexdump(payload: bytes, width: int = 16) -> list[str]:
    """`xxd`-style lines: offset, hex in pairs, and printable ASCII (others as `.`)."""
    lines = []
    for offset in range(0, len(payload), width):
        chunk = payload[offset : offset + width]
        pairs = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
        ascii_text = "".join(chr(byte) if 0x20 <= byte < 0x7F else "." for byte in chunk)
        lines.append(f"{offset:08x}: {pairs:<{width * 5 // 2 - 1}}  {ascii_text}")
    return lines


class Truncation(Enum):
    """Whether the receive buffer cut the datagram."""

    NONE = "none"
    CUT = "cut"
    """The kernel said so (MSG_TRUNC): `wire_length` is the size that was sent."""
    POSSIBLE = "possible"
    """The platform cannot tell, and the datagram filled the buffer exactly."""


@dataclass(eq=False)
class Entry:
    """One line of the log: a datagram in or out, or a note from the app."""

    time: datetime
    direction: Direction
    peer: Address | None
    payload: bytes = b""
    wire_length: int = 0
    """Bytes on the wire; more than `len(payload)` when the datagram was cut."""
    truncation: Truncation = Truncation.NONE
    stranger: bool = False
    """Received from an address other than the pinned target."""
    note: str = ""
    """The message of a note entry (app text, may quote peer bytes: it is made visible too)."""
    level: Level = Level.INFO
    seq: int = field(default=-1)
    """Position in the session, set by the store."""

    @cached_property
    def decoded(self) -> Decoded:
        """The payload made safe to draw, computed once, on first use."""
        if self.direction is Direction.NOTE:
            return Decoded(make_visible(self.note), binary=False)
        return decode_payload(self.payload)

    @property
    def is_empty_datagram(self) -> bool:
        return self.direction is not Direction.NOTE and not self.payload and self.wire_length == 0

    @property
    def truncation_text(self) -> str:
        """`truncated: 5 bytes sent, 1 kept`, or the hedged version, or ''."""
        if self.truncation is Truncation.CUT:
            return f"truncated: {self.wire_length} bytes sent, {len(self.payload)} kept"
        if self.truncation is Truncation.POSSIBLE:
            return f"possibly truncated: {len(self.payload)} bytes filled the buffer"
        return ""
