"""Short marks the log shows after an entry (`auto`, `↩ 12.3 ms`, a repeat's count), by seq.

Kept beside the store rather than in the entries, so the store can make entries lazily and
an entry's mark can change (a repeat counts up) without rebuilding it.
"""

from __future__ import annotations

MARKED_LINES = 4
"""Wrapped lines of an entry a view redraws when its mark changes (the mark is at its end)."""
MAX_MARKS = 100_000
"""Marks remembered; the oldest go first (their entries have long left the scrollback)."""


class LogMarks:
    """seq -> mark text; `version` moves on every change so a view can tell what to redraw."""

    def __init__(self, limit: int = MAX_MARKS) -> None:
        self.limit = limit
        self._marks: dict[int, str] = {}
        self.changed: set[int] = set()
        """Seqs whose mark changed since the view last took them (`take_changed`)."""

    def get(self, seq: int) -> str:
        return self._marks.get(seq, "")

    def put(self, seq: int, text: str) -> None:
        if seq < 0:
            return
        self._marks[seq] = text
        self.changed.add(seq)
        if len(self._marks) > self.limit:
            del self._marks[next(iter(self._marks))]

    def take_changed(self) -> set[int]:
        changed, self.changed = self.changed, set()
        return changed

    def __len__(self) -> int:
        return len(self._marks)
