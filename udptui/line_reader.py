"""Standard input as lines, for headless mode: read when a selector says it is readable, so
the loop never blocks on it, with over-long lines dropped rather than held."""

from __future__ import annotations

import os

MAX_LINE = 1024 * 1024
"""Bytes of standard input kept while waiting for a newline; a longer line is not sent."""


class LineReader:
    """Standard input split into lines (without their `\\n`), read when the selector says so."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pending = b""
        self._skipping = False
        self.ended = False

    def read(self) -> tuple[list[bytes], bool]:
        """The complete lines now readable, and whether one was dropped for being over MAX_LINE."""
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # closed or unreadable: like the end of input
            chunk = b""
        if not chunk:
            self.ended = True
            last, self._pending = self._pending, b""
            return ([last] if last and not self._skipping else []), False
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        dropped = False
        if self._skipping:  # inside an over-long line: drop up to its end
            if lines:
                lines.pop(0)
                self._skipping = False
            else:
                self._pending = b""
        if len(self._pending) > MAX_LINE:
            self._pending, self._skipping, dropped = b"", True, True
        return lines, dropped
