"""Multicast and broadcast with real sockets on loopback: joining IPv4 groups on `lo` (a
plain socket sends with IP_MULTICAST_IF 127.0.0.1), leaving them, source-specific joins,
the `→ GROUP` mark, `"to"` in the records, SO_BROADCAST turned on by itself, `--ttl` and
`--no-loop` read back from the socket, and the one-line refusals. IPv6 groups need a real
multicast interface: `test_multicast_ipv6.py` makes one in a private network namespace."""

from __future__ import annotations

import json
import random
import re
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from conftest import (
    Headless,
    Notices,
    fixed_clock,
    start,
    type_line,
    wait_for,
    wait_until,
)
from test_cli import assert_one_line_error, run_udptui

from udptui.chat.datagram import Direction, Entry
from udptui.chat.session import ChatSession
from udptui.chat.store import FreshEntries
from udptui.chat.view import destination_mark, entry_fields
from udptui.config import Config
from udptui.net import destinations
from udptui.net.address import Address
from udptui.net.groups import GroupError, GroupSpec, group_source_req, ip_mreqn, parse_group
from udptui.net.outgoing import MulticastOptions
from udptui.net.transport import SendError, UdpTransport
from udptui.record.batch_records import records_text
from udptui.record.transcript import format_records
from udptui.startup import open_transport
from udptui.ui.app import make_app
from udptui.ui.widgets import ChatHeader

LO = socket.if_nametoindex("lo")


def random_group(prefix: str = "239") -> str:
    """A group no concurrent test run is likely to use."""
    return f"{prefix}.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"


def group_sender(source: str = "127.0.0.1") -> socket.socket:
    """A plain IPv4 socket that sends to groups out of loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    return sock


@pytest.fixture
def sender() -> Iterator[socket.socket]:
    sock = group_sender()
    yield sock
    sock.close()


class Received:
    """A transport's receive loop on a thread, and its datagrams as entries of a session."""

    def __init__(self, transport: UdpTransport) -> None:
        self.transport = transport
        self.session = ChatSession(transport)
        self.thread = threading.Thread(target=transport.run_receiver, daemon=True)
        self.thread.start()

    def entries(self, count: int) -> list[Entry]:
        """The first `count` datagrams received, waiting for them."""

        def arrived() -> bool:
            self.session.ingest(self.transport.take_all())
            return self.session.counters.received >= count

        wait_until(arrived, f"{count} datagrams")
        return [entry for entry in self.session.store if entry.direction is Direction.RECEIVED][:count]

    def close(self) -> None:
        self.transport.stop()
        self.thread.join(timeout=2)
        self.transport.close()


@pytest.fixture
def received() -> Iterator[list[Received]]:
    opened: list[Received] = []
    yield opened
    for item in opened:
        item.close()


class Keeper:
    """A session writer that keeps what it was handed."""

    label = "keeper"

    def __init__(self) -> None:
        self.handed: list[FreshEntries] = []

    def write(self, entries: FreshEntries) -> None:
        self.handed.append(entries)

    def close(self) -> None:
        pass


def listen(opened: list[Received], config: Config) -> Received:
    item = Received(open_transport(config))
    opened.append(item)
    return item


# -- parsing and the kernel's structures ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("239.1.2.3", GroupSpec("239.1.2.3")),
        ("239.1.2.3%lo", GroupSpec("239.1.2.3", "lo")),
        ("239.1.2.3%127.0.0.1", GroupSpec("239.1.2.3", "127.0.0.1")),
        ("10.0.0.5@232.1.1.1", GroupSpec("232.1.1.1", "", "10.0.0.5")),
        ("10.0.0.5@232.1.1.1%lo", GroupSpec("232.1.1.1", "lo", "10.0.0.5")),
        ("ff05::1:3", GroupSpec("ff05::1:3")),
        ("[ff0e::1]", GroupSpec("ff0e::1")),
    ],
)
def test_group_specs_parse(text: str, spec: GroupSpec) -> None:
    assert parse_group(text) == spec
    assert parse_group(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("10.0.0.1", "10.0.0.1 is not a multicast address"),
        ("garbage", "'garbage' is not an IP address"),
        ("239.1.2.3%nosuchif", "no network interface named 'nosuchif'"),
        ("ff02::1:3", "link-local group: name the interface"),
        ("ff02::1:3%lo", "interface lo has no multicast"),
        ("ff05::1%127.0.0.1", "name the interface of an IPv6 group"),
        ("::1@232.1.1.1", "different IP versions"),
        ("", "name a group"),
        ("239.1.2.3%²", "no network interface named '²'"),
        ("239.1.2.3%99999999999999999999", "no network interface with index 99999999999999999999"),
        ("239.1.2.3%a\x00b", "no network interface named 'a\\x00b'"),
        ("239.1.1.1%", "name an interface after %, as in 239.1.1.1%eth0"),
        ("239.1.2.3%10.9.9.9", "no interface has the address 10.9.9.9"),
    ],
)
def test_bad_groups_say_why_in_one_line(text: str, words: str) -> None:
    with pytest.raises(GroupError, match=re.escape(words)) as caught:
        parse_group(text)
    assert "\n" not in str(caught.value)


def test_the_membership_structures_are_laid_out_as_the_kernel_reads_them() -> None:
    assert ip_mreqn("239.1.2.3", "lo", 1) == bytes([239, 1, 2, 3, 0, 0, 0, 0]) + struct.pack("@i", 1)
    request = group_source_req("232.1.1.1", "10.0.0.5", 7)
    pointer = struct.calcsize("P")
    assert len(request) == pointer + 2 * 128  # u32, padding to the sockaddr_storage's alignment
    assert request[pointer : pointer + 8] == struct.pack("@H", socket.AF_INET) + bytes(2) + bytes(
        [232, 1, 1, 1]
    )


# -- joining, receiving, leaving -----------------------------------------------------------------


def test_a_joined_ipv4_group_on_loopback_is_received_and_marked(
    received: list[Received], sender: socket.socket
) -> None:
    group = random_group()
    item = listen(received, Config(listening=True, joins=(parse_group(f"{group}%lo"),)))
    port = item.transport.local_address.port
    assert item.transport.groups.labels() == (f"{group}%lo",)
    sender.sendto(b"to the group", (group, port))
    sender.sendto(b"unicast", ("127.0.0.1", port))
    to_group, unicast = item.entries(2)
    assert to_group.payload == b"to the group"
    assert destination_mark(to_group) == group
    assert destination_mark(unicast) is None
    assert to_group.interface == LO
    fields = dict(entry_fields(to_group, local="here", previous_from_peer=None, scanned_back=True))
    assert fields["sent to"] == f"{group} (multicast group)"
    assert fields["interface"] == f"lo (index {LO})"
    assert "sent to" not in dict(
        entry_fields(unicast, local="here", previous_from_peer=None, scanned_back=True)
    )


def test_leave_stops_delivery(received: list[Received], sender: socket.socket) -> None:
    group = random_group()
    item = listen(received, Config(listening=True))
    port = item.transport.local_address.port
    assert item.transport.groups.join(parse_group(f"{group}%127.0.0.1")) == f"joined {group}%127.0.0.1"
    sender.sendto(b"while joined", (group, port))
    item.entries(1)
    assert item.transport.groups.leave(parse_group(group)) == f"left {group}%127.0.0.1"  # the only one
    sender.sendto(b"after leaving", (group, port))
    sender.sendto(b"marker", ("127.0.0.1", port))  # loopback keeps order: the group's would be first
    assert [entry.payload for entry in item.entries(2)] == [b"while joined", b"marker"]
    with pytest.raises(GroupError, match="not a member"):
        item.transport.groups.leave(parse_group(group))


def test_joining_twice_says_already_joined(received: list[Received]) -> None:
    group = random_group()
    item = listen(received, Config(listening=True, joins=(parse_group(f"{group}%lo"),)))
    with pytest.raises(GroupError, match="already joined"):
        item.transport.groups.join(parse_group(f"{group}%lo"))


def test_a_socket_bound_to_one_unicast_address_refuses_a_join(received: list[Received]) -> None:
    item = listen(received, Config(listening=True, bind_host="127.0.0.1"))
    with pytest.raises(GroupError, match=r"bound to 127\.0\.0\.1, and a socket bound to one unicast address"):
        item.transport.groups.join(parse_group(f"{random_group()}%lo"))


@pytest.mark.parametrize("interface", ["lo", "127.0.0.1"])  # group_source_req, ip_mreq_source
def test_a_source_specific_join_hears_that_source_only(received: list[Received], interface: str) -> None:
    group = random_group("232")
    item = listen(received, Config(listening=True, joins=(parse_group(f"127.0.0.1@{group}%{interface}"),)))
    port = item.transport.local_address.port
    with group_sender("127.0.0.2") as other, group_sender("127.0.0.1") as chosen:
        other.sendto(b"other source", (group, port))
        chosen.sendto(b"chosen source", (group, port))
    assert [entry.payload for entry in item.entries(1)] == [b"chosen source"]
    said = item.transport.groups.leave(parse_group(f"127.0.0.1@{group}"))
    assert said == f"left 127.0.0.1@{group}%{interface}"


def test_records_carry_the_group_both_ways(received: list[Received], sender: socket.socket) -> None:
    """`"to"` on a group's or a broadcast's record, none on a unicast one; the lines read off
    the batch are the lines the entries make."""
    group = random_group()
    item = listen(received, Config(listening=True, joins=(parse_group(f"{group}%lo"),)))
    port = item.transport.local_address.port
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    keeper = Keeper()
    item.session.add_writer(keeper)
    sender.sendto(b"g", (group, port))
    sender.sendto(b"b", ("127.255.255.255", port))
    sender.sendto(b"u", ("127.0.0.1", port))
    item.entries(3)
    text = "".join(records_text(written) for written in keeper.handed)
    assert text == "".join(format_records(list(written.fresh())) for written in keeper.handed)
    records = [json.loads(line) for line in text.splitlines()]
    assert [record.get("to") for record in records] == [group, "127.255.255.255", None]


# -- the app (Pilot) ------------------------------------------------------------------------------


async def test_the_app_shows_joins_marks_the_group_and_leave_works(sender: socket.socket) -> None:
    group = random_group()
    app = make_app(Config(listening=True, joins=(parse_group(f"{group}%lo"),)), clock=fixed_clock)
    async with app.run_test(size=(110, 24)) as pilot:
        port = app.transport.local_address.port
        header = app.query_one(ChatHeader)
        await wait_for(pilot, lambda: header.groups == (f"{group}%lo",), "the group in the header")
        assert f"joined {group}%lo" in header.render().plain
        sender.sendto(b"hello group", (group, port))
        await wait_for(pilot, lambda: app.session.counters.received == 1, "the group's datagram")
        strips = app.screen._compositor.render_strips()
        assert any(f"→ {group}" in strip.text and "hello group" in strip.text for strip in strips)
        await type_line(pilot, app, "/groups")
        await type_line(pilot, app, f"/leave {group}")
        await wait_for(pilot, lambda: header.groups == (), "the header without the group")
        notes = [entry.note for entry in app.session.store if entry.direction is Direction.NOTE]
        assert f"group 1: {group}%lo" in notes
        assert f"left {group}%lo" in notes
        sender.sendto(b"after leaving", (group, port))
        sender.sendto(b"marker", ("127.0.0.1", port))
        await wait_for(pilot, lambda: app.session.counters.received == 2, "the marker")
        payloads = [entry.payload for entry in app.session.store if entry.direction is Direction.RECEIVED]
        assert payloads == [b"hello group", b"marker"]
        await type_line(pilot, app, "/join 10.0.0.1")  # a notice, and the line stays to be fixed
        assert app.query_one("#composer").value == "/join 10.0.0.1"  # type: ignore[attr-defined]


# -- headless: /join and /leave from standard input -----------------------------------------------


def test_headless_join_and_leave_from_standard_input(headless: list[Headless], sender: socket.socket) -> None:
    group = random_group()
    process = start(headless, "--listen", "0", "--jsonl")
    process.type(f"/join {group}%lo")
    assert (
        process.record()["text"]
        == f"joined {group}%lo: datagrams sent to it on port {process.port} arrive here"
    )
    sender.sendto(b"one", (group, process.port))
    record = process.record()
    assert (record["text"], record["to"]) == ("one", group)
    process.type(f"/leave {group}", "/groups", "/join garbage")
    assert process.record()["text"] == f"left {group}%lo"
    assert process.record()["text"] == "no multicast groups joined: /join GROUP joins one"
    assert "'garbage' is not an IP address" in process.record()["text"]
    sender.sendto(b"two", (group, process.port))
    sender.sendto(b"marker", ("127.0.0.1", process.port))
    record = process.record()
    assert record["text"] == "marker" and "to" not in record


# -- sending: broadcast, TTL, loop, interface -------------------------------------------------------


def test_a_broadcast_turns_so_broadcast_on_and_says_so_once(received: list[Received]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
        plain.bind(("0.0.0.0", 0))
        plain.settimeout(5)
        item = listen(received, Config(listening=True))
        session, transport = item.session, item.transport
        to = Address("127.255.255.255", plain.getsockname()[1])
        assert not transport.sock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
        first = session.send(b"everyone", to)
        assert first.notices() == [
            ("Broadcast", "127.255.255.255 is a broadcast address: turned SO_BROADCAST on to send to it")
        ]
        assert plain.recvfrom(100)[0] == b"everyone"
        assert transport.sock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
        assert session.send(b"again", to).notices() == []
        assert plain.recvfrom(100)[0] == b"again"


def test_the_headless_peer_can_be_a_broadcast_address(headless: list[Headless]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
        plain.bind(("0.0.0.0", 0))
        plain.settimeout(5)
        process = start(headless, "--peer", f"127.255.255.255:{plain.getsockname()[1]}", "--jsonl")
        process.type("hello all")
        assert process.record()["text"] == "hello all"
        assert "turned SO_BROADCAST on" in process.record()["text"]
        assert plain.recvfrom(100)[0] == b"hello all"


def test_ttl_loop_and_iface_are_set_on_the_socket(received: list[Received]) -> None:
    options = MulticastOptions(ttl=7, loop=False, interface="lo")
    sock = listen(received, Config(listening=True, multicast=options)).transport.sock
    assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 7
    assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS) == 7
    assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 0
    assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP) == 0
    assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF) == LO


def test_a_multicast_send_without_a_route_says_what_to_change() -> None:
    """In a network namespace of its own (lo down, no routes), a send to a group has no route."""
    code = (
        "from udptui.net.transport import UdpTransport, SendError\n"
        "from udptui.net.address import Address\n"
        "t = UdpTransport.open()\n"
        "from udptui.chat.sending import repeat_sender\n"
        "for host in ('239.1.2.3', 'ff05::1:3', 'ff02::1:3'):\n"
        "    try:\n"
        "        t.send(b'x', Address(host, 5000))\n"
        "    except SendError as error:\n"
        "        print(error)\n"
        "try:\n"
        "    repeat_sender(t, Address('239.1.2.3', 5000))(b'x')\n"
        "except SendError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    ipv4, ipv6, link_local, repeated = result.stdout.splitlines()
    assert repeated == ipv4  # `/repeat`'s further sends get the same advice
    assert ipv4.startswith("not sent to 239.1.2.3:5000: Network is unreachable; no route to the group")
    assert "--iface NAME" in ipv4 and "ip route add 224.0.0.0/4 dev IFACE" in ipv4
    assert ipv6.startswith("not sent to [ff05::1:3]:5000: ") and "ip -6 route add ff00::/8 dev IFACE" in ipv6
    assert "ff02::1:3 is a link-local group: name its link, as in /to [ff02::1:3%eth0]:PORT" in link_local


# -- start-up refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--listen", "0", "--join", "10.0.0.1"), "10.0.0.1 is not a multicast address"),
        (("--listen", "0", "--join", "239.1.2.3%nosuchif"), "no network interface named 'nosuchif'"),
        (("--listen", "0", "--join", "garbage"), "'garbage' is not an IP address"),
        (("--listen", "0", "--iface", "nosuchif"), "--iface: no network interface named 'nosuchif'"),
        (("--peer", "239.1.2.3:5000", "--join", "239.1.2.3"), "--join and /join need --listen PORT"),
        (("--join", "239.1.2.3"), "--join and /join need --listen PORT"),
        (("--listen", "0", "--join", "239.1.2.3%²"), "no network interface named '²'"),
        (("--listen", "0", "--join", "239.1.2.3%99999999999999999999"), "no network interface with index"),
        (("--listen", "0", "--join", "239.1.1.1%"), "name an interface after %"),
        (("--listen", "0", "--iface", "99999999999999999999"), "--iface: no network interface with index"),
        (("--listen", "0", "--iface", "²"), "--iface: no network interface named '²'"),
        (("--listen", "0", "--iface", ""), "--iface: name an interface"),
        (("--listen", "0", "--loop", "--no-loop"), "--loop/--no-loop is given more than once"),
        (("--listen", "0", "--join", "239.1.2.3%10.9.9.9"), "no interface has the address 10.9.9.9"),
        (("--listen", "0", "--bind", "127.0.0.1", "--join", "239.1.2.3"), "leave --bind out"),
        (("--listen", "0", "--bind", "0.0.0.0", "--join", "ff05::1:3"), "this socket is IPv4 only"),
        (("--listen", "0", "--ttl", "256"), "256 is out of range"),
    ],
)
def test_bad_joins_and_interfaces_exit_2_with_one_line(args: tuple[str, ...], words: str) -> None:
    assert_one_line_error(run_udptui(*args), words)


def test_join_may_be_given_many_times(headless: list[Headless]) -> None:
    first, second = random_group(), random_group()
    process = start(headless, "--listen", "0", "--join", f"{first}%lo", "--join", f"{second}%lo", "--jsonl")
    process.type("/groups")
    assert [process.record()["text"], process.record()["text"]] == [
        f"group 1: {first}%lo",
        f"group 2: {second}%lo",
    ]


def test_broadcast_addresses_come_from_the_kernel() -> None:
    """Compared with the kernel's own broadcast routes in `test_netns_groups.py`, where no
    other program changes the addresses between the two reads."""
    found = destinations.read_broadcasts()
    assert {"255.255.255.255", "127.255.255.255"} <= found
    assert destinations.special_destination("127.255.255.255") == "127.255.255.255"
    assert destinations.special_destination("127.0.0.1") is None
    assert destinations.special_destination("ff02::1") == "ff02::1"


def _cmsg(level: int, kind: int, data: bytes) -> bytes:
    header = struct.pack("@Nii", struct.calcsize("@Nii") + len(data), level, kind)
    raw = header + data
    return raw + bytes(-len(raw) % struct.calcsize("N"))


def test_destinations_read_in_place_match_the_parsed_ones() -> None:
    """recvmmsg's control bytes, the pktinfo in its usual place or moved by a drop counter
    that came in mid-batch: read in place, each gives what parsing it whole gives."""
    from udptui.net.batch import IPV6_PKTINFO, SO_RXQ_OVFL, SO_TIMESTAMPNS, RecvBatch, local_host

    def pktinfo(host: str) -> bytes:
        mapped = socket.inet_pton(socket.AF_INET6, host if ":" in host else f"::ffff:{host}")
        return _cmsg(socket.IPPROTO_IPV6, IPV6_PKTINFO, mapped + struct.pack("@I", LO))

    stamp = _cmsg(socket.SOL_SOCKET, SO_TIMESTAMPNS, bytes(16))
    drops = _cmsg(socket.SOL_SOCKET, SO_RXQ_OVFL, struct.pack("=I", 3))
    hosts = ["127.0.0.1", "239.1.2.3", "127.255.255.255", "::1", "ff02::fb", "10.0.0.255", "192.0.2.9"]
    messages = [
        stamp + pktinfo(host) if number < 3 else stamp + drops + pktinfo(host)
        for number, host in enumerate(hosts)
    ]
    size = max(map(len, messages))
    controls = b"".join(message + bytes(size - len(message)) for message in messages)
    batch = RecvBatch(
        [b"x"] * len(hosts),
        [b""] * len(hosts),
        controls=controls,
        control_size=size,
        control_lens=list(map(len, messages)),
    )
    broadcasts = destinations.BROADCASTS.current()
    expected = {
        index: host
        for index, host in enumerate(hosts)
        if destinations.special_destination(local_host(batch.ancillary(index))) is not None
    }
    # 10.0.0.255 and 192.0.2.9 depend on this machine's networks; these do not:
    assert {1: "239.1.2.3", 2: "127.255.255.255", 4: "ff02::fb"}.items() <= expected.items()
    assert 0 not in expected and 3 not in expected
    assert batch.special_destinations(broadcasts) == expected
    unicast = RecvBatch([b"x"] * 2, [b""] * 2, controls=messages[0] * 2, control_size=len(messages[0]))
    assert unicast.special_destinations(broadcasts) == {}


async def test_the_app_says_once_that_it_turned_so_broadcast_on() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
        plain.bind(("0.0.0.0", 0))
        plain.settimeout(5)
        target = Address("127.255.255.255", plain.getsockname()[1])
        app = make_app(Config(peer=target), clock=fixed_clock)
        notices = Notices()
        async with app.run_test(message_hook=notices) as pilot:
            await type_line(pilot, app, "hello all")
            await type_line(pilot, app, "again")
            await wait_for(pilot, lambda: app.session.counters.sent == 2, "two sends")
            [said] = notices.matching("SO_BROADCAST")
            assert said.notification.title == "Broadcast"
            assert said.notification.message == (
                "127.255.255.255 is a broadcast address: turned SO_BROADCAST on to send to it"
            )
        assert [plain.recvfrom(100)[0], plain.recvfrom(100)[0]] == [b"hello all", b"again"]


@pytest.mark.parametrize("ipv6", [False, True])
def test_a_message_without_pktinfo_leaves_the_next_ones_marks_alone(ipv6: bool) -> None:
    """[unicast, a drop count only (no pktinfo), a group]: the group's message is marked (the
    one without pktinfo once made the later ones read zero-length addresses)."""
    from udptui.net.batch import IP_PKTINFO, IPV6_PKTINFO, SO_RXQ_OVFL, SO_TIMESTAMPNS, RecvBatch

    def pktinfo(host: str) -> bytes:
        if ipv6:
            mapped = socket.inet_pton(socket.AF_INET6, f"::ffff:{host}")
            return _cmsg(socket.IPPROTO_IPV6, IPV6_PKTINFO, mapped + struct.pack("@I", LO))
        raw = struct.pack("@i", LO) + socket.inet_aton(host) + socket.inet_aton(host)
        return _cmsg(socket.IPPROTO_IP, IP_PKTINFO, raw)

    stamp = _cmsg(socket.SOL_SOCKET, SO_TIMESTAMPNS, bytes(16))
    drops = _cmsg(socket.SOL_SOCKET, SO_RXQ_OVFL, struct.pack("=I", 3))
    messages = [stamp + pktinfo("127.0.0.1"), stamp + drops, stamp + pktinfo("239.1.2.3")]
    size = max(map(len, messages))
    batch = RecvBatch(
        [b"x"] * 3,
        [b""] * 3,
        controls=b"".join(message + bytes(size - len(message)) for message in messages),
        control_size=size,
        control_lens=list(map(len, messages)),
    )
    assert batch.special_destinations(destinations.BROADCASTS.current()) == {2: "239.1.2.3"}
    assert destinations.special_raw(b"", frozenset()) is None


# -- which membership a /join or /leave means ---------------------------------------------------


def test_any_source_and_source_specific_of_one_group_on_one_interface_do_not_mix(
    received: list[Received], sender: socket.socket
) -> None:
    """The kernel keeps one filter per group and interface on a socket: refused in both orders,
    and the any-source membership still hears every sender and leaves cleanly."""
    group = random_group("232")
    item = listen(received, Config(listening=True, joins=(parse_group(f"{group}%lo"),)))
    groups = item.transport.groups
    with pytest.raises(GroupError, match="cannot mix any-source and source-specific") as caught:
        groups.join(parse_group(f"127.0.0.1@{group}%lo"))
    assert f"/leave {group}%lo first" in str(caught.value)
    assert groups.leave(parse_group(f"{group}%lo")) == f"left {group}%lo"
    assert groups.join(parse_group(f"127.0.0.1@{group}%1")) == f"joined 127.0.0.1@{group}%1"
    with pytest.raises(GroupError, match="cannot mix"):
        groups.join(parse_group(f"{group}%lo"))  # `%lo` and `%1` are one interface
    assert groups.labels() == (f"127.0.0.1@{group}%1",)
    sender.sendto(b"from the source", (group, item.transport.local_address.port))
    assert [entry.payload for entry in item.entries(1)] == [b"from the source"]


def test_leave_finds_the_membership_by_index_or_the_only_one_that_fits(received: list[Received]) -> None:
    group, other = random_group("232"), random_group("232")
    item = listen(received, Config(listening=True))
    groups = item.transport.groups
    groups.join(parse_group(f"{group}%lo"))
    assert groups.leave(parse_group(f"{group}%1", leaving=True)) == f"left {group}%lo"
    groups.join(parse_group(f"127.0.0.1@{group}%lo"))
    assert groups.leave(parse_group(group, leaving=True)) == f"left 127.0.0.1@{group}%lo"
    groups.join(parse_group(f"127.0.0.1@{other}%lo"))
    groups.join(parse_group(f"127.0.0.2@{other}%lo"))
    with pytest.raises(GroupError) as caught:
        groups.leave(parse_group(other, leaving=True))
    assert str(caught.value) == (
        f"{other} fits more than one membership: name which, "
        f"/leave 127.0.0.1@{other}%lo or /leave 127.0.0.2@{other}%lo"
    )


def test_headless_join_refuses_hostile_interfaces_and_peer_mode(headless: list[Headless]) -> None:
    """A `²`, a 20-digit index, an empty interface: each a one-line notice, and udptui goes on;
    peer mode's socket refuses `/join` as `--join` without `--listen` is refused."""
    listening = start(headless, "--listen", "0", "--jsonl")
    listening.type(
        "/join 239.1.2.3%\u00b2", "/join 239.1.2.3%99999999999999999999", "/join 239.1.1.2%", "/groups"
    )
    texts = [listening.record()["text"] for _ in range(4)]
    assert texts == [
        "/join: no network interface named '\u00b2' (see: ip link)",
        "/join: no network interface with index 99999999999999999999 (see: ip link)",
        "/join: bad group '239.1.1.2%': name an interface after %, as in 239.1.1.2%eth0",
        "no multicast groups joined: /join GROUP joins one",
    ]
    peer = start(headless, "--peer", "127.0.0.1:9", "--jsonl")
    peer.type("/join 239.1.2.3%lo")
    assert peer.record()["text"] == (
        "cannot join 239.1.2.3%lo: --join and /join need --listen PORT: datagrams to a group go "
        "to a port senders know (start udptui with --listen PORT)"
    )


def test_the_headless_banner_lists_the_groups(headless: list[Headless]) -> None:
    group = random_group()
    process = start(headless, "--listen", "0", "--join", f"{group}%lo", "--jsonl")
    assert process.banner.endswith(f":{process.port}, joined {group}%lo")


def test_listen_with_join_shares_its_port_with_another_listener(
    headless: list[Headless], sender: socket.socket
) -> None:
    """Like avahi on 5353: a plain socket with SO_REUSEADDR holds the port first, udptui
    `--listen PORT --join GROUP` still starts on it, and both hear the group's datagram."""
    group = random_group()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("0.0.0.0", 0))
        holder.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, ip_mreqn(group, "", LO))
        holder.settimeout(5)
        port = holder.getsockname()[1]
        process = start(headless, "--listen", str(port), "--join", f"{group}%lo", "--jsonl")
        assert process.port == port
        sender.sendto(b"to both", (group, port))
        assert process.record()["text"] == "to both"
        assert holder.recvfrom(100)[0] == b"to both"


def test_a_broadcast_the_socket_cannot_allow_is_a_send_error() -> None:
    """SO_BROADCAST refused (here: the socket is closed under it) is a SendError, not an OSError."""
    transport = UdpTransport.open(bind_host="127.0.0.1")
    transport.sock.close()
    with pytest.raises(SendError, match="is a broadcast address, and the kernel refused SO_BROADCAST"):
        transport.send(b"x", Address("127.255.255.255", 9))
    transport.close()


def test_a_stale_broadcast_list_is_read_again_off_the_callers_thread() -> None:
    """The UI thread asks on every draw and send: past REFRESH_SECONDS it gets the list it
    had at once, and a thread of its own asks the kernel (a netlink dump never holds it up)."""
    broadcasts = destinations._Broadcasts()
    first = broadcasts.current()  # the first read, in place (at start-up)
    assert socket.inet_aton("127.255.255.255") in first
    broadcasts.read_at = float("-inf")
    assert broadcasts.current() is first
    wait_until(lambda: broadcasts.raw is not first, "the list read again")
    assert broadcasts.raw == first


async def test_the_header_at_80_columns_keeps_the_count_of_groups() -> None:
    """At 80 columns the group's address does not fit beside a peer: `joined 1 group` does,
    with two spaces between the parts."""
    group = "239.255.255.250"
    config = Config(listening=True, joins=(parse_group(f"{group}%lo"),), peer=Address("127.0.0.1", 47999))
    app = make_app(config, clock=fixed_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        header = app.query_one(ChatHeader)
        await wait_for(pilot, lambda: header.groups == (f"{group}%lo",), "the group in the header")
        text = header.render().plain
        assert "  joined 1 group  peer 127.0.0.1:47999  follow" in text, text
        assert "   " not in text.strip()


def test_help_tells_the_receive_buffers_real_default() -> None:
    result = run_udptui("--help")
    assert "(default 64M)" in " ".join(result.stdout.split())


def test_groups_names_the_interface_a_default_join_landed_on(received: list[Received]) -> None:
    """`ip route get GROUP` is the oracle: the kernel joins where the routing table points."""
    group = random_group()
    item = listen(
        received, Config(listening=True, joins=(parse_group(group), parse_group(f"{random_group()}%lo")))
    )
    route = subprocess.run(["ip", "route", "get", group], capture_output=True, text=True, check=True).stdout
    device = route.split(" dev ", 1)[1].split()[0]
    described = item.transport.groups.described()
    assert described[0] == f"{group} (on {device}, the routing table's choice)"
    assert described[1].endswith("%lo")
    assert item.transport.groups.leave(parse_group(group, leaving=True)) == f"left {group}"
