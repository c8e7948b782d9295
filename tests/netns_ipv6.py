"""Run inside a private network namespace (`unshare -n`, as root) by `test_multicast_ipv6.py`:
make a veth pair v0/v1 (a real multicast link, which IPv6 groups need and `lo` is not), then
check IPv6 groups end to end (and an IPv4 subnet's broadcast) and print one JSON object of
what was seen.

    unshare -n python tests/netns_ipv6.py
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from udptui.chat.session import ChatSession
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.outgoing import MulticastOptions
from udptui.startup import open_transport

GROUP = "ff02::1:3"
WAIT = 5.0


def make_link() -> None:
    for command in (
        "ip link add v0 type veth peer name v1",
        "ip link set lo up",
        "ip link set v0 up",
        "ip link set v1 up",
    ):
        subprocess.run(command.split(), check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # a fresh link's fe80:: address is tentative until DAD ends
        shown = subprocess.run(["ip", "-6", "addr", "show"], capture_output=True, text=True).stdout
        if shown.count("scope link") >= 2 and "tentative" not in shown:
            return
        time.sleep(0.1)
    raise SystemExit("the veth pair never got its link-local addresses")


def sender(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(interface))
    return sock


def read_record(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    return dict(json.loads(line)) if line else {}


def headless_join_and_leave() -> dict[str, Any]:
    """The real `udptui --jsonl --join ff02::1:3%v0`: the group's datagram, then `/leave`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "udptui", "--listen", "0", "--join", f"{GROUP}%v0", "--jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None and process.stdin is not None
    first = process.stderr.readline().decode()
    port = int(first.split("]:", 1)[1].split(",", 1)[0])  # `... and [::]:PORT, joined ...`
    seen: dict[str, Any] = {"start": first.strip()}
    with sender("v0") as sock:
        sock.sendto(b"to the v6 group", (GROUP, port, 0, socket.if_nametoindex("v0")))
        seen["joined"] = read_record(process)
        process.stdin.write(f"/leave {GROUP}%v0\n".encode())
        process.stdin.flush()
        seen["left"] = read_record(process)
        sock.sendto(b"after leaving", (GROUP, port, 0, socket.if_nametoindex("v0")))
        sock.sendto(b"marker", ("::1", port))
        seen["next"] = read_record(process)
    process.kill()
    process.wait()
    return seen


IPV6_MULTICAST_ALL = 29


def group_listener(interface: str, port: int) -> socket.socket:
    """A plain socket joined to GROUP on `interface`, hearing that interface only."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
    sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
    sock.bind(("::", port))
    index = socket.if_nametoindex(interface)
    request = socket.inet_pton(socket.AF_INET6, GROUP) + index.to_bytes(4, sys.byteorder)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, request)
    sock.settimeout(WAIT)
    return sock


def loop_and_iface(loop: bool) -> dict[str, Any]:
    """udptui's socket (`--iface v0 --ttl 1`, `--loop` or `--no-loop`) sends to the group: a
    listener behind v1 hears it (it left by v0), and one on v0 on this side hears it only
    with `--loop`."""
    here = group_listener("v0", 0)
    port = here.getsockname()[1]
    there = group_listener("v1", port)
    transport = open_transport(Config(multicast=MulticastOptions(ttl=1, loop=loop, interface="v0")))
    try:
        session = ChatSession(transport)
        session.send(b"ours", Address(GROUP, port))  # no scope: --iface picks v0
        heard_there = there.recvfrom(100)[0].decode()
        here.settimeout(0.5)
        try:
            heard_here = here.recvfrom(100)[0].decode()
        except TimeoutError:
            heard_here = ""
    finally:
        transport.close()
        here.close()
        there.close()
    return {"v1 heard": heard_there, "v0 heard": heard_here}


def subnet_broadcast() -> dict[str, Any]:
    """An IPv4 subnet on v0: its broadcast address is known as one, and udptui's first send
    to it turns SO_BROADCAST on; a plain socket bound to 0.0.0.0 hears it."""
    from udptui.net.destinations import read_broadcasts

    subprocess.run(["ip", "addr", "add", "10.9.8.7/24", "dev", "v0"], check=True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
        plain.bind(("0.0.0.0", 0))
        plain.settimeout(WAIT)
        transport = open_transport(Config())
        try:
            result = ChatSession(transport).send(
                b"to the subnet", Address("10.9.8.255", plain.getsockname()[1])
            )
            heard = plain.recvfrom(100)[0].decode()
        finally:
            transport.close()
    return {"known": "10.9.8.255" in read_broadcasts(), "notes": result.notes, "heard": heard}


def main() -> None:
    make_link()
    print(
        json.dumps(
            {
                "headless": headless_join_and_leave(),
                "loop": loop_and_iface(True),
                "no loop": loop_and_iface(False),
                "subnet broadcast": subnet_broadcast(),
            }
        )
    )


if __name__ == "__main__":
    main()
