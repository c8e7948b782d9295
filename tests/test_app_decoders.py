"""Decoders in the running app: the log shows `TAG summary` for a decoded datagram, `/decode`
changes that for everyone or one peer, the inspector (F6) shows the field tree, and flags that name a
decoder or a decoder file are checked at start. Real sockets on loopback throughout."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import dns.message
from conftest import Notices, address_of, fixed_clock, receive_from, type_line, wait_for

from udptui.chat.datagram import Direction
from udptui.config import Config
from udptui.decoders import Choice, Registry
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import ChatLog
from udptui.ui.widgets.inspector import Inspector

OpenTransport = Callable[..., UdpTransport]
QUERY = dns.message.make_query("example.com", "A", id=0x74E1).to_wire()
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "game_decoder.py"


def build(open_transport: OpenTransport, config: Config | None = None) -> UdpTuiApp:
    return make_app(config or Config(listening=True), transport=open_transport(), clock=fixed_clock)


def lines(app: UdpTuiApp) -> list[str]:
    log = app.query_one(ChatLog)
    return [
        log.render_entry(entry).text for entry in app.session.store if entry.direction is not Direction.NOTE
    ]


async def test_a_dns_query_shows_as_its_summary_and_chat_stays_chat(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test() as pilot:
        await receive_from(pilot, app, peer, QUERY, b"hello", b'{"cmd": "ping"}')
        await pilot.pause()
        assert lines(app)[0].endswith(f"{address_of(peer)}  DNS query A example.com  id 74e1")
        assert lines(app)[1].endswith("  hello")
        assert lines(app)[2].endswith('  JSON {"cmd":"ping"}')


async def test_decode_none_for_one_peer_then_auto_again(
    open_transport: OpenTransport, peer: socket.socket, stranger: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test() as pilot:
        await receive_from(pilot, app, peer, QUERY)
        await receive_from(pilot, app, stranger, QUERY)
        await type_line(pilot, app, f"/decode none {address_of(peer)}")
        await pilot.pause()
        first, second = lines(app)
        assert "DNS" not in first and "29 B  74 e1" in first  # raw bytes again, for this peer only
        assert "DNS query A example.com" in second
        await type_line(pilot, app, "/decode auto")
        assert all("DNS query" in line for line in lines(app))
        await type_line(pilot, app, "/decode syslog,json")
        assert not any("DNS" in line for line in lines(app))


async def test_an_unknown_decoder_is_a_notice_and_the_line_stays(open_transport: OpenTransport) -> None:
    app = build(open_transport)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await type_line(pilot, app, "/decode nope")
        await wait_for(pilot, lambda: bool(notices.matching("unknown decoder 'nope'")), "the notice")
        assert app.query_one("#composer").value == "/decode nope"  # type: ignore[attr-defined]


def inspector_lines(app: UdpTuiApp) -> list[str]:
    inspector = app.query_one(Inspector)
    return [inspector.render_line(y).text.rstrip() for y in range(inspector.virtual_size.height)]


async def test_f6_shows_the_field_tree_in_the_inspector(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport)
    async with app.run_test(size=(120, 40)) as pilot:
        await receive_from(pilot, app, peer, QUERY)
        await pilot.press("f6")
        await wait_for(
            pilot, lambda: "Decoded: DNS query A example.com  id 74e1" in inspector_lines(app), "the tree"
        )
        lines = inspector_lines(app)
        assert "├─ header  id 74e1  [0:12]" in lines
        assert "│  ├─ id  29921 (0x74e1)  [0:2]" in lines
        assert "│  └─ example.com  IN A" in lines


async def test_a_chosen_decoder_that_cannot_read_says_why_in_the_inspector(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    app = build(open_transport, Config(listening=True, decode=Choice(("dns",))))
    async with app.run_test(size=(120, 40)) as pilot:
        await receive_from(pilot, app, peer, b"hello world, not DNS")
        await pilot.press("f6")
        await wait_for(
            pilot, lambda: any("Not decoded: " in line for line in inspector_lines(app)), "the reason"
        )
        assert lines(app)[0].endswith("  hello world, not DNS")  # the raw view stays


async def test_a_broken_plugin_is_said_once_as_a_notice(
    open_transport: OpenTransport, peer: socket.socket
) -> None:
    class Exploding:
        name = "boom"

        def decode(self, payload: bytes, context: object) -> None:
            raise RuntimeError("\x1b[2Jbad plugin")

    registry = Registry(entry_points=False)
    registry.add(Exploding())
    registry._problems.append("decoder plugin x (y:z) failed to load: ImportError: no y")
    app = UdpTuiApp(Config(listening=True), open_transport(), clock=fixed_clock, decoders=registry)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await receive_from(pilot, app, peer, b"hello")
        await wait_for(pilot, lambda: bool(notices.matching("failed to load")), "the plugin notice")
        assert lines(app)[0].endswith("  hello")  # the exploding decoder changed nothing


async def test_the_example_decoder_from_a_file(open_transport: OpenTransport, peer: socket.socket) -> None:
    config = Config(listening=True, decode=Choice(("game",)), decoder_paths=(str(EXAMPLE),))
    app = build(open_transport, config)
    async with app.run_test() as pilot:
        packet = b"GP\x01\x03\x00\x07\x00\x00\x00\x2a\x05hello"
        await receive_from(pilot, app, peer, packet, QUERY)
        await pilot.pause()
        assert lines(app)[0].endswith("GAME chat player 7  seq 42  hello")
        assert "DNS" not in lines(app)[1]  # only the game decoder was chosen


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "udptui", "--listen", "0", *args], capture_output=True, text=True, timeout=20
    )


def test_bad_decode_flags_exit_2_with_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('needs numpy')\n")
    for args, words in (
        (["--decode", "dns,,x"], "expected auto, none or decoder names"),
        (["--decode", "nope"], "unknown decoder 'nope'"),
        (["--decoder-path", str(tmp_path / "missing.py")], "no such file"),
        (["--decoder-path", str(broken)], "ImportError: needs numpy"),
    ):
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_decoder_path_may_be_given_once_per_file_and_decode_once() -> None:
    from udptui.cli import config_from_args

    config = config_from_args(["--listen", "0", "--decoder-path", "a.py", "--decoder-path", "b.py"])
    assert config.decoder_paths == ("a.py", "b.py")
    assert str(config_from_args(["--listen", "0", "--decode", "dns,json"]).decode) == "dns,json"
    assert str(config_from_args(["--listen", "0"]).decode) == "auto"


async def test_only_drawn_entries_are_decoded(open_transport: OpenTransport, peer: socket.socket) -> None:
    """A burst of 300 queries: the log draws a screenful, and only those are decoded."""
    app = build(open_transport)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(300):
            peer.sendto(QUERY, app.transport.local_address.sockaddr_for(socket.AF_INET))
        await wait_for(pilot, lambda: app.session.counters.received == 300, "the burst")
        await pilot.pause()
        decoded = len(app.decoding._cache)
        # The log is under 30 lines tall; it may have drawn a screenful while the burst was
        # still arriving and another at its end, so at most two screenfuls, never all 300.
        assert 0 < decoded <= 60, decoded
