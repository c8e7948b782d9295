"""Memberships and broadcast addresses as interfaces come and go, in a private network
namespace with a veth pair (the work is in `netns_groups.py`, run as `unshare -n`; we are root):

- a group joined on v0, then v0 deleted: `/leave` still leaves it (by the index it was joined
  on) and says the interface is gone; v0 made again (a new index): the group joins again, also
  when the stale membership was never left (it is dropped, and the join says so);
- `/leave ff02::1:3` leaves `ff02::1:3%v0`, the only membership of the group;
- an address on an interface that is down has no broadcast route, and is no broadcast address
  to udptui either: the list is the kernel's `/proc/net/fib_trie`, read once in a namespace
  where nothing else changes.

Nothing is skipped: without `unshare` or `ip` this fails, as CI (which installs iproute2) must not.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import run_in_namespace


@pytest.fixture(scope="module")
def seen() -> dict[str, Any]:
    return run_in_namespace("netns_groups.py")


def test_a_group_on_an_interface_that_went_away_leaves_and_joins_again(seen: dict[str, Any]) -> None:
    assert seen["vanishing"] == {
        "leave gone": "left 239.5.5.5%v0 (its interface is gone)",
        "after leave": [],
        "join back": "joined 239.5.5.5%v0",
        "join again": "joined 239.5.5.5%v0 (the membership on the interface that went away is dropped)",
        "labels": ["239.5.5.5%v0"],
        "ipv6 join": "joined ff02::1:3%v0",
        "ipv6 leave": "left ff02::1:3%v0",
        "ipv6 leave gone": "left ff02::1:3%v0 (its interface is gone)",
        "labels at the end": ["239.5.5.5%v0"],
    }


def test_an_interface_that_is_down_has_no_broadcast_address(seen: dict[str, Any]) -> None:
    found = seen["broadcasts"]["found"]
    assert "10.9.8.255" in found and "10.7.6.255" not in found
    assert found == seen["broadcasts"]["oracle"]
