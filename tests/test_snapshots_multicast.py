"""What multicast and broadcast look like: an SVG snapshot of a real session over loopback,
with a fixed clock, fixed ports (24700-24799 here) and a fixed group. Accept a deliberate
change with `pytest --snapshot-update`, after reading the SVG."""

from __future__ import annotations

import socket
from contextlib import ExitStack

from conftest import SNAPSHOT_RCVBUF, wait_for
from test_snapshots import SnapCompare, open_app, peer_socket, sockets, still_cursor
from textual.pilot import Pilot

from udptui.app import UdpTuiApp
from udptui.config import Config
from udptui.decoders import NONE
from udptui.net.groups import parse_group
from udptui.widgets import Inspector

__all__ = ["sockets"]  # the fixture, used by name

GROUP = "239.24.7.1"


def test_a_group_and_a_broadcast_are_marked_and_inspected(
    snap_compare: SnapCompare, sockets: ExitStack
) -> None:
    """Joined to 239.24.7.1 on lo: three datagrams from 127.0.0.1:24751, then F6 on the first.

    The header reads `udptui  listening on :24701  joined 239.24.7.1%lo` (the full local
    address gave way to the group), then `peer 127.0.0.1:24751` and `follow`. The log's
    lines: `← 127.0.0.1:24751 → 239.24.7.1  hello group` (the `→ 239.24.7.1` bold in the
    secondary colour), `← 127.0.0.1:24751 → 127.255.255.255  hello everyone` and
    `← 127.0.0.1:24751  hello you` with no mark. The inspector, below, on the first:
    `from 127.0.0.1:24751`, `local 0.0.0.0:24701 and [::]:24701`, `sent to 239.24.7.1
    (multicast group)`, `interface lo (index 1)`, then size, content and time.
    """
    config = Config(
        port=24701, listening=True, rcvbuf=SNAPSHOT_RCVBUF, decode=NONE, joins=(parse_group(f"{GROUP}%lo"),)
    )
    app, _ = open_app(sockets, config, bind_host=None)
    app.transport.groups.join(config.joins[0])  # open_app binds; the join is the start-up's
    sender = peer_socket(sockets, 24751)
    sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)

    async def run_before(pilot: Pilot[None]) -> None:
        assert isinstance(app, UdpTuiApp)
        for payload, host in (
            (b"hello group", GROUP),
            (b"hello everyone", "127.255.255.255"),
            (b"hello you", "127.0.0.1"),
        ):
            sender.sendto(payload, (host, 24701))
            count = app.session.counters.received
            await wait_for(pilot, lambda count=count: app.session.counters.received > count, "a datagram")  # type: ignore[misc]
        await pilot.press("f2")  # the peers pane off: the log and inspector get the width
        await pilot.press("f6", "home")
        inspector = app.query_one(Inspector)
        await wait_for(pilot, lambda: inspector.entry is not None, "the inspector")
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
