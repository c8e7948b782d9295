"""How datagrams to a group leave: `--ttl` (hop limit on IPv6), `--loop/--no-loop` and
`--iface`, set once on the socket for IPv4 and IPv6 alike (a dual-stack socket sends IPv4
groups with the IPPROTO_IP options, IPv6 ones with the IPPROTO_IPV6 ones).

Nothing here imports Textual.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from udptui.net.groups import GroupError, interface_index


@dataclass(frozen=True)
class MulticastOptions:
    """What the command line asked for; None leaves the kernel's default (TTL 1, loop on,
    the interface the routing table picks)."""

    ttl: int | None = None
    loop: bool | None = None
    interface: str = ""
    """`--iface NAME`: the interface datagrams to a group leave by."""

    @property
    def is_default(self) -> bool:
        return self.ttl is None and self.loop is None and not self.interface


def check_interface(name: str) -> int:
    """The index of `--iface NAME`; `GroupError` (one line) when there is no such interface."""
    return interface_index(name)


def apply(sock: socket.socket, options: MulticastOptions) -> None:
    """Set the options on `sock`; `GroupError` with one line when the kernel refuses one."""
    if options.is_default:
        return
    ipv6 = sock.family == socket.AF_INET6
    ipv4 = not ipv6 or not sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
    calls: list[tuple[str, int, int, int | bytes]] = []
    if options.ttl is not None:
        if ipv4:
            calls.append(("--ttl", socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, options.ttl))
        if ipv6:
            calls.append(("--ttl", socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, options.ttl))
    if options.loop is not None:
        if ipv4:
            calls.append(("--loop", socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(options.loop)))
        if ipv6:
            calls.append(("--loop", socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, int(options.loop)))
    if options.interface:
        index = check_interface(options.interface)
        if ipv4:  # struct ip_mreqn: no group, no address, the interface's index
            mreqn = bytes(8) + struct.pack("@i", index)
            calls.append(("--iface", socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn))
        if ipv6:
            calls.append(("--iface", socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index))
    for flag, level, option, value in calls:
        try:
            sock.setsockopt(level, option, value)
        except OSError as error:
            raise GroupError(f"{flag}: the kernel refused it: {error.strerror or error}") from None
