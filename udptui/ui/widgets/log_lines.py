"""The log's lines in hex, wrapped or filtered view, kept per entry, not per line.

An entry takes one or more text lines (wrapped) and, in hex view, a dump row per 16 bytes:
a 64 KiB datagram is 4,096 rows. Kept as a tuple per row, 2,048 such datagrams made 8
million tuples (55 → 891 MiB). Here each entry keeps only its first row (a running sum) and
its count of text lines; a row is found by bisecting the sums and made when it is drawn.
Nothing here knows Textual.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from udptui.chat.datagram import Entry

HEX_PART = 1 << 20
"""Row parts from here on are hex dump rows; below, the entry's (wrapped) text lines."""

Row = tuple[Entry, int]
"""An entry and which of its lines: 0 is the entry itself, 1.. wrapped lines, HEX_PART.. hex rows."""


class LogLines:
    """Entries in order (oldest may leave at the front, new ones come at the end), each with
    its text lines and hex rows; row numbers count from the first entry still kept."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._starts: list[int] = []
        """Each entry's first row, counted from the first entry ever added (not renumbered
        when old ones leave: `_base` is the first kept one's)."""
        self._text_lines: list[int] = []
        self._head = 0
        """Entries before this index have left (dropped lazily, a chunk at a time)."""
        self._end = 0
        """One past the last row, in the same count as `_starts`."""

    def __len__(self) -> int:
        """Rows on show."""
        return self._end - self._base

    @property
    def entry_count(self) -> int:
        return len(self._entries) - self._head

    @property
    def kept(self) -> int:
        """Items this holds, whatever the rows: its memory is O(entries), never O(bytes)."""
        return len(self._entries) + len(self._starts) + len(self._text_lines)

    @property
    def _base(self) -> int:
        return self._starts[self._head] if self._head < len(self._starts) else self._end

    def append(self, entry: Entry, text_lines: int, hex_rows: int) -> None:
        self._entries.append(entry)
        self._starts.append(self._end)
        self._text_lines.append(text_lines)
        self._end += text_lines + hex_rows

    def extend(self, lines: Iterable[tuple[Entry, int, int]]) -> int:
        """Append (entry, text lines, hex rows) each; returns how many entries came."""
        count = 0
        for entry, text_lines, hex_rows in lines:
            self.append(entry, text_lines, hex_rows)
            count += 1
        return count

    def drop_before(self, seq: int) -> int:
        """Let go the entries older than `seq`; returns how many rows left."""
        before = len(self)
        head = bisect_left(self._entries, seq, lo=self._head, key=lambda entry: entry.seq)
        self._head = head
        if head > 1024 and head * 2 > len(self._entries):  # compact now and then, not per entry
            del self._entries[:head], self._starts[:head], self._text_lines[:head]
            self._head = 0
        return before - len(self)

    def _entry_index(self, row: int) -> int:
        """The index (in the lists) of the entry that row `row` belongs to."""
        if not 0 <= row < len(self):
            raise IndexError(row)
        return bisect_right(self._starts, self._base + row, lo=self._head) - 1

    def row(self, row: int) -> Row:
        """The entry and part of row `row`, made now."""
        index = self._entry_index(row)
        offset = self._base + row - self._starts[index]
        text_lines = self._text_lines[index]
        return self._entries[index], offset if offset < text_lines else HEX_PART + offset - text_lines

    def entry_start(self, row: int) -> int:
        """The first row of the entry that row `row` belongs to."""
        return self._starts[self._entry_index(row)] - self._base

    def next_entry_start(self, row: int) -> int:
        """The first row of the entry after row `row`'s (the row count after the last)."""
        index = self._entry_index(row) + 1
        return (self._starts[index] if index < len(self._starts) else self._end) - self._base

    def first_row_of(self, seq: int) -> int | None:
        """The first row of the entry `seq`, if it is here."""
        index = bisect_left(self._entries, seq, lo=self._head, key=lambda entry: entry.seq)
        if index < len(self._entries) and self._entries[index].seq == seq:
            return self._starts[index] - self._base
        return None


class ShownRuns:
    """The rows of the plain view while something is muted: one row per entry shown, kept as
    runs of consecutive seqs, so a flood from a sender still shown adds one run per batch
    (no entry is made), and a muted sender's batch adds nothing."""

    def __init__(self) -> None:
        self._seqs: list[int] = []
        """The first seq of each run."""
        self._starts: list[int] = []
        """Each run's first row, counted from the first row ever added."""
        self._lengths: list[int] = []
        self._head = 0
        """Runs before this index have left."""
        self._end = 0

    @property
    def _base(self) -> int:
        return self._starts[self._head] if self._head < len(self._starts) else self._end

    def __len__(self) -> int:
        return self._end - self._base

    @property
    def runs(self) -> int:
        return len(self._seqs) - self._head

    def add(self, seq: int, count: int) -> None:
        """Entries `seq` to `seq + count - 1` are shown, after every entry already here."""
        if count <= 0:
            return
        last = len(self._seqs) - 1
        if last >= self._head and self._seqs[last] + self._lengths[last] == seq:
            self._lengths[last] += count
        else:
            self._seqs.append(seq)
            self._starts.append(self._end)
            self._lengths.append(count)
        self._end += count

    def drop_before(self, seq: int) -> int:
        """Let go the entries older than `seq`; returns how many rows left."""
        before = len(self)
        head = self._head
        while head < len(self._seqs) and self._seqs[head] + self._lengths[head] <= seq:
            head += 1
        if head < len(self._seqs) and self._seqs[head] < seq:
            cut = seq - self._seqs[head]
            self._seqs[head] += cut
            self._starts[head] += cut
            self._lengths[head] -= cut
        self._head = head
        if head > 1024 and head * 2 > len(self._seqs):
            del self._seqs[:head], self._starts[:head], self._lengths[:head]
            self._head = 0
        return before - len(self)

    def seq(self, row: int) -> int:
        """The seq of the entry on row `row`."""
        if not 0 <= row < len(self):
            raise IndexError(row)
        absolute = self._base + row
        index = bisect_right(self._starts, absolute, lo=self._head) - 1
        return self._seqs[index] + absolute - self._starts[index]

    def row_of(self, seq: int) -> int | None:
        """The row of the entry `seq`, if it is shown."""
        index = bisect_right(self._seqs, seq, lo=self._head) - 1
        if index < self._head or seq >= self._seqs[index] + self._lengths[index]:
            return None
        return self._starts[index] + seq - self._seqs[index] - self._base
