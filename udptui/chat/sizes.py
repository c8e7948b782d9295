"""What a sent datagram's size risks on real networks: the tutorial's ~500-byte advice, exact."""

from __future__ import annotations

from udptui.net.transport import ETHERNET_PAYLOAD, SAFE_PAYLOAD


def size_warnings(size: int, ipv6: bool) -> list[str]:
    """What a sent size risks on real networks (the tutorial's ~500-byte advice, made exact)."""
    if size > ETHERNET_PAYLOAD[ipv6]:
        return [
            f"sent {size} bytes: over {ETHERNET_PAYLOAD[ipv6]}, it will be fragmented on an "
            "Ethernet path, and is lost if any fragment is"
        ]
    if size > SAFE_PAYLOAD[ipv6]:
        return [f"sent {size} bytes: over {SAFE_PAYLOAD[ipv6]}, it may be dropped on some paths"]
    return []
