"""IPv6 groups end to end, in a private network namespace with a veth pair (IPv6 groups need
a multicast link, and `lo` is none): the real `udptui --jsonl --join ff02::1:3%v0` receives a
datagram sent to the group and records `"to": "ff02::1:3"`, and `/leave` stops it; udptui's
socket with `--iface v0` sends out of v0, and `--no-loop` keeps this machine from hearing it;
and an IPv4 subnet on v0 has its broadcast address known, so a send to it turns SO_BROADCAST on.

The work happens in `netns_ipv6.py`, run as `unshare -n` (we are root); it prints what it saw.
Nothing is skipped: without `unshare` or `ip` this fails, as CI (which installs iproute2) must not.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import run_in_namespace


@pytest.fixture(scope="module")
def seen() -> dict[str, Any]:
    return run_in_namespace("netns_ipv6.py")


def test_an_ipv6_group_is_received_marked_and_left(seen: dict[str, Any]) -> None:
    headless = seen["headless"]
    joined = headless["joined"]
    assert (joined["dir"], joined["text"], joined["to"]) == ("in", "to the v6 group", "ff02::1:3")
    assert joined["peer"].startswith("[fe80::") and "%v0]:" in joined["peer"]
    assert headless["left"]["text"] == "left ff02::1:3%v0"
    assert headless["next"]["text"] == "marker" and "to" not in headless["next"]


def test_a_subnets_broadcast_address_turns_so_broadcast_on(seen: dict[str, Any]) -> None:
    assert seen["subnet broadcast"] == {
        "known": True,
        "notes": ["10.9.8.255 is a broadcast address: turned SO_BROADCAST on to send to it"],
        "heard": "to the subnet",
    }


def test_iface_sends_out_of_it_and_loop_decides_whether_we_hear_it(seen: dict[str, Any]) -> None:
    assert seen["loop"] == {"v1 heard": "ours", "v0 heard": "ours"}
    assert seen["no loop"] == {"v1 heard": "ours", "v0 heard": ""}
