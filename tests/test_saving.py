"""The words `/save` uses to say what it wrote."""

from __future__ import annotations

from udptui.record.saving import let_go_reason, plural


def test_counts_are_worded_in_the_singular_and_the_plural() -> None:
    assert plural(0, "entry", "entries") == "0 entries"
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(3, "entry", "entries") == "3 entries"


def test_the_reason_entries_left_is_the_bound_that_was_reached() -> None:
    assert let_go_reason(kept=100, scrollback=100) == "--scrollback 100"
    assert let_go_reason(kept=3, scrollback=100) == "the scrollback keeps at most 128 MiB of payload"
