"""Sending like a test bench, through Pilot on real loopback sockets: line endings, `/file`,
`/repeat` and `/stop`. Every wait polls up to a deadline; nothing asserts on time."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Notices, address_of, fixed_clock, type_line, wait_for
from textual.pilot import Pilot

from udptui.app import UdpTuiApp, make_app
from udptui.config import Config
from udptui.datagram import Direction, Entry
from udptui.repeat import RepeatError, parse_count, parse_interval
from udptui.transport import UdpTransport
from udptui.widgets import ChatLog, Composer, StatusBar

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
