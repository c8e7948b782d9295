"""What the inspector, binary-first lines and wrapping look like: SVG snapshots of real
sessions over loopback UDP, with a fixed clock and fixed ports (23000-23999 here).
Accept a deliberate change with `pytest --snapshot-update`, after reading the SVG. These show
the raw bytes (`--decode none`); test_snapshots_decoders.py shows what the decoders add."""

from __future__ import annotations

from contextlib import ExitStack

from conftest import SNAPSHOT_RCVBUF, wait_for
from test_snapshots import SnapCompare, open_app, peer_socket, receive, sockets, still_cursor
from textual.pilot import Pilot

from udptui.config import Config
from udptui.decoders import NONE
from udptui.ui.app import UdpTuiApp
from udptui.ui.widgets import ChatLog, Composer, Inspector

__all__ = ["sockets"]  # the fixture, used by name

DNS_QUERY = bytes.fromhex(
    "74ea01200001000000000001"  # ID, flags (RD, AD), 1 question, 1 additional
    "076578616d706c6503636f6d00"  # example.com
    "00010001"  # A, IN
    "00002904d000000000000c000a00089b82e13cd554632b"  # OPT: 1232-byte UDP, an 8-byte cookie
)
"""`dig @127.0.0.1 example.com` as it goes on the wire: 52 bytes, built by hand."""
SYSLOG = (
    b"<134>1 2026-01-02T12:00:01.000Z web01 nginx 4242 ACCESS "
    b'[origin ip="192.0.2.7"] GET /api/v1/orders?page=2&limit=50 HTTP/1.1 200 512 '
    b'"-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)" '
    b"rt=0.042 upstream=10.0.0.12:8080 request_id=5f2b9c1e7a3d4e8f9a0b1c2d3e4f5a6b"
)
"""An RFC 5424 syslog message as `logger --rfc5424` sends one: its body is far past 100 columns."""
GAME = bytes.fromhex("beef001a421c0000000000003f800000c2480000ff")
"""A 21-byte game state packet: magic, length, ids and two floats."""


async def inspect_newest(pilot: Pilot[None]) -> None:
    """F6: the inspector opens on the newest entry; wait until it shows it."""
    app = pilot.app
    await pilot.press("f6")
    inspector = app.query_one(Inspector)
    await wait_for(pilot, lambda: inspector.entry is not None, "the inspector to show an entry")
    await still_cursor(pilot)


def test_inspector_on_a_dns_query(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """F6 on a 52-byte DNS query for example.com: the inspector below the log.

    The log line reads `12:00:01.000 ← 127.0.0.1:23101  52 B  74 ea 01 20 …` with the size in
    bold warning colour, on the accent-tinted cursor line. The inspector (below, a line of
    accent over it) starts `Received datagram #1, 52 B`, then `from 127.0.0.1:23101`,
    `local 127.0.0.1:23001`, `size 52 B on the wire, 52 B kept`, `content binary (not valid
    UTF-8)`, `time 2026-01-02 12:00:01.000000`, `since peer's last none earlier in the
    scrollback`, `entry #1 of the session`; then `Hex: 52 bytes, 4 rows` with the xxd rows,
    `.........exa` / `mple.com.......)` in the ASCII column; then `Text: 3 lines` with escapes such as
    `\\x{07}example\\x{03}com\\x{00}` dim and italic. The footer lists Reply, Again, Edit, Copy…
    """
    config = Config(port=23001, listening=True, rcvbuf=SNAPSHOT_RCVBUF, decode=NONE)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 23101)

    async def run_before(pilot: Pilot[None]) -> None:
        await receive(pilot, peer, to, DNS_QUERY)
        await pilot.press("f2")  # the peers pane off: the inspector gets 16-byte hex rows
        await inspect_newest(pilot)

    assert snap_compare(app, terminal_size=(100, 36), run_before=run_before)


def test_inspector_beside_the_log_on_syslog(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """A wide terminal: the inspector sits beside the log and wraps a long syslog message.

    At 180 columns with the peers pane, the inspector (74 columns, a vertical rule on its
    left) stands between the log and the peers pane. The log line is cut at the log's edge;
    the inspector shows `Received datagram #2, 285 B`, `content text (UTF-8)`, `since peer's
    last +0.000000 s` (the fixed clock), then `Text: 5 lines` holding the whole message, from
    `<134>1 2026-01-02T12:00:01.000Z web01 nginx` to `request_id=5f2b…5a6b` (cut at the edge,
    not at words), and below it `Hex: 285 bytes, 18 rows` and the first rows of the dump.
    """
    config = Config(port=23002, listening=True, rcvbuf=SNAPSHOT_RCVBUF, decode=NONE)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 23102)

    async def run_before(pilot: Pilot[None]) -> None:
        await receive(pilot, peer, to, b"<134>1 2026-01-02T12:00:00.900Z web01 nginx 4242 START - ready")
        await receive(pilot, peer, to, SYSLOG)
        await inspect_newest(pilot)

    assert snap_compare(app, terminal_size=(180, 34), run_before=run_before)


def test_inspector_on_a_truncated_datagram(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """A 40-byte datagram into a 32-byte receive buffer, inspected.

    The log line ends `[truncated: 40 bytes sent, 32 kept]`. The inspector reads `size 40 B
    on the wire, 32 B kept` and `truncated truncated: 40 bytes sent, 32 kept`; its text is
    `hello, the rest of this datagram` (32 characters) and its hex dump has 2 rows, the last
    `00000010: …` ending in `s datagram`.
    """
    config = Config(port=23003, listening=True, bufsize=32, rcvbuf=SNAPSHOT_RCVBUF, decode=NONE)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 23103)

    async def run_before(pilot: Pilot[None]) -> None:
        await receive(pilot, peer, to, b"hello, the rest of this datagram is lost")
        await pilot.press("f2")
        await inspect_newest(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_inspector_on_a_note(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """A bad command leaves an error note; F6 inspects it.

    The log's last line is the red note `• unknown command /nonsense: try /help …`. The
    inspector shows `Note #2`, `note error`, `time 2026-01-02 12:00:01.000000`, `entry #2 of
    the session`, then `Text` and the note's whole text wrapped; there is no hex dump.
    """
    config = Config(port=23004, listening=True, rcvbuf=SNAPSHOT_RCVBUF, decode=NONE)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 23104)

    async def run_before(pilot: Pilot[None]) -> None:
        await receive(pilot, peer, to, b"hello")
        assert isinstance(pilot.app, UdpTuiApp)
        pilot.app.query_one(Composer).value = "/nonsense"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(pilot.app.query_one(ChatLog).store) == 2, "the note")
        await pilot.press("f2")
        await inspect_newest(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_binary_datagrams_show_their_size_first(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """At 80 columns, binary datagrams show size and bytes at the start of the text column.

    `← 127.0.0.1:23105  21 B  be ef 00 1a 42 1c 00 00 …` (the game packet) and `52 B  74 ea
    01 20 …` (the DNS query) start with their size in bold warning colour, then hex; the
    printable ASCII beside them is past the right edge. Text stays text: `hello` and
    `\\x{1b}[31mred?\\x{1b}[0m` (ESC shown as a dim escape, still text). The last line, `8 B  00 00
    00 00 00 00 00 00  ........`, is eight NULs: valid UTF-8, but all controls.
    """
    config = Config(port=23005, listening=True, rcvbuf=SNAPSHOT_RCVBUF, decode=NONE)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 23105)

    async def run_before(pilot: Pilot[None]) -> None:
        for payload in (GAME, b"hello", DNS_QUERY, b"\x1b[31mred?\x1b[0m", bytes(8)):
            await receive(pilot, peer, to, payload)
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=(80, 20), run_before=run_before)


def test_wrap_on(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """`w` in the log turns wrapping on: a long datagram takes the lines it needs.

    `← 127.0.0.1:23106  short` is one line; the syslog message under it wraps over several
    lines, each continuation indented to start under the text column (column 34), and
    `after it` follows as its own entry. Nothing runs off the right edge and there is no
    horizontal scrollbar. The footer shows the log's keys (Reply, Again, … Wrap, Time).
    """
    config = Config(port=23006, listening=True, rcvbuf=SNAPSHOT_RCVBUF, decode=NONE)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 23106)

    async def run_before(pilot: Pilot[None]) -> None:
        for payload in (b"short", SYSLOG, b"after it"):
            await receive(pilot, peer, to, payload)
        await pilot.press("f2")
        log = pilot.app.query_one(ChatLog)
        log.focus()
        await pilot.press("w")
        await wait_for(pilot, lambda: log.virtual_size.height > 3, "the long entry to wrap")
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_the_cursor_line_on_a_middle_entry(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """Tab into the log, Up three times: the cursor sits on `third` of five entries.

    The `third` line has an accent-tinted background across the whole width of the log; the
    other four lines (`first`, `second`, `fourth`, `fifth`) have the plain log background.
    The footer shows the log's keys (Reply, Again, Edit, Copy…).
    """
    config = Config(port=23007, listening=True, rcvbuf=SNAPSHOT_RCVBUF, decode=NONE)
    app, to = open_app(sockets, config)
    peer = peer_socket(sockets, 23107)

    async def run_before(pilot: Pilot[None]) -> None:
        for payload in (b"first", b"second", b"third", b"fourth", b"fifth"):
            await receive(pilot, peer, to, payload)
        log = pilot.app.query_one(ChatLog)
        log.focus()
        await pilot.press("up", "up", "up")
        await wait_for(
            pilot,
            lambda: log.selected_entry is not None and log.selected_entry.payload == b"third",
            "the cursor on the third entry",
        )
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=(80, 16), run_before=run_before)
