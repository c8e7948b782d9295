"""The many-peers features through Pilot: the peers pane, follow/pinned, input history, the
`/` commands, hex view, the filter, the new-entries marker and the `--log` transcript.

Every test talks to the app over real UDP sockets on 127.0.0.1 and waits for what it
expects by polling with a deadline; none measures time.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    FIXED_TIME,
    Notices,
    address_of,
    app_address,
    fixed_clock,
    receive_from,
    type_line,
    udp_socket,
    wait_for,
)
from textual.command import CommandList, CommandPalette
from textual.message import Message

from udptui.chat.commands import HELP
from udptui.chat.datagram import Direction, Entry, Level, hexdump
from udptui.chat.session import Clock
from udptui.config import Config
from udptui.net.transport import UdpTransport
from udptui.record.transcript import Transcript
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import ChatHeader, ChatLog, Composer, FilterBar, PeerList, StatusBar

OpenTransport = Callable[..., UdpTransport]
WIDE = (110, 30)
"""Wide enough for the peers pane to show (the log keeps 50 columns beside its 32)."""
QUIET_SECONDS = 0.3
"""How long a socket waits to prove that nothing was sent to it (loopback delivers at once)."""
THOUSAND_PEERS_PORTS = 24000
"""The first of the ports the thousand-peers test sends from (below Linux's ephemeral range)."""
ISO_US_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$")


class TickingClock:
    """A clock that moves one second on every reading, so peers seen later sort first."""

    def __init__(self) -> None:
        self.now = FIXED_TIME

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def third() -> Iterator[socket.socket]:
    """A third sender on 127.0.0.1."""
    sock = udp_socket()
    yield sock
    sock.close()


def build(
    open_transport: OpenTransport,
    config: Config | None = None,
    *,
    clock: Clock = fixed_clock,
    transcript: Transcript | None = None,
) -> UdpTuiApp:
    """The app as `make_app` builds it, on a loopback socket opened with the config's buffer sizes."""
    config = config or Config(listening=True)
    transport = open_transport(bufsize=config.bufsize, rcvbuf=config.rcvbuf)
    return make_app(config, transport=transport, transcript=transcript, clock=clock)


def entries(app: UdpTuiApp, direction: Direction) -> list[Entry]:
    return [entry for entry in app.session.store if entry.direction is direction]


def assert_nothing_arrives(sock: socket.socket) -> None:
    """`sock` receives no datagram within a short wait (loopback delivers at once)."""
    sock.settimeout(QUIET_SECONDS)
    with pytest.raises(TimeoutError):
        sock.recvfrom(65535)


def header_text(app: UdpTuiApp) -> str:
    return str(app.query_one(ChatHeader).render())


def pane_lines(app: UdpTuiApp, count: int) -> list[str]:
    """The first `count` lines of the peers pane as drawn, without styles."""
    pane = app.query_one(PeerList)
    return [pane.render_line(y).text for y in range(count)]


def unread(app: UdpTuiApp, sock: socket.socket) -> int:
    peer = app.session.roster.get(address_of(sock))
    assert peer is not None, f"{address_of(sock)} is not in the roster"
    return peer.unread


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- the peers pane ---------------------------------------------------------------------------


async def test_f2_hides_and_shows_the_peers_pane(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        pane = app.query_one(PeerList)
        assert pane.display is True
        assert pane_lines(app, 1)[0].strip() == "no peers yet"
        await receive_from(pilot, app, peer, b"hello")
        await pilot.press("f2")
        assert pane.display is False
        assert pane.region.width == 0
        await pilot.press("f2")
        await pilot.pause()
        assert pane.display is True
        assert pane.region.width > 0
        assert str(address_of(peer)) in pane_lines(app, 1)[0]


async def test_peers_pane_is_hidden_at_start_on_a_narrow_terminal(open_transport: OpenTransport) -> None:
    app = build(open_transport)
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.query_one(PeerList)
        assert pane.display is False
        await pilot.press("f2")
        assert pane.display is True


async def test_pane_lists_peers_newest_first_with_counts_and_the_target_marked(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport, clock=TickingClock())
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"one", b"two")
        await receive_from(pilot, app, stranger, b"three")
        await type_line(pilot, app, "to the last sender")
        assert stranger.recv(100) == b"to the last sender"
        await pilot.pause()
        first, first_detail, second, second_detail = pane_lines(app, 4)
        assert first.startswith(f"▶ {address_of(stranger)}")
        assert re.match(r"^  \d\d:\d\d:\d\d  in 1  out 1\s*$", first_detail), first_detail
        assert second.startswith(f"  {address_of(peer)}")
        assert re.match(r"^  \d\d:\d\d:\d\d  in 2  out 0\s*$", second_detail), second_detail


async def test_clicking_a_peer_makes_it_the_pinned_target(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport, clock=TickingClock())
    selected: list[PeerList.Selected] = []

    def hook(message: Message) -> None:
        if isinstance(message, PeerList.Selected):
            selected.append(message)  # once for each node it bubbles through

    async with app.run_test(size=WIDE, message_hook=hook) as pilot:
        await receive_from(pilot, app, peer, b"from the first")
        await receive_from(pilot, app, stranger, b"from the second")
        assert app.session.target == address_of(stranger)
        assert "follow" in header_text(app)
        # Rows: the stranger (seen last) on lines 0-1, the first peer on lines 2-3.
        await pilot.click(PeerList, offset=(6, 2))
        await wait_for(pilot, lambda: app.session.target == address_of(peer), "the click to pick a peer")
        assert len({id(message) for message in selected}) == 1
        assert selected[0].address == address_of(peer)
        assert app.session.follow is False
        assert "pinned" in header_text(app)
        assert f"peer {address_of(peer)}" in header_text(app)
        assert app.focused is app.query_one(Composer)
        assert pane_lines(app, 4)[2].startswith(f"▶ {address_of(peer)}")

        await receive_from(pilot, app, stranger, b"me again")
        assert app.session.target == address_of(peer)  # pinned: a new sender does not take over
        await type_line(pilot, app, "back to you")
        assert peer.recvfrom(100) == (b"back to you", app_address(app))
        assert_nothing_arrives(stranger)


async def test_keyboard_selection_in_the_pane_makes_a_peer_the_pinned_target(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket, third: socket.socket
) -> None:
    app = build(open_transport, clock=TickingClock())
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"a")
        await receive_from(pilot, app, stranger, b"b")
        await receive_from(pilot, app, third, b"c")
        pane = app.query_one(PeerList)
        await pilot.press("tab", "tab")  # the log takes focus first, then the peers pane
        assert app.focused is pane
        assert pane.cursor == 0
        await pilot.press("down", "down", "up")
        assert pane.cursor == 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.session.target == address_of(stranger), "Enter to pick a peer")
        assert app.session.follow is False
        assert "pinned" in header_text(app)
        assert app.focused is app.query_one(Composer)
        await type_line(pilot, app, "chosen by keyboard")
        assert stranger.recv(100) == b"chosen by keyboard"
        assert_nothing_arrives(third)


async def test_unread_counts_for_a_peer_that_is_not_the_target(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport, Config(peer=address_of(peer)), clock=TickingClock())
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"from the target")
        await receive_from(pilot, app, stranger, b"one", b"two", b"three")
        assert unread(app, stranger) == 3
        assert unread(app, peer) == 0
        lines = pane_lines(app, 4)
        assert lines[0].startswith(f"  {address_of(stranger)}")
        assert lines[1].rstrip().endswith("in 3  out 0  3 new")
        assert lines[2].startswith(f"▶ {address_of(peer)}")
        assert "new" not in lines[3]

        await type_line(pilot, app, f"/to {address_of(stranger)}")
        await pilot.pause()
        assert unread(app, stranger) == 0
        assert "new" not in pane_lines(app, 2)[1]


async def test_follow_mode_counts_nothing_unread(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"one")
        await receive_from(pilot, app, stranger, b"two")
        assert all(" new" not in line for line in pane_lines(app, 4))


async def test_f4_toggles_follow_and_pinned(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"hello")
        assert header_text(app).endswith("follow")
        await pilot.press("f4")
        assert app.session.follow is False
        assert header_text(app).endswith("pinned")
        await receive_from(pilot, app, stranger, b"hi there")
        assert app.session.target == address_of(peer)
        assert entries(app, Direction.RECEIVED)[-1].stranger is True

        await pilot.press("f4")
        assert app.session.follow is True
        assert header_text(app).endswith("follow")
        await receive_from(pilot, app, stranger, b"hi again")
        assert app.session.target == address_of(stranger)
        assert f"peer {address_of(stranger)}" in header_text(app)


async def test_peer_mode_starts_pinned(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport, Config(peer=address_of(peer)))
    async with app.run_test(size=WIDE):
        assert header_text(app).endswith("pinned")


async def test_a_thousand_peers_keep_the_pane_drawing_and_the_app_answering(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport, clock=TickingClock())
    count = 1000
    ports = iter(range(THOUSAND_PEERS_PORTS, THOUSAND_PEERS_PORTS + 3 * count))
    async with app.run_test(size=WIDE) as pilot:
        sent = 0
        while sent < count:
            # One short-lived socket per peer, each on its own port (a port that is taken is
            # skipped); in steps of 100, so the app's socket buffer never overflows.
            for port in ports:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                    try:
                        sender.bind(("127.0.0.1", port))
                    except OSError:
                        continue
                    sender.sendto(b"hi", app_address(app))
                sent += 1
                if sent % 100 == 0:
                    break
            await wait_for(pilot, lambda n=sent: app.session.counters.received >= n, f"{sent} datagrams")
        await receive_from(pilot, app, peer, b"the last one")
        roster = app.session.roster
        assert len(roster) == count + 1
        pane = app.query_one(PeerList)
        assert pane.virtual_size.height == 2 * (count + 1)
        lines = pane_lines(app, 6)
        assert lines[0].startswith(f"▶ {address_of(peer)}")
        assert all(re.match(r"^[ ▶] 127\.0\.0\.1:\d+", line) for line in lines[::2]), lines
        assert all("in 1  out 0" in line for line in lines[1::2]), lines

        await pilot.press("tab", "tab", "end")  # past the log to the peers pane
        assert pane.cursor == count
        assert pane.scroll_y > 0
        bottom = pane.render_line(pane.scrollable_content_region.height - 2).text
        assert bottom.startswith("  127.0.0.1:")
        assert bottom.split()[0] == str(roster.ordered()[-1].address)

        await pilot.press("enter")  # the oldest peer becomes the target
        oldest = roster.ordered()[-1].address
        await wait_for(pilot, lambda: app.session.target == oldest, "the oldest peer to be chosen")
        await pilot.press("f2", "f2")
        await type_line(pilot, app, "still answering")
        await wait_for(pilot, lambda: app.session.counters.sent == 1, "the reply to go")
        await receive_from(pilot, app, peer, b"and still receiving")
        assert app.is_running


# -- the input box ----------------------------------------------------------------------------


async def test_up_and_down_recall_earlier_lines(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"ping")
        await type_line(pilot, app, "first")
        await type_line(pilot, app, "second")
        await type_line(pilot, app, "second")  # not kept twice in a row
        composer = app.query_one(Composer)
        composer.value = "draft"
        seen = []
        for key in ["up", "up", "up", "down", "down", "down"]:
            await pilot.press(key)
            seen.append(composer.value)
        assert seen == ["second", "first", "first", "second", "draft", "draft"]
        await pilot.press("up", "enter")
        assert [peer.recv(100) for _ in range(4)] == [b"first", b"second", b"second", b"second"]
        assert composer.value == ""


async def test_to_picks_a_target_and_replies_reach_only_it(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"from the first")
        await receive_from(pilot, app, stranger, b"from the second")
        assert app.session.target == address_of(stranger)
        await type_line(pilot, app, f"/to {address_of(peer)}")
        assert app.query_one(Composer).value == ""
        assert app.session.target == address_of(peer)
        assert header_text(app).endswith("pinned")
        await type_line(pilot, app, "only for the first")
        assert peer.recvfrom(100) == (b"only for the first", app_address(app))
        assert_nothing_arrives(stranger)


async def test_to_an_address_nobody_has_written_from(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await type_line(pilot, app, f"/to {address_of(peer)}")
        await type_line(pilot, app, "first contact")
        assert peer.recv(100) == b"first contact"
        assert pane_lines(app, 2)[0].startswith(f"▶ {address_of(peer)}")
        assert "in 0  out 1" in pane_lines(app, 2)[1]


async def test_hex_sends_exactly_those_bytes(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"ping")
        await type_line(pilot, app, "/hex 00 ff 41")
        assert peer.recvfrom(100) == (b"\x00\xffA", app_address(app))
        assert app.query_one(Composer).value == ""
        [sent] = entries(app, Direction.SENT)
        assert sent.payload == b"\x00\xffA"


async def test_double_slash_sends_text_starting_with_a_slash(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"ping")
        await type_line(pilot, app, "//x")
        assert peer.recv(100) == b"/x"


async def test_clear_empties_the_log_but_not_the_session(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"one", b"two")
        log = app.query_one(ChatLog)
        assert log.row_count == 2
        await type_line(pilot, app, "/clear")
        assert log.row_count == 0
        assert log.render_line(0).text.strip() == ""
        assert [entry.payload for entry in app.session.store] == [b"one", b"two"]  # kept for /save
        await receive_from(pilot, app, peer, b"three")
        assert log.row_count == 1
        assert "three" in log.render_line(0).text
        await pilot.press("f3")  # hex view and the filter start from the mark too
        assert [log._row(i)[0].payload for i in range(log.row_count)] == [b"three", b"three"]
        await pilot.press("f3", "ctrl+l")
        assert log.row_count == 0
        status = app.query_one(StatusBar)
        await wait_for(pilot, lambda: status.stats.received == 3, "the status bar to count 3")
        assert status.stats.let_go == 0
        assert "let go" not in str(status.render())


async def test_ctrl_l_then_save_writes_what_was_cleared_and_counts_exactly(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"only")
        await pilot.press("ctrl+l")
        await type_line(pilot, app, f"/save {tmp_path / 'one.jsonl'}")
        assert [record["text"] for record in read_records(tmp_path / "one.jsonl")] == ["only"]
        assert entries(app, Direction.NOTE)[-1].note == f"saved 1 entry to {tmp_path / 'one.jsonl'}"

        await receive_from(pilot, app, peer, b"after")
        await pilot.press("ctrl+l")
        await type_line(pilot, app, f"/save {tmp_path / 'three.jsonl'}")
        texts = [record["text"] for record in read_records(tmp_path / "three.jsonl")]
        assert texts == ["only", f"saved 1 entry to {tmp_path / 'one.jsonl'}", "after"]
        assert entries(app, Direction.NOTE)[-1].note == f"saved 3 entries to {tmp_path / 'three.jsonl'}"


async def test_save_says_when_the_scrollback_let_entries_go_and_clear_does_not_count(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    app = build(open_transport, Config(listening=True, scrollback=5))
    saved = tmp_path / "saved.jsonl"
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, *(f"m{n}".encode() for n in range(3)))
        await pilot.press("ctrl+l")
        log = app.query_one(ChatLog)
        await receive_from(pilot, app, peer, *(f"m{n}".encode() for n in range(3, 7)))
        assert log.row_count == 4  # the two let go were cleared ones: no row left the view
        await receive_from(pilot, app, peer, *(f"m{n}".encode() for n in range(7, 10)))
        assert [log._row(i)[0].payload for i in range(log.row_count)] == [
            f"m{n}".encode() for n in range(5, 10)
        ]
        status = app.query_one(StatusBar)
        await wait_for(pilot, lambda: status.stats.received == 10, "the status bar to count 10")
        assert status.stats.let_go == 5
        await type_line(pilot, app, f"/save {saved}")
        assert [record["text"] for record in read_records(saved)] == [f"m{n}" for n in range(5, 10)]
        note = entries(app, Direction.NOTE)[-1].note
        assert note == f"saved 5 entries to {saved}; 5 older ones had left the scrollback (--scrollback 5)"


async def test_save_writes_the_scrollback_as_json_lines(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    app = build(open_transport)
    saved = tmp_path / "saved.jsonl"
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"hello")
        await type_line(pilot, app, "hi back")
        await type_line(pilot, app, f"/save {saved}")
        assert app.query_one(Composer).value == ""
        records = read_records(saved)
        assert [(record["dir"], record["text"]) for record in records] == [
            ("in", "hello"),
            ("out", "hi back"),
        ]
        assert all(record["peer"] == str(address_of(peer)) for record in records)
        note = entries(app, Direction.NOTE)[-1]
        assert note.note == f"saved 2 entries to {saved}"


async def test_save_refuses_an_existing_file_and_save_bang_overwrites_it(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    app = build(open_transport)
    precious = tmp_path / "x"
    precious.write_text("PRECIOUS\n", encoding="utf-8")
    notices = Notices()
    async with app.run_test(size=WIDE, message_hook=notices) as pilot:
        await receive_from(pilot, app, peer, b"hello")
        await type_line(pilot, app, f"/save {precious}")
        await wait_for(pilot, lambda: bool(notices.matching("already exists")), "an 'already exists' notice")
        [notice] = notices.matching("already exists")
        assert str(precious) in notice.notification.message
        assert notice.notification.severity == "error"
        assert "/save!" in notice.notification.message
        assert app.query_one(Composer).value == f"/save {precious}"
        assert precious.read_text(encoding="utf-8") == "PRECIOUS\n"

        await type_line(pilot, app, f"/save! {precious}")
        assert app.query_one(Composer).value == ""
        assert [record["text"] for record in read_records(precious)] == ["hello", notice.notification.message]


async def test_save_with_log_writes_the_whole_session_even_after_clear(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    log_file = tmp_path / "session.jsonl"
    log_file.write_text('{"dir": "in", "text": "from an earlier run"}\n', encoding="utf-8")
    saved = tmp_path / "saved.jsonl"
    app = build(open_transport, Config(listening=True, log_path=str(log_file)))  # make_app opens it
    transcript = app.session.transcript
    assert transcript is not None
    try:
        async with app.run_test(size=WIDE) as pilot:
            await receive_from(pilot, app, peer, b"before the clear")
            await type_line(pilot, app, "/clear")
            await receive_from(pilot, app, peer, b"after the clear")
            await type_line(pilot, app, f"/save {saved}")
            texts = [record["text"] for record in read_records(saved)]
            assert texts == ["before the clear", "after the clear"]
            assert "from the --log file" in entries(app, Direction.NOTE)[-1].note
    finally:
        transcript.close()


async def test_save_to_an_unwritable_path_keeps_the_text(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    app = build(open_transport)
    notices = Notices()
    line = f"/save {tmp_path / 'no-such-dir' / 'x.jsonl'}"
    async with app.run_test(size=WIDE, message_hook=notices) as pilot:
        await receive_from(pilot, app, peer, b"hello")
        await type_line(pilot, app, line)
        await wait_for(pilot, lambda: bool(notices.matching("cannot save")), "a 'cannot save' notice")
        assert app.query_one(Composer).value == line


@pytest.mark.parametrize(
    "case", ["no such user", "log file removed", "onto the log file", "onto it by ~", "onto it by a link"]
)
async def test_save_failures_are_notices_and_the_log_is_never_overwritten(
    open_transport: OpenTransport, tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`~nosuchuser`, a --log file removed under the app, and /save onto --log itself, even
    as `/save! ~/NAME` or through a symbolic link (`!` overwrites other files, never the log)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    log_file = tmp_path / "session.jsonl"
    (tmp_path / "link.jsonl").symlink_to(log_file)
    log_file.write_text('{"earlier": "run"}\n', encoding="utf-8")
    app = build(open_transport, Config(listening=True, log_path=str(log_file)))
    transcript = app.session.transcript
    assert transcript is not None
    line = {
        "no such user": "/save ~no-such-user-here/x.jsonl",
        "log file removed": f"/save {tmp_path / 'saved.jsonl'}",
        "onto the log file": f"/save {log_file}",
        "onto it by ~": "/save! ~/session.jsonl",
        "onto it by a link": f"/save! {tmp_path / 'link.jsonl'}",
    }[case]
    notices = Notices()
    try:
        async with app.run_test(size=WIDE, message_hook=notices) as pilot:
            if case == "log file removed":
                log_file.unlink()
            await type_line(pilot, app, line)
            await wait_for(
                pilot, lambda: bool(notices.matching("cannot save", "is the --log file")), "a notice"
            )
            assert app.is_running
            assert app.query_one(Composer).value == line
        if case.startswith("onto"):
            assert log_file.read_text(encoding="utf-8").startswith('{"earlier": "run"}\n')
    finally:
        transcript.close()


async def test_help_lists_the_commands_as_notes(open_transport: OpenTransport) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await type_line(pilot, app, "/help")
        notes = entries(app, Direction.NOTE)
        assert len(notes) == len(HELP)
        for usage, note in zip(HELP, notes, strict=True):
            assert note.note.startswith(usage)
        assert app.query_one(ChatLog).row_count == len(HELP)
        assert app.query_one(Composer).value == ""


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/nope", "unknown command /nope"),
        ("/to nowhere-at-all", "/to:"),
        ("/to", "/to needs an address"),
        ("/hex zz", "bad hex 'zz'"),
        ("/clear now", "/clear takes no argument"),
    ],
)
async def test_a_bad_command_gives_a_notice_and_keeps_the_text(
    open_transport: OpenTransport, peer: socket.socket, line: str, says: str
) -> None:
    app = build(open_transport)
    notices = Notices()
    async with app.run_test(size=WIDE, message_hook=notices) as pilot:
        await receive_from(pilot, app, peer, b"ping")
        await type_line(pilot, app, line)
        await wait_for(pilot, lambda: bool(notices.matching(says)), f"a notice saying {says!r}")
        assert notices.matching(says)[0].notification.severity == "error"
        assert app.query_one(Composer).value == line
        [note] = entries(app, Direction.NOTE)
        assert says in note.note and note.level is Level.ERROR
        assert app.session.counters.sent == 0


async def test_every_command_is_in_the_palette(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for title in [
            "Reply to…",
            "Send hex bytes…",
            "Save transcript…",
            "Clear log",
            "Command help",
            "Toggle peers pane",
            "Toggle hex view",
            "Toggle follow/pinned",
            "Filter log",
            "Jump to newest",
        ]:
            assert title in titles

        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the command palette")
        await pilot.press(*"Send hex")
        options = app.screen.query_one(CommandList)

        def only_send_hex() -> bool:
            prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
            return len(prompts) == 1 and prompts[0].startswith("Send hex bytes…")

        await wait_for(pilot, only_send_hex, "the palette to offer 'Send hex bytes…'")
        await pilot.press("enter")
        composer = app.query_one(Composer)
        await wait_for(pilot, lambda: composer.value == "/hex ", "the palette to prefill /hex")
        assert app.focused is composer
        await receive_from(pilot, app, peer, b"ping")
        await pilot.press("4", "2", "enter")
        assert peer.recv(100) == b"B"


# -- the log: hex view, filter, new-entries marker --------------------------------------------


async def test_f3_adds_hex_dump_rows_under_each_datagram(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    long_payload = b"twenty bytes or more!"
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"hello", long_payload)
        await type_line(pilot, app, "/help")
        log = app.query_one(ChatLog)
        plain_rows = 2 + len(HELP)
        assert log.row_count == plain_rows
        await pilot.press("f3")
        assert log.hex_view is True
        assert (
            log.row_count
            == plain_rows + len(hexdump(b"hello")) + len(hexdump(long_payload))
            == plain_rows + 3
        )
        await pilot.press("ctrl+home")
        await pilot.pause()
        assert log.render_line(0).text.rstrip().endswith("hello")
        assert log.render_line(1).text.strip() == "00000000: 6865 6c6c 6f" + " " * 29 + "hello"
        assert long_payload.decode() in log.render_line(2).text
        assert "00000000: 7477 656e 7479 2062" in log.render_line(3).text
        assert log.render_line(4).text.strip().startswith("00000010: 6d6f 7265 21")

        await receive_from(pilot, app, peer, b"new")
        assert log.row_count == plain_rows + 3 + 2
        await pilot.press("f3")
        assert log.hex_view is False
        assert log.row_count == plain_rows + 1


async def test_hex_view_keeps_counts_per_entry_not_a_row_per_16_bytes(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    """F3 kept a tuple per hex row: 2,048 datagrams of 64 KB made 8 million (55 -> 891 MiB).
    The rows are now counted per entry and made only when drawn."""
    app = build(open_transport)
    big = [bytes([n % 251]) * 16_000 for n in range(240)]  # 1,000 hex rows each
    async with app.run_test(size=WIDE) as pilot:
        for start in range(0, len(big), 8):  # a few at a time: the receive buffer keeps them all
            await receive_from(pilot, app, peer, *big[start : start + 8])
        log = app.query_one(ChatLog)
        entries = log.row_count
        await pilot.press("f3")
        assert log.row_count == entries + len(big) * 1000
        lines = log._rows  # the log's bookkeeping: what hex view costs in memory
        assert lines is not None and lines.entry_count == entries
        assert lines.kept <= 3 * entries  # O(entries), where it held 240,000 rows
        log.focus()
        await pilot.press("end")
        assert log.selected_entry is not None and log.selected_entry.payload == big[-1]
        await pilot.press("up")  # back over the 1,000 hex rows of the one before
        assert log.selected_entry is not None and log.selected_entry.payload == big[-2]
        row = log._row_of(log.selected)
        assert row is not None and row == log.row_count - 2002
        assert log._row(row + 1000)[0].payload == big[-2]
        assert log._row(row + 1001)[0].payload == big[-1] and log._row(row + 1001)[1] == 0
        await pilot.press("down")
        assert log.selected_entry is not None and log.selected_entry.payload == big[-1]
        await pilot.press("end")
        await pilot.pause()
        assert "00003e70: " in log.render_line(log.scrollable_content_region.height - 1).text


async def test_f5_filters_the_log_as_you_type_and_escape_clears_it(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, b"hello", b"world")
        await receive_from(pilot, app, stranger, b"egon", b"Hello again")
        log = app.query_one(ChatLog)
        bar = app.query_one(FilterBar)
        assert bar.display is False
        assert log.row_count == 4
        await pilot.press("f5")
        assert bar.display is True
        assert app.focused is bar
        await pilot.press(*"hel")
        await wait_for(pilot, lambda: log.row_count == 2, "the filter to narrow the log to 2 rows")
        shown = [log.render_line(y).text.rstrip() for y in range(3)]
        assert shown[0].endswith("  hello") and shown[1].endswith("  Hello again") and shown[2] == ""
        await pilot.press("l", "o", "space", "a")
        await wait_for(pilot, lambda: log.row_count == 1, "the filter to narrow the log to 1 row")

        bar.value = ""
        await pilot.press(*str(stranger.getsockname()[1]))
        await wait_for(pilot, lambda: log.row_count == 2, "a filter on the stranger's port")
        await receive_from(pilot, app, peer, b"not shown")
        await receive_from(pilot, app, stranger, b"shown")
        assert log.row_count == 3

        await pilot.press("escape")
        assert bar.display is False
        assert bar.value == ""
        assert log.filter_text == ""
        assert log.row_count == 6
        assert app.focused is app.query_one(Composer)


async def test_new_entries_below_a_scrolled_up_log_show_a_marker(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        await receive_from(pilot, app, peer, *(f"message {n}".encode() for n in range(60)))
        log = app.query_one(ChatLog)
        await pilot.press("ctrl+end")  # the log should be there already: see the test below
        await wait_for(pilot, lambda: log.is_vertical_scroll_end and log.scroll_y > 0, "the log's end")
        assert log.unseen == 0
        await pilot.press("ctrl+home")
        await pilot.pause()
        assert log.scroll_y == 0
        await receive_from(pilot, app, peer, b"new one", b"new two", b"new three")
        assert log.scroll_y == 0  # the view did not jump
        assert log.unseen == 3
        last = log.scrollable_content_region.height - 1
        assert log.render_line(last).text.rstrip().endswith("▼ 3 new below: ctrl+end")
        assert log.render_line(0).text.rstrip().endswith("message 0")

        await pilot.press("ctrl+end")
        await pilot.pause()
        assert log.is_vertical_scroll_end
        assert log.unseen == 0
        assert log.render_line(last).text.rstrip().endswith("new three")


async def test_log_keeps_following_new_entries_once_it_fills_the_screen(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=WIDE) as pilot:
        log = app.query_one(ChatLog)
        for n in range(30):  # one datagram per batch, as in a chat
            await receive_from(pilot, app, peer, f"message {n}".encode())
        await pilot.pause()
        assert log.max_scroll_y > 0
        assert log.is_vertical_scroll_end
        assert log.unseen == 0
        last = log.scrollable_content_region.height - 1
        assert log.render_line(last).text.rstrip().endswith("message 29")


# -- the --log transcript ---------------------------------------------------------------------


async def test_log_file_holds_every_datagram_both_ways_and_the_notes(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket, tmp_path: Path
) -> None:
    log_file = tmp_path / "udptui.jsonl"
    transcript = Transcript(str(log_file))
    app = build(open_transport, Config(listening=True, bufsize=8), transcript=transcript)
    try:
        async with app.run_test(size=WIDE) as pilot:
            await receive_from(pilot, app, peer, b"hello")
            await type_line(pilot, app, "hi")
            await receive_from(pilot, app, stranger, b"a long datagram")
            await type_line(pilot, app, "/hex 00 ff 41")
            await type_line(pilot, app, "/nope")
            await receive_from(pilot, app, peer, b"")
            # Flushed with each batch: the file is complete while the app still runs.
            records = read_records(log_file)
    finally:
        transcript.close()

    me, other = str(address_of(peer)), str(address_of(stranger))
    assert [(record["dir"], record.get("peer")) for record in records] == [
        ("in", me),
        ("out", me),
        ("in", other),
        ("out", other),
        ("note", None),
        ("in", me),
    ]
    hello, hi, cut, raw, note, empty = records
    assert {key: hello[key] for key in ("len", "text")} == {"len": 5, "text": "hello"}
    assert {key: hi[key] for key in ("len", "text")} == {"len": 2, "text": "hi"}
    assert {key: cut[key] for key in ("len", "text", "truncated")} == {
        "len": 15,
        "text": "a long d",
        "truncated": True,
    }
    assert {key: raw[key] for key in ("len", "hex")} == {"len": 3, "hex": "00ff41"}
    assert "text" not in raw
    assert "unknown command /nope" in note["text"]
    assert {key: empty[key] for key in ("len", "text")} == {"len": 0, "text": ""}
    for record in records:
        assert ISO_US_WITH_OFFSET.match(record["ts"]), record["ts"]
        assert datetime.fromisoformat(record["ts"]).utcoffset() is not None
        if record["dir"] != "note":
            assert ("text" in record) != ("hex" in record)
            assert record.get("truncated", False) is (record is cut)
    assert len(records) == len(app.session.store)
