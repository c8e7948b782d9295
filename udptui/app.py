"""The Textual app: wires the transport and session to the widgets and runs the lifecycle."""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input

from udptui.config import Config
from udptui.datagram import Level
from udptui.session import ChatSession, Clock
from udptui.transport import SendError, UdpTransport
from udptui.widgets import ChatHeader, ChatLog, Composer, StatusBar
from udptui.widgets.status_bar import Stats

DRAIN_INTERVAL = 1 / 20
"""How often the UI takes what the receive thread queued: one batch per tick."""
FAULT_TOAST_INTERVAL = 1.0
"""Seconds between network toasts; faults in between are still logged as entries."""


class UdpTuiApp(App[None]):
    """A chat over raw UDP: every datagram in the log, Enter sends one."""

    CSS_PATH = "udptui.tcss"
    TITLE = "udptui"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", tooltip="Close the socket and quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="quit-ctrl-c"),
        Binding("ctrl+l", "clear_log", "Clear", id="clear", tooltip="Clear the message log"),
        Binding("pageup", "scroll_log('page_up')", "Scroll up", show=False, id="log-page-up"),
        Binding("pagedown", "scroll_log('page_down')", "Scroll down", show=False, id="log-page-down"),
        Binding("ctrl+end", "scroll_log('end')", "Newest", id="log-end", tooltip="Jump to the newest entry"),
        Binding("ctrl+home", "scroll_log('home')", "Oldest", show=False, id="log-home"),
    ]

    def __init__(self, config: Config, transport: UdpTransport, *, clock: Clock = datetime.now) -> None:
        super().__init__()
        self.config = config
        self.transport = transport
        self.session = ChatSession(
            transport,
            target=config.peer,
            follow=config.follows_sender,
            scrollback=config.scrollback,
            clock=clock,
        )
        self._recent_counts: deque[tuple[float, int]] = deque(maxlen=21)
        self._last_fault_toast = float("-inf")

    def compose(self) -> ComposeResult:
        yield ChatHeader(id="header")
        yield ChatLog(self.session.store, id="log")
        yield Composer(id="composer")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        header = self.query_one(ChatHeader)
        header.local = self.transport.local_description
        header.listening = self.config.listening or self.config.peer is None
        self._show_target()
        self._update_status()
        self.query_one(Composer).focus()
        self.run_worker(self.transport.run_receiver, name="receiver", thread=True, exit_on_error=False)
        self.set_interval(DRAIN_INTERVAL, self.drain_inbox)

    def on_unmount(self) -> None:
        # Thread workers cannot be cancelled: wake the receive loop so the process can end.
        self.transport.stop()

    # -- receiving ------------------------------------------------------------------------

    def drain_inbox(self) -> None:
        """Take everything the receive thread queued and show it, in one step."""
        if not self.is_running:
            return  # the timer can fire once more while the app's widgets are being removed
        result = self.session.ingest(self.transport.take_all())
        if result.entries:
            self.query_one(ChatLog).entries_added(result.entries, result.let_go)
        if result.target_changed:
            self._show_target()
        if result.faults and time.monotonic() - self._last_fault_toast >= FAULT_TOAST_INTERVAL:
            self._last_fault_toast = time.monotonic()
            first = result.faults[0]
            message = f"{first.message} {first.address}" if first.address else first.message
            if len(result.faults) > 1:
                message += f" (and {len(result.faults) - 1} more)"
            self.notify(message, title="Network", severity="warning", markup=False)
        self._update_status()

    def _update_status(self) -> None:
        counters = self.session.counters
        now = time.monotonic()
        self._recent_counts.append((now, counters.received))
        since, count_then = self._recent_counts[0]
        rate = (counters.received - count_then) / (now - since) if now > since else 0.0
        self.query_one(StatusBar).stats = Stats(
            received=counters.received,
            sent=counters.sent,
            bytes_in=counters.bytes_in,
            bytes_out=counters.bytes_out,
            kernel_drops=self.transport.kernel_drops,
            app_drops=self.transport.inbox_drops,
            counts_drops=self.transport.counts_drops,
            rate=rate,
            let_go=self.session.store.let_go,
            rcvbuf=self.transport.rcvbuf_granted,
        )

    def _show_target(self) -> None:
        header = self.query_one(ChatHeader)
        header.target = self.session.target
        header.follow = self.session.follow
        target = self.session.target
        self.query_one(Composer).show_target(None if target is None else str(target))

    # -- sending --------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: send the box's text as one datagram; on failure the text stays."""
        text = event.value
        if not text:
            return
        self.send_payload(text.encode("utf-8"), clear_input=True)

    def send_payload(self, payload: bytes, *, clear_input: bool = False) -> bool:
        """Send to the current target; notices say why not, or what the size risks."""
        log = self.query_one(ChatLog)
        try:
            result = self.session.send(payload)
        except SendError as error:
            self.session.note(str(error), Level.ERROR)
            log.entries_added()
            self.notify(str(error), title="Not sent", severity="error", markup=False)
            return False
        if clear_input:
            self.query_one(Composer).value = ""
        for warning in result.warnings:
            self.session.note(warning, Level.WARNING, result.entry.peer)
            self.notify(warning, title="Large datagram", severity="warning", markup=False)
        log.entries_added()
        self._update_status()
        return True

    # -- actions --------------------------------------------------------------------------

    def action_clear_log(self) -> None:
        self.session.store.clear()
        self.query_one(ChatLog).entries_cleared()
        self._update_status()

    def action_scroll_log(self, where: str) -> None:
        log = self.query_one(ChatLog)
        if where == "page_up":
            log.scroll_page_up()
        elif where == "page_down":
            log.scroll_page_down()
        elif where == "home":
            log.scroll_home(animate=False)
        else:
            log.scroll_end(animate=False)


def make_app(
    config: Config, *, transport: UdpTransport | None = None, clock: Clock = datetime.now
) -> UdpTuiApp:
    """Build the app from a config; opens the socket unless one is given (may raise TransportError)."""
    if transport is None:
        transport = UdpTransport.open(
            bind_host=config.bind_host,
            port=config.port,
            bufsize=config.bufsize,
            rcvbuf=config.rcvbuf,
        )
    return UdpTuiApp(config, transport, clock=clock)
