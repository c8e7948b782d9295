"""What a datagram is for display, without a screen: the binary-first summary, time
figures, wrapping of visible text, and the inspector's fields.

Nothing here imports Textual; the log and the inspector draw what these functions return.
Every peer string reaches these functions already made visible by `udptui.chat.datagram`, or is
made visible here with the same functions, so the escape form is defined in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import TypeVar

from rich.cells import cell_len, get_character_cell_size

from udptui.chat.datagram import Direction, Entry, Piece, escape_char, hex_preview
from udptui.net.address import interface_name
from udptui.net.destinations import is_group, special_destination

T = TypeVar("T")

# -- binary first ------------------------------------------------------------------------

_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
"""C0 controls but tab, LF, CR and ESC, and DEL: a text protocol has few of them (ESC
starts terminal sequences, which read better as text with visible escapes)."""
SNIFF_BYTES = 256
"""How much of a datagram is looked at to call it text or binary."""
SUMMARY_HEX_BYTES = 16
SUMMARY_ASCII_BYTES = 64


def looks_binary(payload: bytes, valid_utf8: bool) -> bool:
    """Not valid UTF-8, or mostly controls (over a quarter of the first 256 bytes)."""
    if not valid_utf8:
        return True
    head = payload[:SNIFF_BYTES]
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls * 4 > len(head)


def printable_ascii(data: bytes) -> str:
    """Printable ASCII as itself, every other byte as `.`, like xxd's right column."""
    return "".join(chr(byte) if 0x20 <= byte < 0x7F else "." for byte in data)


def binary_summary(payload: bytes) -> tuple[str, str, str]:
    """(size, hex, ascii): `21 B`, `be ef 00 1a … `, `..B.` for the start of a log line."""
    ascii_text = printable_ascii(payload[:SUMMARY_ASCII_BYTES])
    if len(payload) > SUMMARY_ASCII_BYTES:
        ascii_text += "…"
    return f"{len(payload)} B", hex_preview(payload, SUMMARY_HEX_BYTES), ascii_text


def hex_runs(hex_text: str, tag: T) -> list[Run[T]]:
    """`be ef 00` as runs `wrap_runs` never cuts inside a byte pair: each pair is marked
    like an escape (cut only at a backslash, which hex has none of), spaces as plain text."""
    runs: list[Run[T]] = []
    for index, pair in enumerate(hex_text.split(" ")):
        if index:
            runs.append((" ", False, tag))
        runs.append((pair, True, tag))
    return runs


def destination_mark(entry: Entry) -> str | None:
    """The group or broadcast address a received datagram was sent to (the log marks it
    `→ 239.1.2.3`), or None for unicast, sent entries and notes."""
    if entry.direction is not Direction.RECEIVED:
        return None
    arrived = getattr(entry, "local_address", None)
    return None if arrived is None else special_destination(arrived.host)


def entry_matches(entry: Entry, needle: str) -> bool:
    """The log's filter: a case-insensitive match on the peer address or the visible text."""
    if entry.peer is not None and needle in str(entry.peer).lower():
        return True
    return needle in entry.decoded.plain.lower()


# -- time ----------------------------------------------------------------------------------


class TimeMode(Enum):
    """What the log's time column shows."""

    CLOCK = "clock"
    SINCE_PREVIOUS = "since previous"
    SINCE_START = "since start"

    def next(self) -> TimeMode:
        modes = list(TimeMode)
        return modes[(modes.index(self) + 1) % len(modes)]


TIME_WIDTH = 12
"""Columns of the time column: `HH:MM:SS.mmm`."""


def clock_time(time: datetime) -> str:
    """`14:19:59.162`."""
    return f"{time:%H:%M:%S}.{time.microsecond // 1000:03d}"


def precise_time(time: datetime) -> str:
    """`2026-11-25 14:19:59.162345`: the arrival time to the microsecond."""
    return f"{time:%Y-%m-%d %H:%M:%S.%f}"


def delta_text(seconds: float, *, precision: int = 3) -> str:
    """`+0.030`, `+1:02.345`, `+1:02:03.456`: a gap, signed, minutes and hours when needed."""
    sign = "-" if seconds < 0 else "+"
    scale = 10**precision
    units = round(abs(seconds) * scale)
    whole, fraction = divmod(units, scale)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    tail = f".{fraction:0{precision}d}" if precision else ""
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}{tail}"
    if minutes:
        return f"{sign}{minutes}:{secs:02d}{tail}"
    return f"{sign}{secs}{tail}"


def time_column(mode: TimeMode, time: datetime, previous: datetime | None, started: datetime) -> str:
    """The time column of one entry, TIME_WIDTH wide."""
    if mode is TimeMode.CLOCK:
        return clock_time(time)
    if mode is TimeMode.SINCE_START:
        return delta_text((time - started).total_seconds()).rjust(TIME_WIDTH)
    if previous is None:
        return "".rjust(TIME_WIDTH)
    return delta_text((time - previous).total_seconds()).rjust(TIME_WIDTH)


# -- wrapping ------------------------------------------------------------------------------

Run = tuple[str, bool, T]
"""Text, whether it is a run of visible escapes, and a tag (a style) carried along."""


def _fits(text: str, room: int, *, must: bool) -> int:
    """How many characters of `text` fit in `room` cells, ending where a glyph ends; with
    `must` (an empty line), at least what fits even if that cuts a glyph."""
    if text.isascii():
        return min(len(text), room)
    used = 0
    joined = False
    for index, char in enumerate(text):
        used += 0 if joined else get_character_cell_size(char)  # a joined emoji is one glyph
        joined = char == ZWJ
        if used > room:
            start = _glyph_start(text, index)
            return index if must and start == 0 else start
    return len(text)


ZWJ = "\u200d"


def _glyph_start(text: str, index: int) -> int:
    """Move a cut back to where a glyph starts: never before a combining mark, a joiner, a
    selector or a skin tone, nor after a joiner, so an emoji or an accented letter stays
    whole on one line (and a kept joiner never ends a line alone)."""
    start = index
    while start > 0 and (
        get_character_cell_size(text[start]) == 0
        or 0x1F3FB <= ord(text[start]) <= 0x1F3FF
        or text[start - 1] == ZWJ
    ):
        start -= 1
    return start


def wrap_runs(runs: Iterable[Run[T]], width: int) -> list[list[tuple[str, T]]]:
    """Cut runs into lines of at most `width` cells.

    An escape run is cut between escapes, never inside one (each starts with a backslash),
    and a line ends after a visible newline escape, so multi-line text reads as lines.
    Always at least one line; a line holds at least one character, whatever the width.
    """
    width = max(1, width)
    newline = escape_char("\n")
    lines: list[list[tuple[str, T]]] = [[]]
    room = width
    for text, escaped, tag in runs:
        chunks = _split_after(text, newline) if escaped else [text]
        for whole in chunks:
            chunk = whole
            while chunk:
                if room <= 0:
                    lines.append([])
                    room = width
                if escaped or chunk.isascii():
                    cells = len(chunk)
                else:  # measured only when short: a long run is cut by `_fits`, once
                    cells = cell_len(chunk) if len(chunk) <= room else room + 1
                if cells <= room:  # the common case: the whole run fits
                    lines[-1].append((chunk, tag))
                    room -= cells
                    break
                take = _fits(chunk, room, must=not lines[-1])
                if escaped and take < len(chunk):
                    cut = chunk.rfind("\\", 1, take + 1)
                    if cut > 0:
                        take = cut
                    elif lines[-1]:
                        take = 0  # the escape fits on the next line whole
                if take == 0:
                    if lines[-1]:
                        room = 0
                        continue
                    take = 1
                piece, chunk = chunk[:take], chunk[take:]
                lines[-1].append((piece, tag))
                room -= cell_len(piece)
            if escaped and whole.endswith(newline):
                room = 0  # the next text starts a line, as the newline said
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def _split_after(text: str, mark: str) -> list[str]:
    """`a\\x0ab` → [`a\\x0a`, `b`]: chunks that each end with `mark` but perhaps the last."""
    if mark not in text:
        return [text]
    parts = text.split(mark)
    chunks = [part + mark for part in parts[:-1]]
    if parts[-1]:
        chunks.append(parts[-1])
    return chunks


def wrap_pieces(pieces: Sequence[Piece], width: int) -> list[list[tuple[str, bool]]]:
    """Visible text cut into lines; each part keeps whether it is an escape."""
    return wrap_runs(((piece.text, piece.escaped, piece.escaped) for piece in pieces), width)


# -- the inspector's fields ----------------------------------------------------------------


def entry_fields(
    entry: Entry, *, local: str, previous_from_peer: Entry | None, scanned_back: bool
) -> list[tuple[str, str]]:
    """The inspector's label/value lines for an entry; values hold no peer text but
    addresses (which are parsed, so safe)."""
    fields: list[tuple[str, str]] = []
    if entry.direction is Direction.NOTE:
        fields.append(("note", entry.level.value))
    elif entry.relay:  # relayed: which way, and the client
        client = f"client {entry.peer}"
        fields.append(("relayed", f"{client} → server" if entry.relay == "up" else f"server → {client}"))
    else:
        way = "from" if entry.direction is Direction.RECEIVED else "to"
        fields.append((way, str(entry.peer) if entry.peer is not None else "unknown sender"))
    if entry.direction is not Direction.NOTE:
        arrived = getattr(entry, "local_address", None)
        special = destination_mark(entry)
        if special is None:
            fields.append(("local", str(arrived) if arrived is not None else local))
        else:
            fields.append(("local", local))
            kind = "multicast group" if is_group(special) else "broadcast address"
            fields.append(("sent to", f"{special} ({kind})"))
            if entry.interface:  # which link the group's (or broadcast's) datagrams come in on
                fields.append(("interface", f"{interface_name(entry.interface)} (index {entry.interface})"))
        if entry.direction is Direction.SENT and entry.impairment is not None and entry.impairment.lost:
            fields.append(("size", f"{entry.wire_length} B, dropped before the wire"))
        else:
            fields.append(("size", f"{entry.wire_length} B on the wire, {len(entry.payload)} B kept"))
        if entry.truncation_text:
            fields.append(("truncated", entry.truncation_text))
        kind = "binary" if looks_binary(entry.payload, not entry.decoded.binary) else "text"
        valid = "not valid UTF-8" if entry.decoded.binary else "UTF-8"
        fields.append(("content", f"{kind} ({valid})"))
    fields.append(("time", precise_time(entry.time)))
    if entry.direction is not Direction.NOTE:
        label = "since peer's last" if entry.direction is Direction.RECEIVED else "since last sent to it"
        if previous_from_peer is not None:
            gap = (entry.time - previous_from_peer.time).total_seconds()
            fields.append((label, f"{delta_text(gap, precision=6)} s"))
        else:
            fields.append((label, "none earlier in the scrollback" if scanned_back else "none nearby"))
    fields.append(("entry", f"#{entry.seq + 1} of the session"))
    return fields
