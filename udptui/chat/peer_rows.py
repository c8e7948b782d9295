"""The rows of the peers pane: one per address, or one per host (IP) when grouped.

syslog, StatsD and `dig` send every datagram from a new source port, so a host can fill the
pane with one-datagram peers. Grouped by host, each host is one row with its ports counted
and its datagrams summed. A host muted as a whole is one row even when the pane is by port:
it was muted so as not to be seen. Nothing here knows Textual.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime

from udptui.chat.muting import Muting
from udptui.chat.peers import PEER_COLOURS, Peer
from udptui.net.address import Address


@dataclass
class HostGroup:
    """Every port seen of one host, most recently active first."""

    host: str
    peers: list[Peer] = field(default_factory=list)
    muted: bool = False
    muted_ports: int = 0
    """Ports of it muted one by one (its host not muted as a whole)."""

    @property
    def address(self) -> Address:
        """What choosing the row replies to: the port that was active last."""
        return self.peers[0].address

    @property
    def last_seen(self) -> datetime:
        return self.peers[0].last_seen

    @property
    def received(self) -> int:
        return sum(peer.received for peer in self.peers)

    @property
    def sent(self) -> int:
        return sum(peer.sent for peer in self.peers)

    @property
    def bytes_in(self) -> int:
        return sum(peer.bytes_in for peer in self.peers)

    @property
    def bytes_out(self) -> int:
        return sum(peer.bytes_out for peer in self.peers)

    @property
    def unread(self) -> int:
        return sum(peer.unread for peer in self.peers)

    @property
    def colour(self) -> str:
        return PEER_COLOURS[zlib.crc32(self.host.encode()) % len(PEER_COLOURS)]

    @property
    def ports_text(self) -> str:
        count = len(self.peers)
        return f"{count:,} port" if count == 1 else f"{count:,} ports"


PeerRow = Peer | HostGroup


def row_key(row: PeerRow) -> Address | str:
    """What a row stands for, so the cursor stays on it when the rows change: an address, or a host."""
    return row.host if isinstance(row, HostGroup) else row.address


def row_host(row: PeerRow) -> str:
    return row.host if isinstance(row, HostGroup) else row.address.host


def peer_rows(peers: list[Peer], *, by_host: bool, muting: Muting) -> list[PeerRow]:
    """The pane's rows from the roster (most recent first): peers, or hosts when `by_host`;
    a host muted as a whole is one row either way, where its most recent port would be."""
    if not by_host and not muting.hosts:
        return list(peers)
    rows: list[PeerRow] = []
    groups: dict[str, HostGroup] = {}
    for peer in peers:
        host = peer.address.host
        if not by_host and host not in muting.hosts:
            rows.append(peer)
            continue
        group = groups.get(host)
        if group is None:
            group = groups[host] = HostGroup(host, muted=muting.host_muted(host))
            rows.append(group)
        group.peers.append(peer)
        if muting.addresses and not group.muted and peer.address in muting.addresses:
            group.muted_ports += 1
    return rows


def row_muted(row: PeerRow, muting: Muting) -> bool:
    """Whether the row's datagrams are hidden: its host, or (a port's row) its address, muted."""
    if isinstance(row, HostGroup):
        return row.muted
    return muting.is_muted(row.address)
