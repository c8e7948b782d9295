"""Log entries and the safe, truthful view of a datagram's bytes.

Everything here treats peer bytes as data: decoding never raises, and every character
that could act on a terminal (C0/C1 controls, ESC, bidi overrides, zero-width and other
format or unassigned characters) is turned into a visible escape like `\\x{1b}` or
`\\u{202e}` (the rules are in `udptui.chat.visible`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING

from udptui.chat.visible import Piece, escape_char, is_safe_char, make_visible
from udptui.net.address import Address

if TYPE_CHECKING:
    from udptui.net.impairments import Fate

__all__ = ["Piece", "escape_char", "is_safe_char", "make_visible"]  # their home was here


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
class Decoded:
    """A payload made safe to draw."""

    pieces: tuple[Piece, ...]
    binary: bool
    """The bytes were not valid UTF-8 (invalid sequences show as U+FFFD)."""
    hidden_characters: int = 0
    """Characters past what a log line shows (SHOWN_CHARACTERS); hex view shows them all."""

    @property
    def plain(self) -> str:
        return "".join(piece.text for piece in self.pieces)


SHOWN_CHARACTERS = 2048
"""How much of a datagram's text a log line shows; the hex view shows every byte."""


def decode_payload(payload: bytes) -> Decoded:
    """Decode UTF-8 (invalid bytes become U+FFFD and mark the entry binary), then make the
    first SHOWN_CHARACTERS visible: no terminal line is wider, and a flood of large
    datagrams must not cost memory for text nobody can see."""
    try:
        text = payload.decode("utf-8")
        binary = False
    except UnicodeDecodeError:
        text = payload.decode("utf-8", errors="replace")
        binary = True
    if len(text) <= SHOWN_CHARACTERS:
        return Decoded(make_visible(text), binary)
    shown = text[:SHOWN_CHARACTERS]
    return Decoded(make_visible(shown), binary, hidden_characters=len(text) - len(shown))


def hex_preview(payload: bytes, limit: int = 16) -> str:
    """The first `limit` bytes as `ff fe 41`, with `…` when there are more."""
    preview = payload[:limit].hex(" ")
    return preview + " …" if len(payload) > limit else preview


def hex_rows(size: int, width: int = 16) -> int:
    """How many `xxd` rows `size` bytes make."""
    return -(-size // width)


def hexdump_line(payload: bytes, row: int, width: int = 16) -> str:
    """Row `row` of the `xxd`-style dump: offset, hex in pairs, printable ASCII (others `.`).

    One row at a time, so drawing a screenful of a 64 KiB datagram costs a screenful."""
    offset = row * width
    chunk = payload[offset : offset + width]
    pairs = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
    ascii_text = "".join(chr(byte) if 0x20 <= byte < 0x7F else "." for byte in chunk)
    return f"{offset:08x}: {pairs:<{width * 5 // 2 - 1}}  {ascii_text}"


def hexdump(payload: bytes, width: int = 16) -> list[str]:
    """Every row of the `xxd`-style dump."""
    return [hexdump_line(payload, row, width) for row in range(hex_rows(len(payload), width))]


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
    """When it arrived (the kernel's time, to the microsecond), was sent, or was noted."""
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
    local_address: Address | None = None
    """The address a received datagram was sent to, with our port: a local address, a group or
    a broadcast address (its IP header's destination, IP_PKTINFO); None when unknown."""
    interface: int = 0
    """The index of the interface a received datagram came in on (IP_PKTINFO); 0 when unknown."""
    relay: str = ""
    """`up` (a client's datagram, forwarded to the server) or `down` (the server's, forwarded
    to the client) in relay mode (`--forward`); `peer` is the client either way. '' otherwise."""
    automatic: bool = False
    """Sent by an auto-reply rule (`--respond`), not by hand: the transcript says `"auto": true`."""
    impairment: Fate | None = None
    """What an impairment (`--loss`, `--delay`, …) did to this datagram; None when none did."""
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
