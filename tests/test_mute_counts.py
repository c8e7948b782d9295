"""What a mute hides, said truly: `muted N` is the datagrams the log hides now (in the
scrollback, from a sender muted now), the notices name what they changed, the cursor keeps
following a flood bigger than the scrollback while a mute is on, and the peers pane and the
inspector line up. Pilot with real sockets on loopback; the pure parts on their own.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress

import pytest
from conftest import Notices, address_of, receive_from, type_line, udp_socket, wait_for
from test_app_mute import shown
from test_app_peers import WIDE, TickingClock, build, pane_lines

from udptui.chat.datagram import Direction
from udptui.chat.muting import MuteError, Muting, parse_mute_spec
from udptui.chat.session import ChatSession
from udptui.config import Config
from udptui.net.address import Address, interface_name
from udptui.net.batch import RecvBatch
from udptui.net.transport import UdpTransport
from udptui.ui.widgets import ChatLog, Composer, Inspector, PeerList, StatusBar

OpenTransport = Callable[..., UdpTransport]


def status(app: object) -> str:
    return str(app.query_one(StatusBar).render())  # type: ignore[attr-defined]


@pytest.fixture
def hosts() -> Iterator[list[socket.socket]]:
    """Twelve senders, one on each of 127.0.0.2 to 127.0.0.13: more host rows than fit."""
    with ExitStack() as stack:
        yield [stack.enter_context(udp_socket(f"127.0.0.{number}")) for number in range(2, 14)]


async def test_muted_n_counts_what_is_hidden_now_and_goes_when_nothing_is_muted(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    """The tester's case: a host muted with `m` after it wrote, then `/unmute`; and the
    scrollback letting hidden datagrams go takes them off the count."""
    app = build(open_transport, Config(listening=True, scrollback=30), clock=TickingClock())
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, stranger, *[b"noise %d" % number for number in range(10)])
        await receive_from(pilot, app, peer, b"hello")
        pane = app.query_one(PeerList)
        pane.focus()
        await pilot.press("g", "m")  # the one host row: 127.0.0.1, both senders
        await pilot.pause()
        assert app.session.muting.hosts == {"127.0.0.1"}
        assert "muted 11" in status(app)  # every datagram it sent before the mute, now hidden
        app.query_one(Composer).focus()
        await type_line(pilot, app, "/unmute 127.0.0.1")
        assert "muted" not in status(app)
        await type_line(pilot, app, f"/mute {address_of(stranger)}")
        assert "muted 10" in status(app)
        await receive_from(pilot, app, peer, *[b"p%d" % number for number in range(25)])
        await pilot.pause()
        # 10 + 1 + the notes and 25: the oldest let go, the stranger's among them.
        held = [entry for entry in app.session.store if entry.peer == address_of(stranger)]
        assert f"muted {len(held)}" in status(app) and len(held) < 10


async def test_the_cursor_on_the_newest_follows_a_flood_bigger_than_the_scrollback_while_muted(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    """One take lets every row on show go: the newest shown before it is read from the runs,
    not from the store (whose negative index was another entry)."""
    app = build(open_transport, Config(listening=True, scrollback=20))
    async with app.run_test(size=WIDE) as pilot:
        await type_line(pilot, app, f"/mute {address_of(stranger)}")
        await receive_from(pilot, app, peer, b"first", b"second")
        log = app.query_one(ChatLog)
        log.focus()
        await pilot.press("end")
        assert log.selected == log.newest_seq
        for round_ in range(3):
            await receive_from(pilot, app, peer, *[b"flood %d %d" % (round_, n) for n in range(200)])
            await pilot.pause()
            assert log._runs is not None
            assert log.selected == log.newest_seq == app.session.store[len(app.session.store) - 1].seq
            assert shown(app)[-1] == b"flood %d 199" % round_


async def test_home_in_the_pane_by_host_keeps_its_title_line(
    open_transport: OpenTransport, hosts: list[socket.socket]
) -> None:
    app = build(open_transport, clock=TickingClock())
    async with app.run_test(size=WIDE) as pilot:
        for sock in hosts:
            await receive_from(pilot, app, sock, b"hi")
        pane = app.query_one(PeerList)
        pane.focus()
        await pilot.press("g", "end")
        await pilot.pause()
        assert pane.scroll_y > 0
        await pilot.press("home")
        await pilot.pause()
        assert pane.cursor == 0 and pane.scroll_y == 0
        assert pane_lines(app, 1)[0].strip().startswith("by host: 12")


async def test_a_host_with_some_ports_muted_says_how_many_and_unmute_names_them(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport, clock=TickingClock())
    notices = Notices()
    async with app.run_test(size=WIDE, message_hook=notices) as pilot:
        await receive_from(pilot, app, peer, b"a")
        await receive_from(pilot, app, stranger, b"b")
        await type_line(pilot, app, f"/mute {address_of(stranger)}")
        app.query_one(PeerList).focus()
        await pilot.press("g")
        await pilot.pause()
        assert pane_lines(app, 2)[1].rstrip().endswith("127.0.0.1  2 ports  1 muted")
        app.query_one(Composer).focus()
        await type_line(pilot, app, "/unmute 127.0.0.1")
        assert notices.matching(f"unmuted {address_of(stranger)}")
        assert pane_lines(app, 2)[1].rstrip().endswith("127.0.0.1  2 ports")


async def test_muting_the_reply_target_says_replies_still_go_there(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"hello")
        await type_line(pilot, app, f"/mute {address_of(peer)}")
        said = app.session.store[len(app.session.store) - 1].decoded.plain
        assert said.endswith(f"replies still go to {address_of(peer)} until you choose another peer")
        assert "never the reply target" not in said
        assert app.session.target == address_of(peer)


async def test_the_longest_inspector_label_stands_apart_from_its_value(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport, Config(peer=address_of(peer)))
    async with app.run_test(size=WIDE) as pilot:
        await type_line(pilot, app, "one")
        await type_line(pilot, app, "two")
        await pilot.press("f6")
        inspector = app.query_one(Inspector)
        await wait_for(pilot, lambda: inspector.entry is not None, "the inspector")
        await pilot.pause()
        lines = [inspector.render_line(y).text for y in range(inspector.scrollable_content_region.height)]
        since = next(line for line in lines if line.startswith("since last sent to it"))
        to = next(line for line in lines if line.startswith("to "))
        assert since.startswith("since last sent to it  ")  # a gap of two, as the others have
        assert len(since) - len(since[21:].lstrip()) == len(to) - len(to[2:].lstrip())  # values line up


# -- the pure parts ---------------------------------------------------------------------------


def test_a_scoped_ipv6_mute_names_the_interface_as_received_peers_do() -> None:
    name = interface_name(1)
    assert parse_mute_spec("fe80::1%1") == (f"fe80::1%{name}", None)
    assert parse_mute_spec("[fe80::1%1]:514") == (f"fe80::1%{name}", 514)
    muting = Muting()
    muting.mute(*parse_mute_spec("fe80::1%1"))
    assert muting.is_muted(Address.from_sockaddr(("fe80::1", 5000, 0, 1)))


def test_unmuting_a_host_says_which_ports_it_freed() -> None:
    muting = Muting()
    muting.mute("127.0.0.4", 52257)
    muting.mute("127.0.0.4", 7)
    assert muting.unmute("127.0.0.4", None) == "unmuted 127.0.0.4:52257, 127.0.0.4:7"
    muting.mute("127.0.0.4", None)
    assert muting.unmute("127.0.0.4", None) == "unmuted 127.0.0.4"


def test_the_hidden_count_follows_the_store_in_and_out(open_transport: OpenTransport) -> None:
    session = ChatSession(open_transport(), scrollback=100)
    noisy, quiet = ("10.0.0.1", 1), ("10.0.0.2", 2)
    session.ingest([RecvBatch([b"n"] * 30, [noisy] * 30)])
    session.muting.mute("10.0.0.1", None)
    assert session.muting.hidden == 30
    session.ingest([RecvBatch([b"x"] * 60, [noisy, quiet] * 30)])
    assert session.muting.hidden == 60
    session.ingest([RecvBatch([b"q"] * 50, [quiet] * 50)])  # 40 of the oldest let go
    received = [entry for entry in session.store if entry.direction is Direction.RECEIVED]
    kept = sum(1 for entry in received if entry.peer == Address(*noisy))
    assert session.muting.hidden == kept == 30 + 30 - 30 - 5  # 40 let go: the first 30, then 5 of 10
    session.ingest([RecvBatch([b"q"] * 47, [quiet] * 47)])  # most of the mixed batch goes too
    received = [entry for entry in session.store if entry.direction is Direction.RECEIVED]
    kept = sum(1 for entry in received if entry.peer == Address(*noisy))
    assert session.muting.hidden == kept == 1
    session.muting.unmute("10.0.0.1", None)
    assert session.muting.hidden == 0 and session.muting.status is None
    session.muting.mute("10.0.0.1", 1)
    assert session.muting.hidden == kept


@pytest.mark.parametrize(
    ("payloads", "senders", "wire"),
    [
        ([b"a", b"bb", b"ccc", b"dddd"], [1, 2, 1, 1], None),  # two senders: summed in C
        ([b"ab"] * 6, [1, 2, 3, 1, 2, 3], None),  # one size: size times count
        ([b"a", b"bb", b"ccc", b"dddd", b"e", b"ff"], [1, 2, 3, 4, 5, 6], None),  # one-shots
        ([bytes(n) for n in range(1, 13)], [1, 2, 3, 4, 5, 6] * 2, None),  # many: one by one
        ([b"a", b"bb", b"c"], [1, 2, 2], [1, 50, 1]),  # a cut datagram counts whole
    ],
)
def test_bytes_per_sender_whatever_the_mix(
    open_transport: OpenTransport, payloads: list[bytes], senders: list[int], wire: list[int] | None
) -> None:
    session = ChatSession(open_transport())
    addresses = [(f"10.0.0.{sender}", sender) for sender in senders]
    cut = None if wire is None else [int(size > len(data)) for data, size in zip(payloads, wire, strict=True)]
    session.ingest([RecvBatch(payloads, addresses, wire=wire, cut=cut)])
    sizes = wire or [len(payload) for payload in payloads]
    for sender in set(senders):
        expected = sum(size for size, who in zip(sizes, senders, strict=True) if who == sender)
        found = session.roster.get(Address(f"10.0.0.{sender}", sender))
        assert found is not None and found.bytes_in == expected, sender


def test_the_hidden_count_matches_a_scan_of_the_store_through_random_takes(
    open_transport: OpenTransport,
) -> None:
    """Batches of mixed senders and sizes, notes, mutes and unmutes, a small scrollback
    cutting chunks at every place: the kept count always equals what a scan finds."""
    rng = random.Random(13)
    session = ChatSession(open_transport(), scrollback=97)
    pool = [(f"10.0.0.{rng.randint(1, 3)}", rng.randint(1, 4)) for _ in range(12)]
    for step in range(300):
        if rng.random() < 0.1:
            host, port = rng.choice(pool)
            spec = (host, None if rng.random() < 0.5 else port)
            with suppress(MuteError):
                session.muting.unmute(*spec) if rng.random() < 0.4 else session.muting.mute(*spec)
        elif rng.random() < 0.1:
            session.note(f"note {step}")
        else:
            size = rng.choice((1, 3, 40, 130))
            senders = [rng.choice(pool[: rng.randint(1, 12)]) for _ in range(size)]
            session.ingest([RecvBatch([bytes(rng.randint(1, 9)) for _ in senders], senders)])
        scanned = sum(1 for entry in session.store if session.muting.hides(entry))
        assert session.muting.hidden == scanned, step
