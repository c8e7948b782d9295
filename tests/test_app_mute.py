"""Many one-shot senders: the peers pane grouped by host (`g`), and muting a peer or a host
(`m`, `/mute`, `/unmute`), through Pilot with real sockets on loopback, headless with the
real program, and the pure parts (parsing, which entries a mute hides) on their own.

A muted sender's datagrams are counted and recorded (`--log`), hidden from the log on
screen, and never become the reply target; unmuting shows them again, earlier ones too.
"""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from conftest import (
    Headless,
    Notices,
    address_of,
    receive_from,
    start,
    type_line,
    udp_socket,
    wait_for,
)
from test_app_peers import WIDE, TickingClock, build, pane_lines

from udptui.chat.commands import CommandError, parse_command
from udptui.chat.datagram import Direction, Entry
from udptui.chat.muting import MuteError, Muting, parse_mute_spec
from udptui.chat.session import ChatSession
from udptui.chat.store import BatchChunk, EntryChunk
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.batch import RecvBatch
from udptui.net.transport import UdpTransport
from udptui.record.transcript import Transcript
from udptui.ui.app import UdpTuiApp
from udptui.ui.widgets import ChatLog, PeerList, StatusBar
from udptui.ui.widgets.log_lines import ShownRuns

OpenTransport = Callable[..., UdpTransport]


def shown(app: UdpTuiApp) -> list[bytes]:
    """The payloads of the datagrams the log shows, oldest first."""
    log = app.query_one(ChatLog)
    rows = [log._row(index) for index in range(log.row_count)]
    return [entry.payload for entry, part in rows if part == 0 and entry.direction is Direction.RECEIVED]


@pytest.fixture
def one_shots() -> Iterator[list[socket.socket]]:
    """Five senders on 127.0.0.1, each from its own port, as `logger` or `dig` would be."""
    socks = [udp_socket() for _ in range(5)]
    yield socks
    for sock in socks:
        sock.close()


@pytest.fixture
def other_host() -> Iterator[socket.socket]:
    """A sender on another loopback host, 127.0.0.2."""
    sock = udp_socket("127.0.0.2")
    yield sock
    sock.close()


# -- grouping by host -------------------------------------------------------------------------


async def test_g_groups_the_pane_by_host_and_back(
    open_transport: OpenTransport, one_shots: list[socket.socket], other_host: socket.socket
) -> None:
    app = build(open_transport, clock=TickingClock())
    async with app.run_test(size=WIDE) as pilot:
        for sock in one_shots:
            await receive_from(pilot, app, sock, b"one shot")
        await receive_from(pilot, app, other_host, b"a", b"b")
        pane = app.query_one(PeerList)
        pane.focus()
        await pilot.pause()
        assert len(pane._rows) == 6
        await pilot.press("g")
        await pilot.pause()
        title, first, first_detail, first_bytes, second, second_detail, second_bytes = pane_lines(app, 7)
        assert title.strip() == "by host: 2 (g: by port)"
        assert first.startswith("▶ 127.0.0.2  1 port")  # it wrote last: the target's host
        assert "in 2  out 0" in first_detail
        assert first_bytes.strip() == "2 B in  0 B out"
        assert second.startswith("  127.0.0.1  5 ports")
        assert "in 5  out 0" in second_detail
        assert second_bytes.strip() == "40 B in  0 B out"  # summed over its ports
        await pilot.press("g")
        await pilot.pause()
        lines = pane_lines(app, 12)
        assert lines[0].startswith(f"▶ {address_of(other_host)}")
        assert [line.strip() for line in lines[2::2]] == [
            str(address_of(sock)) for sock in reversed(one_shots)
        ]


async def test_the_cursor_stays_with_its_host_when_the_pane_is_grouped_and_back(
    open_transport: OpenTransport, one_shots: list[socket.socket], other_host: socket.socket
) -> None:
    app = build(open_transport, clock=TickingClock())
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, other_host, b"first")
        for sock in one_shots:
            await receive_from(pilot, app, sock, b"one shot")
        pane = app.query_one(PeerList)
        pane.focus()
        await pilot.press("end")  # the oldest row: 127.0.0.2, below five ports of 127.0.0.1
        await pilot.press("g")
        await pilot.pause()
        assert pane.cursor == 1 and pane._rows[1].address == address_of(other_host)
        await pilot.press("up", "g")  # the host 127.0.0.1, then by port: its newest port
        await pilot.pause()
        assert pane._rows[pane.cursor].address == address_of(one_shots[-1])


async def test_enter_on_a_host_row_replies_to_its_most_recent_port(
    open_transport: OpenTransport, one_shots: list[socket.socket], other_host: socket.socket
) -> None:
    app = build(open_transport, clock=TickingClock())
    notices = Notices()
    async with app.run_test(size=WIDE, message_hook=notices) as pilot:
        for sock in one_shots:
            await receive_from(pilot, app, sock, b"one shot")
        await receive_from(pilot, app, other_host, b"last")
        pane = app.query_one(PeerList)
        pane.focus()
        await pilot.press("g", "down", "enter")  # the second row: 127.0.0.1, five ports
        await wait_for(pilot, lambda: not app.session.follow, "the host row to pin a target")
        newest = address_of(one_shots[-1])
        assert notices.matching(f"127.0.0.1 has 5 ports: replying to the one heard from last, {newest}")
        assert app.session.target == address_of(one_shots[-1])
        await type_line(pilot, app, "to the newest port")
        assert one_shots[-1].recv(100) == b"to the newest port"
        assert pane_lines(app, 2)[1].startswith("▶ 127.0.0.1  5 ports")  # sent to: the newest row


# -- muting -----------------------------------------------------------------------------------


async def test_a_muted_peer_is_counted_and_logged_but_hidden_and_comes_back_on_unmute(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket, tmp_path: Path
) -> None:
    log_path = tmp_path / "chat.jsonl"
    app = build(open_transport, Config(listening=True, log_path=log_path), transcript=Transcript(log_path))
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, stranger, b"noise 1")
        await receive_from(pilot, app, peer, b"hello")
        await type_line(pilot, app, f"/mute {address_of(stranger)}")
        assert shown(app) == [b"hello"]  # the earlier datagram is hidden too, and counted
        assert "muted 1" in str(app.query_one(StatusBar).render())
        await receive_from(pilot, app, stranger, b"noise 2", b"noise 3")
        await pilot.pause()
        assert shown(app) == [b"hello"]
        await type_line(pilot, app, "/mute")
        listing = f"muted: {address_of(stranger)}; 3 of their datagrams hidden from the log now"
        assert app.session.store[-1].decoded.plain == listing
        assert app.session.target == address_of(peer)  # follow: the muted one does not take it
        assert app.session.counters.received == 4
        stranger_peer = app.session.roster.get(address_of(stranger))
        assert stranger_peer is not None and stranger_peer.received == 3
        assert "muted 3" in str(app.query_one(StatusBar).render())
        lines = pane_lines(app, 4)
        assert lines[0].startswith(f"  {address_of(stranger)}  muted")
        assert lines[2].startswith(f"▶ {address_of(peer)}")
        await type_line(pilot, app, "still to you")
        assert peer.recv(100) == b"still to you"

        await type_line(pilot, app, f"/unmute {address_of(stranger)}")
        assert shown(app) == [b"noise 1", b"hello", b"noise 2", b"noise 3"]
        assert "muted" not in str(app.query_one(StatusBar).render())  # nothing hidden, nothing muted
        await receive_from(pilot, app, stranger, b"heard again")
        assert app.session.target == address_of(stranger)
    texts = [json.loads(line).get("text") for line in log_path.read_text().splitlines()]
    assert [text for text in texts if text and text.startswith("noise")] == ["noise 1", "noise 2", "noise 3"]


async def test_m_mutes_a_whole_host_whose_ports_collapse_into_one_row(
    open_transport: OpenTransport, one_shots: list[socket.socket], other_host: socket.socket
) -> None:
    app = build(open_transport, clock=TickingClock())
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, other_host, b"keep me")
        for sock in one_shots:
            await receive_from(pilot, app, sock, b"one shot")
        pane = app.query_one(PeerList)
        pane.focus()
        await pilot.press("g", "m")  # the first host row: 127.0.0.1, which wrote last
        await pilot.pause()
        assert app.session.muting.hosts == {"127.0.0.1"}
        assert shown(app) == [b"keep me"]
        await pilot.press("g")  # by port again: the muted host stays one row
        await pilot.pause()
        first, _, _, second = pane_lines(app, 4)  # a host row has three lines
        # Muting the target does not move it: replies still go there until another writes.
        assert first.startswith("▶ 127.0.0.1  5 ports  muted")
        assert second.startswith(f"  {address_of(other_host)}")
        with udp_socket() as late:  # a new port of the muted host: hidden, and not the target
            await receive_from(pilot, app, late, b"new port")
        assert shown(app) == [b"keep me"]
        assert app.session.target == address_of(one_shots[-1])
        await receive_from(pilot, app, other_host, b"and me")
        assert app.session.target == address_of(other_host)
        pane.cursor = 1  # the muted host, now below the host that wrote last
        await pilot.press("m")
        await pilot.pause()
        assert not app.session.muting
        assert len(shown(app)) == 8


async def test_mute_errors_are_notices_and_mute_alone_lists(open_transport: OpenTransport) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await type_line(pilot, app, "/mute")
        await type_line(pilot, app, "/mute 10.0.0.1")
        await type_line(pilot, app, "/mute 10.0.0.1:53")
        await type_line(pilot, app, "/mute")
        notes = [entry.decoded.plain for entry in app.session.store if entry.direction is Direction.NOTE]
        assert notes[0] == "nothing is muted: /mute HOST or /mute HOST:PORT"
        meaning = (
            "counted and recorded (--log, --pcap), not shown; "
            "when it writes, it no longer becomes the reply target"
        )
        assert notes[1] == f"muted 10.0.0.1 (every port): {meaning}"
        assert notes[2] == "/mute: 10.0.0.1:53 is muted already: its host 10.0.0.1 is"
        assert notes[3] == "muted: 10.0.0.1 (every port); 0 of their datagrams hidden from the log now"


# -- headless: standard output is a record, so nothing is hidden ---------------------------


def test_headless_mute_keeps_writing_records_and_keeps_the_target(headless: list[Headless]) -> None:
    udptui = start(headless, "--listen", "0", "--jsonl")
    to = ("127.0.0.1", udptui.port)
    with udp_socket() as peer, udp_socket() as noisy:
        peer.sendto(b"hello", to)
        assert udptui.record()["text"] == "hello"
        udptui.type(f"/mute {address_of(noisy)}")
        assert udptui.record()["text"].startswith(f"muted {address_of(noisy)}: still written here")
        noisy.sendto(b"noise", to)
        record = udptui.record()
        assert (record["text"], record["peer"]) == ("noise", str(address_of(noisy)))
        udptui.type("reply")
        assert peer.recv(100) == b"reply"  # the muted sender did not become the target
        assert udptui.record()["text"] == "reply"
        udptui.type("/mute")  # nothing is hidden here, so the listing claims nothing hidden
        assert udptui.record()["text"] == f"muted: {address_of(noisy)}"
    udptui.process.send_signal(signal.SIGINT)
    udptui.finish()


# -- the pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", None)),
        ("127.0.0.1:514", ("127.0.0.1", 514)),
        ("::1", ("::1", None)),
        ("[::1]", ("::1", None)),
        ("[::1]:53", ("::1", 53)),
        ("::ffff:10.0.0.1", ("10.0.0.1", None)),
    ],
)
def test_mute_specs(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_mute_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("localhost", "as numbers"),
        ("999.1.1.1", "'999.1.1.1' is not a valid IPv4 or IPv6 address"),
        ("1.2.3.4:x", "bad port"),
        ("[::1", "expected"),
        ("1.2.3.4:70000", "range"),
        ("127.0.0.1:0", "port 0 is out of range: expected 1 to 65535"),
    ],
)
def test_bad_mute_specs(text: str, words: str) -> None:
    with pytest.raises(MuteError, match=words):
        parse_mute_spec(text)
    with pytest.raises(CommandError, match=f"^/mute: .*{words}"):
        parse_command(f"/mute {text}")
    with pytest.raises(CommandError, match=f"^/unmute: .*{words}"):
        parse_command(f"/unmute {text}")


def test_a_batch_from_one_muted_sender_is_skipped_without_making_an_entry() -> None:
    muting = Muting()
    muting.mute("10.0.0.1", None)
    flood = RecvBatch([b"x"] * 256, [("10.0.0.1", 5000)] * 256)
    chunk = BatchChunk(flood, Address.from_sockaddr, follow=True, target=None)
    assert muting.visible_runs(chunk, 0, 256) == []
    assert chunk.built is None  # no entry was made
    mixed = RecvBatch(
        [b"a", b"b", b"c", b"d"], [("10.0.0.1", 1), ("10.0.0.2", 2), ("10.0.0.2", 3), ("10.0.0.1", 4)]
    )
    mixed_chunk = BatchChunk(mixed, Address.from_sockaddr, follow=True, target=None)
    assert muting.visible_runs(mixed_chunk, 0, 4) == [(1, 3)]
    assert muting.visible_runs(mixed_chunk, 2, 4) == [(2, 3)]
    assert mixed_chunk.built is None
    assert Muting().visible_runs(chunk, 0, 256) == [(0, 256)]


def test_sent_datagrams_and_notes_to_a_muted_peer_stay() -> None:
    muting = Muting()
    muting.mute("10.0.0.1", 53)
    address = Address("10.0.0.1", 53)
    now = datetime(2026, 1, 1)
    entries = [
        Entry(now, Direction.RECEIVED, address, b"in", 2),
        Entry(now, Direction.SENT, address, b"out", 3),
        Entry(now, Direction.NOTE, address, note="a note"),
        Entry(now, Direction.RECEIVED, Address("10.0.0.1", 54), b"other port", 10),
    ]
    chunk = EntryChunk(entries)
    assert muting.visible_runs(chunk, 0, 4) == [(1, 4)]


def test_unmute_of_one_port_of_a_muted_host_says_to_unmute_the_host() -> None:
    muting = Muting()
    muting.mute("10.0.0.1", None)
    with pytest.raises(MuteError, match=r"/unmute 10\.0\.0\.1"):
        muting.unmute("10.0.0.1", 53)
    with pytest.raises(MuteError, match="not muted"):
        muting.unmute("10.0.0.2", None)
    assert muting.unmute("10.0.0.1", None) == "unmuted 10.0.0.1"
    assert not muting


async def test_while_a_peer_is_muted_a_flood_from_another_makes_no_entry_it_does_not_draw(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    """The plain view keeps the shown seqs as runs: 3,000 datagrams from a peer still shown
    make entries only for the lines drawn (a screenful a frame, a few frames), not 3,000."""
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await type_line(pilot, app, f"/mute {address_of(stranger)}")
        await receive_from(pilot, app, peer, *[b"n%d" % number for number in range(3000)])
        await pilot.pause()
        assert app.query_one(ChatLog)._runs is not None
        chunks = [chunk for chunk, _, _ in app.session.store.spans() if isinstance(chunk, BatchChunk)]
        built = sum(len(chunk.built or {}) for chunk in chunks)
        assert built < 500, built


async def test_with_a_mute_on_the_scrollback_letting_entries_go_keeps_the_rows_right(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    """Entries let go from the front of the shown runs; the filter works over a mute; unmuting
    and clearing the filter come back to the plain view."""
    app = build(open_transport, Config(listening=True, scrollback=200))
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, stranger, b"noise")
        await type_line(pilot, app, f"/mute {address_of(stranger)}")
        await receive_from(pilot, app, peer, *[b"n%d" % number for number in range(300)])
        await receive_from(pilot, app, stranger, b"more noise")
        await pilot.pause()
        log = app.query_one(ChatLog)
        assert log._runs is not None
        # 303 entries, 200 kept: the peer's last 199 and the hidden `more noise`.
        assert log.row_count == 199
        assert [entry.seq for entry in app.session.store if not app.session.muting.hides(entry)] == [
            log._row(row)[0].seq for row in range(log.row_count)
        ]
        assert shown(app)[0] == b"n101" and shown(app)[-1] == b"n299"
        log.filter_text = "n29"  # the filter and the mute together
        await pilot.pause()
        assert shown(app) == [b"n%d" % number for number in range(290, 300)]
        await type_line(pilot, app, f"/unmute {address_of(stranger)}")
        assert shown(app)[-1] == b"n299" and log._rows is not None
        log.filter_text = ""
        await pilot.pause()
        assert log._runs is None and shown(app)[-1] == b"more noise"
        await type_line(pilot, app, f"/mute {address_of(stranger)}")
        await pilot.press("ctrl+l")  # cleared from view with a mute on: new ones still come
        assert log.row_count == 0
        await receive_from(pilot, app, stranger, b"hidden")
        await receive_from(pilot, app, peer, b"after the clear")
        await pilot.pause()
        assert shown(app) == [b"after the clear"]


def test_shown_runs_join_consecutive_seqs_and_let_old_ones_go() -> None:
    runs = ShownRuns()
    runs.add(0, 3)
    runs.add(3, 2)  # joins the first run
    runs.add(10, 4)
    assert (len(runs), runs.runs) == (9, 2)
    assert [runs.seq(row) for row in range(9)] == [0, 1, 2, 3, 4, 10, 11, 12, 13]
    assert [runs.row_of(seq) for seq in (0, 4, 5, 9, 10, 13, 14)] == [0, 4, None, None, 5, 8, None]
    assert runs.drop_before(2) == 2
    assert [runs.seq(row) for row in range(len(runs))] == [2, 3, 4, 10, 11, 12, 13]
    assert runs.drop_before(11) == 4
    assert [runs.seq(row) for row in range(len(runs))] == [11, 12, 13]
    assert runs.row_of(11) == 0 and runs.row_of(4) is None
    with pytest.raises(IndexError):
        runs.seq(3)


def test_the_roster_sums_bytes_per_peer_from_mixed_and_single_sender_batches(
    open_transport: OpenTransport,
) -> None:
    """Bytes on the wire per peer: a flood's batch counts its total once; a batch from
    several senders is summed per sender; a cut datagram counts its size on the wire."""
    session = ChatSession(open_transport())
    one, two = ("10.0.0.1", 1), ("10.0.0.2", 2)
    session.ingest([RecvBatch([b"abc"] * 4, [one] * 4)])
    session.ingest([RecvBatch([b"a", b"bb", b"c"], [one, two, two], wire=[1, 50, 1], cut=[0, 1, 0])])
    first, second = session.roster.get(Address(*one)), session.roster.get(Address(*two))
    assert first is not None and second is not None
    assert (first.received, first.bytes_in, second.received, second.bytes_in) == (5, 13, 2, 51)
