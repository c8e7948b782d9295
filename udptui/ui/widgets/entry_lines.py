"""How one log entry looks as lines: time, direction, peer, then its text or, for binary,
its size and bytes first. The log asks for these lines only for entries on screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from udptui.chat.datagram import Direction, Entry, Level
from udptui.chat.peers import peer_colour
from udptui.chat.view import (
    Run,
    TimeMode,
    binary_summary,
    destination_mark,
    hex_runs,
    looks_binary,
    time_column,
    wrap_runs,
)
from udptui.decoders import Decoded
from udptui.net.address import Address

ARROWS = {Direction.RECEIVED: "← ", Direction.SENT: "→ ", Direction.NOTE: "• "}
LEVEL_CLASS = {Level.INFO: "note", Level.WARNING: "warning", Level.ERROR: "error"}
MIN_WRAP_WIDTH = 16
"""Wrapped text keeps at least this many columns, however long the prefix."""

Parts = list[tuple[str, Style]]


class EntryLines:
    """Builds the strips of entries with the styles the log gives it."""

    def __init__(self, style: Callable[[str], Style], base: Style) -> None:
        self.style = style
        """The log's component style by short name (`time`, `mark`…)."""
        self.base = base
        self.time_mode = TimeMode.CLOCK
        self.started = datetime.now()
        self.previous: Callable[[Entry], Entry | None] = lambda entry: None
        """The entry before this one in the store, for the `since previous` column."""
        self.mark: Callable[[Entry], str] = lambda entry: ""
        """udptui's own mark for an entry (`auto`, `↩ 12.3 ms`, a repeat's count), or ''."""
        self.server: Address | None = None
        """In relay mode, the server (`--forward`): lines to and from it say `server`."""
        self.decoded: Callable[[Entry], Decoded | None] = lambda entry: None
        """What a decoder read in the entry (`udptui.decoders`), shown in place of its bytes."""

    def strip(self, parts: Parts) -> Strip:
        """A line from (text, style) parts, over the widget's style; text is already safe."""
        base = self.base
        segments = [Segment(text, base + style) for text, style in parts if text]
        return Strip(segments, sum(cell_len(text) for text, _ in parts))

    def lines(self, entry: Entry, wrap_width: int | None) -> list[Strip]:
        """The entry as one line, or wrapped to `wrap_width`; on any failure, its bytes in hex."""
        try:
            prefix, body = self.parts(entry)
        except Exception:
            label = f"{entry.direction.value} {entry.peer or '?'}  hex: "
            return [self.strip([(label, self.style("error")), (entry.payload.hex(" "), Style())])]
        if wrap_width is None:
            return [self.strip(prefix + [(text, style) for text, _, style in body])]
        indent = sum(cell_len(text) for text, _ in prefix)
        wrapped = wrap_runs(body, max(MIN_WRAP_WIDTH, wrap_width - indent))
        lines = [self.strip(prefix + wrapped[0])]
        lines += [self.strip([(" " * indent, Style()), *line]) for line in wrapped[1:]]
        return lines

    def line_count(self, entry: Entry, wrap_width: int) -> int:
        """How many lines the entry takes wrapped; one without building a strip when it fits."""
        try:
            prefix, body = self.parts(entry)
        except Exception:
            return 1
        indent = sum(cell_len(text) for text, _ in prefix)
        if indent + sum(cell_len(text) for text, _, _ in body) <= wrap_width:
            return 1
        return len(wrap_runs(body, max(MIN_WRAP_WIDTH, wrap_width - indent)))

    def parts(self, entry: Entry) -> tuple[Parts, list[Run[Style]]]:
        """The prefix (time, direction, peer) and the body runs of an entry."""
        plain = Style()
        previous = self.previous(entry) if self.time_mode is TimeMode.SINCE_PREVIOUS else None
        when = time_column(self.time_mode, entry.time, previous.time if previous else None, self.started)
        prefix: Parts = [(when, self.style("time")), (" ", plain)]
        if entry.direction is Direction.NOTE:
            level_style = self.style(LEVEL_CLASS[entry.level])
            prefix.append((ARROWS[entry.direction], level_style))
            return prefix, self._pieces(entry, level_style)
        direction = "received" if entry.direction is Direction.RECEIVED else "sent"
        if entry.relay and entry.peer is not None:  # `client 127.0.0.1:5100 → server`, or back
            dim, client = self.style("time"), (str(entry.peer), Style(color=peer_colour(entry.peer)))
            if entry.relay == "up":
                prefix += [("↑ ", self.style("received")), ("client ", dim), client, (" → server", dim)]
            else:
                prefix += [("↓ ", self.style("sent")), ("server → client ", dim), client]
        elif entry.peer is None:
            prefix.append((ARROWS[entry.direction], self.style(direction)))
            prefix.append(("unknown sender", self.style("stranger")))
        else:
            prefix.append((ARROWS[entry.direction], self.style(direction)))
            if entry.peer == self.server:
                prefix.append(("server ", self.style("time")))
            elif self.server is not None and entry.direction is Direction.SENT:  # typed to a client
                prefix.append(("client ", self.style("time")))
            prefix.append((str(entry.peer), Style(color=peer_colour(entry.peer))))
        if (to := destination_mark(entry)) is not None:  # multicast or broadcast: unicast stays quiet
            prefix.append((f" → {to}", self.style("destination")))
        if entry.stranger:
            prefix.append((" (other peer)", self.style("stranger")))
        prefix.append(("  ", plain))
        mark = self.style("mark")
        body: list[Run[Style]] = []
        decoded = self.decoded(entry)
        if decoded is not None:  # `DNS query A example.com  id 74e1`; the bytes stay on F3 and F6
            body += [(decoded.tag, False, self.style("tag")), (" " + decoded.summary, False, plain)]
        elif entry.is_empty_datagram:
            body.append(("empty datagram", False, mark))
        elif looks_binary(entry.payload, not entry.decoded.binary):
            size, hex_text, ascii_text = binary_summary(entry.payload)
            body += [(size, False, self.style("size")), ("  ", False, plain)]
            if entry.truncation_text:  # before the bytes, where 80 columns still show it
                body.append((f"[{entry.truncation_text}]  ", False, mark))
            body += hex_runs(hex_text, self.style("hex"))  # wrapped between byte pairs only
            body += [("  ", False, plain), (ascii_text, False, plain)]
            self._impairment(entry, body)
            if own := self.mark(entry):
                body.append((f"  [{own}]", False, mark))
            return prefix, body
        else:
            body += self._pieces(entry, plain)
            if entry.decoded.hidden_characters:
                more = f"  [{entry.decoded.hidden_characters} more characters: F6 inspects]"
                body.append((more, False, mark))
        if entry.truncation_text:
            body.append((f"  [{entry.truncation_text}]", False, mark))
        self._impairment(entry, body)
        if own := self.mark(entry):
            body.append((f"  [{own}]", False, mark))
        return prefix, body

    def _impairment(self, entry: Entry, body: list[Run[Style]]) -> None:
        """`[✗ dropped by --loss]`, `[delayed 80.0 ms]`…: what an impairment did to it."""
        fate = entry.impairment
        if fate is not None:
            style = self.style("lost" if fate.lost else "impaired")
            body.append((f"  [{fate.text()}]", False, style))

    def _pieces(self, entry: Entry, style: Style) -> list[Run[Style]]:
        escape_style = self.style("escape")
        return [
            (piece.text, piece.escaped, escape_style if piece.escaped else style)
            for piece in entry.decoded.pieces
        ]
