"""The peers pane: every address seen, newest activity first; choose one to reply to.

Drawn with the line API, two lines per peer, so a thousand peers cost what the visible
ones cost.
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

from udptui.address import Address
from udptui.peers import Peer, PeerRoster

LINES_PER_PEER = 2
"""Lines per peer; a third shows its round trips once there are some."""


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
    ]

    COMPONENT_CLASSES = {
        "peer-list--cursor",
        "peer-list--target",
        "peer-list--detail",
        "peer-list--unread",
        "peer-list--empty",
    }

    cursor: reactive[int] = reactive(0)
    target: reactive[Address | None] = reactive(None)

    @dataclass
    class Selected(Message):
        """The user chose a peer to reply to."""

        peer_list: PeerList
        address: Address

        @property
        def control(self) -> PeerList:
            return self.peer_list

    def __init__(self, roster: PeerRoster, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.roster = roster
        self._rows: list[Peer] = []
        self._lines: list[tuple[int, int]] = []
        """(peer index, part) for every line: 0 the address, 1 the counts, 2 round trips if any."""
        self._tops: list[int] = []
        """The first line of each peer."""
        self._seen_version = -1
        self._cursor_address: Address | None = None

    def refresh_peers(self) -> None:
        """Re-read the roster if it changed, keeping the cursor on the same peer."""
        if self.roster.version == self._seen_version:
            return
        self._seen_version = self.roster.version
        self._rows = self.roster.ordered()
        if self._cursor_address is not None:
            for index, peer in enumerate(self._rows):
                if peer.address == self._cursor_address:
                    self.set_reactive(PeerList.cursor, index)
                    break
        self._lines, self._tops = [], []
        for index, peer in enumerate(self._rows):
            self._tops.append(len(self._lines))
            parts = LINES_PER_PEER + 1 if peer.rtt else LINES_PER_PEER
            self._lines += [(index, part) for part in range(parts)]
        self.virtual_size = Size(self.size.width, len(self._lines))
        self.refresh()

    def watch_cursor(self, cursor: int) -> None:
        if self._rows:
            self._cursor_address = self._rows[cursor].address
            self.scroll_to_region_of(cursor)
        self.refresh()

    def watch_target(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()  # the cursor row is drawn only while the pane has focus

    def on_blur(self) -> None:
        self.refresh()

    def scroll_to_region_of(self, index: int) -> None:
        if index >= len(self._tops):
            return
        top = self._tops[index]
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
            self.post_message(self.Selected(self, self._rows[self.cursor].address))

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
        if index >= len(self._rows):
            return Strip.blank(width, base)
        peer = self._rows[index]
        line_style = base + Style.from_meta({"peer_row": index})
        text = Text(no_wrap=True, end="", style=line_style)
        if part == 0:
            is_target = peer.address == self.target
            text.append("▶ " if is_target else "  ", self._foreground("peer-list--target"))
            label = fit_address(str(peer.address), width - 2)
            text.append(label, Style(color=peer.colour, bold=is_target))
        elif part == 1:
            detail = f"  {peer.last_seen:%H:%M:%S}  in {peer.received}  out {peer.sent}"
            text.append(detail, self._foreground("peer-list--detail"))
            if peer.unread:
                text.append(f"  {peer.unread} new", self._foreground("peer-list--unread"))
        else:
            text.append(f"  {peer.rtt}", self._foreground("peer-list--detail"))
        if index == self.cursor and self.has_focus:
            # The cursor's background goes over the whole row, after the foreground colours.
            cursor = Style(bgcolor=self.get_component_rich_style("peer-list--cursor").bgcolor)
            text.stylize(cursor)
            line_style += cursor
        strip = Strip(text.render(self.app.console), text.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, line_style)
