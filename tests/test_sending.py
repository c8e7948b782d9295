"""Sending like a test bench, through Pilot on real loopback sockets: line endings, `/file`,
`/repeat` and `/stop`. Every wait polls up to a deadline; nothing asserts on time."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import (
    WAIT_SECONDS,
    Headless,
    Notices,
    address_of,
    fixed_clock,
    start,
    type_line,
    udp_socket,
    wait_for,
)
from textual.pilot import Pilot

from udptui.chat.datagram import Direction, Entry
from udptui.chat.repeat import RepeatError, parse_count, parse_interval
from udptui.chat.responder import LIMIT, MATCH_CHARS, SEARCH_LIMIT, Responder, Rule, RuleError
from udptui.chat.rtt import WINDOW_NS, RttTracker, rtt_text
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import ChatLog, Composer, PeerList, StatusBar
from udptui.ui.widgets.inspector import Inspector

OpenTransport = Callable[..., UdpTransport]


def build(open_transport: OpenTransport, peer: socket.socket, **options: object) -> UdpTuiApp:
    config = Config(peer=address_of(peer), **options)  # type: ignore[arg-type]
    return make_app(config, transport=open_transport(), clock=fixed_clock)


def sent(app: UdpTuiApp) -> list[Entry]:
    return [entry for entry in app.session.store if entry.direction is Direction.SENT]


def drain(sock: socket.socket) -> list[bytes]:
    """Every datagram waiting on `sock` now, without waiting for more."""
    got = []
    sock.settimeout(0)
    try:
        while True:
            got.append(sock.recv(65535))
    except BlockingIOError:
        return got
    finally:
        sock.settimeout(5)


async def collect(pilot: Pilot[None], sock: socket.socket, count: int) -> list[bytes]:
    """Datagrams on `sock` until there are at least `count` (the app runs meanwhile)."""
    got: list[bytes] = []

    def enough() -> bool:
        got.extend(drain(sock))
        return len(got) >= count

    await wait_for(pilot, enough, f"{count} datagrams at the peer")
    return got


def test_counts_and_intervals_parse() -> None:
    assert parse_count("100") == 100
    assert parse_count("2,000") == 2000
    assert parse_count("forever") is None
    assert parse_interval("10ms") == pytest.approx(0.01)
    assert parse_interval("0.5s") == 0.5
    assert parse_interval("250us") == pytest.approx(0.00025)
    assert parse_interval("0") == 0
    for bad in ("-1", "1.5", "x"):
        with pytest.raises(RepeatError):
            parse_count(bad)
    for bad in ("5", "1h", "-1ms", "ms"):
        with pytest.raises(RepeatError):
            parse_interval(bad)


async def test_eol_crlf_delivers_hi_crlf_but_hex_goes_as_typed(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport, peer, eol="crlf")
    async with app.run_test() as pilot:
        await type_line(pilot, app, "hi")
        assert peer.recv(100) == b"hi\r\n"
        await type_line(pilot, app, "/hex 68 69")
        assert peer.recv(100) == b"hi"
        await wait_for(pilot, lambda: "eol crlf" in str(app.query_one(StatusBar).render()), "eol on the bar")
        await type_line(pilot, app, "/eol lf")
        await type_line(pilot, app, "hi")
        assert peer.recv(100) == b"hi\n"
        await type_line(pilot, app, "/eol none")
        await type_line(pilot, app, "hi")
        assert peer.recv(100) == b"hi"
        await wait_for(
            pilot, lambda: "eol" not in str(app.query_one(StatusBar).render()), "no eol on the bar"
        )


async def test_file_sends_its_exact_bytes(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 8
    path = tmp_path / "request.bin"
    path.write_bytes(data)
    app = build(open_transport, peer)
    async with app.run_test() as pilot:
        await type_line(pilot, app, f"/file {path}")
        assert peer.recv(65535) == data
        assert sent(app)[-1].payload == data
        assert app.query_one(Composer).value == ""


@pytest.mark.parametrize(
    ("name", "size", "words"),
    [("missing.bin", None, "No such file"), ("huge.bin", 70_000, "one datagram holds 65,507")],
)
async def test_file_that_cannot_go_is_a_notice_and_the_text_stays(
    open_transport: OpenTransport,
    peer: socket.socket,
    tmp_path: Path,
    name: str,
    size: int | None,
    words: str,
) -> None:
    path = tmp_path / name
    if size is not None:
        path.write_bytes(b"x" * size)
    app = build(open_transport, peer)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await type_line(pilot, app, f"/file {path}")
        await wait_for(pilot, lambda: bool(notices.matching(words)), f"a notice saying {words!r}")
        assert app.query_one(Composer).value == f"/file {path}"
        assert app.session.counters.sent == 0


def open_for_writing_once(fifo: Path) -> None:
    """Be the writer a blocking open of `fifo` for reading waits for (none waits: ENXIO)."""
    with contextlib.suppress(OSError):
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize(("kind", "words"), [("fifo", "is a FIFO"), ("directory", "is a directory:")])
async def test_file_on_a_fifo_or_a_directory_is_a_notice_and_never_waits(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path, kind: str, words: str
) -> None:
    """A FIFO with no writer (like a terminal) would hold the UI thread in `open` for ever."""
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    # A test of code that waits in `open` would hang with it: this writer comes after the
    # deadline and lets such an open go on, so that the test fails instead.
    rescue = threading.Timer(2 * WAIT_SECONDS, open_for_writing_once, [path])
    rescue.start()
    app = build(open_transport, peer)
    notices = Notices()
    try:
        async with app.run_test(message_hook=notices) as pilot:
            await type_line(pilot, app, f"/file {path}")
            await wait_for(pilot, lambda: bool(notices.matching(words)), f"a notice saying {words!r}")
            assert app.query_one(Composer).value == f"/file {path}"
            assert app.session.counters.sent == 0
    finally:
        rescue.cancel()


async def test_repeat_delivers_exactly_the_count_as_one_counting_entry(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    log = tmp_path / "log.jsonl"
    app = build(open_transport, peer, log_path=str(log))
    async with app.run_test() as pilot:
        await type_line(pilot, app, "/repeat 100 1ms ping")
        assert app.query_one(Composer).value == ""
        await wait_for(pilot, lambda: app.sending.repeat is None, "the repeat to finish")
        got = await collect(pilot, peer, 100)
        assert got + drain(peer) == [b"ping"] * 100
        [entry] = sent(app)  # one entry counts them all
        assert app.sending.marks.get(entry.seq).startswith("\u00d7100 at ")
        assert "\u00d7100 at " in app.query_one(ChatLog).render_entry(entry).text
        assert app.session.counters.sent == 100
        assert app.session.roster.get(address_of(peer)).sent == 100  # type: ignore[union-attr]
        notes = [entry.note for entry in app.session.store if entry.direction is Direction.NOTE]
        assert any(note.startswith(f"repeat to {address_of(peer)}: \u00d7100 at") for note in notes)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [record["text"] for record in records if record["dir"] == "out"] == ["ping"] * 100


@pytest.mark.parametrize("how", ["/stop", "escape"])
async def test_a_forever_repeat_stops(open_transport: OpenTransport, peer: socket.socket, how: str) -> None:
    app = build(open_transport, peer, eol="lf")
    async with app.run_test() as pilot:
        await type_line(pilot, app, "/repeat forever 5ms /hex 01 02")
        got = await collect(pilot, peer, 5)  # 5 ms apart: the peer reads far faster
        await wait_for(pilot, lambda: "repeat \u00d7" in str(app.query_one(StatusBar).render()), "progress")
        if how == "escape":
            await pilot.press("escape")
        else:
            await type_line(pilot, app, "/stop")
        await wait_for(pilot, lambda: app.sending.repeat is None, "the repeat to end")
        got += drain(peer)  # the pacing thread has ended: everything it sent is here
        assert set(got) == {b"\x01\x02"}  # /hex gets no line ending
        assert len(got) == app.session.counters.sent
        [entry] = sent(app)
        assert app.sending.marks.get(entry.seq).endswith("stopped")
        assert "repeat" not in str(app.query_one(StatusBar).render())


# -- auto-replies ------------------------------------------------------------------------------


def test_rules_answer_with_captures_hex_and_the_first_match() -> None:
    ping = Rule(r"PING (\d+)", r"PONG \1")
    assert ping.answer(b"PING 42\n") == b"PONG 42"
    assert ping.answer(b"pong") is None
    assert Rule("^hello", "/hex 01 02").answer(b"hello") == b"\x01\x02"
    hex_rule = Rule(r"^DE AD (..)", r"/hex BE EF \1", hex_match=True)
    assert hex_rule.answer(b"\xde\xad\x07") == b"\xbe\xef\x07"
    with pytest.raises(ValueError):
        Rule("(.)", r"/hex \1").answer(b"z")
    responder = Responder([Rule("a", "first"), Rule("a", "second")], clock=lambda: 0.0)
    peer = Address("127.0.0.1", 9)
    assert [reply for _, reply, _ in responder.respond([(peer, b"a")])] == [b"first"]
    for pattern, reply, words in [
        ("x(", "y", "bad pattern"),
        ("x", r"\2", "bad reply"),
        ("x", "/hex zz", "hex"),
    ]:
        with pytest.raises(RuleError, match=words):
            Rule(pattern, reply)


def test_a_rule_searches_only_the_first_4_kib() -> None:
    """`GET (.*) HTTP` against `GET ` * 16000 took 3.4 s on the UI thread: the work grows with
    the square of the subject, so the subject is cut at MATCH_CHARS characters."""
    get = Rule(r"GET (.*) HTTP", r"200 \1")
    assert len(get.subject(b"GET " * 16000)) == MATCH_CHARS
    assert get.answer(b"GET " * 16000) is None
    assert get.answer(b"GET /x HTTP/1.1") == b"200 /x"
    late = b"." * MATCH_CHARS + b"GET /x HTTP"
    assert get.answer(late) is None  # beyond the first 4 KiB: not searched
    hex_rule = Rule("ff", "seen", hex_match=True)
    assert len(hex_rule.subject(bytes(65507))) == MATCH_CHARS
    assert hex_rule.answer(bytes(MATCH_CHARS // 3) + b"\xff") is None
    assert hex_rule.answer(bytes(MATCH_CHARS // 3 - 1) + b"\xff") == b"seen"
    text = "é" * MATCH_CHARS  # two bytes a character: still at most MATCH_CHARS characters
    assert len(Rule("x", "y").subject(text.encode())) <= MATCH_CHARS


def test_a_flood_that_matches_nothing_is_searched_at_most_search_limit_a_second() -> None:
    now = [0.0]
    responder = Responder([Rule("PING", "PONG")], clock=lambda: now[0])
    one, two = Address("127.0.0.1", 1), Address("127.0.0.1", 2)
    assert responder.respond([(one, b"noise")] * 1000 + [(one, b"PING")]) == []
    assert responder.skipped == 1000 + 1 - SEARCH_LIMIT
    assert [peer for peer, _, _ in responder.respond([(two, b"PING")])] == [two]  # per peer
    now[0] = 1.0
    assert [peer for peer, _, _ in responder.respond([(one, b"PING")])] == [one]
    assert responder.skipped == 1000 + 1 - SEARCH_LIMIT


def test_the_limit_is_per_peer_per_rule_per_second() -> None:
    now = [0.0]
    responder = Responder([Rule("a", "A"), Rule("b", "B")], clock=lambda: now[0])
    one, two = Address("127.0.0.1", 1), Address("127.0.0.1", 2)
    replies = responder.respond([(one, b"a")] * 50 + [(two, b"a")] * 50 + [(one, b"b")] * 50)
    assert len(replies) == 3 * LIMIT
    assert [rule.limited for rule in responder.rules] == [60, 30]
    now[0] = 0.99
    assert responder.respond([(one, b"a")]) == []
    now[0] = 1.0
    assert len(responder.respond([(one, b"a")] * 30)) == LIMIT


async def test_respond_answers_ping_42_with_pong_42_marked_auto(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    config = Config(listening=True, rules=(Rule(r"PING (\d+)", r"PONG \1"),))
    app = make_app(config, transport=open_transport(), clock=fixed_clock)
    async with app.run_test() as pilot:
        peer.sendto(b"PING 42", app.transport.local_address.sockaddr_for(socket.AF_INET))
        assert await collect(pilot, peer, 1) == [b"PONG 42"]
        await wait_for(pilot, lambda: len(sent(app)) == 1, "the reply in the log")
        [entry] = sent(app)
        assert app.sending.marks.get(entry.seq) == "auto"
        assert "[auto]" in app.query_one(ChatLog).render_entry(entry).text
        assert app.session.last_sent is None  # /repeat and /keep act on what the user sent
        await wait_for(pilot, lambda: "auto 1" in str(app.query_one(StatusBar).render()), "auto on the bar")


async def test_the_limit_holds_against_a_flood_of_matching_datagrams(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    config = Config(listening=True, rules=(Rule("PING", "PONG"),))
    app = make_app(config, transport=open_transport(), clock=fixed_clock)
    app.sending.responder.clock = lambda: 0.0  # one second that never ends: the limit is exact
    async with app.run_test() as pilot:
        target = app.transport.local_address.sockaddr_for(socket.AF_INET)
        for _ in range(1000):
            peer.sendto(b"PING", target)
        await wait_for(pilot, lambda: app.session.counters.received == 1000, "the flood in the log")
        got = await collect(pilot, peer, LIMIT)
        got += drain(peer)
        assert got == [b"PONG"] * LIMIT
        [rule] = app.sending.responder.rules
        # Only SEARCH_LIMIT a second are searched at all; the rest are skipped, counted.
        assert (rule.answered, rule.limited) == (LIMIT, SEARCH_LIMIT - LIMIT)
        assert app.sending.responder.skipped == 1000 - SEARCH_LIMIT
        await wait_for(
            pilot,
            lambda: "auto 20, 180 over the limit, 800 skipped" in str(app.query_one(StatusBar).render()),
            "the surplus",
        )


async def test_two_apps_whose_rules_match_each_other_stay_under_the_limit(
    open_transport: OpenTransport,
) -> None:
    """Each answers `ping` with `ping`: without the limit they would flood each other for ever."""
    one = make_app(Config(listening=True, rules=(Rule("ping", "ping"),)), transport=open_transport())
    two_transport = open_transport()
    two = make_app(
        Config(peer=one.transport.local_address, rules=(Rule("ping", "ping"),)), transport=two_transport
    )
    for app in (one, two):
        app.sending.responder.clock = lambda: 0.0
    async with one.run_test() as pilot, two.run_test() as pilot_two:
        await type_line(pilot_two, two, "ping")

        def settled() -> bool:
            rules = [app.sending.responder.rules[0] for app in (one, two)]
            return all(rule.answered == LIMIT for rule in rules) and any(rule.limited for rule in rules)

        await wait_for(pilot, settled, "both to reach the limit")
        await pilot.pause(0.3)
        await pilot_two.pause(0.1)
        assert [app.sending.responder.rules[0].answered for app in (one, two)] == [LIMIT, LIMIT]
        assert one.session.counters.sent == LIMIT
        assert two.session.counters.sent == LIMIT + 1  # its own first ping, then its answers


async def test_respond_command_adds_lists_and_removes_rules(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport, peer)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await type_line(pilot, app, r"/respond add 'PING (\d+)' 'PONG \1'")
        await type_line(pilot, app, "/respond add-hex '^ff' '/hex 00'")
        assert [rule.pattern for rule in app.sending.responder.rules] == [r"PING (\d+)", "^ff"]
        await type_line(pilot, app, "/respond")
        notes = [entry.note for entry in app.session.store if entry.direction is Direction.NOTE]
        assert any(note.startswith("1. --respond 'PING (\\\\d+)'") for note in notes), notes
        assert any(note.startswith("2. --respond-hex '^ff' '/hex 00'") for note in notes)
        await type_line(pilot, app, "/respond add 'x(' 'y'")
        await wait_for(pilot, lambda: bool(notices.matching("bad pattern")), "a bad-pattern notice")
        assert app.query_one(Composer).value == "/respond add 'x(' 'y'"
        await type_line(pilot, app, "/respond remove 1")
        assert [rule.pattern for rule in app.sending.responder.rules] == ["^ff"]
        await type_line(pilot, app, "/respond remove all")
        assert app.sending.responder.rules == []


# -- round trips -------------------------------------------------------------------------------


def test_a_reply_pairs_with_the_latest_send_once_within_the_window() -> None:
    tracker = RttTracker()
    peer, other = Address("127.0.0.1", 1), Address("127.0.0.1", 2)
    assert tracker.arrived(peer, 10) is None  # nothing was sent to it
    tracker.sent(peer, 1_000_000)
    tracker.sent(peer, 2_000_000)  # the latest send is the one a reply answers
    assert tracker.arrived(other, 3_000_000) is None
    assert tracker.arrived(peer, 14_300_000) == pytest.approx(12.3)
    assert tracker.arrived(peer, 15_000_000) is None  # the send is used up
    tracker.sent(peer, 0)
    assert tracker.arrived(peer, WINDOW_NS + 1) is None  # too late to be its reply
    assert not tracker.waiting
    assert rtt_text(12.34) == "\u21a9 12.3 ms"
    assert rtt_text(0.081) == "\u21a9 0.08 ms"
    assert tracker.stats[peer].summary == "rtt 12.3/12.3/12.3 ms"


async def test_a_reply_shows_its_round_trip_in_the_log_and_the_peers_pane(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport, peer)
    async with app.run_test(size=(110, 30)) as pilot:
        await type_line(pilot, app, "ping")
        request, sender = peer.recvfrom(100)
        assert request == b"ping"
        peer.sendto(b"pong", sender)
        peer.sendto(b"and more", sender)  # the same batch or the next: no send to pair with
        await wait_for(pilot, lambda: app.session.counters.received == 2, "the replies")
        first, second = [entry for entry in app.session.store if entry.direction is Direction.RECEIVED]
        assert app.sending.marks.get(first.seq).startswith("\u21a9 ")
        assert app.sending.marks.get(first.seq).endswith(" ms")
        assert app.sending.marks.get(second.seq) == ""
        assert "[\u21a9 " in app.query_one(ChatLog).render_entry(first).text
        known = app.session.roster.get(address_of(peer))
        assert known is not None and known.rtt.startswith("rtt ")
        pane = app.query_one(PeerList)
        if not pane.display:
            app.action_toggle_peers()
            await pilot.pause()
        pane.refresh_peers()
        await pilot.pause()
        lines = [pane.render_line(y).text for y in range(4)]
        assert lines[2].strip() == known.rtt, lines


async def test_an_auto_reply_is_no_request_to_pair_with(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    config = Config(listening=True, rules=(Rule("PING", "PONG"),))
    app = make_app(config, transport=open_transport(), clock=fixed_clock)
    async with app.run_test() as pilot:
        target = app.transport.local_address.sockaddr_for(socket.AF_INET)
        peer.sendto(b"PING", target)
        assert await collect(pilot, peer, 1) == [b"PONG"]
        peer.sendto(b"PING", target)
        assert await collect(pilot, peer, 1) == [b"PONG"]
        received = [entry for entry in app.session.store if entry.direction is Direction.RECEIVED]
        assert [app.sending.marks.get(entry.seq) for entry in received] == ["", ""]


async def test_the_inspector_shows_the_mark_and_the_peers_round_trips(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    now = [datetime(2026, 1, 2, 12, 0, 1)]
    config = Config(peer=address_of(peer))
    app = make_app(config, transport=open_transport(), clock=lambda: now[0])
    async with app.run_test(size=(100, 40)) as pilot:
        await type_line(pilot, app, "ping")
        _, sender = peer.recvfrom(100)
        now[0] += timedelta(milliseconds=12.3)
        peer.sendto(b"pong", sender)
        await wait_for(pilot, lambda: app.session.counters.received == 1, "the reply")
        await pilot.press("f6")
        inspector = app.query_one(Inspector)
        await wait_for(pilot, lambda: inspector.display and inspector.entry is not None, "the inspector")
        lines = [
            inspector.render_line(y).text.rstrip() for y in range(inspector.scrollable_content_region.height)
        ]
        assert any(line.startswith("marked") and line.endswith("\u21a9 12.3 ms") for line in lines), lines
        assert any(
            line.startswith("peer round trips") and "12.3/12.3/12.3 ms min/avg/max of the last 1" in line
            for line in lines
        ), lines


def test_headless_runs_the_sending_commands_and_rules(headless: list[Headless], tmp_path: Path) -> None:
    """The screen-less runner is a CommandContext too: /repeat, /eol, /keep, /send and --respond."""
    with udp_socket() as peer:
        host, port = peer.getsockname()
        messages = tmp_path / "messages.toml"
        args = ["--peer", f"{host}:{port}", "--jsonl", "--messages", str(messages)]
        udptui = start(headless, *args, "--respond", r"PING (\d+)", r"PONG \1")
        udptui.type("/repeat 5 1ms hi")
        assert [peer.recvfrom(100)[0] for _ in range(5)] == [b"hi"] * 5
        records = [udptui.record() for _ in range(6)]
        assert [(record["dir"], record.get("text")) for record in records[:5]] == [("out", "hi")] * 5
        assert records[5]["text"].startswith(f"repeat to {host}:{port}: \u00d75 at ")
        udptui.type("/eol crlf", "line", "/keep line")
        assert peer.recvfrom(100)[0] == b"line\r\n"
        udptui.type("/send line")
        assert peer.recvfrom(100)[0] == b"line\r\n"
        peer.sendto(b"PING 42", ("127.0.0.1", udptui.port))
        assert peer.recvfrom(100)[0] == b"PONG 42"
        udptui.process.send_signal(signal.SIGTERM)
        _, rest, _ = udptui.finish()
    ping, pong = [record for record in rest if record.get("text") in ("PING 42", "PONG 42")]
    assert (ping["dir"], "auto" in ping) == ("in", False)
    assert (pong["dir"], pong.get("auto")) == ("out", True)  # the records say which sends a rule made
    assert b'["line"]' in messages.read_bytes()
