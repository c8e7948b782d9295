"""The bounded store of log entries: the last `--scrollback` entries, and a count of the rest."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from udptui.datagram import Entry


class EntryStore:
    """Keeps the newest `limit` entries; older ones are let go and counted."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: deque[Entry] = deque(maxlen=limit)
        self.total = 0
        """Entries ever added, including those let go."""

    def extend(self, entries: Iterable[Entry]) -> int:
        """Add entries in order; returns how many old entries were let go to make room."""
        length_before = len(self._entries)
        added = 0
        for entry in entries:
            entry.seq = self.total
            self.total += 1
            added += 1
            self._entries.append(entry)
        return max(0, length_before + added - self.limit)

    def clear(self) -> None:
        """Forget the visible entries (they still count in `total`)."""
        self._entries.clear()

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
