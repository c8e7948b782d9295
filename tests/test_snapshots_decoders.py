"""What decoded datagrams look like: the log's `TAG summary` lines and the inspector's field tree.

Fixed clock and fixed ports (21801-21809), as in test_snapshots.py; accept a deliberate
change with `pytest --snapshot-update`, after reading the SVG.
"""

from __future__ import annotations

from contextlib import ExitStack

import dns.message
import dns.rrset
from conftest import SNAPSHOT_RCVBUF
from test_snapshots import SnapCompare, open_app, peer_socket, receive, send, sockets, still_cursor
from textual.pilot import Pilot

from udptui.config import Config

__all__ = ["sockets"]  # the fixture, shared with test_snapshots.py


def dns_exchange() -> tuple[bytes, bytes]:
    query = dns.message.make_query("example.com", "A", id=0x74E1, use_edns=0)
    response = dns.message.make_response(query)
    # One record per rrset: dnspython shuffles the records of an rrset as it writes them.
    response.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "A", "93.184.216.34"))
    response.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "AAAA", "2606:2800::1"))
    return query.to_wire(), response.to_wire()


def test_decoded_summaries(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """One datagram of each protocol, then chat text, each as one line.

    From 127.0.0.1:21802: `DNS query A example.com  id 74e1` (the tag `DNS` in the accent
    colour, bold); our reply, sent with /hex: `DNS response NOERROR example.com A
    93.184.216.34 (+1 more)  id 74e1  0.0 ms` (the fixed clock makes the time 0.0 ms); then
    from 127.0.0.1:21803: `syslog user.warning vm backup: disk /var is 93% full` (RFC 5424),
    `syslog auth.err vm sshd[42]: …` whose message holds ESC and a bidi override, both shown
    as visible escapes; `statsd foo:1|c  bar:12.5|ms @0.1 #env:prod`; `JSON {"cmd":"ping",…}`;
    `OSC /synth/freq ,f 440.0`; and last `hello`, plain chat, not decoded. The peers pane is
    hidden (F2) so whole lines show.
    """
    config = Config(port=21801, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, address = open_app(sockets, config)
    query, response = dns_exchange()

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("f2")
        resolver = peer_socket(sockets, 21802)
        other = peer_socket(sockets, 21803)
        await receive(pilot, resolver, address, query)
        await send(pilot, "/hex " + response.hex(" "))
        for payload in (
            b'<12>1 2026-01-02T12:00:01Z vm backup - - [timeQuality tzKnown="1"] disk /var is 93% full',
            "<35>Jan  2 12:00:01 vm sshd[42]: bad user \x1b[2J\u202eroot".encode(),
            b"foo:1|c\nbar:12.5|ms|@0.1|#env:prod",
            b'{"cmd": "ping", "seq": 7, "tags": ["a", "b"]}',
            b"/synth/freq\x00,f\x00\x00C\xdc\x00\x00",
            b"hello",
        ):
            await receive(pilot, other, address, payload)
        await still_cursor(pilot)

    assert snap_compare(app, terminal_size=(110, 30), run_before=run_before)


def test_field_tree_of_a_dns_response(snap_compare: SnapCompare, sockets: ExitStack) -> None:
    """F6 on a DNS response: the inspector (below the log at 100 columns) shows its field tree.

    The inspector's title reads `Sent datagram #2, 84 B`, its details follow; then the heading
    `Decoded: DNS response NOERROR example.com A 93.184.216.34 (+1 mor`, cut at the
    inspector's edge (the peers pane is beside it), and the tree with its guides:
    `├─ header  id 74e1  [0:12]` with id, flags `QR RD`, opcode, rcode and the four counts,
    each with its byte range; `question  1` with `example.com  IN A`; `answer  2` with the A
    and AAAA records (TTL 300); `EDNS  version 0, 8192 B`; the time since the query; and
    `size  84 B`. The hex dump follows below, out of view.
    """
    config = Config(port=21804, listening=True, rcvbuf=SNAPSHOT_RCVBUF)
    app, address = open_app(sockets, config)
    query, response = dns_exchange()

    async def run_before(pilot: Pilot[None]) -> None:
        await receive(pilot, peer_socket(sockets, 21805), address, query)
        await send(pilot, "/hex " + response.hex(" "))
        await pilot.press("f6")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 50), run_before=run_before)
