"""The message log: a virtual list over the entry store, drawn one visible line at a time.

Each entry is one line, whatever its bytes: a datagram with newlines shows them as `\\x{0a}`,
so the log shows message boundaries exactly as UDP keeps them. The cost of a frame
depends on the lines on screen, not on the scrollback. Hex view adds an `xxd`-style dump
under each datagram, and a filter narrows the log to matching entries.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from itertools import islice

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from udptui.datagram import Direction, Entry, Level, hex_preview, hex_rows, hexdump_line
from udptui.peers import peer_colour
from udptui.store import EntryStore

_ARROWS = {Direction.RECEIVED: "← ", Direction.SENT: "→ ", Direction.NOTE: "• "}
_LEVEL_CLASS = {Level.INFO: "note", Level.WARNING: "warning", Level.ERROR: "error"}

HEX_INDENT = 2
"""Columns before each hex dump row: 2 + 68 fits a 16-byte xxd row in 70 columns."""

Row = tuple[Entry, int]
"""An entry and which of its lines: 0 is the entry itself, 1.. its hex dump lines."""


def entry_matches(entry: Entry, needle: str) -> bool:
    """Case-insensitive match on the peer address or the visible text."""
    if entry.peer is not None and needle in str(entry.peer).lower():
        return True
    return needle in entry.decoded.plain.lower()


class ChatLog(ScrollView, can_focus=False):
    """Shows the entries of an `EntryStore`, newest at the bottom, following new ones
    unless the user has scrolled up; then a marker counts the new entries below."""

    COMPONENT_CLASSES = {
        "chat-log--time",
        "chat-log--received",
        "chat-log--sent",
        "chat-log--note",
        "chat-log--warning",
        "chat-log--error",
        "chat-log--escape",
        "chat-log--mark",
        "chat-log--stranger",
        "chat-log--hex",
        "chat-log--marker",
    }

    hex_view: reactive[bool] = reactive(False)
    """Show a hex and ASCII dump under each datagram."""
    filter_text: reactive[str] = reactive("")
    """Show only entries whose peer or text contains this (case-insensitive)."""
    unseen: reactive[int] = reactive(0)
    """Entries (that pass the filter) that arrived below while the user was scrolled up."""

    def __init__(self, store: EntryStore, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self._strips: LRUCache[tuple[int, int], Strip] = LRUCache(256)
        self._widest = 0
        self._base: Style | None = None
        self._first_seen = 0
        """The seq of the store's oldest entry when this view last caught up with it."""
        self.cleared_before = 0
        """Entries with a seq below this were cleared from view (Ctrl+L); the store keeps them."""
        self._hex_row_bytes = 16
        """Bytes per hex dump row: 16 like xxd, 8 when the log is too narrow for that."""
        self._rows: deque[Row] | None = None
        """Rows in hex or filtered view; None in the plain view, where row i is store[i]."""

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
        return islice(self.store, self._hidden, None)

    @property
    def row_count(self) -> int:
        return len(self.store) - self._hidden if self._rows is None else len(self._rows)

    def _row(self, index: int) -> Row:
        return (self.store[self._hidden + index], 0) if self._rows is None else self._rows[index]

    def _rows_of(self, entries: Iterable[Entry]) -> list[Row]:
        needle = self.filter_text.lower()
        rows: list[Row] = []
        for entry in entries:
            if needle and not entry_matches(entry, needle):
                continue
            rows.append((entry, 0))
            if self.hex_view and entry.direction is not Direction.NOTE:
                dump_rows = hex_rows(len(entry.payload), self._hex_row_bytes)
                rows.extend((entry, line) for line in range(1, dump_rows + 1))
        return rows

    @property
    def _fitting_hex_row_bytes(self) -> int:
        """16 bytes a row like xxd when 68 columns fit beside the indent, else 8."""
        return 16 if self.scrollable_content_region.width >= HEX_INDENT + 68 else 8

    def _rebuild(self) -> None:
        self._hex_row_bytes = self._fitting_hex_row_bytes
        self._strips.clear()
        plain = not self.hex_view and not self.filter_text
        self._rows = None if plain else deque(self._rows_of(self._shown_entries()))
        self.unseen = 0
        self._update_size()
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        self.refresh()

    def on_resize(self) -> None:
        if self.hex_view and self._fitting_hex_row_bytes != self._hex_row_bytes:
            self._rebuild()

    def watch_hex_view(self) -> None:
        self._rebuild()

    def watch_filter_text(self) -> None:
        self._rebuild()

    def _update_size(self) -> None:
        self.virtual_size = Size(self._widest, self.row_count)

    # -- changes to the store ---------------------------------------------------------------

    def entries_added(self, entries: Sequence[Entry] = ()) -> None:
        """Call after the store grew by `entries` (and perhaps let old entries go)."""
        follow = self.is_vertical_scroll_end
        oldest, first_seen = self._first_seq, self._first_seen
        self._first_seen = oldest
        if self._rows is None:
            # Rows that left: entries let go from the store that were not cleared from view.
            removed = max(0, oldest - max(first_seen, self.cleared_before))
            added = len(entries)
        else:
            rows = self._rows
            removed = 0
            while rows and rows[0][0].seq < oldest:
                rows.popleft()
                removed += 1
            new_rows = self._rows_of([entry for entry in entries if entry.seq >= oldest])
            rows.extend(new_rows)
            added = sum(1 for _, part in new_rows if part == 0)  # entries, not hex rows
        if removed and not follow:
            # Keep the entries the user is reading in place while older ones leave.
            self.scroll_to(y=max(0, self.scroll_y - removed), animate=False, immediate=True)
        self._update_size()
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        else:
            self.unseen += added
        self.refresh()

    def clear_view(self) -> None:
        """Hide every entry so far (Ctrl+L); the store keeps them for `/save`."""
        self.cleared_before = self.store.total
        self._first_seen = self._first_seq
        self._rebuild()
        self.scroll_home(animate=False, immediate=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.unseen and self.is_vertical_scroll_end:
            self.unseen = 0

    def watch_unseen(self) -> None:
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._base = None

    # -- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self._base_style
        if self.unseen and y == self.scrollable_content_region.height - 1:
            return self._render_marker(width)
        if index >= self.row_count:
            return Strip.blank(width, base)
        entry, part = self._row(index)
        key = (entry.seq, part)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self.render_entry(entry) if part == 0 else self._hex_line(entry, part)
            if strip.cell_length > self._widest:
                self._widest = strip.cell_length
                self.call_after_refresh(self._update_size)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _render_marker(self, width: int) -> Strip:
        """`▼ 3 new below: ctrl+end` at the right of the last line, cut to the log's width."""
        label = f" ▼ {self.unseen} new below: ctrl+end "[:width]
        gap = " " * (width - len(label))
        return self._strip([(gap, Style()), (label, self._style("marker"))])

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"chat-log--{name}")

    @property
    def _base_style(self) -> Style:
        """The widget's own style, worked out once per style change, not once per line."""
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def _strip(self, parts: list[tuple[str, Style]]) -> Strip:
        """A line from (text, style) parts, over the widget's style; text is already safe."""
        base = self._base_style
        segments = [Segment(text, base + style) for text, style in parts if text]
        return Strip(segments, sum(cell_len(text) for text, _ in parts))

    def _hex_line(self, entry: Entry, part: int) -> Strip:
        line = hexdump_line(entry.payload, part - 1, self._hex_row_bytes)
        return self._strip([(" " * HEX_INDENT + line, self._style("hex"))])

    def render_entry(self, entry: Entry) -> Strip:
        """One entry as a line; if that fails for any reason, its bytes in hex."""
        try:
            return self._render_entry(entry)
        except Exception:
            label = f"{entry.direction.value} {entry.peer or '?'}  hex: "
            return self._strip([(label, self._style("error")), (entry.payload.hex(" "), Style())])

    def _render_entry(self, entry: Entry) -> Strip:
        """One entry as a line: time, direction, peer, then the payload made visible."""
        plain = Style()
        parts = [(entry.time.strftime("%H:%M:%S"), self._style("time")), (" ", plain)]
        if entry.direction is Direction.NOTE:
            level_style = self._style(_LEVEL_CLASS[entry.level])
            parts.append((_ARROWS[entry.direction], level_style))
            parts += self._pieces(entry, level_style)
            return self._strip(parts)
        direction = "received" if entry.direction is Direction.RECEIVED else "sent"
        parts.append((_ARROWS[entry.direction], self._style(direction)))
        if entry.peer is None:
            parts.append(("unknown sender", self._style("stranger")))
        else:
            parts.append((str(entry.peer), Style(color=peer_colour(entry.peer))))
        if entry.stranger:
            parts.append((" (other peer)", self._style("stranger")))
        parts.append(("  ", plain))
        if entry.is_empty_datagram:
            parts.append(("empty datagram", self._style("mark")))
        else:
            parts += self._pieces(entry, plain)
        marks = []
        if entry.decoded.binary:
            marks.append(f"binary, {len(entry.payload)} bytes: {hex_preview(entry.payload)}")
        if entry.truncation_text:
            marks.append(entry.truncation_text)
        if entry.decoded.hidden_characters:
            marks.append(f"{entry.decoded.hidden_characters} more characters: F3 shows every byte")
        parts += [(f"  [{mark}]", self._style("mark")) for mark in marks]
        return self._strip(parts)

    def _pieces(self, entry: Entry, style: Style) -> list[tuple[str, Style]]:
        escape_style = self._style("escape")
        return [(piece.text, escape_style if piece.escaped else style) for piece in entry.decoded.pieces]
