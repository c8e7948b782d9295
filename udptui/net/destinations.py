"""Where a datagram was addressed: unicast, a multicast group, or a broadcast address; and
what to tell the user when a send to a group or a broadcast address fails.

A received datagram's destination is the one in its IP header (IP_PKTINFO's `ipi_addr`,
IPV6_PKTINFO's `ipi6_addr`), read from the ancillary data only when something draws or
records it. Broadcast addresses are the kernel's own: `255.255.255.255` and those of every
IPv4 address on the machine (`127.255.255.255`, each subnet's), asked of the kernel by
netlink again at most every few seconds.

Nothing here imports Textual.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import socket
import threading
import time

from udptui.net.interfaces import is_up, read_ipv4_addresses

LIMITED_BROADCAST = "255.255.255.255"
REFRESH_SECONDS = 5.0
"""How long the list of broadcast addresses is trusted before the kernel is asked again."""
_V4_MAPPED = bytes(10) + b"\xff\xff"


class _Broadcasts:
    """The machine's IPv4 broadcast addresses, as raw 4-byte values. The first read is done
    in place (at start-up); later ones on a thread of their own, at most every
    REFRESH_SECONDS, so a netlink dump never holds up the caller (the UI thread)."""

    def __init__(self) -> None:
        self.raw: frozenset[bytes] | None = None
        self.read_at = float("-inf")
        self._lock = threading.Lock()
        self._reading = False

    def current(self) -> frozenset[bytes]:
        if self.raw is None:
            self._read()
        known = self.raw
        assert known is not None
        if time.monotonic() - self.read_at >= REFRESH_SECONDS:
            with self._lock:
                start, self._reading = not self._reading, True
            if start:
                threading.Thread(target=self._read, name="udptui-broadcasts", daemon=True).start()
        return known  # the list as it was: the thread's answer is for the next caller

    def _read(self) -> None:
        self.read_at = time.monotonic()
        try:
            self.raw = frozenset(socket.inet_aton(host) for host in read_broadcasts())
        finally:
            with self._lock:
                self._reading = False


def read_broadcasts() -> set[str]:
    """`255.255.255.255` and the broadcast address of every IPv4 address on an interface that
    is up, as the kernel makes its broadcast routes: the subnet's all-ones address (prefixes
    up to /30) and the address's own `brd`. Asked by netlink (RTM_GETADDR): a router's
    routing table, which `/proc/net/fib_trie` would list in full, is never read."""
    found = {LIMITED_BROADCAST}
    up: dict[int, bool] = {}
    for item in read_ipv4_addresses() or ():
        if item.interface not in up:
            up[item.interface] = is_up(item.interface)
        if not up[item.interface]:  # down: the kernel removed its broadcast routes
            continue
        if item.prefix < 31:
            host = int.from_bytes(item.address, "big") | (0xFFFFFFFF >> item.prefix)
            found.add(socket.inet_ntoa(host.to_bytes(4, "big")))
        if item.broadcast:
            found.add(socket.inet_ntoa(item.broadcast))
    return found


BROADCASTS = _Broadcasts()


def is_broadcast(host: str) -> bool:
    """Whether sending to `host` needs SO_BROADCAST (the kernel's list of broadcast addresses)."""
    try:
        raw = socket.inet_aton(host) if "." in host and ":" not in host else b""
    except OSError:
        return False
    return len(raw) == 4 and raw in BROADCASTS.current()


def is_group(host: str) -> bool:
    """Whether `host` is a multicast group (else a broadcast or unicast address)."""
    return _is_multicast(host)


@functools.lru_cache(maxsize=256)
def _is_multicast(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.partition("%")[0]).is_multicast
    except ValueError:
        return False


def special_destination(host: str | None) -> str | None:
    """`host` when it is a multicast group or a broadcast address, else None (unicast, unknown)."""
    if host is None:
        return None
    if _is_multicast(host) or is_broadcast(host):
        return host
    return None


@functools.lru_cache(maxsize=256)
def special_raw(raw: bytes, broadcasts: frozenset[bytes]) -> str | None:
    """`special_destination` of a raw pktinfo address (4 bytes, or 16, perhaps v4-mapped),
    remembered: a flood comes to few addresses."""
    if len(raw) not in (4, 16):  # no pktinfo, or a torn one
        return None
    if len(raw) == 16:
        if raw[0] == 0xFF:
            return socket.inet_ntop(socket.AF_INET6, raw)
        if raw[:12] != _V4_MAPPED:
            return None
        raw = raw[12:]
    if 224 <= raw[0] <= 239 or raw in broadcasts:
        return socket.inet_ntop(socket.AF_INET, raw)
    return None


# -- why a send to a group or a broadcast address failed -------------------------------------

_NO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENODEV, errno.EADDRNOTAVAIL)


def send_advice(error: OSError, host: str, interface: str) -> str | None:
    """What to change when a send to `host` failed with `error`, or None when it is no
    multicast or broadcast matter. `interface` is `--iface` ('' when not given)."""
    code = error.errno
    if code in (errno.EACCES, errno.EPERM) and is_broadcast(host):
        return (
            "the kernel refused a broadcast although SO_BROADCAST is on: "
            "a firewall rule (nft list ruleset, iptables -L OUTPUT) may drop it"
        )
    if not _is_multicast(host):
        return None
    if code in _NO_ROUTE:
        if ":" in host and int(ipaddress.ip_address(host)) >> 112 & 0xF in (1, 2):  # one link's group
            return f"{host} is a link-local group: name its link, as in /to [{host}%eth0]:PORT, or --iface"
        if interface:
            return f"no route to {host} out of {interface}: is {interface} up (ip link set {interface} up)?"
        route = "ip -6 route add ff00::/8 dev IFACE" if ":" in host else "ip route add 224.0.0.0/4 dev IFACE"
        return f"no route to the group: choose the interface with --iface NAME, or add a route: {route}"
    if code == errno.EINVAL and ":" in host and "%" not in host:
        return f"name the interface for {host}: --iface NAME, or /to [{host}%IFACE]:PORT"
    return None
