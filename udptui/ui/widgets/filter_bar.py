"""The filter line: narrows the log to entries matching text or a peer, as you type."""

from __future__ import annotations

from textual.widgets import Input


class FilterBar(Input):
    """An `Input` for the log filter; hidden until asked for, Escape clears it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="Filter the log: text or HOST:PORT; Escape clears", id=id)
