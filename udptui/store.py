"""The bounded store of log entries: the last `--scrollback` entries, and a count of the rest."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from udptui.datagram import Entry

MAX_PAYLOAD_BYTES = 128 * 1024 * 1024
"""Payload bytes the scrollback holds at most: 10,000 datagrams of 64 KiB would be 640 MiB."""


class EntryStore:
    """Keeps the newest `limit` entries (and at most `byte_limit` payload bytes); older
    ones are let go and counted."""

    def __init__(self, limit: int, byte_limit: int = MAX_PAYLOAD_BYTES) -> None:
        self.limit = limit
        self.byte_limit = byte_limit
        self._entries: deque[Entry] = deque()
        self._bytes = 0
        self.total = 0
        """Entries ever added, including those let go."""

    def extend(self, entries: Iterable[Entry]) -> int:
        """Add entries in order; returns how many old entries were let go to make room."""
        stored = self._entries
        total = self.total
        size = self._bytes
        for entry in entries:
            entry.seq = total
            total += 1
            size += len(entry.payload)
            stored.append(entry)
        let_go = 0
        while len(stored) > self.limit or (size > self.byte_limit and len(stored) > 1):
            size -= len(stored.popleft().payload)
            let_go += 1
        self.total = total
        self._bytes = size
        return let_go

    def clear(self) -> None:
        """Forget the visible entries (they still count in `total`)."""
        self._entries.clear()
        self._bytes = 0

    @property
    def let_go(self) -> int:
        """How many entries were dropped from the scrollback (cleared ones included)."""
        return self.total - len(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> Entry:
        return self._entries[index]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)
