"""The input box at the bottom: what is typed here is sent as one datagram.

A paste with line breaks stays whole: UDP keeps message boundaries, so one paste is one
datagram. Textual's `Input` keeps only a paste's first line; the Composer keeps every line
and shows each break as `⏎`, so what goes is what is seen. Terminals turn a pasted line
break into `\\r`; it goes out as `\\n`, as it was copied.
"""

from __future__ import annotations

from rich.cells import cell_len, get_character_cell_size
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.expand_tabs import expand_tabs_inline
from textual.widgets import Input

NEWLINE_MARK = "⏎"
"""How a line break in the box is drawn: one cell for one character, so the cursor stays true."""


def shown(text: str) -> str:
    """The text as the box draws it: each line break as `⏎`."""
    return text.replace("\n", NEWLINE_MARK)


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def pasted_lines(text: str) -> str:
    """A paste's line breaks as `\\n`, whether they came as `\\r\\n`, `\\r` or `\\n`."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class Composer(Input):
    """An `Input` that says where Enter will send, recalls earlier messages with Up/Down, and
    keeps a multi-line paste whole."""

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
        self._prefilled = ""
        """What `prefill` last put in the box: left untouched, it is no draft to keep."""

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

    def prefill(self, text: str) -> None:
        """Put `text` in the box to be finished (the palette's `/hex `, the inspector's lines),
        cursor at its end, focused. An unsent draft is never lost: it goes into the history,
        where Up brings it back, and a toast says so."""
        draft = self.value
        if draft and draft not in (text, self._prefilled):  # what was put here untouched is no draft
            self.remember(draft)
            self.notify(f"Up brings it back: {shorten(shown(draft), 40)}", title="Draft kept", markup=False)
        self.value = self._prefilled = text
        self.cursor_position = len(text)
        self.focus()

    def show_target(self, target: str | None) -> None:
        """Update the placeholder to name the reply target."""
        if target is None:
            self.placeholder = "No peer yet: wait for someone to write"
        else:
            self.placeholder = f"Message to {target}; Enter sends one datagram"

    # -- a paste keeps its lines ---------------------------------------------------------------

    def _on_paste(self, event: events.Paste) -> None:
        if event.text:
            text = pasted_lines(event.text)
            start, end = sorted(self.selection)
            self.replace(text, start, end)  # Input.replace keeps the cursor after the text
        event.stop()
        event.prevent_default()  # Input's own handler would paste the first line once more

    # What follows draws `\n` as `⏎` and measures it as one cell. These override Input's own
    # (private) methods, which measure `self.value` where a newline is zero cells wide.

    @property
    def _value(self) -> Text:
        return Text(shown(self.value), no_wrap=True, overflow="ignore", end="")

    def _position_to_cell(self, position: int) -> int:
        return cell_len(expand_tabs_inline(shown(self.value[:position]), 4))

    def _cell_offset_to_index(self, offset: int) -> int:
        cell_offset = 0
        offset += int(self.scroll_offset.x)
        for index, char in enumerate(shown(self.value)):
            width = get_character_cell_size(char)
            if cell_offset <= offset < cell_offset + width:
                return index
            cell_offset += width
        return max(0, min(offset, len(self.value)))
