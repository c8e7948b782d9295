"""The `--log` transcript: one JSON object per line for every datagram in or out and every note.

Records are appended, never truncated, and flushed with every batch the UI takes, so the
file keeps every datagram even after the scrollback let it go, and a killed app loses
nothing it had shown. Text is written as itself (UTF-8), so `cat` and `grep` show what was
said; what could act on a terminal (controls, ESC, C1, bidi overrides, line separators,
format characters: whatever the log escapes) is a JSON `\\uXXXX` escape, so the file is
safe to `cat`.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterable
from datetime import datetime
from io import TextIOWrapper
from typing import Any

from udptui.chat.datagram import Direction, Entry, Truncation
from udptui.chat.visible import json_escape_unsafe
from udptui.net.destinations import special_destination
from udptui.record.files import is_open_file


class TranscriptError(Exception):
    """The transcript file cannot be opened or written; one line for the user."""


def timestamp(time: datetime) -> str:
    """`ts`: local time with its UTC offset, to the microsecond (arrival times are that exact)."""
    if time.tzinfo is not None:
        return time.astimezone().isoformat(timespec="microseconds")
    # Every record of a flood needs one, and `astimezone` costs as much as the rest of the
    # record: the offset is looked up once per hour of local time, where it holds the hour.
    offset = _utc_offset(time.year, time.month, time.day, time.hour, time.fold)
    if offset is None:  # the offset changes within this hour (Lord Howe's half-hour shift)
        return time.astimezone().isoformat(timespec="microseconds")
    return time.isoformat(timespec="microseconds") + offset


@functools.lru_cache(maxsize=8)
def _utc_offset(year: int, month: int, day: int, hour: int, fold: int = 0) -> str | None:
    """`+01:00`: the local UTC offset in that hour, as `isoformat` writes it, or None when the
    offset is not the same at its first and last microsecond (a change not on the hour) or
    the clock skips part of the hour (then `astimezone` is asked for each record).
    `fold` tells the two passes of the hour summer time's end repeats apart (the second is
    `fold=1`)."""
    offsets = set()
    for start in (
        datetime(year, month, day, hour, fold=fold),
        datetime(year, month, day, hour, 59, 59, 999999, fold=fold),
    ):
        local = start.astimezone()
        if local.replace(tzinfo=None) != start:  # a time the clock skips: astimezone moves it
            return None
        offsets.add(local.isoformat(timespec="microseconds")[26:])
    return offsets.pop() if len(offsets) == 1 else None


def entry_record(entry: Entry, ts: str | None = None) -> dict[str, Any]:
    """The JSON object for one entry: ts, dir, peer, to (a received datagram's group or
    broadcast address), len, text or hex, truncated.

    `ts` is `timestamp(entry.time)` when the caller has it already."""
    record: dict[str, Any] = {
        "ts": timestamp(entry.time) if ts is None else ts,
        "dir": entry.relay or entry.direction.value,
    }
    if entry.peer is not None:
        record["client" if entry.relay else "peer"] = str(entry.peer)
    if entry.direction is Direction.NOTE:
        record["text"] = entry.note
        return record
    if entry.local_address is not None and (to := special_destination(entry.local_address.host)):
        record["to"] = to  # a group or a broadcast address; unicast records stay as they were
    record["len"] = entry.wire_length
    try:
        record["text"] = entry.payload.decode("utf-8")
    except UnicodeDecodeError:
        record["hex"] = entry.payload.hex()
    if entry.truncation is Truncation.CUT:
        record["truncated"] = True
    elif entry.truncation is Truncation.POSSIBLE:
        record["truncated"] = "possibly"
    if entry.automatic:
        record["auto"] = True
    if entry.impairment is not None:
        record.update(entry.impairment.record())
    return record


_string = json_string = json.encoder.encode_basestring
"""JSON's own string encoder, the one `json.dumps(..., ensure_ascii=False)` uses."""


def _encode(record: dict[str, Any]) -> str:
    """`json.dumps(record, ensure_ascii=False)` for a flat record of strings, ints and bools, at
    about half its cost: `dumps` builds a new encoder for every call, and a flood calls it for
    every datagram. Anything else goes to `json.dumps` itself (a test holds the two equal)."""
    parts = []
    for key, value in record.items():
        kind = type(value)
        if kind is str:
            text = _string(value)
        elif kind is int:
            text = int.__repr__(value)
        elif kind is bool:
            text = "true" if value else "false"
        else:
            return json.dumps(record, ensure_ascii=False)
        parts.append(f"{_string(key)}: {text}")
    return "{" + ", ".join(parts) + "}"


def format_record(entry: Entry, ts: str | None = None) -> str:
    """One JSON line (with its newline): readable text, terminal-acting characters escaped."""
    return json_escape_unsafe(_encode(entry_record(entry, ts))) + "\n"


def format_records(entries: Iterable[Entry]) -> str:
    """JSON lines for entries, each ending in a newline.

    Headless mode and `--log` write every datagram of a flood through here: the entries of
    a batch share one time, so its timestamp is made once, not per entry (half the cost).
    """
    lines = []
    last_time: datetime | None = None
    ts = ""
    for entry in entries:
        if entry.time is not last_time:
            last_time = entry.time
            ts = timestamp(last_time)
        lines.append(format_record(entry, ts))
    return "".join(lines)


class Transcript:
    """An append-only JSON-lines file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.label = f"log file {path}"
        try:
            self._file: TextIOWrapper = open(path, "a", encoding="utf-8")  # noqa: SIM115
        except OSError as error:
            raise TranscriptError(f"cannot open log file {path!r}: {error.strerror or error}") from None
        try:
            self.start_offset: int | None = self._file.tell()
            """Where this session's records begin in the file; None for a pipe."""
        except OSError:  # a pipe or FIFO (`--log >(jq .)`) has no position to read back from
            self.start_offset = None

    def write(self, entries: Iterable[Entry]) -> None:
        """Append the records of a batch and flush them to the OS."""
        from udptui.record.batch_records import records_text  # it imports this module

        text = records_text(entries)
        if text:
            self._file.write(text)
            self._file.flush()

    def is_same_file(self, path: str) -> bool:
        """Whether `path` names this transcript's file (writing it over would truncate it)."""
        return is_open_file(self._file, path)

    def session_text(self) -> str | None:
        """Every record this session wrote, read back from the file; None from a pipe.

        Raises OSError when the file can no longer be read (removed, or write-only)."""
        if self.start_offset is None:
            return None
        self._file.flush()
        with open(self.path, encoding="utf-8") as reader:
            reader.seek(self.start_offset)
            return reader.read()

    def close(self) -> None:
        # After a failed write the buffer still holds it, and closing tries once more.
        with contextlib.suppress(OSError):
            self._file.close()
