"""The peers pane: every address seen, newest activity first; choose one to reply to.

Drawn with the line API, two lines per peer, so a thousand peers cost what the visible
ones cost. `g` groups the rows by host (one-shot senders use a new port each time), `m`
mutes the row under the cursor (its datagrams are counted and recorded, not shown).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from udptui.chat.muting import Muting
from udptui.chat.peer_rows import HostGroup, PeerRow, peer_rows, row_host, row_key, row_muted
from udptui.chat.peers import PeerRoster
from udptui.net.address import Address
from udptui.ui.widgets.status_bar import human_bytes

LINES_PER_PEER = 2
"""Lines per peer; a third shows its round trips once there are some, or a host's bytes."""


def fit_address(address: str, width: int) -> str:
    """Shorten a long address in the middle, keeping its port: `[2001:db8:…:5678]:9000`."""
    if len(address) <= width or width < 10:
        return address
    host_end = address.rfind("]:") + 1 if address.startswith("[") else address.rfind(":")
    tail = address[host_end - 6 :] if host_end >= 6 else address[host_end:]
    head = address[: max(1, width - len(tail) - 1)]
    return f"{head}…{tail}"


class PeerList(ScrollView, can_focus=True):
    """A list of peers with a cursor; Enter or a click makes one the reply target."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
        Binding("enter", "select", "Reply to", tooltip="Make this peer the reply target"),
        Binding("g", "toggle_group", "By host", id="peers-group", tooltip="One row per host, or per port"),
        Binding("m", "toggle_mute", "Mute", id="peers-mute", tooltip="Hide its datagrams, or show them"),
    ]

    COMPONENT_CLASSES = {
        "peer-list--cursor",
        "peer-list--target",
        "peer-list--detail",
        "peer-list--unread",
        "peer-list--empty",
        "peer-list--muted",
    }

    cursor: reactive[int] = reactive(0)
    target: reactive[Address | None] = reactive(None)
    by_host: reactive[bool] = reactive(False)
    """One row per host (IP), its ports counted, instead of one per address."""

    @dataclass
    class Selected(Message):
        """The user chose a peer to reply to."""

        peer_list: PeerList
        address: Address

        host: str | None = None
        """Set when a host row was chosen: `address` is its most recently active port."""

        @property
        def control(self) -> PeerList:
            return self.peer_list

    @dataclass
    class MuteToggled(Message):
        """The user muted or unmuted a row: a host (`port` None) or one address."""

        host: str
        port: int | None
        mute: bool

    def __init__(self, roster: PeerRoster, *, muting: Muting | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.roster = roster
        self.muting = muting if muting is not None else Muting()
        self._rows: list[PeerRow] = []
        self._lines: list[tuple[int, int]] = []
        """(peer index, part) for every line: 0 the address, 1 the counts, 2 round trips if any."""
        self._tops: list[int] = []
        """The first line of each peer."""
        self._seen_version: tuple[int, int, bool] | None = None
        self._cursor_key: Address | str | None = None

    def refresh_peers(self) -> None:
        """Re-read the roster if it (or the mutes, or the grouping) changed, keeping the cursor
        on the same row."""
        version = (self.roster.version, self.muting.version, self.by_host)
        if version == self._seen_version:
            return
        self._seen_version = version
        self._rows = peer_rows(self.roster.ordered(), by_host=self.by_host, muting=self.muting)
        if self._cursor_key is not None:
            # The same row, else (grouped or ungrouped since) the row of the same host.
            key = self._cursor_key
            host = key.host if isinstance(key, Address) else key
            index = next((i for i, row in enumerate(self._rows) if row_key(row) == key), None)
            if index is None:
                index = next((i for i, row in enumerate(self._rows) if row_host(row) == host), None)
            if index is None:
                index = min(self.cursor, max(0, len(self._rows) - 1))
            self.set_reactive(PeerList.cursor, index)
        self._lines, self._tops = [], []
        if self.by_host:
            self._lines.append((-1, 0))  # a title line: the pane is by host
        for index, row in enumerate(self._rows):
            self._tops.append(len(self._lines))
            parts = LINES_PER_PEER + 1 if isinstance(row, HostGroup) or row.rtt else LINES_PER_PEER
            self._lines += [(index, part) for part in range(parts)]
        self.virtual_size = Size(self.size.width, len(self._lines))
        self.refresh()

    def watch_cursor(self, cursor: int) -> None:
        if self._rows:
            self._cursor_key = row_key(self._rows[cursor])
            self.scroll_to_region_of(cursor)
        self.refresh()

    def watch_target(self) -> None:
        self.refresh()

    def watch_by_host(self) -> None:
        self.refresh_peers()

    def on_focus(self) -> None:
        self.refresh()  # the cursor row is drawn only while the pane has focus

    def on_blur(self) -> None:
        self.refresh()

    def scroll_to_region_of(self, index: int) -> None:
        if index >= len(self._tops):
            return
        top = self._tops[index] if index else 0  # the first row: the title line above it too
        end = self._tops[index + 1] if index + 1 < len(self._tops) else len(self._lines)
        if top < self.scroll_y:
            self.scroll_to(y=top, animate=False)
        elif end > self.scroll_y + self.scrollable_content_region.height:
            self.scroll_to(y=end - self.scrollable_content_region.height, animate=False)

    def action_cursor(self, step: int) -> None:
        if self._rows:
            self.cursor = max(0, min(len(self._rows) - 1, self.cursor + step))

    def action_cursor_to(self, index: int) -> None:
        if self._rows:
            self.cursor = index % len(self._rows)

    def action_select(self) -> None:
        if self._rows:
            row = self._rows[self.cursor]
            host = row.host if isinstance(row, HostGroup) else None
            if isinstance(row, HostGroup) and len(row.peers) > 1:
                said = f"{row.host} has {row.ports_text}: replying to the one heard from last, {row.address}"
                self.notify(said, title="Reply to", markup=False)
            self.post_message(self.Selected(self, row.address, host))

    def action_toggle_group(self) -> None:
        """`g`: one row per host, or one per address again."""
        self.by_host = not self.by_host

    def action_toggle_mute(self) -> None:
        """`m`: mute the row under the cursor (a host row: the host, every port), or unmute it."""
        if not self._rows:
            return
        row = self._rows[self.cursor]
        if isinstance(row, HostGroup):
            self.post_message(self.MuteToggled(row.host, None, not row.muted))
        elif self.muting.host_muted(row.address.host):
            self.post_message(self.MuteToggled(row.address.host, None, False))
        else:
            muted = self.muting.is_muted(row.address)
            self.post_message(self.MuteToggled(row.address.host, row.address.port, not muted))

    async def _on_click(self, event: events.Click) -> None:
        row = event.style.meta.get("peer_row")
        if isinstance(row, int) and row < len(self._rows):
            self.cursor = row
            self.action_select()

    def _foreground(self, name: str) -> Style:
        """A component's colour and text style, without its background."""
        style = self.get_component_rich_style(name)
        return Style(color=style.color, bold=style.bold, italic=style.italic)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        index, part = self._lines[line] if line < len(self._lines) else (len(self._rows), 0)
        if not self._rows:
            text = Text("no peers yet" if line == 0 else "", style=base, end="")
            text.stylize(self._foreground("peer-list--empty"))
            return Strip(text.render(self.app.console)).extend_cell_length(width, base)
        if index < 0:  # the title line of the grouped pane
            text = Text(f" by host: {len(self._rows):,} (g: by port)", style=base, end="", no_wrap=True)
            text.stylize(self._foreground("peer-list--detail"))
            return Strip(text.render(self.app.console)).crop_extend(scroll_x, scroll_x + width, base)
        if index >= len(self._rows):
            return Strip.blank(width, base)
        peer = self._rows[index]
        muted = row_muted(peer, self.muting)
        line_style = base + Style.from_meta({"peer_row": index})
        text = Text(no_wrap=True, end="", style=line_style)
        if part == 0:
            group = peer if isinstance(peer, HostGroup) else None
            is_target = self.target is not None and (
                self.target.host == group.host if group is not None else peer.address == self.target
            )
            text.append("▶ " if is_target else "  ", self._foreground("peer-list--target"))
            some_muted = f"  {group.muted_ports:,} muted" if group is not None and group.muted_ports else ""
            muted_tag = "  muted" if muted else some_muted
            tags = (f"  {group.ports_text}" if group is not None else "") + muted_tag
            room = max(10, width - 2 - len(tags))
            label = group.host[:room] if group is not None else fit_address(str(peer.address), room)
            text.append(label, Style(color=peer.colour, bold=is_target))
            if group is not None:
                text.append(f"  {group.ports_text}", self._foreground("peer-list--detail"))
            if muted_tag:
                text.append(muted_tag, self._foreground("peer-list--muted"))
        elif part == 1:
            detail = f"  {peer.last_seen:%H:%M:%S}  in {peer.received}  out {peer.sent}"
            text.append(detail, self._foreground("peer-list--detail"))
            if peer.unread:
                text.append(f"  {peer.unread} new", self._foreground("peer-list--unread"))
        elif isinstance(peer, HostGroup):
            volume = f"  {human_bytes(peer.bytes_in)} in  {human_bytes(peer.bytes_out)} out"
            text.append(volume, self._foreground("peer-list--detail"))
        else:
            text.append(f"  {peer.rtt}", self._foreground("peer-list--detail"))
        if muted:  # a muted row is dimmed, its colours kept
            text.stylize(Style(dim=True))
        if index == self.cursor and self.has_focus:
            # The cursor's background goes over the whole row, after the foreground colours.
            cursor = Style(bgcolor=self.get_component_rich_style("peer-list--cursor").bgcolor)
            text.stylize(cursor)
            line_style += cursor
        strip = Strip(text.render(self.app.console), text.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, line_style)
