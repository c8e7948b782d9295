"""Run inside a private network namespace (`unshare -n`, as root) by `test_netns_groups.py`:
memberships on an interface that goes away and comes back, `/leave` of a link-local group
without its interface, and the broadcast addresses of interfaces up and down against the
kernel's own routes (`/proc/net/fib_trie`). Prints one JSON object of what was seen.

    unshare -n python tests/netns_groups.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netns_ipv6 import make_link

from udptui.config import Config
from udptui.net.destinations import read_broadcasts
from udptui.net.groups import GroupError, Memberships, parse_group
from udptui.startup import open_transport


def ip(command: str) -> None:
    subprocess.run(["ip", *command.split()], check=True)


def attempt(call: Any) -> str:
    try:
        return str(call())
    except GroupError as error:
        return f"error: {error}"


def vanishing_interface() -> dict[str, Any]:
    """Join on v0, delete it, leave; make it again (a new index), join again; then delete
    and remake it without a leave, and join once more."""
    seen: dict[str, Any] = {}
    transport = open_transport(Config(listening=True, joins=(parse_group("239.5.5.5%v0"),)))
    groups: Memberships = transport.groups
    try:
        ip("link del v0")
        seen["leave gone"] = attempt(lambda: groups.leave(parse_group("239.5.5.5%v0", leaving=True)))
        seen["after leave"] = list(groups.labels())
        make_link()
        seen["join back"] = attempt(lambda: groups.join(parse_group("239.5.5.5%v0")))
        ip("link del v0")
        make_link()
        seen["join again"] = attempt(lambda: groups.join(parse_group("239.5.5.5%v0")))
        seen["labels"] = list(groups.labels())
        seen["ipv6 join"] = attempt(lambda: groups.join(parse_group("ff02::1:3%v0")))
        seen["ipv6 leave"] = attempt(lambda: groups.leave(parse_group("ff02::1:3", leaving=True)))
        groups.join(parse_group("ff02::1:3%v0"))
        ip("link del v0")
        seen["ipv6 leave gone"] = attempt(lambda: groups.leave(parse_group("ff02::1:3%v0", leaving=True)))
        seen["labels at the end"] = list(groups.labels())
        make_link()
    finally:
        transport.close()
    return seen


def fib_trie_broadcasts() -> set[str]:
    """The kernel's broadcast routes, as `/proc/net/fib_trie` lists them: the oracle."""
    found, last = set(), ""
    with open("/proc/net/fib_trie", encoding="ascii") as trie:
        for line in trie:
            text = line.strip()
            if text.startswith("|-- "):
                last = text[4:]
            elif text.startswith("/32") and "BROADCAST" in text:
                found.add(last)
    return found


def broadcasts() -> dict[str, Any]:
    """v0 up with 10.9.8.7/24, v1 down with 10.7.6.5/24: only v0's broadcast is one."""
    ip("addr add 10.9.8.7/24 dev v0")
    ip("addr add 10.7.6.5/24 dev v1")
    ip("link set v1 down")
    found = read_broadcasts()
    oracle = fib_trie_broadcasts() | {"255.255.255.255"}
    return {"found": sorted(found), "oracle": sorted(oracle)}


def main() -> None:
    make_link()
    print(json.dumps({"vanishing": vanishing_interface(), "broadcasts": broadcasts()}))


if __name__ == "__main__":
    main()
