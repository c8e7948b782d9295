"""The log with its inspector, and the keys that act on the selected entry.

The inspector sits beside the log when there is room for both, below it otherwise. The
keys here show in the footer while the log or the inspector has focus; what needs the
session (reply, resend, edit into the box) goes to the app as a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.timer import Timer

from udptui.chat.datagram import Direction, Entry
from udptui.chat.store import EntryStore
from udptui.chat.view import entry_fields
from udptui.decoders import Decoding
from udptui.net.address import Address
from udptui.ui.widgets.chat_log import ChatLog
from udptui.ui.widgets.inspector import Inspector, whole_text
from udptui.ui.widgets.save_bytes import SaveBytes

BESIDE_MIN_WIDTH = 140
"""From this width the inspector sits beside the log; below it on narrower terminals."""
INSPECT_INTERVAL = 0.2
"""Seconds between two layouts of the inspector while the selection moves fast."""
PEER_SCAN_LIMIT = 20_000
"""Entries looked back through for the same peer's previous datagram."""


class LogPane(Container):
    """`ChatLog` and `Inspector`; F6 (an app key) opens and closes the inspector."""

    BINDINGS = [
        Binding("r", "reply", "Reply", id="entry-reply", tooltip="Pin the selected entry's sender as target"),
        Binding("a", "resend", "Again", id="entry-resend", tooltip="Send the selected datagram again"),
        Binding("e", "edit", "Edit", id="entry-edit", tooltip="Put the selected datagram in the input box"),
        Binding("c", "copy('text')", "Copy", id="entry-copy", tooltip="Copy the selected entry's text"),
        Binding("x", "copy('hex')", "Copy hex", id="entry-copy-hex", tooltip="Copy its bytes as hex"),
        Binding("s", "save", "Save", id="entry-save", tooltip="Save the selected datagram's bytes"),
        Binding("w", "toggle_wrap", "Wrap", id="log-wrap", tooltip="Wrap long entries in the log"),
        Binding("t", "cycle_time", "Time", id="log-time", tooltip="Clock, since previous, since start"),
        Binding("escape", "close", "Close", show=False, id="inspector-close"),
    ]

    @dataclass
    class Reply(Message):
        """Pin this address as the target."""

        address: Address

    @dataclass
    class Resend(Message):
        """Send these bytes again to where they went (or came from)."""

        entry: Entry

    @dataclass
    class Edit(Message):
        """Put this entry, as text or `/hex …`, in the input box."""

        text: str

    @dataclass
    class Closed(Message):
        """The inspector closed: focus goes back to the input box."""

    def __init__(self, store: EntryStore, *, started: datetime | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.started = started
        self.local = ""
        """The socket's local address, for datagrams that do not say where they arrived."""
        self.more_fields: Callable[[Entry], list[tuple[str, str]]] = lambda entry: []
        """More inspector lines for an entry from the sending state (its mark, the peer's round trips)."""
        self._pending: Entry | None = None
        self._timer: Timer | None = None
        self._last_inspected = float("-inf")

    def compose(self) -> ComposeResult:
        yield ChatLog(self.store, started=self.started, id="log")
        yield Inspector(id="inspector")

    @property
    def chat_log(self) -> ChatLog:
        return self.query_one(ChatLog)

    @property
    def inspector(self) -> Inspector:
        return self.query_one(Inspector)

    def on_resize(self) -> None:
        self.set_class(self.size.width >= BESIDE_MIN_WIDTH, "-beside")

    def scroll_log(self, where: str) -> None:
        """Scroll the log from elsewhere (keys in the input box): `page_up`, `page_down`, `home`, `end`."""
        log = self.chat_log
        if where == "page_up":
            log.scroll_page_up()
        elif where == "page_down":
            log.scroll_page_down()
        elif where == "home":
            log.scroll_home(animate=False)
        else:
            log.follow_newest()

    # -- the inspector ----------------------------------------------------------------------

    def toggle_inspector(self) -> None:
        """Open (selecting the newest entry if none) with focus in the log, or close."""
        if self.inspector.display:
            self.action_close()
            return
        self.inspector.display = True
        log = self.chat_log
        if log.selected_entry is None:
            log.action_cursor_end()
        self._last_inspected = time.monotonic()
        self._inspect(log.selected_entry)
        log.focus()

    def action_close(self) -> None:
        if self.inspector.display:
            self.inspector.display = False
        self.post_message(self.Closed())

    def on_chat_log_selected(self, event: ChatLog.Selected) -> None:
        """Follow the selection; at most every INSPECT_INTERVAL, so following a flood of big
        datagrams costs a few layouts a second, not one per batch. The last one always shows."""
        if not self.inspector.display:
            return
        self._pending = event.entry
        if self._timer is None:
            wait = self._last_inspected + INSPECT_INTERVAL - time.monotonic()
            if wait <= 0:
                self._inspect_pending()
            else:
                self._timer = self.set_timer(wait, self._inspect_pending)

    def _inspect_pending(self) -> None:
        self._timer = None
        self._last_inspected = time.monotonic()
        if self.inspector.display:
            self._inspect(self._pending)

    def decode_with(self, decoding: Decoding) -> None:
        """Decode what the log draws and what the inspector shows; again after `/decode`."""
        self.chat_log.decode_with(decoding.summary)
        self.inspector.decoding = decoding
        if self.inspector.display:
            self._inspect(self.chat_log.selected_entry)

    def _inspect(self, entry: Entry | None) -> None:
        if entry is None:
            self.inspector.show(None, [])
            return
        previous, scanned = self._previous_same_peer(entry)
        fields = entry_fields(entry, local=self.local, previous_from_peer=previous, scanned_back=scanned)
        self.inspector.show(entry, fields + self.more_fields(entry))

    def _previous_same_peer(self, entry: Entry) -> tuple[Entry | None, bool]:
        """The same peer's previous datagram the same way, and whether the whole store was looked at."""
        if entry.direction is Direction.NOTE:
            return None, True
        store = self.store
        index = entry.seq - (store.total - len(store))
        start = min(index, len(store)) - 1
        stop = max(-1, start - PEER_SCAN_LIMIT)
        for position in range(start, stop, -1):
            other = store[position]
            if other.peer == entry.peer and other.direction is entry.direction:
                if other.impairment is not None and other.impairment.lost:
                    continue  # never went (or never came): no datagram to count from
                return other, True
        return None, stop == -1

    # -- actions on the selected entry --------------------------------------------------------

    def _selected_datagram(self) -> Entry | None:
        entry = self.chat_log.selected_entry
        if entry is None:
            self.notify("Select an entry first: ↑↓ in the log", severity="warning", markup=False)
            return None
        if entry.direction is Direction.NOTE:
            self.notify("That is a note, not a datagram", severity="warning", markup=False)
            return None
        return entry

    def action_reply(self) -> None:
        entry = self._selected_datagram()
        if entry is not None and entry.peer is not None:
            self.post_message(self.Reply(entry.peer))

    def action_resend(self) -> None:
        entry = self._selected_datagram()
        if entry is not None:
            self.post_message(self.Resend(entry))

    def action_edit(self) -> None:
        entry = self._selected_datagram()
        if entry is None:
            return
        try:
            text = entry.payload.decode("utf-8")
            if not text.isprintable():  # newlines, tabs, controls: one line cannot hold them
                raise ValueError("not one typeable line")
        except ValueError:
            text = "/hex " + entry.payload.hex(" ")
        else:
            text = "/" + text if text.startswith("/") else text  # `//…` sends a literal /
        self.post_message(self.Edit(text))

    def action_copy(self, form: str) -> None:
        entry = self.chat_log.selected_entry
        if entry is None:
            self.notify("Select an entry first: ↑↓ in the log", severity="warning", markup=False)
            return
        if form == "hex":
            self.app.copy_to_clipboard(entry.payload.hex(" "))
        elif entry.direction is Direction.NOTE:
            self.app.copy_to_clipboard(entry.decoded.plain)
        else:  # as the log shows it: raw controls could act on a terminal or escape a paste
            self.app.copy_to_clipboard("".join(piece.text for piece in whole_text(entry)))
        self.notify(f"copied entry #{entry.seq + 1} as {form}", title="Clipboard", markup=False)

    def action_save(self) -> None:
        entry = self._selected_datagram()
        if entry is not None:
            self.app.push_screen(SaveBytes(entry.payload, f"entry #{entry.seq + 1}"))

    def action_toggle_wrap(self) -> None:
        self.chat_log.wrap = not self.chat_log.wrap

    def action_cycle_time(self) -> None:
        self.chat_log.time_mode = self.chat_log.time_mode.next()
        self.notify(f"time column: {self.chat_log.time_mode.value}", markup=False)
