"""The input box at the bottom: what is typed here is sent as one datagram."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class Composer(Input):
    """An `Input` that says where Enter will send, and recalls earlier messages with Up/Down."""

    BINDINGS = [
        Binding("up", "recall(-1)", "Earlier message", show=False),
        Binding("down", "recall(1)", "Later message", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._history: list[str] = []
        self._position = 0
        """Where Up/Down is in the history; `len(history)` is the line being typed."""
        self._draft = ""

    def remember(self, line: str) -> None:
        """Keep a sent line for recall (not twice in a row)."""
        if not self._history or self._history[-1] != line:
            self._history.append(line)
        self._position = len(self._history)
        self._draft = ""

    def action_recall(self, step: int) -> None:
        position = max(0, min(len(self._history), self._position + step))
        if position == self._position:
            return
        if self._position == len(self._history):
            self._draft = self.value
        self._position = position
        self.value = self._history[position] if position < len(self._history) else self._draft
        self.cursor_position = len(self.value)

    def show_target(self, target: str | None) -> None:
        """Update the placeholder to name the reply target."""
        if target is None:
            self.placeholder = "No peer yet: wait for someone to write"
        else:
            self.placeholder = f"Message to {target}; Enter sends one datagram"
