"""The message log: a virtual list over the entry store, drawn one visible line at a time.

Each entry is one line, whatever its bytes: a datagram with newlines shows them as `\\x{0a}`,
so the log shows message boundaries exactly as UDP keeps them; with wrap on, a long one
takes the lines it needs, still one entry. The cost of a frame depends on the lines on
screen, not on the scrollback. Hex view adds an `xxd`-style dump under each datagram, and a
filter narrows the log to matching entries.

The log takes focus: a cursor line selects an entry (keys or a click). While the cursor is
on the newest entry the log follows new ones; elsewhere it stays and counts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from udptui.chat.datagram import Direction, Entry, hex_rows, hexdump_line
from udptui.chat.marks import MARKED_LINES, LogMarks
from udptui.chat.muting import Muting
from udptui.chat.store import EntryStore
from udptui.chat.view import TimeMode, entry_matches
from udptui.decoders import Decoded
from udptui.net.address import Address
from udptui.ui.widgets.entry_lines import EntryLines
from udptui.ui.widgets.log_cursor import LogCursor
from udptui.ui.widgets.log_lines import HEX_PART, LogLines, Row, ShownRuns

HEX_INDENT = 2
"""Columns before each hex dump row: 2 + 68 fits a 16-byte xxd row in 70 columns."""


class ChatLog(LogCursor, can_focus=True):
    """Shows the entries of an `EntryStore`, newest at the bottom, following new ones
    unless the user has scrolled up or put the cursor on an older entry; then a marker
    counts the new entries below."""

    COMPONENT_CLASSES = {
        "chat-log--time",
        "chat-log--received",
        "chat-log--sent",
        "chat-log--note",
        "chat-log--warning",
        "chat-log--error",
        "chat-log--escape",
        "chat-log--mark",
        "chat-log--impaired",
        "chat-log--lost",
        "chat-log--stranger",
        "chat-log--destination",
        "chat-log--hex",
        "chat-log--size",
        "chat-log--marker",
        "chat-log--tag",
        "chat-log--cursor",
    }

    @dataclass
    class Selected(Message):
        """The cursor moved to another entry (or to none)."""

        entry: Entry | None

    hex_view: reactive[bool] = reactive(False)
    """Show a hex and ASCII dump under each datagram."""
    wrap: reactive[bool] = reactive(False)
    """Wrap long entries over as many lines as they need."""
    time_mode: reactive[TimeMode] = reactive(TimeMode.CLOCK)
    """What the time column shows."""
    filter_text: reactive[str] = reactive("")
    """Show only entries whose peer or text contains this (case-insensitive)."""

    def __init__(self, store: EntryStore, *, started: datetime | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self._lines = EntryLines(self._style, Style())
        self._lines.started = started or datetime.now()
        self._lines.previous = self._previous
        self.marks = LogMarks()
        """Marks drawn after an entry (`auto`, `↩ 12.3 ms`, a repeat's count), set by the App."""
        self._lines.mark = lambda entry: self.marks.get(entry.seq)
        self._cache: LRUCache[tuple[int, int], Strip] = LRUCache(512)
        self._widest = 0
        self._styled = False
        self._first_seen = 0
        """The seq of the store's oldest entry when this view last caught up with it."""
        self.cleared_before = 0
        """Entries with a seq below this were cleared from view (Ctrl+L); the store keeps them."""
        self._hex_row_bytes = 16
        """Bytes per hex dump row: 16 like xxd, 8 when the log is too narrow for that."""
        self._rows: LogLines | None = None
        """Rows in hex, wrapped or filtered view; None in the plain view, where row i is store[i]."""
        self._runs: ShownRuns | None = None
        """Rows of the plain view while something is muted: the seqs shown, as runs."""
        self._wrap_width = 0
        self.muting = Muting()
        """Senders whose datagrams the log leaves out (the session's, set by the App)."""

    @property
    def server(self) -> Address | None:
        """Relay mode: the server (`--forward`); lines to and from it say so."""
        return self._lines.server

    @server.setter
    def server(self, server: Address | None) -> None:
        self._lines.server = server

    # -- the rows on show -------------------------------------------------------------------

    @property
    def _first_seq(self) -> int:
        """The seq of the store's oldest entry (its total when it is empty)."""
        return self.store.total - len(self.store)

    @property
    def _hidden(self) -> int:
        """How many of the store's entries are cleared from view: they come first."""
        return max(0, min(len(self.store), self.cleared_before - self._first_seq))

    def _shown_entries(self) -> Iterable[Entry]:
        if self.muting:  # hidden entries are skipped chunk by chunk, never made
            return self.muting.visible_entries(self.store.spans(self.cleared_before))
        return islice(self.store, self._hidden, None)

    @property
    def row_count(self) -> int:
        if self._runs is not None:
            return len(self._runs)
        return len(self.store) - self._hidden if self._rows is None else len(self._rows)

    def _row(self, index: int) -> Row:
        if self._runs is not None:
            if (at := self._runs.seq(index) - self._first_seq) < 0:  # let go: not store[-1]
                raise IndexError(index)
            return self.store[at], 0
        return (self.store[self._hidden + index], 0) if self._rows is None else self._rows.row(index)

    def _store_index(self, seq: int) -> int | None:
        index = seq - self._first_seq
        if 0 <= index < len(self.store) and self.store[index].seq == seq:
            return index
        return None

    def _previous(self, entry: Entry) -> Entry | None:
        index = self._store_index(entry.seq)
        return self.store[index - 1] if index else None

    def entry_by_seq(self, seq: int | None) -> Entry | None:
        index = None if seq is None else self._store_index(seq)
        return None if index is None else self.store[index]

    def _rows_of(self, entries: Iterable[Entry]) -> Iterable[tuple[Entry, int, int]]:
        """(entry, text lines, hex rows) of each entry on show: counts, not the rows."""
        needle = self.filter_text.lower()
        for entry in entries:
            if needle and not entry_matches(entry, needle):
                continue
            lines = self._lines.line_count(entry, self._wrap_width) if self.wrap else 1
            dump = self.hex_view and entry.direction is not Direction.NOTE
            yield entry, lines, hex_rows(len(entry.payload), self._hex_row_bytes) if dump else 0

    def _row_of(self, seq: int | None) -> int | None:
        """The first row of the entry `seq`, if it is on show."""
        if seq is None:
            return None
        if self._runs is not None:
            return self._runs.row_of(seq)
        if self._rows is None:
            index = self._store_index(seq)
            return None if index is None or index < self._hidden else index - self._hidden
        return self._rows.first_row_of(seq)

    @property
    def _fitting_hex_row_bytes(self) -> int:
        """16 bytes a row like xxd when 68 columns fit beside the indent, else 8."""
        return 16 if self.scrollable_content_region.width >= HEX_INDENT + 68 else 8

    def _rebuild(self) -> None:
        self._hex_row_bytes = self._fitting_hex_row_bytes
        self._wrap_width = self.scrollable_content_region.width
        self._cache.clear()
        self._widest = 0
        plain = not self.hex_view and not self.filter_text and not self.wrap
        self._rows = self._runs = None
        if not plain:
            self._rows = LogLines()
            self._rows.extend(self._rows_of(self._shown_entries()))
        elif self.muting:  # one row per entry shown, found chunk by chunk: no entry is made
            self._runs = ShownRuns()
            for chunk, start, end in self.store.spans(self.cleared_before):
                for run_start, run_end in self.muting.visible_runs(chunk, start, end):
                    self._runs.add(chunk.first_seq + run_start, run_end - run_start)
        self.unseen = 0
        self._update_size()
        row = self._row_of(self.selected)
        if row is None:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        else:
            self._show_row(row, center=True)
        self.refresh()

    def on_resize(self) -> None:
        hex_changed = self.hex_view and self._fitting_hex_row_bytes != self._hex_row_bytes
        if hex_changed or (self.wrap and self.scrollable_content_region.width != self._wrap_width):
            self._rebuild()
        else:
            self._keep_in_view()

    def watch_hex_view(self) -> None:
        self._rebuild()

    def watch_wrap(self) -> None:
        self._rebuild()

    def watch_filter_text(self) -> None:
        self._rebuild()

    def mutes_changed(self) -> None:
        """Show or hide what a `/mute` or `/unmute` changed: the whole store is looked at again,
        so hidden history comes back on unmute."""
        self._rebuild()

    def watch_time_mode(self, mode: TimeMode) -> None:
        self._lines.time_mode = mode
        self._cache.clear()
        self.refresh()

    def _update_size(self) -> None:
        width = 0 if self.wrap else self._widest
        # The marker takes a row of its own, so it never hides the last entry.
        self.virtual_size = Size(width, self.row_count + (1 if self.unseen else 0))

    # -- changes to the store ---------------------------------------------------------------

    @property
    def newest_seq(self) -> int | None:
        """The newest entry on show."""
        return self._row(self.row_count - 1)[0].seq if self.row_count else None

    def entries_added(self, entries: Sequence[Entry] = ()) -> None:
        """Call after the store grew by `entries` (and perhaps let old entries go)."""
        on_newest = self.selected is not None and self.selected == self._newest_before(entries)
        follow = on_newest or (self.selected is None and self._following)
        newest_on_screen = self.is_vertical_scroll_end
        oldest, first_seen = self._first_seq, self._first_seen
        self._first_seen = oldest
        if self._runs is not None:
            removed = self._runs.drop_before(oldest)
            added = len(self._runs)
            for seq, count in self.muting.shown_seqs(entries):
                start = max(seq, oldest)
                self._runs.add(start, seq + count - start)
            added = len(self._runs) - added
        elif self._rows is None:
            # Rows that left: entries let go from the store that were not cleared from view.
            removed = max(0, oldest - max(first_seen, self.cleared_before))
            added = len(entries)
        else:
            removed = self._rows.drop_before(oldest)
            shown = self.muting.shown(entries) if self.muting else entries
            added = self._rows.extend(self._rows_of([entry for entry in shown if entry.seq >= oldest]))
        if removed and not follow:
            # Keep the entries the user is reading in place while older ones leave.
            self.scroll_to(y=max(0, self.scroll_y - removed), animate=False, immediate=True)
        self._update_size()
        if follow:
            if on_newest:
                self.selected = self.newest_seq
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        elif not self.is_vertical_scroll_end:  # when every row is on screen, none is unseen
            marker_appears = not self.unseen
            self.unseen += added
            if marker_appears and newest_on_screen:
                self._make_room_for_marker()
        self.refresh()

    def marks_changed(self, seqs: Iterable[int]) -> None:
        """Redraw the entries whose mark changed (a repeat counting up)."""
        for seq in seqs:
            for line in range(MARKED_LINES):
                self._cache.discard((seq, line))
        self.refresh()

    def _newest_before(self, entries: Sequence[Entry]) -> int | None:
        """The newest entry on show before `entries` were added (they are in the store already)."""
        if self._runs is not None:
            # The runs: a take bigger than the scrollback let that entry go from the store.
            return self._runs.seq(len(self._runs) - 1) if len(self._runs) else None
        if not entries or self._rows is not None:
            return self.newest_seq
        index = self._store_index(entries[0].seq)
        if index is None:  # all of them and more were let go at once
            return self.selected
        return self.store[index - 1].seq if index > self._hidden else None

    def decode_with(self, summary: Callable[[Entry], Decoded | None]) -> None:
        """Show what `summary` decodes in place of raw text; call again to redraw (/decode)."""
        self._lines.decoded = summary
        self._cache.clear()
        self.refresh()

    def clear_view(self) -> None:
        """Hide every entry so far (Ctrl+L); the store keeps them for `/save`."""
        self.cleared_before = self.store.total
        self._first_seen = self._first_seq
        self.selected = None
        self._rebuild()
        self.scroll_home(animate=False, immediate=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._following = self.is_vertical_scroll_end
        if self.unseen and self.is_vertical_scroll_end:
            self.unseen = 0

    def watch_unseen(self, old: int, new: int) -> None:
        if bool(old) != bool(new):
            self._update_size()  # the marker's row comes or goes
        self.refresh()

    def watch_selected(self, seq: int | None) -> None:
        self.refresh()
        self.post_message(self.Selected(self.entry_by_seq(seq)))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._styled = False

    # -- the cursor -------------------------------------------------------------------------

    def select_row(self, row: int) -> None:
        """Put the cursor on the entry of a row, and that row on screen."""
        if not self.row_count:
            return
        row = max(0, min(self.row_count - 1, row))
        if self._rows is not None:
            row = self._rows.entry_start(row)  # the entry's first line
        self.selected = self._row(row)[0].seq
        self._show_row(row)

    def action_cursor(self, step: int) -> None:
        row = self._current_row(self.row_count)
        if step > 0:
            row = row + 1 if self._rows is None or row >= self.row_count else self._rows.next_entry_start(row)
            if row >= self.row_count:
                return
        self.select_row(row + (step if step < 0 else 0))

    # -- drawing ----------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"chat-log--{name}")

    def render_line(self, y: int) -> Strip:
        if not self._styled:  # the widget's own style, once per style change, not per line
            self._lines.base = self.rich_style
            self._styled = True
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if self.wrap and width != self._wrap_width:  # a width change that came without a Resize
            self._wrap_width = width
            self.call_after_refresh(self._rebuild)
        base = self._lines.base
        if self.unseen and y == self.scrollable_content_region.height - 1:
            return self._render_marker()
        if index >= self.row_count:
            return Strip.blank(width, base)
        entry, part = self._row(index)
        key = (entry.seq, part)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._cache[key] = self._render_part(entry, part)
            if strip.cell_length > self._widest and not self.wrap:
                self._widest = strip.cell_length
                self.call_after_refresh(self._update_size)
        line = strip.crop_extend(scroll_x, scroll_x + width, base)
        if entry.seq == self.selected:  # over the line's own background; its colours stay
            tint = Style(bgcolor=self._style("cursor").bgcolor)
            line = Strip(Segment.apply_style(line, post_style=tint), line.cell_length)
        return line

    def _render_part(self, entry: Entry, part: int) -> Strip:
        if part >= HEX_PART:
            dump = hexdump_line(entry.payload, part - HEX_PART, self._hex_row_bytes)
            return self._lines.strip([(" " * HEX_INDENT + dump, self._style("hex"))])
        lines = self._lines.lines(entry, self._wrap_width if self.wrap else None)
        for index, line in enumerate(lines):  # every line of the entry at once, drawn once
            self._cache[(entry.seq, index)] = line
        return lines[part] if part < len(lines) else Strip([])

    def render_entry(self, entry: Entry) -> Strip:
        """One entry as a single line (what the log shows with wrap off)."""
        return self._lines.lines(entry, None)[0]

    def _render_marker(self) -> Strip:
        """`▼ 3 new below: ctrl+end` at the right of the last line, cut to the log's width."""
        width = self.scrollable_content_region.width
        label = f" ▼ {self.unseen} new below: ctrl+end "[:width]
        gap = " " * (width - len(label))
        return self._lines.strip([(gap, Style()), (label, self._style("marker"))])
