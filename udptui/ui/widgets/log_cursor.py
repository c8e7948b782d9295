"""The log's cursor and where its view goes: the keys that move the cursor, following the
newest entries, and keeping the cursor on screen when the view's height changes (a
scrollbar appears, the inspector opens below, the `▼ N new below` marker takes a row).

`ChatLog` supplies the rows; this part knows only row numbers and entry seqs.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.reactive import reactive
from textual.scroll_view import ScrollView

from udptui.chat.datagram import Entry


class LogCursor(ScrollView):
    """The cursor half of `ChatLog`."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Previous", show=False, id="log-cursor-back"),
        Binding("down", "cursor(1)", "Next", show=False, id="log-cursor-on"),
        Binding("pageup", "cursor_page(-1)", "Page up", show=False, id="log-cursor-page-back"),
        Binding("pagedown", "cursor_page(1)", "Page down", show=False, id="log-cursor-page-on"),
        Binding("home", "cursor_home", "Oldest", show=False, id="log-cursor-home"),
        Binding("end", "cursor_end", "Newest", show=False, id="log-cursor-end"),
    ]

    unseen: reactive[int] = reactive(0)
    """Entries (that pass the filter) that arrived below while the user was elsewhere."""
    selected: reactive[int | None] = reactive(None)
    """The `seq` of the entry under the cursor."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._following = True
        """The view sits at the end: it stays there when rows arrive or its height changes."""

    # -- what ChatLog supplies ----------------------------------------------------------------

    @property
    def row_count(self) -> int:
        raise NotImplementedError

    @property
    def newest_seq(self) -> int | None:
        raise NotImplementedError

    def _row_of(self, seq: int | None) -> int | None:
        raise NotImplementedError

    def entry_by_seq(self, seq: int | None) -> Entry | None:
        raise NotImplementedError

    def select_row(self, row: int) -> None:
        raise NotImplementedError

    # -- the view -----------------------------------------------------------------------------

    def watch_show_horizontal_scrollbar(self) -> None:
        # The scrollbar a wide line brings takes a row: a following view must stay at the end.
        self._keep_in_view()
        self.call_after_refresh(self._keep_in_view)

    def _keep_in_view(self) -> None:
        """After the view's height changed: stay at the end when following, else keep the cursor on screen."""
        row = self._row_of(self.selected)
        following = self._following and (self.selected is None or self.selected == self.newest_seq)
        if following:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        elif row is not None:
            self._show_row(row)

    def _make_room_for_marker(self) -> None:
        """The marker appeared over the bottom line, which showed the newest entry: scroll one
        row so that entry stays in sight above it (unless the cursor would leave the top)."""
        row = self._row_of(self.selected)
        top = self.scroll_offset.y + 1
        if row is None or row >= top:
            self.scroll_to(y=top, animate=False, immediate=True)

    @property
    def selected_entry(self) -> Entry | None:
        return self.entry_by_seq(self.selected)

    def _show_row(self, row: int, *, center: bool = False) -> None:
        height = self.scrollable_content_region.height
        if center:
            self.scroll_to(y=max(0, row - height // 2), animate=False, immediate=True)
        elif row < self.scroll_offset.y:
            self.scroll_to(y=row, animate=False, immediate=True)
        else:
            height -= 1 if self.unseen else 0  # the marker's row
            if row >= self.scroll_offset.y + height:
                self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def _current_row(self, default: int) -> int:
        row = self._row_of(self.selected)
        return default if row is None else row

    def action_cursor_page(self, step: int) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        self.select_row(self._current_row(self.row_count - 1) + step * height)

    def action_cursor_home(self) -> None:
        self.select_row(0)

    def action_cursor_end(self) -> None:
        self.select_row(self.row_count - 1)
        self.follow_newest()

    def follow_newest(self) -> None:
        """Show the newest entries and follow them (End, Ctrl+End); the cursor goes along."""
        if self.selected is not None:
            self.selected = self.newest_seq
        self.unseen = 0
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        self._following = True

    def on_click(self, event: events.Click) -> None:
        row = self.scroll_offset.y + event.y
        if row < self.row_count:
            self.select_row(row)
