"""The `--log` transcript: one JSON object per line for every datagram in or out and every note.

Records are appended, never truncated, and flushed with every batch the UI takes, so the
file keeps every datagram even after the scrollback let it go, and a killed app loses
nothing it had shown. JSON escapes every control character, so the file is safe to `cat`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from io import TextIOWrapper
from typing import Any

from udptui.datagram import Direction, Entry, Truncation


class TranscriptError(Exception):
    """The transcript file cannot be opened or written; one line for the user."""


def entry_record(entry: Entry) -> dict[str, Any]:
    """The JSON object for one entry: ts, dir, peer, len, text or hex, truncated."""
    record: dict[str, Any] = {
        "ts": entry.time.astimezone().isoformat(timespec="milliseconds"),
        "dir": entry.direction.value,
    }
    if entry.peer is not None:
        record["peer"] = str(entry.peer)
    if entry.direction is Direction.NOTE:
        record["text"] = entry.note
        return record
    record["len"] = entry.wire_length
    try:
        record["text"] = entry.payload.decode("utf-8")
    except UnicodeDecodeError:
        record["hex"] = entry.payload.hex()
    if entry.truncation is Truncation.CUT:
        record["truncated"] = True
    elif entry.truncation is Truncation.POSSIBLE:
        record["truncated"] = "possibly"
    return record


def format_records(entries: Iterable[Entry]) -> str:
    return "".join(json.dumps(entry_record(entry)) + "\n" for entry in entries)


class Transcript:
    """An append-only JSON-lines file."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._file: TextIOWrapper = open(path, "a", encoding="utf-8")  # noqa: SIM115
        except OSError as error:
            raise TranscriptError(f"cannot open log file {path!r}: {error.strerror or error}") from None
        self.start_offset = self._file.tell()
        """Where this session's records begin in the file."""

    def write(self, entries: Iterable[Entry]) -> None:
        """Append the records of a batch and flush them to the OS."""
        text = format_records(entries)
        if text:
            self._file.write(text)
            self._file.flush()

    def session_text(self) -> str:
        """Every record this session wrote, read back from the file."""
        self._file.flush()
        with open(self.path, encoding="utf-8") as reader:
            reader.seek(self.start_offset)
            return reader.read()

    def close(self) -> None:
        # After a failed write the buffer still holds it, and closing tries once more.
        with contextlib.suppress(OSError):
            self._file.close()
