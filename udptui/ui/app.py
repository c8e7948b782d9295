"""The Textual app: wires the transport and session to the widgets and runs the lifecycle."""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input

from udptui.chat.commands import CommandError, help_lines, run_line
from udptui.chat.datagram import Entry, Level
from udptui.chat.session import Clock
from udptui.config import Config
from udptui.decoders import Choice, DecoderLoadError, Decoding, Registry
from udptui.net.address import Address
from udptui.net.lookup import LookupResult, Lookups
from udptui.net.transport import SendError, TransportError, UdpTransport
from udptui.record.saving import SaveError, save_session
from udptui.record.transcript import Transcript
from udptui.startup import new_sending, new_session, open_transport
from udptui.ui.app_peers import PeerActions
from udptui.ui.palette import system_commands
from udptui.ui.widgets import ChatBody, ChatHeader, ChatLog, Composer, FilterBar, PeerList, StatusBar
from udptui.ui.widgets.log_pane import LogPane
from udptui.ui.widgets.status_bar import Stats

DRAIN_INTERVAL = 1 / 20
DECODER_WARM_UP = 1.0
"""Seconds after start when the decoders' libraries load, rather than at the first datagram."""
"""How often the UI takes what the receive thread queued: one batch per tick."""
FAULT_TOAST_INTERVAL = 1.0
"""Seconds between network toasts; faults in between are still logged as entries."""


class UdpTuiApp(PeerActions):
    """A chat over raw UDP: every datagram in the log, Enter sends one."""

    CSS_PATH = "udptui.tcss"
    TITLE = "udptui"

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", tooltip="Close the socket and quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="quit-ctrl-c"),
        Binding("f2", "toggle_peers", "Peers", id="peers", tooltip="Show or hide the peers pane"),
        Binding("f3", "toggle_hex", "Hex", id="hex", tooltip="Show a hex dump under each datagram"),
        Binding(
            "f4", "toggle_follow", "Follow/Pin", id="follow", tooltip="Reply to the last sender, or stay"
        ),
        Binding("f5", "filter", "Filter", id="filter", tooltip="Show only entries matching text or a peer"),
        Binding("f6", "inspect", "Inspect", id="inspect", tooltip="Every byte of the selected entry"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear-filter"),
        Binding("ctrl+end", "scroll_log('end')", "Newest", id="log-end", tooltip="Jump to the newest entry"),
        Binding("ctrl+home", "scroll_log('home')", "Oldest", show=False, id="log-home"),
        Binding("pageup", "scroll_log('page_up')", "Scroll up", show=False, id="log-page-up"),
        Binding("pagedown", "scroll_log('page_down')", "Scroll down", show=False, id="log-page-down"),
        Binding("ctrl+l", "clear_log", "Clear", show=False, id="clear", tooltip="Clear the message log"),
    ]

    def __init__(
        self,
        config: Config,
        transport: UdpTransport,
        *,
        transcript: Transcript | None = None,
        clock: Clock = datetime.now,
        decoders: Registry | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.transport = transport
        self.session = new_session(config, transport, transcript, clock)
        self.sending = new_sending(config, self.session)
        """Line ending, repeats (and their log marks): the sending state commands act on."""
        self._lookups = Lookups(partial(self.call_from_thread, self._looked_up))
        port = transport.local_address.port
        self.decoding = Decoding(decoders or Registry(), config.decode, local_port=port)
        self._recent_counts: deque[tuple[float, int]] = deque(maxlen=21)
        self._last_fault_toast = float("-inf")

    def compose(self) -> ComposeResult:
        yield ChatHeader(id="header")
        with ChatBody(id="body"):
            yield LogPane(self.session.store, started=self.session.clock(), id="logs")
            yield PeerList(self.session.roster, muting=self.session.muting, id="peers")
        yield FilterBar(id="filter")
        yield Composer(id="composer")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        header = self.query_one(ChatHeader)
        header.local = self.query_one(LogPane).local = self.transport.local_description
        self.query_one(ChatLog).marks = self.sending.marks
        self.query_one(LogPane).more_fields = self.sending.entry_fields
        header.listening = self.config.listening or self.config.peer is None
        header.server = self.query_one(ChatLog).server = self.config.forward
        self._show_target()
        self._update_status()
        self.query_one(LogPane).decode_with(self.decoding)
        self.query_one(Composer).focus()
        self.run_worker(self.transport.run_receiver, name="receiver", thread=True, exit_on_error=False)
        self.set_interval(DRAIN_INTERVAL, self.drain_inbox)
        self.call_after_refresh(self._freeze_startup_objects)
        # dnspython's import (~50 ms) once, on this thread: a thread importing it would hold the
        # GIL between a send and its timestamp, and a reply could seem to come before its request.
        self.set_timer(DECODER_WARM_UP, self.decoding.registry.warm_up)

    def _freeze_startup_objects(self) -> None:
        """Move what start-up made out of the garbage collector's sight.

        Under a flood, full collections walked every widget, style and cached strip:
        60-95 ms pauses every half second. Frozen, they are never walked again.
        """
        gc.collect()
        gc.freeze()

    def on_unmount(self) -> None:
        # Thread workers cannot be cancelled: wake the receive loop so the process can end.
        self.transport.stop()
        self.sending.close()

    # -- receiving ------------------------------------------------------------------------

    def drain_inbox(self) -> None:
        """Take everything the receive thread queued and show it, in one step."""
        if not self.is_running:
            return  # the timer can fire once more while the app's widgets are being removed
        result = self.session.ingest(self.transport.take_all())
        if result.entries:
            self._entries_added(result.entries)
        if result.sent:  # auto-replies
            self._entries_added(result.sent)
        if result.target_changed:
            self._show_target()
        if result.faults and time.monotonic() - self._last_fault_toast >= FAULT_TOAST_INTERVAL:
            self._last_fault_toast = time.monotonic()
            message = result.faults[0].text
            if (more := sum(fault.count for fault in result.faults) - 1) > 0:
                message += f" (and {more:,} more)"
            self.notify(message, title="Network", severity="warning", markup=False)
        polled = self.sending.poll()
        if polled.entries:
            self._entries_added(polled.entries)
        if polled.marks_changed:
            self.query_one(ChatLog).marks_changed(polled.marks_changed)
        self._check_transcript()
        for problem in self.decoding.take_problems():  # plugins load on first decode, while drawing
            self.notice(problem, Level.WARNING, title="Decoders")
        self._update_status()

    def _entries_added(self, entries: Sequence[Entry]) -> None:
        self.query_one(ChatLog).entries_added(entries)
        peers = self.query_one(PeerList)
        if peers.display:  # a hidden pane catches up when it is shown again
            peers.refresh_peers()

    def _check_transcript(self) -> None:
        """A transcript that failed to write (disk full, file gone) is said once, loudly."""
        error = self.session.take_transcript_error()
        if error is not None:
            self.notice(error, Level.ERROR, title="Log file")

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
            kernel_drops=self.transport.refresh_drop_count(),
            app_drops=self.transport.inbox_drops,
            counts_drops=self.transport.counts_drops,
            rate=rate,
            let_go=self.session.store.let_go,
            faults=counters.faults,
            rcvbuf=self.transport.rcvbuf_granted,
            sending=tuple(self.sending.status()),
            muted=self.session.muting.status,
        )
        self.query_one(ChatHeader).groups = self.transport.groups.labels()

    def _show_target(self) -> None:
        target = self.session.target
        header = self.query_one(ChatHeader)
        header.target = target
        header.follow = self.session.follow
        self.query_one(PeerList).target = target
        self.query_one(Composer).show_target(None if target is None else str(target))

    def note(self, message: str) -> None:
        """A note in the log (and the transcript), without a toast."""
        self._entries_added([self.session.note(message, Level.INFO)])

    def notice(self, message: str, level: Level, *, title: str = "") -> None:
        """A message from the app: an entry in the log (and the transcript) and a toast."""
        entry = self.session.note(message, level)
        self._entries_added([entry])
        self.notify(message, title=title, severity=level.value, markup=False)

    # -- the input box --------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: a message goes out as one datagram, a `/command` runs; on failure the text stays."""
        if event.input.id == "filter":
            self.query_one(Composer).focus()  # keep the filter, go back to typing
            return
        if not event.value:
            return
        composer = self.query_one(Composer)
        line = event.value
        try:
            done = run_line(self, line)
        except CommandError as error:
            self.notice(str(error), Level.ERROR, title="Command")
            return
        if done:
            composer.remember(line)
            composer.value = ""

    def send_payload(self, payload: bytes, to: Address | None = None) -> bool:
        """Send to `to` or the current target; notices say why not, or what the size risks."""
        try:
            result = self.session.send(payload, to)
        except SendError as error:
            self.notice(str(error), Level.ERROR, title="Not sent")
            return False
        self._entries_added(result.entries)
        for title, warning in result.notices():
            self.notice(warning, Level.WARNING, title=title)
        self._update_status()
        return True

    def set_target(self, address: Address) -> None:
        """Reply to this address from now on (pinned), with a note saying so."""
        self._lookups.cancel()  # a name still resolving from an earlier /to is overridden
        self.session.set_target(address)
        self.note(f"replying to {address} (pinned)")
        self._show_target()
        self.query_one(PeerList).refresh_peers()

    def look_up_target(self, host: str, port: int) -> bool:
        """`/to NAME:PORT`: resolve on a thread; the line stays in the box until the answer."""
        self.note(f"looking up {host}…")
        self._lookups.start(host, port, tag=self.query_one(Composer).value)
        return False

    def _looked_up(self, result: LookupResult) -> None:
        if not self._lookups.is_latest(result) or not self.is_running:
            return  # a later /to overrides an earlier one still resolving
        if result.address is None:
            self.notice(f"/to: {result.error}", Level.ERROR, title="Command")
            return
        self.set_target(result.address)
        composer = self.query_one(Composer)
        if result.tag and composer.value == result.tag:  # unless the user typed on meanwhile
            composer.remember(result.tag)
            composer.value = ""

    def choose_decoders(self, choice: Choice, peer: Address | None) -> bool:
        """`/decode`: what decodes datagrams from now on; the log and inspector redraw with it."""
        try:
            said = self.decoding.choose(choice, peer)
        except DecoderLoadError as error:
            self.notice(str(error), Level.ERROR, title="Decode")
            return False
        self.query_one(LogPane).decode_with(self.decoding)
        self.notice(said, Level.INFO, title="Decode")
        return True

    def save_transcript(self, path: str, *, overwrite: bool = False) -> bool:
        """Write this session's transcript as JSON lines; the whole of it when `--log` is on."""
        try:
            said = save_session(self.session, path, scrollback=self.config.scrollback, overwrite=overwrite)
        except SaveError as error:
            self.notice(str(error), Level.ERROR, title="Not saved")
            return False
        self.notice(said, Level.INFO, title="Saved")
        return True

    # -- the peers pane and the filter ------------------------------------------------------

    def on_peer_list_selected(self, event: PeerList.Selected) -> None:
        self.set_target(event.address)
        self.query_one(Composer).focus()

    on_log_pane_reply = on_peer_list_selected  # r on an entry: the same as choosing its peer

    def on_log_pane_resend(self, event: LogPane.Resend) -> None:
        self.send_payload(event.entry.payload, event.entry.peer)

    def on_log_pane_edit(self, event: LogPane.Edit) -> None:
        self.query_one(Composer).prefill(event.text)

    def on_log_pane_closed(self) -> None:
        self.query_one(Composer).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_one(ChatLog).filter_text = event.value

    # -- actions --------------------------------------------------------------------------

    def action_toggle_peers(self) -> None:
        self.query_one(ChatBody).toggle_pane()

    def action_toggle_hex(self) -> None:
        log = self.query_one(ChatLog)
        log.hex_view = not log.hex_view

    def action_toggle_follow(self) -> None:
        self.session.follow = not self.session.follow
        self._show_target()

    def action_inspect(self) -> None:
        self.query_one(LogPane).toggle_inspector()

    def action_filter(self) -> None:
        bar = self.query_one(FilterBar)
        bar.display = True
        self.screen.add_class("-filtering")  # toasts move up above the bar
        bar.focus()

    def action_clear_filter(self) -> None:
        if self.focused is self.query_one(Composer) and self.sending.stop_repeat():
            return  # Escape in the box stops a running repeat first
        bar = self.query_one(FilterBar)
        if not bar.display and not bar.value:
            return
        bar.value = ""
        bar.display = False
        self.screen.remove_class("-filtering")
        self.query_one(ChatLog).filter_text = ""
        self.query_one(Composer).focus()

    def clear_log(self) -> None:
        self.query_one(ChatLog).clear_view()

    action_clear_log = clear_log

    def action_scroll_log(self, where: str) -> None:
        self.query_one(LogPane).scroll_log(where)

    def show_help(self) -> None:
        for usage, meaning in help_lines():
            self.note(f"{usage}  {meaning}")

    action_help = show_help

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every command is in the palette too (ctrl+p)."""
        yield from super().get_system_commands(screen)
        yield from system_commands(self)


def make_app(
    config: Config,
    *,
    transport: UdpTransport | None = None,
    transcript: Transcript | None = None,
    clock: Clock = datetime.now,
    decoders: Registry | None = None,
) -> UdpTuiApp:
    """Build the app from a config; opens the socket (and `--log` file) unless given, and
    loads `--decoder-path` files unless `decoders` is given.

    Raises TransportError, TranscriptError or DecoderLoadError, each with a one-line message.
    """
    if decoders is None:
        decoders = Registry.checked(config.decoder_paths, config.decode)
    if transcript is None and config.log_path is not None:
        transcript = Transcript(config.log_path)
    if transport is None:
        try:
            transport = open_transport(config)  # with its groups joined
        except TransportError:
            if transcript is not None:
                transcript.close()
            raise
    return UdpTuiApp(config, transport, transcript=transcript, clock=clock, decoders=decoders)
