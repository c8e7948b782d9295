"""The inspector: everything about the selected entry, drawn one visible line at a time.

Details first (direction, peer, local address, sizes, truncation, time to the µs, the gap
since the same peer's previous datagram, the entry number), then what a decoder makes of
it (the field tree), then the whole text wrapped with visible escapes and the whole `xxd`
dump (the dump first for binary datagrams). Only the
text is laid out when an entry is shown; hex rows are made as they scroll into view, so a
65,507-byte datagram opens at once. Unlike a panel of widgets rebuilt on every move, moving
the selection only swaps the entry this view reads from.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from udptui.chat.datagram import Direction, Entry, Piece, hex_rows, hexdump_line, make_visible
from udptui.chat.view import looks_binary, wrap_pieces
from udptui.decoders import Decoding
from udptui.ui.widgets.decoded_fields import decoded_section

LABEL_WIDTH = len("since last sent to it") + 2
"""Columns for a detail's label and a gap of two at least: the longest label, `since last
sent to it`, stands apart from its value as the others do, and the values line up."""
HEX_COLUMNS_16 = 68
"""Width of a 16-byte `xxd` row; narrower inspectors show 8 bytes a row."""
HEX_COLUMNS_8 = 39

LAID_OUT_AT_ONCE = 4096
"""Payloads up to this many bytes have their text laid out at once; larger ones on a thread,
so the details and the hex dump show at once even for 65,507 bytes of escapes."""

TextLines = list[list[tuple[str, bool]]]
Section = tuple[int, Callable[[int], Strip]]
"""How many lines a part of the inspector has, and how to draw its line n."""


def whole_text(entry: Entry) -> tuple[Piece, ...]:
    """Every character of the entry made visible (the log shows only the start)."""
    if entry.direction is Direction.NOTE:
        return entry.decoded.pieces
    if not entry.decoded.hidden_characters:
        return entry.decoded.pieces
    return make_visible(entry.payload.decode("utf-8", errors="replace"))


class Inspector(ScrollView, can_focus=True):
    """Shows one entry in full; `show()` swaps the entry, nothing else is rebuilt."""

    BINDINGS = [
        Binding("up", "scroll_up", "Up", show=False, id="inspector-scroll-up"),
        Binding("down", "scroll_down", "Down", show=False, id="inspector-scroll-down"),
        Binding("pageup", "page_up", "Page up", show=False, id="inspector-page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="inspector-page-down"),
        Binding("home", "scroll_home", "Top", show=False, id="inspector-scroll-home"),
        Binding("end", "scroll_end", "Bottom", show=False, id="inspector-scroll-end"),
    ]

    COMPONENT_CLASSES = {
        "inspector--title",
        "inspector--heading",
        "inspector--label",
        "inspector--escape",
        "inspector--hex",
        "inspector--empty",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entry: Entry | None = None
        self.fields: list[tuple[str, str]] = []
        self._sections: list[Section] = []
        self._cache: LRUCache[int, Strip] = LRUCache(256)
        self._laid_out_width = -1
        self._hex_row_bytes = 16
        self.decoding: Decoding | None = None
        """Decodes the shown datagram for the `Decoded` section (set by the log pane)."""
        self._text: tuple[Entry, int, TextLines | None] | None = None
        """The text laid out on the thread: for which entry, at which width (None: not yet)."""

    def show(self, entry: Entry | None, fields: list[tuple[str, str]]) -> None:
        """Show this entry (or the hint when None), from the top."""
        same = entry is self.entry
        self.entry, self.fields = entry, fields
        self._layout()
        if not same:
            self.scroll_to(0, 0, animate=False, immediate=True)

    def on_resize(self) -> None:
        if self.scrollable_content_region.width != self._laid_out_width:
            self._layout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # -- layout -----------------------------------------------------------------------------

    def _layout(self, *, drawing: bool = False) -> None:
        width = self.scrollable_content_region.width
        self._laid_out_width = width
        self._cache.clear()
        entry = self.entry
        if entry is None:
            self._sections = [(1, lambda _: self._line([("Nothing selected: ↑↓ in the log", "empty")]))]
        else:
            self._sections = self._sections_of(entry, max(8, width))
        # Text wraps and hex rows narrow to 8 bytes, so only a very thin inspector scrolls sideways.
        size = Size(max(width, HEX_COLUMNS_8), sum(count for count, _ in self._sections))
        if drawing:  # the size may not change in the middle of a frame
            self.call_after_refresh(setattr, self, "virtual_size", size)
        else:
            self.virtual_size = size
        self.refresh()

    def _sections_of(self, entry: Entry, width: int) -> list[Section]:
        details = [self._title(entry)] + [self._field(label, value) for label, value in self.fields]
        laid_out = self._text_of(entry, width)
        text = laid_out or []
        sections: list[Section] = [(len(details), details.__getitem__)]
        if entry.direction is Direction.NOTE:
            return [*sections, self._heading("Text"), (len(text), lambda n: self._text_line(text[n]))]
        lines = len(text)
        heading = f"Text: {lines} line{'s' if lines != 1 else ''}" if laid_out is not None else "Text: …"
        text_part = [
            self._heading(heading),
            (lines, lambda n: self._text_line(text[n])),
        ]
        self._hex_row_bytes = 16 if width >= HEX_COLUMNS_16 else 8
        rows = hex_rows(len(entry.payload), self._hex_row_bytes)
        hex_part = [
            self._heading(f"Hex: {len(entry.payload)} bytes, {rows} row{'s' if rows != 1 else ''}"),
            (rows, self._hex_line),
        ]
        # What a decoder read comes first, as the log line shows it (or why it could not).
        section = decoded_section(self.decoding.outcome(entry)) if self.decoding is not None else None
        if section is not None:
            heading, parts = section
            decoded_lines = [self._line(line) for line in parts]
            sections += [self._heading(heading), (len(decoded_lines), decoded_lines.__getitem__)]
        # What a datagram is decides what comes next: its bytes, or its text.
        binary = looks_binary(entry.payload, not entry.decoded.binary)
        return sections + (hex_part + text_part if binary else text_part + hex_part)

    def _text_of(self, entry: Entry, width: int) -> TextLines | None:
        """The entry's whole text in lines; a large one is laid out on a thread: None until
        it is ready, then the inspector lays itself out again."""
        if entry.direction is Direction.NOTE or len(entry.payload) <= LAID_OUT_AT_ONCE:
            return wrap_pieces(whole_text(entry), width)
        known = self._text
        if known is not None and known[0] is entry and known[1] == width:
            return known[2]
        self._text = (entry, width, None)
        work = partial(self._lay_out, entry, width)
        self.run_worker(work, thread=True, group="text", exclusive=True, exit_on_error=False)
        return None

    def _lay_out(self, entry: Entry, width: int) -> None:
        lines = wrap_pieces(whole_text(entry), width)
        self.app.call_from_thread(self._laid_out, entry, width, lines)

    def _laid_out(self, entry: Entry, width: int, lines: TextLines) -> None:
        if self._text is not None and self._text[0] is entry and self._text[1] == width:  # still wanted
            self._text = (entry, width, lines)
            self._layout()

    # -- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if width != self._laid_out_width:  # a size change that came without a Resize event
            self._layout(drawing=True)
        strip = self._cache.get(index)
        if strip is None:
            strip = Strip.blank(0)
            row = index
            for count, draw in self._sections:
                if row < count:
                    strip = draw(row)
                    break
                row -= count
            self._cache[index] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"inspector--{name}") if name else Style()

    def _line(self, parts: list[tuple[str, str]]) -> Strip:
        """A line from (text, style name) parts; the text is already safe."""
        base = self.rich_style
        segments = [Segment(text, base + self._style(name)) for text, name in parts if text]
        return Strip(segments, sum(cell_len(text) for text, _ in parts))

    def _title(self, entry: Entry) -> Strip:
        if entry.direction is Direction.NOTE:
            return self._line([(f"Note #{entry.seq + 1}", "title")])
        way = "Received" if entry.direction is Direction.RECEIVED else "Sent"
        if entry.impairment is not None and entry.impairment.lost:  # an impairment dropped it
            way = "Dropped"
        return self._line([(f"{way} datagram #{entry.seq + 1}, {len(entry.payload)} B", "title")])

    def _field(self, label: str, value: str) -> Strip:
        return self._line([(label.ljust(LABEL_WIDTH), "label"), (value, "")])

    def _heading(self, text: str) -> Section:
        strip = self._line([(text, "heading")])
        return (1, lambda _: strip)

    def _text_line(self, parts: list[tuple[str, bool]]) -> Strip:
        return self._line([(text, "escape" if escaped else "") for text, escaped in parts])

    def _hex_line(self, row: int) -> Strip:
        assert self.entry is not None
        return self._line([(hexdump_line(self.entry.payload, row, self._hex_row_bytes), "hex")])
