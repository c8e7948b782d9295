"""What multicast and broadcast look like: an SVG snapshot of a real session over loopback,
with a fixed clock, a fixed sender port (24751) and a fixed group. The app's own port is a
free one: a broadcast to a fixed port would reach every run of this test on the machine at
once (and a group's datagram every run joined to it), so the port is bound free and shown as
24701. Accept a deliberate change with `pytest --snapshot-update`, after reading the SVG."""

from __future__ import annotations

import socket
from contextlib import ExitStack

from conftest import SNAPSHOT_RCVBUF, fixed_clock, wait_for
from test_snapshots import SnapCompare, peer_socket, sockets, still_cursor
from textual.pilot import Pilot

from udptui.config import Config
from udptui.decoders import NONE
from udptui.net.groups import parse_group
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import Inspector

__all__ = ["sockets"]  # the fixture, used by name

GROUP = "239.24.7.1"
SHOWN_PORT = 24701


class ShownPort(UdpTransport):
    """A transport on a free port that the header and the inspector show as SHOWN_PORT."""

    @property
    def local_description(self) -> str:
        return f"0.0.0.0:{SHOWN_PORT} and [::]:{SHOWN_PORT}"


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
    config = Config(listening=True, rcvbuf=SNAPSHOT_RCVBUF, decode=NONE, joins=(parse_group(f"{GROUP}%lo"),))
    transport = ShownPort.open(rcvbuf=config.rcvbuf)
    sockets.callback(transport.close)
    transport.groups.join(config.joins[0])
    port = transport.local_address.port
    app = make_app(config, transport=transport, clock=fixed_clock)
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
            sender.sendto(payload, (host, port))
            count = app.session.counters.received
            await wait_for(pilot, lambda count=count: app.session.counters.received > count, "a datagram")  # type: ignore[misc]
        await pilot.press("f2")  # the peers pane off: the log and inspector get the width
        await pilot.press("f6", "home")
        inspector = app.query_one(Inspector)
        await wait_for(pilot, lambda: inspector.entry is not None, "the inspector")
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
