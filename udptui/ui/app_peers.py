"""The App's part in grouping and muting peers: the `m` key of the peers pane, `/mute` and
`/unmute` redrawing the log and the pane, and choosing a host row.

A mixin of `UdpTuiApp`, so the App stays a thin wiring of widgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import App

from udptui.chat.commands import CommandContext, CommandError
from udptui.chat.datagram import Level
from udptui.chat.muting import Muting
from udptui.chat.peer_commands import target_meaning, toggle_mute
from udptui.chat.peers import PeerRoster
from udptui.ui.widgets import ChatLog, PeerList

if TYPE_CHECKING:
    from udptui.chat.session import ChatSession

MUTE_MEANING = "counted and recorded (--log, --pcap), not shown"


class PeerActions(App[None]):
    """Mute and group wiring, a base of `UdpTuiApp`."""

    if TYPE_CHECKING:  # what the App has
        session: ChatSession

        def _update_status(self) -> None: ...
        def notice(self, message: str, level: Level, *, title: str = "") -> None: ...

    hides_muted = True
    """The log on screen leaves muted senders' datagrams out."""

    def on_mount(self) -> None:
        self.query_one(ChatLog).muting = self.session.muting

    @property
    def muting(self) -> Muting:
        return self.session.muting

    @property
    def roster(self) -> PeerRoster:
        return self.session.roster

    def mutes_changed(self) -> str:
        self.query_one(ChatLog).mutes_changed()
        self.query_one(PeerList).refresh_peers()
        self._update_status()
        session = self.session
        target = target_meaning(self.muting, follow=session.follow, target=session.target)
        return f"{MUTE_MEANING}; {target}" if target else MUTE_MEANING

    def on_peer_list_mute_toggled(self, event: PeerList.MuteToggled) -> None:
        try:
            # Only UdpTuiApp, the CommandContext, is ever made of this class.
            toggle_mute(cast(CommandContext, self), event.host, event.port, event.mute)
        except CommandError as error:
            self.notice(str(error), Level.ERROR, title="Mute")

    def toggle_peer_grouping(self) -> None:
        """`g` in the pane, from the palette: one row per host, or per address."""
        pane = self.query_one(PeerList)
        pane.by_host = not pane.by_host
