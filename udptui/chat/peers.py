"""The roster of every peer seen: last seen, datagrams in and out, unread count, colour."""

from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from udptui.net.address import Address

PEER_COLOURS = (
    "#5fafff",
    "#87d787",
    "#ffaf5f",
    "#d787d7",
    "#5fd7d7",
    "#ffd75f",
    "#ff8787",
    "#afafff",
    "#87d7af",
    "#d7af87",
    "#af87ff",
    "#87afd7",
)
"""Readable on dark and light backgrounds; picked per address by a stable hash."""


def peer_colour(address: Address) -> str:
    """The same address gets the same colour in every run (crc32, not Python's salted hash)."""
    return PEER_COLOURS[zlib.crc32(str(address).encode()) % len(PEER_COLOURS)]


@dataclass
class Peer:
    """What we know of one address."""

    address: Address
    last_seen: datetime
    received: int = 0
    sent: int = 0
    bytes_in: int = 0
    """Bytes received from it, on the wire (a cut datagram counts whole)."""
    bytes_out: int = 0
    unread: int = 0
    """Datagrams received while this peer was not the reply target."""
    rtt: str = ""
    """Round trips to it, `rtt 0.12/0.31/1.2 ms` (min/avg/max of the last 100), or ''."""

    @property
    def colour(self) -> str:
        return peer_colour(self.address)


MAX_PEERS = 10_000
"""Peers the roster remembers; beyond that the least recently seen is forgotten (a /64 of
IPv6 source addresses must not grow memory without bound)."""


class PeerRoster:
    """Every peer seen this session (up to MAX_PEERS), most recently active first."""

    def __init__(self, limit: int = MAX_PEERS) -> None:
        self.limit = limit
        self._peers: OrderedDict[Address, Peer] = OrderedDict()
        """In order of activity, the most recent last: no sorting needed to draw the pane."""
        self.version = 0
        """Bumped on every change, so a view can tell when to redraw."""

    def __len__(self) -> int:
        return len(self._peers)

    def get(self, address: Address) -> Peer | None:
        return self._peers.get(address)

    def _peer(self, address: Address, when: datetime) -> Peer:
        """The peer at `address`, moved to the most recent end (created if new)."""
        peer = self._peers.get(address)
        if peer is None:
            peer = self._peers[address] = Peer(address, when)
            if len(self._peers) > self.limit:
                self._peers.popitem(last=False)
        else:
            self._peers.move_to_end(address)
        return peer

    def received(
        self, address: Address, when: datetime, *, count: int = 1, unread: int = 0, size: int = 0
    ) -> None:
        """`count` datagrams from `address` (`size` bytes), `unread` of them while it was not the target."""
        peer = self._peer(address, when)
        peer.last_seen = when
        peer.received += count
        peer.bytes_in += size
        peer.unread += unread
        self.version += 1

    def sent(self, address: Address, when: datetime, *, count: int = 1, size: int = 0) -> None:
        peer = self._peer(address, when)
        peer.last_seen = when
        peer.sent += count
        peer.bytes_out += size
        self.version += 1

    def mark_read(self, address: Address | None) -> None:
        peer = self._peers.get(address) if address is not None else None
        if peer is not None and peer.unread:
            peer.unread = 0
            self.version += 1

    def ordered(self) -> list[Peer]:
        """Most recently seen first: peers idle for long sink below the active ones."""
        return list(reversed(self._peers.values()))
