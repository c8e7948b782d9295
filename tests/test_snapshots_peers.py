"""What the peers pane looks like grouped by host, with a muted host: an SVG snapshot of a
real session over loopback UDP, with a fixed clock and fixed ports (25000-25999 here)."""

from __future__ import annotations

from contextlib import ExitStack

from conftest import SNAPSHOT_RCVBUF, udp_socket
from test_snapshots import (
    SIZE,
    ScriptedClock,
    SnapCompare,
    open_app_with_clock,
    receive,
    sockets,
    still_cursor,
)
from textual.pilot import Pilot

from udptui.config import Config
from udptui.ui.widgets import Composer, PeerList

__all__ = ["sockets"]  # the fixture, used by name


def test_peers_grouped_by_host_with_a_muted_host(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """Four one-shot senders on 127.0.0.1, a chat peer on 127.0.0.2, a muted host 127.0.0.3;
    the pane focused and grouped by host (`g`).

    The pane's first line reads `by host: 3 (g: by port)` (muted colour); then, three lines
    a host, `▶ 127.0.0.2  1 port` (the target, which wrote last) over `12:00:06  in 1  out 0`
    and `5 B in  0 B out`, with the cursor's accent background; then, dimmed and italic
    `muted`, `127.0.0.3  2 ports  muted` over `12:00:05  in 3  out 0` and `21 B in  0 B out`
    (it wrote after the mute, and did not become the target); then `127.0.0.1  4 ports`
    over `12:00:04  in 4  out 0` and `52 B in  0 B out`.
    The log shows the note `12:00:03.000 • muted 127.0.0.3 (every port): counted and
    recorded …`, the four `← 127.0.0.1:2510N  disk N% full` lines and
    `← 127.0.0.2:25201  hello`, and none of 127.0.0.3's three StatsD datagrams. The status
    bar reads `rx 8` and then `muted 3` (127.0.0.3's three, two from before the mute, all
    hidden from the log now). The footer lists
    `g By host` and `m Mute` among the pane's keys. No toast.
    """
    clock = ScriptedClock()
    config = Config(port=25001, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, to = open_app_with_clock(sockets, config, clock)
    muted = [sockets.enter_context(udp_socket("127.0.0.3", port)) for port in (25301, 25302)]
    one_shots = [sockets.enter_context(udp_socket("127.0.0.1", 25101 + index)) for index in range(4)]
    chat = sockets.enter_context(udp_socket("127.0.0.2", 25201))

    async def run_before(pilot: Pilot[None]) -> None:
        clock.advance(1)
        await receive(pilot, muted[0], to, b"foo:1|c")
        clock.advance(1)
        await receive(pilot, muted[1], to, b"foo:2|c")
        pilot.app.query_one(Composer).value = "/mute 127.0.0.3"
        await pilot.press("end", "enter")
        clock.advance(1)
        for index, sock in enumerate(one_shots):
            await receive(pilot, sock, to, b"disk %d%% full" % (90 + index))
        clock.advance(1)
        await receive(pilot, muted[0], to, b"foo:3|c")
        clock.advance(1)
        await receive(pilot, chat, to, b"hello")
        pilot.app.query_one(PeerList).focus()
        await pilot.press("g")
        pilot.app.clear_notifications()
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
