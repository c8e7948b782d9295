"""Standard output as the headless session's writer: one JSON line per entry, flushed per
batch, written so that a signal can still end udptui while the reader of a pipe is stuck."""

from __future__ import annotations

import os
import select
import stat
import sys
from collections.abc import Callable, Sequence
from typing import BinaryIO

from udptui.chat.datagram import Entry
from udptui.record.batch_records import records_text

WRITE_STEP = 0.05
"""Seconds a write to a full pipe waits before it looks whether a signal asked to stop."""


class JsonLinesOutput:
    """Standard output as a session writer: the `--log` records, flushed per batch.

    A closed pipe (`| head -3`) is not an error: it marks the output closed, and the runner
    ends quietly with status 0. A pipe nobody reads (`| sleep 60`) is written only as it has
    room, in steps that look at `stopping`: a blocking write would hold a signal's stop off
    for as long as the reader sleeps (Python retries a write a signal interrupts).
    """

    label = "standard output"

    def __init__(self, stream: BinaryIO, stopping: Callable[[], bool] = lambda: False) -> None:
        self._stream = stream
        self.stopping = stopping
        """True once udptui should end (a signal): a write waiting for room gives up."""
        self.closed = False
        self.failed = False
        """It could not be written (a full disk): the runner ends with status 1."""
        self._pipe_fd = _pipe_fd(stream)

    def write(self, entries: Sequence[Entry]) -> None:
        if self.closed or not entries:
            return
        data = records_text(entries).encode("utf-8")
        try:
            if self._pipe_fd is None:
                self._stream.write(data)
                self._stream.flush()
            elif not self._write_when_room(self._pipe_fd, data):
                self.closed = True  # stopped with the reader stuck: what is left goes nowhere
        except OSError as error:
            self.closed = True
            # What is still buffered would fail again when Python exits, with a message.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
            if not isinstance(error, BrokenPipeError):
                self.failed = True
                raise  # the session says it once, as for --log

    def close(self) -> None:
        pass

    def _write_when_room(self, fd: int, data: bytes) -> bool:
        """Write `data` a pipe buffer's page at a time, each when select says there is room
        (a page, so the write cannot block); False when `stopping` came while it waited."""
        view = memoryview(data)
        while view:
            _, writable, _ = select.select([], [fd], [], WRITE_STEP)
            if not writable:
                if self.stopping():
                    return False
                continue
            view = view[os.write(fd, view[: select.PIPE_BUF]) :]
        return True


def _pipe_fd(stream: BinaryIO) -> int | None:
    """The descriptor of a pipe or socket `stream` writes to (flushed first), else None:
    a file or terminal is written as it was, whole."""
    if sys.platform == "win32":
        return None
    try:
        fd = stream.fileno()
        kind = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError):
        return None
    if not (stat.S_ISFIFO(kind) or stat.S_ISSOCK(kind)):
        return None
    stream.flush()
    return fd
