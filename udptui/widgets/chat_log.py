"""The message log: a virtual list over the entry store, drawn one visible line at a time.

Each entry is one line, whatever its bytes: a datagram with newlines shows them as `\\n`,
so the log shows message boundaries exactly as UDP keeps them. The cost of a frame
depends on the lines on screen, not on the scrollback.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from udptui.datagram import Direction, Entry, Level, hex_preview
from udptui.store import EntryStore

_ARROWS = {Direction.RECEIVED: "← ", Direction.SENT: "→ ", Direction.NOTE: "• "}


class ChatLog(ScrollView, can_focus=False):
    """Shows the entries of an `EntryStore`, newest at the bottom, following new ones
    unless the user has scrolled up."""

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
    }

    def __init__(self, store: EntryStore, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self._strips: LRUCache[int, Strip] = LRUCache(1024)
        self._widest = 0

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def entries_added(self, let_go: int = 0) -> None:
        """Call after the store grew (and let `let_go` old entries go)."""
        follow = self.is_vertical_scroll_end
        if let_go and not follow:
            # Keep the entries the user is reading in place while older ones leave.
            self.scroll_to(y=max(0, self.scroll_y - let_go), animate=False, immediate=True)
        self.virtual_size = Size(self._widest, len(self.store))
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def entries_cleared(self) -> None:
        self._strips.clear()
        self.virtual_size = Size(self._widest, len(self.store))
        self.scroll_home(animate=False, immediate=True)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if index >= len(self.store):
            return Strip.blank(width, base)
        entry = self.store[index]
        strip = self._strips.get(entry.seq)
        if strip is None:
            strip = self._strips[entry.seq] = self.render_entry(entry)
            if strip.cell_length > self._widest:
                self._widest = strip.cell_length
                self.call_after_refresh(self._grow_width)
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(scroll_x, index)

    def _grow_width(self) -> None:
        self.virtual_size = Size(self._widest, len(self.store))

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"chat-log--{name}", partial=True)

    def render_entry(self, entry: Entry) -> Strip:
        """One entry as a line; if that fails for any reason, its bytes in hex."""
        try:
            return self._render_entry(entry)
        except Exception:
            text = Text(no_wrap=True, end="", style=self.rich_style)
            text.append(f"{entry.direction.value} {entry.peer or '?'}  hex: ", self._style("error"))
            text.append(entry.payload.hex(" "))
            return Strip(text.render(self.app.console), text.cell_len)

    def _render_entry(self, entry: Entry) -> Strip:
        """One entry as a line: time, direction, peer, then the payload made visible."""
        text = Text(no_wrap=True, end="", style=self.rich_style)
        text.append(entry.time.strftime("%H:%M:%S"), self._style("time"))
        text.append(" ")
        if entry.direction is Direction.NOTE:
            level = {Level.INFO: "note", Level.WARNING: "warning", Level.ERROR: "error"}[entry.level]
            text.append(_ARROWS[entry.direction], self._style(level))
            self._append_pieces(text, entry, self._style(level))
            return Strip(text.render(self.app.console), text.cell_len)
        direction = "received" if entry.direction is Direction.RECEIVED else "sent"
        text.append(_ARROWS[entry.direction], self._style(direction))
        text.append(str(entry.peer or "unknown sender"), self._style(direction))
        if entry.stranger:
            text.append(" (other peer)", self._style("stranger"))
        text.append("  ")
        if entry.is_empty_datagram:
            text.append("empty datagram", self._style("mark"))
        else:
            self._append_pieces(text, entry, Style())
        marks = []
        if entry.decoded.binary:
            marks.append(f"binary, {len(entry.payload)} bytes: {hex_preview(entry.payload)}")
        if entry.truncation_text:
            marks.append(entry.truncation_text)
        for mark in marks:
            text.append(f"  [{mark}]", self._style("mark"))
        return Strip(text.render(self.app.console), text.cell_len)

    def _append_pieces(self, text: Text, entry: Entry, style: Style) -> None:
        escape_style = self._style("escape")
        for piece in entry.decoded.pieces:
            text.append(piece.text, escape_style if piece.escaped else style)
