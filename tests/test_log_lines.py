"""The log's line bookkeeping (hex, wrapped or filtered view): rows found from per-entry
counts, old entries let go at the front, memory per entry whatever the bytes."""

from __future__ import annotations

from datetime import datetime

import pytest

from udptui.chat.datagram import Direction, Entry
from udptui.ui.widgets.log_lines import HEX_PART, LogLines

T0 = datetime(2024, 1, 2, 3, 4, 5)


def entry(seq: int) -> Entry:
    made = Entry(T0, Direction.RECEIVED, None, b"x")
    made.seq = seq
    return made


def test_rows_come_from_counts_and_old_entries_leave() -> None:
    lines = LogLines()
    entries = [entry(seq) for seq in range(3000)]
    # Entry n: 1 + n % 2 text lines and n % 5 hex rows.
    assert lines.extend((e, 1 + e.seq % 2, e.seq % 5) for e in entries) == 3000
    expected = [
        row
        for e in entries
        for row in [(e, p) for p in range(1 + e.seq % 2)] + [(e, HEX_PART + h) for h in range(e.seq % 5)]
    ]
    assert len(lines) == len(expected)
    assert lines.kept == 3 * 3000
    for index in (0, 1, 2, 3, 17, len(expected) // 2, len(expected) - 1):
        assert lines.row(index) == expected[index]
        start = lines.entry_start(index)
        assert expected[start][0] is expected[index][0] and expected[start][1] == 0
    with pytest.raises(IndexError):
        lines.row(len(expected))

    removed = lines.drop_before(2000)  # past the compaction threshold: the lists shrink
    gone = sum(1 for row in expected if row[0].seq < 2000)
    assert removed == gone
    assert lines.kept == 3 * 1000 and lines.entry_count == 1000
    rest = expected[gone:]
    assert len(lines) == len(rest)
    assert [lines.row(i) for i in range(0, len(rest), 97)] == rest[::97]
    assert lines.first_row_of(2000) == 0
    assert lines.first_row_of(1999) is None
    assert lines.next_entry_start(0) == 1  # entry 2000: one text line, no hex rows
    assert lines.first_row_of(2999) == len(rest) - 1 - 4 - 1
    assert lines.drop_before(5000) == len(rest) and len(lines) == 0
