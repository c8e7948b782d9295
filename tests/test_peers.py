"""The peer roster: counts, unread, ordering by activity, and stable colours."""

from __future__ import annotations

from datetime import datetime, timedelta

from udptui.chat.peers import PEER_COLOURS, PeerRoster, peer_colour
from udptui.net.address import Address

T0 = datetime(2026, 1, 2, 12, 0, 0)
A = Address("127.0.0.1", 5000)
B = Address("::1", 6000)


def test_counts_and_unread() -> None:
    roster = PeerRoster()
    roster.received(A, T0, unread=1)
    roster.received(A, T0, unread=1)
    roster.sent(A, T0)
    peer = roster.get(A)
    assert peer is not None
    assert (peer.received, peer.sent, peer.unread) == (2, 1, 2)
    roster.mark_read(A)
    assert peer.unread == 0


def test_most_recent_first_and_idle_peers_kept_below() -> None:
    roster = PeerRoster()
    roster.received(A, T0, unread=0)
    roster.received(B, T0 + timedelta(seconds=5), unread=0)
    assert [peer.address for peer in roster.ordered()] == [B, A]
    roster.sent(A, T0 + timedelta(seconds=9))
    assert [peer.address for peer in roster.ordered()] == [A, B]
    assert len(roster) == 2


def test_version_changes_with_every_update() -> None:
    roster = PeerRoster()
    before = roster.version
    roster.received(A, T0, unread=0)
    assert roster.version > before


def test_colour_is_stable_and_from_the_palette() -> None:
    assert peer_colour(A) == peer_colour(Address("127.0.0.1", 5000))
    assert peer_colour(A) in PEER_COLOURS
    colours = {peer_colour(Address("127.0.0.1", port)) for port in range(5000, 5100)}
    assert len(colours) > len(PEER_COLOURS) // 2


def test_the_roster_forgets_the_least_recently_seen_beyond_its_limit() -> None:
    roster = PeerRoster(limit=3)
    for port in range(5000, 5004):
        roster.received(Address("127.0.0.1", port), T0 + timedelta(seconds=port - 5000))
    roster.sent(Address("127.0.0.1", 5001), T0 + timedelta(seconds=9))
    roster.received(Address("127.0.0.1", 5009), T0 + timedelta(seconds=10))
    assert [peer.address.port for peer in roster.ordered()] == [5009, 5001, 5003]


def test_long_ipv6_addresses_are_shortened_in_the_middle_keeping_the_port() -> None:
    from udptui.ui.widgets.peer_list import fit_address

    long_address = "[2001:db8:85a3:1234:5678:8a2e:370:7334]:65535"
    short = fit_address(long_address, 29)
    assert len(short) == 29 and short.endswith(":7334]:65535") and "…" in short
    assert fit_address("127.0.0.1:5000", 29) == "127.0.0.1:5000"
