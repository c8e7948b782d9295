"""The middle of the screen: the log, and beside it the peers pane when there is room for both."""

from __future__ import annotations

from textual import events
from textual.containers import Horizontal

from udptui.ui.widgets.peer_list import PeerList

LOG_MIN_WIDTH = 50
"""Columns the log keeps at least: below that, the peers pane gives way."""


class ChatBody(Horizontal):
    """Shows the peers pane only while the log keeps `LOG_MIN_WIDTH` columns beside it, following
    the terminal's width, until the user shows or hides the pane by hand (F2): then it stays so."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chosen_by_user = False
        """Set once the user toggled the pane: from then on the width no longer decides."""

    def on_mount(self) -> None:
        self.fit_pane(self.app.size.width)  # before the first frame, so the pane never flashes

    def on_resize(self, event: events.Resize) -> None:
        self.fit_pane(event.size.width)

    def fit_pane(self, width: int) -> None:
        if self.chosen_by_user:
            return
        pane = self.query_one(PeerList)
        pane_width = pane.styles.width.cells if pane.styles.width is not None else None
        self._show_pane(width - (pane_width or 0) >= LOG_MIN_WIDTH)

    def toggle_pane(self) -> None:
        """F2: show or hide the pane, and keep it so whatever the width."""
        self.chosen_by_user = True
        self._show_pane(not self.query_one(PeerList).display)

    def _show_pane(self, show: bool) -> None:
        pane = self.query_one(PeerList)
        if pane.display == show:
            return
        pane.display = show
        if show:
            pane.refresh_peers()  # a hidden pane is not kept up to date
