"""What the app looks like: SVG snapshots of real sessions over loopback UDP.

Every picture is made deterministic: a fixed clock, fixed ports for the app and its peers
(21000-21999, below Linux's ephemeral range, one set per test), and an explicit receive
buffer so the status bar's `rcvbuf` reads the same everywhere. A port that cannot be bound
fails the test. Accept a deliberate change with `pytest --snapshot-update`, after reading
the SVG.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta

import pytest
from conftest import SNAPSHOT_RCVBUF, fixed_clock, udp_socket, wait_for
from textual import events
from textual.pilot import Pilot

from udptui.chat.responder import Rule
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import ChatLog, Composer, FilterBar

SIZE = (100, 30)
SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[None]], Awaitable[None]]

HOSTILE: list[bytes] = [
    b"\x1b[2J\x1b[Hclear screen",
    b"\x1b]0;pwned\x07 window title",
    b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ OSC8",
    b"\x1b[31mred?\x1b[0m \x1b[5mblink?\x1b[0m",
    b"\x1bP+q\x1b\\ DCS \x1b[6n query",
    "\u202eexe.txt\u202c \u2066bidi\u2069".encode(),
    b"\xc2\x9b31m C1 CSI \xc2\x85 NEL",
    "zero\u200bwidth\u200d\ufeffBOM".encode(),
    b"[@click=app.quit]quit?[/]",
    b"[link=http://x]link[/link]",
    b"[b red]bold?[/] [reverse]r",
    b"NUL\x00 BEL\x07 BS\x08 DEL\x7f",
    b"DC2 then 4: \x124, TAB:\tX",
    b"line one\nline two\r\n",
    b"\xff\xfe\x00A bad \xc3\x28",
    b"",
    "\u6f22\u5b57 \U0001f44b Z\u0338\u0322 e\u0301".encode(),
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 \u2764\ufe0f".encode(),
    b"hello, the rest of this datagram is lost",
]
"""Datagrams that try to act on the terminal, the markup parser or the reader's eyes."""
HOSTILE_BUFSIZE = 32
"""The app's `--bufsize`: every hostile datagram fits but the last (40 bytes), which arrives cut."""


@pytest.fixture
def sockets() -> Iterator[ExitStack]:
    """Closes every socket and transport a snapshot test opened."""
    with ExitStack() as stack:
        yield stack


def open_app(
    sockets: ExitStack, config: Config, *, bind_host: str | None = "127.0.0.1"
) -> tuple[UdpTuiApp, Address]:
    """An app on a fixed port (binding must succeed), and the loopback address to reach it."""
    transport = UdpTransport.open(
        bind_host=bind_host, port=config.port, bufsize=config.bufsize, rcvbuf=config.rcvbuf
    )
    sockets.callback(transport.close)
    app = make_app(config, transport=transport, clock=fixed_clock)
    return app, Address("127.0.0.1", config.port)


def peer_socket(sockets: ExitStack, port: int) -> socket.socket:
    return sockets.enter_context(udp_socket("127.0.0.1", port))


async def receive(pilot: Pilot[None], sender: socket.socket, to: Address, payload: bytes) -> None:
    """Send one datagram to the app and wait until its log has it (one batch per datagram)."""
    app = pilot.app
    assert isinstance(app, UdpTuiApp)
    before = app.session.counters.received
    sender.sendto(payload, to.sockaddr_for(socket.AF_INET))
    await wait_for(pilot, lambda: app.session.counters.received > before, f"{payload!r} to arrive")


async def send(pilot: Pilot[None], text: str) -> None:
    """Type a message into the composer and press Enter."""
    app = pilot.app
    assert isinstance(app, UdpTuiApp)
    sent_before = app.session.counters.sent
    app.query_one(Composer).value = text
    await pilot.press("end", "enter")
    await wait_for(pilot, lambda: app.session.counters.sent > sent_before, f"{text[:20]!r} to be sent")


async def still_cursor(pilot: Pilot[None]) -> None:
    """Stop the composer's cursor blinking, so the picture does not depend on when it is taken."""
    pilot.app.query_one(Composer).cursor_blink = False
    await pilot.pause()


def test_listen_mode_idle(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """Listening on every interface, nobody has written yet.

    The header reads `udptui  listening on 0.0.0.0:21001 and [::]:21001   no peer yet`; the
    log is empty; the input's placeholder says `No peer yet: wait for someone to write`;
    the status bar reads `rx 0  tx 0  in 0 B  out 0 B  dropped 0  rcvbuf 256.0 KiB` (what was
    asked for; Linux reports twice that); the footer lists the Quit, Clear and Newest keys.
    """
    config = Config(port=21001, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, _ = open_app(sockets, config, bind_host=None)
    assert snap_compare(app, terminal_size=SIZE, run_before=still_cursor)


def test_conversation_in_progress(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """A chat with one peer, in listen mode (the tutorial's `hello` exchange).

    The header shows `peer 127.0.0.1:21102  follow`. The log has, all at 12:00:01.000: a green
    `← 127.0.0.1:21102  hello`, a blue `→ 127.0.0.1:21102  hi, who is this?`, `← … egon`,
    `→ … nice to meet you, egon`, and `← … world`; each answer to a send is marked
    `[↩ 0.00 ms]` (the fixed clock stands still), and the pane's third line for the peer reads
    `rtt 0.00/0.00/0.00 ms`; the placeholder names the peer; the status bar counts `rx 3  tx 2`.
    """
    config = Config(port=21002, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 21102)

    async def run_before(pilot: Pilot[None]) -> None:
        await receive(pilot, peer, to, b"hello")
        await send(pilot, "hi, who is this?")
        await receive(pilot, peer, to, b"egon")
        await send(pilot, "nice to meet you, egon")
        await receive(pilot, peer, to, b"world")
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_pinned_peer_with_a_stranger(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """Talking to a pinned peer while another address writes in.

    The header reads `bound to 127.0.0.1:21003   peer 127.0.0.1:21103  pinned`. The log
    shows `→ 127.0.0.1:21103  are you there?`, `← 127.0.0.1:21103  yes  [↩ 0.00 ms]`, then
    `← 127.0.0.1:21203 (other peer)  let me in` with `(other peer)` in the warning colour,
    then `→ 127.0.0.1:21103  still talking to you`: the reply still went to the pinned peer.
    """
    config = Config(port=21003, peer=Address("127.0.0.1", 21103), listening=False, rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 21103)
    stranger = peer_socket(sockets, 21203)

    async def run_before(pilot: Pilot[None]) -> None:
        await send(pilot, "are you there?")
        assert peer.recv(100) == b"are you there?"
        await receive(pilot, peer, to, b"yes")
        await receive(pilot, stranger, to, b"let me in")
        await send(pilot, "still talking to you")
        assert peer.recv(100) == b"still talking to you"
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_hostile_datagrams_are_drawn_safely(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """Nineteen datagrams built to attack a terminal, each shown as one inert line.

    Every line starts `12:00:01.000 ← 127.0.0.1:21104` and the screen is otherwise intact: not
    cleared, nothing red, reversed, bold or blinking, no link, the title unchanged. ESC,
    BEL, DCS, C0/C1 controls, bidi and zero-width characters show as dim italic escapes
    with braces (`\\x{1b}[2J`, `\\x{1b}]0;pwned\\x{07}`, `\\u{202e}`, `\\x{9b}`,
    `\\u{200b}`, `\\u{200d}` after a letter, `\\u{feff}`, `\\x{00}`, `\\x{7f}`),
    newlines as `\\x{0a}`; the line after the NUL line shows `\\x{12}4` (the brace ends the
    escape) and a dim `→` padded to the next tab stop before `X`. The three markup lines show their
    brackets literally (`[@click=app.quit]quit?[/]`). The invalid UTF-8 line shows its
    size and bytes first, `11 B  ff fe 00 41 20 62 61 64 20 c` up to the pane; the empty one
    says `empty datagram`; the CJK/emoji/combining line keeps its columns; the family emoji
    and `❤️` line has no escape (its joiners and selector are kept); the last line shows
    `hello, the rest of this datagram` and `[truncated: 40 bytes sent, 32 kept]`.
    """
    config = Config(port=21004, listening=True, bufsize=HOSTILE_BUFSIZE, rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app(sockets, config)
    hostile = peer_socket(sockets, 21104)

    async def run_before(pilot: Pilot[None]) -> None:
        for payload in HOSTILE:
            await receive(pilot, hostile, to, payload)
        await still_cursor(pilot)
        assert pilot.app.is_running

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_large_send_warning_toast(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """A 600-byte message goes out, with a warning.

    The log shows `← 127.0.0.1:21105  ping`, then the sent line `→ 127.0.0.1:21105  zzzz…`
    running off the right edge (a horizontal scrollbar appears), then a yellow note
    `• sent 600 bytes: over 508, it may be dropped on some paths`. A warning toast titled
    `Large datagram` with the same words sits at the right just above the input box, hiding
    neither the box nor the status bar. The input is empty.
    """
    config = Config(port=21005, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 21105)

    async def run_before(pilot: Pilot[None]) -> None:
        await receive(pilot, peer, to, b"ping")
        await send(pilot, "z" * 600)
        assert peer.recv(1000) == b"z" * 600
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_narrow_terminal_with_a_multi_line_paste(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """40 columns: the header keeps the peer and the mode, the log has the whole width.

    The header reads ` :21006  peer 127.0.0.1:21106  follow` (the local address cut to its
    port, `udptui` and `listening on` gone). No peers pane: the log line
    `12:00:01.000 ← 127.0.0.1:21106  ping` runs the full width. The input box holds a pasted
    three-line message drawn as `one⏎two⏎three`, not yet sent.
    """
    config = Config(port=21006, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 21106)

    async def run_before(pilot: Pilot[None]) -> None:
        await receive(pilot, peer, to, b"ping")
        composer = pilot.app.query_one(Composer)
        composer.post_message(events.Paste("one\rtwo\rthree"))
        await wait_for(pilot, lambda: composer.value == "one\ntwo\nthree", "the paste")
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=(40, 14), run_before=run_before)


# -- many peers: the peers pane, hex view, the filter, the new-entries marker ------------------
# These use ports 22000-22999: the app on 220xx, its peers on 221xx-223xx.


class ScriptedClock:
    """A clock the test moves on by hand, so the pane's `last seen` times order the peers."""

    def __init__(self) -> None:
        self.now = fixed_clock()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)


def open_app_with_clock(
    sockets: ExitStack, config: Config, clock: ScriptedClock
) -> tuple[UdpTuiApp, Address]:
    """`open_app` with a clock that moves."""
    transport = UdpTransport.open(
        bind_host="127.0.0.1", port=config.port, bufsize=config.bufsize, rcvbuf=config.rcvbuf
    )
    sockets.callback(transport.close)
    return make_app(config, transport=transport, clock=clock), Address("127.0.0.1", config.port)


def test_peers_pane_with_a_pinned_target_and_unread(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """Three peers in the pane on the right, newest activity first, one pinned as the target.

    The header reads `peer 127.0.0.1:22101  pinned`. The pane lists `▶ 127.0.0.1:22101`
    (the target: an accent `▶`, the address bold) over `12:00:11  in 1  out 1`; then
    `127.0.0.1:22201` over `12:00:09  in 2  out 0  2 new`, `2 new` bold in the warning
    colour; then `127.0.0.1:22301` over `12:00:02  in 1  out 0`. Each address has its own
    colour, the same in the pane and the log. The log reads `12:00:02.000 ← …22301  ping`,
    `12:00:05.000 ← …22101  hello`, the note `12:00:05.000 • replying to 127.0.0.1:22101 (pinned)`
    left by `/to`, `12:00:07.000 ← 127.0.0.1:22201 (other peer)  anyone there?`,
    `12:00:09.000 ← … (other peer)  hello??` and `12:00:11.000 → 127.0.0.1:22101  hi, you are pinned`.
    """
    clock = ScriptedClock()
    config = Config(port=22001, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app_with_clock(sockets, config, clock)
    target = peer_socket(sockets, 22101)
    other = peer_socket(sockets, 22201)
    first = peer_socket(sockets, 22301)

    async def run_before(pilot: Pilot[None]) -> None:
        clock.advance(1)
        await receive(pilot, first, to, b"ping")
        clock.advance(3)
        await receive(pilot, target, to, b"hello")
        pilot.app.query_one(Composer).value = "/to 127.0.0.1:22101"
        await pilot.press("end", "enter")
        clock.advance(2)
        await receive(pilot, other, to, b"anyone there?")
        clock.advance(2)
        await receive(pilot, other, to, b"hello??")
        clock.advance(2)
        await send(pilot, "hi, you are pinned")
        assert target.recv(100) == b"hi, you are pinned"
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_hex_view(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """F3 on: an xxd-style dump, muted, under every datagram; F2 has hidden the peers pane.

    The log uses the full width, so every dump line fits. `← 127.0.0.1:22102  hello` has
    `00000000: 6865 6c6c 6f` under it with `hello` in the ASCII column; the binary datagram,
    `8 B  00 ff 10 41 42 43 7f 0a  ...ABC..` (size first, in bold warning colour), has
    `00000000: 00ff 1041 4243 7f0a` and `...ABC..`; the sent
    `→ 127.0.0.1:22102  a reply of twenty-six bytes` has two dump lines, `00000000: 6120 …
    a reply of twent` and `00000010: 792d 7369 7820 6279 7465 73` with `y-six bytes`. The
    ASCII column starts two spaces after the hex, as in `xxd`.
    """
    config = Config(port=22002, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 22102)

    async def run_before(pilot: Pilot[None]) -> None:
        await receive(pilot, peer, to, b"hello")
        await receive(pilot, peer, to, b"\x00\xff\x10ABC\x7f\n")
        await send(pilot, "a reply of twenty-six bytes")
        await pilot.press("f2", "f3")
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_filtered_log(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """F5 and `egon` typed: the log narrows to the three entries that mention egon.

    The filter bar (warning-coloured border) above the input holds `egon`. The log shows
    only `← 127.0.0.1:22103  egon`, `→ 127.0.0.1:22103  hi egon` and
    `← 127.0.0.1:22203  EGON again` (the match ignores case); `hello`, `world` and
    `from someone else` are hidden. The pane still lists both peers, 22103 with its round trips
    (`rtt 0.00/0.00/0.00 ms`: the fixed clock stands still).
    """
    config = Config(port=22003, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 22103)
    other = peer_socket(sockets, 22203)

    async def run_before(pilot: Pilot[None]) -> None:
        await receive(pilot, peer, to, b"hello")
        await receive(pilot, peer, to, b"egon")
        await send(pilot, "hi egon")
        await receive(pilot, peer, to, b"world")
        await receive(pilot, other, to, b"from someone else")
        await receive(pilot, other, to, b"EGON again")
        await pilot.press("f5", *"egon")
        filter_bar = pilot.app.query_one(FilterBar)
        filter_bar.cursor_blink = False
        log = pilot.app.query_one(ChatLog)
        await wait_for(pilot, lambda: log.row_count == 3, "the filter to leave three entries")
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_new_entries_marker(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """Scrolled to the top while three more datagrams arrive: the view stays put.

    The log shows `message 00` to `message 22` from 127.0.0.1:22104 and a vertical
    scrollbar; its last line is the marker `▼ 3 new below: ctrl+end`, right-aligned, bold
    on the accent colour. The status bar counts `rx 43`.
    """
    config = Config(port=22004, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 22104)

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, UdpTuiApp)
        log = app.query_one(ChatLog)
        for n in range(40):
            peer.sendto(f"message {n:02}".encode(), to.sockaddr_for(socket.AF_INET))
        await wait_for(pilot, lambda: app.session.counters.received == 40, "40 datagrams")
        await pilot.press("ctrl+end")
        await wait_for(pilot, lambda: log.scroll_y > 0 and log.is_vertical_scroll_end, "the end")
        await pilot.press("ctrl+home")
        await wait_for(pilot, lambda: log.scroll_y == 0, "the top")
        for payload in (b"new one", b"new two", b"new three"):
            await receive(pilot, peer, to, payload)
        await wait_for(pilot, lambda: log.unseen == 3, "three unseen entries")
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_sending_marks_and_status(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """Sending like a test bench: a round trip, an auto-reply and the line ending.

    Started pinned to 127.0.0.1:21107 with `--eol crlf` and `--respond 'PING (\\d+)' 'PONG \\1'`.
    The log shows `→ 127.0.0.1:21107  hello\\x{0d}\\x{0a}` (the line ending made visible),
    `← … hi there  [↩ 12.3 ms]` (the clock moved 12.3 ms between the send and the reply),
    `← … PING 7`, then `→ … PONG 7  [auto]`. The pane's third line for the peer reads
    `rtt 12.3/12.3/12.3 ms`. The status bar ends with `eol crlf  auto 1`.
    """
    now = [datetime(2026, 1, 2, 12, 0, 1)]
    config = Config(
        port=21007,
        peer=Address("127.0.0.1", 21107),
        rcvbuf=SNAPSHOT_RCVBUF,
        eol="crlf",
        rules=(Rule(r"PING (\d+)", r"PONG \1"),),
    )
    transport = UdpTransport.open(bind_host="127.0.0.1", port=21007, rcvbuf=SNAPSHOT_RCVBUF)
    sockets.callback(transport.close)
    app = make_app(config, transport=transport, clock=lambda: now[0])
    to = Address("127.0.0.1", 21007)
    peer = peer_socket(sockets, 21107)

    async def run_before(pilot: Pilot[None]) -> None:
        await send(pilot, "hello")
        now[0] += timedelta(milliseconds=12.3)
        await receive(pilot, peer, to, b"hi there")
        await receive(pilot, peer, to, b"PING 7")
        await wait_for(pilot, lambda: app.session.counters.sent == 2, "the auto-reply")
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
