"""Relay mode (`--listen PORT --forward HOST:PORT`) on real loopback sockets: every client gets
its own upstream socket and its own replies, idle sessions close and reopen, the table is
bounded, both directions reach the records marked, and typing goes to the server or a client.

Each test waits for what it expects with a deadline; only the delay test measures time, to
the issue's stated tolerance (±15 ms), at the server socket's kernel timestamps.
"""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import UDPTUI, WAIT_SECONDS, Headless, start, udp_socket, wait_until
from test_pcap import tcpdump

from udptui.chat.session import ChatSession
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.batch import RecvBatch
from udptui.net.receiving import Fault, Notice
from udptui.net.relay_transport import RelayTransport
from udptui.net.transport import Inbound
from udptui.startup import new_session


class EchoServer:
    """A plain UDP echo server on a thread: answers `echo:` + each datagram to its sender, and
    remembers every source address it saw."""

    def __init__(self, port: int = 0) -> None:
        self.sock = udp_socket("127.0.0.1", port)
        self.sock.settimeout(0.1)
        self.sources: list[tuple[str, int]] = []
        self.payloads: list[bytes] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def address(self) -> Address:
        return Address("127.0.0.1", self.sock.getsockname()[1])

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                payload, source = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.sources.append(source)
            self.payloads.append(payload)
            self.sock.sendto(b"echo:" + payload, source)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(WAIT_SECONDS)
        self.sock.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


class Relay:
    """A RelayTransport with its receive thread running and a session taking its inbox."""

    def __init__(self, server: Address, **options: float) -> None:
        self.transport = RelayTransport.open_relay(server=server, bind_host="127.0.0.1", **options)  # type: ignore[arg-type]
        config = Config(listening=True, forward=server)
        self.session: ChatSession = new_session(config, self.transport, None)
        self.taken: list[Inbound] = []
        self.thread = threading.Thread(target=self.transport.run_receiver, daemon=True)
        self.thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.transport.local_address.port)

    def take(self) -> None:
        items = self.transport.take_all()
        self.taken += items
        self.session.ingest(items)

    def notices(self) -> list[str]:
        self.take()
        return [item.message for item in self.taken if isinstance(item, Notice)]

    def close(self) -> None:
        self.transport.close()
        self.thread.join(WAIT_SECONDS)


@pytest.fixture
def relay_to(echo: EchoServer) -> Iterator[Relay]:
    relay = Relay(echo.address, session_timeout=60.0)
    yield relay
    relay.close()


def client() -> socket.socket:
    sock = udp_socket()
    sock.settimeout(WAIT_SECONDS)
    return sock


def test_two_clients_each_get_their_own_replies_only(echo: EchoServer, relay_to: Relay) -> None:
    alice, bob = client(), client()
    alice_port = alice.getsockname()[1]
    with alice, bob:
        for round_ in range(3):
            alice.sendto(f"alice {round_}".encode(), relay_to.address)
            bob.sendto(f"bob {round_}".encode(), relay_to.address)
        got_alice = [alice.recvfrom(100) for _ in range(3)]
        got_bob = [bob.recvfrom(100) for _ in range(3)]
        assert sorted(payload for payload, _ in got_alice) == [
            b"echo:alice 0",
            b"echo:alice 1",
            b"echo:alice 2",
        ]
        assert sorted(payload for payload, _ in got_bob) == [b"echo:bob 0", b"echo:bob 1", b"echo:bob 2"]
        # Replies come from the port the clients wrote to, as from the server itself.
        assert {source for _, source in got_alice + got_bob} == {relay_to.address}
        alice.settimeout(0.2)
        with pytest.raises(TimeoutError):
            alice.recvfrom(100)  # nothing of bob's came to alice
        # The server saw two sources: one upstream socket per client, none the relay's own.
        assert len(set(echo.sources)) == 2
        assert relay_to.transport.own_port not in {port for _, port in echo.sources}
    roster = relay_to.session.roster
    wait_until(lambda: (relay_to.take(), len(roster))[1] == 2, "both clients in the roster")
    wait_until(
        lambda: (
            (relay_to.take(), roster.get(Address("127.0.0.1", alice_port)))[1] is not None
            and roster.get(Address("127.0.0.1", alice_port)).sent == 3
        ),  # type: ignore[union-attr]
        "alice's three replies counted as sent to her",
    )
    peer = roster.get(Address("127.0.0.1", alice_port))
    assert peer is not None and peer.received == 3 and peer.unread == 0


def test_both_directions_are_stored_with_their_way_and_client(echo: EchoServer, relay_to: Relay) -> None:
    with client() as alice:
        alice.sendto(b"ping", relay_to.address)
        assert alice.recvfrom(100)[0] == b"echo:ping"
        store = relay_to.session.store
        wait_until(lambda: (relay_to.take(), len([e for e in store if e.relay]))[1] == 2, "both ways stored")
        relayed = [entry for entry in store if entry.relay]
        me = Address("127.0.0.1", alice.getsockname()[1])
        assert [(entry.relay, entry.peer, entry.payload) for entry in relayed] == [
            ("up", me, b"ping"),
            ("down", me, b"echo:ping"),
        ]
        assert any(f"client {me}: new session" in text for text in relay_to.notices())


def test_an_idle_client_gets_a_fresh_upstream_socket(echo: EchoServer) -> None:
    """A timeout of 1 s: long enough that a loaded machine never stalls the relay between
    `one` and `two` past it (the same session), short enough to wait for the idle close."""
    relay = Relay(echo.address, session_timeout=1.0)
    try:
        with client() as alice:
            me = alice.getsockname()[1]
            alice.sendto(b"one", relay.address)
            assert alice.recvfrom(100)[0] == b"echo:one"
            alice.sendto(b"two", relay.address)  # within the timeout: the same session
            assert alice.recvfrom(100)[0] == b"echo:two"
            assert len(set(echo.sources)) == 1
            wait_until(lambda: any("idle for 1 s" in text for text in relay.notices()), "the idle notice")
            assert not relay.transport.table.sessions
            alice.sendto(b"three", relay.address)
            assert alice.recvfrom(100)[0] == b"echo:three"
        first, second, third = echo.sources
        assert first == second != third  # the server sees a new source port
        notices = relay.notices()
        assert sum("new session" in text for text in notices) == 2
        closed = [text for text in notices if "closed" in text]
        assert closed[:1] == [f"client 127.0.0.1:{me}: idle for 1 s, upstream port {first[1]} closed"]
    finally:
        relay.close()


def test_the_table_is_bounded_and_a_refused_client_is_counted(echo: EchoServer) -> None:
    relay = Relay(echo.address)
    relay.transport.table.max_clients = 1
    try:
        with client() as alice, client() as bob:
            bob_port = bob.getsockname()[1]
            alice.sendto(b"first", relay.address)
            assert alice.recvfrom(100)[0] == b"echo:first"
            for _ in range(3):
                bob.sendto(b"no room", relay.address)
            wait_until(lambda: relay.transport.table.refused == 3, "bob's three datagrams refused")
            bob.settimeout(0.2)
            with pytest.raises(TimeoutError):
                bob.recvfrom(100)
            refusals = [text for text in relay.notices() if "not relayed" in text]
            assert len(refusals) == 1  # said once (at most once a second), counted on
            assert refusals[0].startswith(
                f"client 127.0.0.1:{bob_port} not relayed: the relay is full (1 clients) ("
            )
            assert echo.payloads == [b"first"]
            bob_address = Address("127.0.0.1", bob_port)
            wait_until(
                lambda: (
                    (
                        relay.take(),
                        len([e for e in relay.session.store if e.peer == bob_address and e.relay]),
                    )[1]
                    == 3
                ),
                "bob's datagrams in the log",
            )
            marks = [e.impairment for e in relay.session.store if e.peer == bob_address and e.relay]
            assert [mark.text() if mark else None for mark in marks] == [
                "✗ not forwarded: the relay is full"
            ] * 3
            from udptui.record.transcript import entry_record

            bob_entry = next(e for e in relay.session.store if e.peer == bob_address and e.relay)
            assert entry_record(bob_entry)["not_forwarded"] == "the relay is full"
    finally:
        relay.close()


def test_typing_goes_to_the_server_from_its_own_port_or_to_a_client(
    echo: EchoServer, relay_to: Relay
) -> None:
    session = relay_to.session
    assert session.target == echo.address and not session.follow
    session.send(b"hello server")
    wait_until(lambda: echo.payloads == [b"hello server"], "the server to get the typed line")
    assert echo.sources == [("127.0.0.1", relay_to.transport.own_port)]
    # The server's answer to udptui's own port is shown as an ordinary datagram, not relayed.
    wait_until(
        lambda: (
            (relay_to.take(), [e.payload for e in session.store if e.peer == echo.address])[1]
            == [b"hello server", b"echo:hello server"]
        ),
        "the answer from the server",
    )
    assert all(not entry.relay for entry in session.store if entry.peer == echo.address)
    with client() as alice:
        me = Address("127.0.0.1", alice.getsockname()[1])
        session.send(b"hello client", me)
        payload, source = alice.recvfrom(100)
        assert (payload, source) == (b"hello client", relay_to.address)


def test_headless_records_say_the_way_and_the_client(
    echo: EchoServer, headless: list[Headless], tmp_path: Path
) -> None:
    log = tmp_path / "relay.jsonl"
    app = start(
        headless,
        "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl",
        "--log", str(log), "--count", "2",
    )  # fmt: skip
    with client() as alice:
        alice.sendto(b"ping", ("127.0.0.1", app.port))
        assert alice.recvfrom(100)[0] == b"echo:ping"
        me = f"127.0.0.1:{alice.getsockname()[1]}"
    status, records, _ = app.finish()
    assert status == 0
    assert app.first_line.rstrip().endswith(f", relaying to {echo.address}")
    datagrams = [record for record in records if record["dir"] != "note"]
    assert [(r["dir"], r["client"], r["text"]) for r in datagrams] == [
        ("up", me, "ping"),
        ("down", me, "echo:ping"),
    ]
    assert all("peer" not in record for record in datagrams)
    notes = [record["text"] for record in records if record["dir"] == "note"]
    assert any(text.startswith(f"client {me}: new session, upstream port ") for text in notes)
    # The session's note carries the time its first datagram came, so time never runs back.
    from datetime import datetime

    times = [datetime.fromisoformat(record["ts"]) for record in records]
    assert times == sorted(times), [(r["dir"], r["ts"]) for r in records]
    logged = [
        line for line in log.read_text().splitlines() if '"dir": "up"' in line or '"dir": "down"' in line
    ]
    assert len(logged) == 2


def test_a_relay_pcap_holds_both_ways_with_the_relay_between(
    echo: EchoServer, headless: list[Headless], tmp_path: Path
) -> None:
    pcap = tmp_path / "relay.pcap"
    app = start(
        headless,
        "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl",
        "--pcap", str(pcap), "--count", "2",
    )  # fmt: skip
    with client() as alice:
        alice.sendto(b"ping", ("127.0.0.1", app.port))
        assert alice.recvfrom(100)[0] == b"echo:ping"
        mine = alice.getsockname()[1]
    assert app.finish()[0] == 0
    lines = [re.sub(r"^\S+ ", "", line) for line in tcpdump(pcap)]  # without the time of day
    # Up as the listening socket received it; down as it sent it on to the client.
    assert lines == [
        f"IP 127.0.0.1.{mine} > 127.0.0.1.{app.port}: UDP, length 4",
        f"IP 127.0.0.1.{app.port} > 127.0.0.1.{mine}: UDP, length 9",
    ]


def test_relay_batches_are_tagged_up_and_down(echo: EchoServer, relay_to: Relay) -> None:
    with client() as alice:
        me = Address("127.0.0.1", alice.getsockname()[1])
        alice.sendto(b"x", relay_to.address)
        assert alice.recvfrom(100)[0] == b"echo:x"
    wait_until(
        lambda: (relay_to.take(), sum(isinstance(i, RecvBatch) for i in relay_to.taken))[1] == 2, "2 batches"
    )
    tags = [item.relay for item in relay_to.taken if isinstance(item, RecvBatch)]
    assert tags[0] is not None and tags[0].up and tags[0].client is None
    assert tags[1] is not None and not tags[1].up and tags[1].client == me


def test_interleaved_bursts_from_two_clients_each_come_back_whole(echo: EchoServer, relay_to: Relay) -> None:
    """Batches mixing two clients are forwarded in runs (one sendmmsg each): every datagram
    goes up from its own client's socket and comes back to that client only, in order."""
    alice, bob = client(), client()
    back_alice: list[bytes] = []
    back_bob: list[bytes] = []
    with alice, bob:
        for burst in range(10):  # bursts a plain socket's default receive buffer holds
            for number in range(burst * 50, burst * 50 + 50):
                alice.sendto(b"a%d" % number, relay_to.address)
                bob.sendto(b"b%d" % number, relay_to.address)
            back_alice += [alice.recvfrom(100)[0] for _ in range(50)]
            back_bob += [bob.recvfrom(100)[0] for _ in range(50)]
    assert back_alice == [b"echo:a%d" % number for number in range(500)]
    assert back_bob == [b"echo:b%d" % number for number in range(500)]
    by_source: dict[tuple[str, int], set[bytes]] = {}
    for source, payload in zip(echo.sources, echo.payloads, strict=True):
        by_source.setdefault(source, set()).add(payload[:1])
    assert sorted(by_source.values(), key=sorted) == [{b"a"}, {b"b"}]


def test_a_closed_server_port_is_a_counted_fault(relay_to: Relay, echo: EchoServer) -> None:
    echo.close()  # nobody on the server's port: the kernel answers ICMP port unreachable
    with client() as alice:
        for _ in range(5):
            alice.sendto(b"anyone?", relay_to.address)
        wait_until(
            lambda: (relay_to.take(), relay_to.session.counters.faults)[1] >= 1,
            "the port-unreachable fault",
        )
    faults = [item for item in relay_to.taken if not isinstance(item, RecvBatch | Notice)]
    assert faults and all("ICMP port unreachable" in fault.message for fault in faults)  # type: ignore[union-attr]


def test_the_inspector_says_which_way_a_datagram_was_relayed() -> None:
    from datetime import datetime

    from udptui.chat.datagram import Direction, Entry
    from udptui.chat.view import entry_fields

    client_address = Address("127.0.0.1", 5100)
    for way, said in (("up", "client 127.0.0.1:5100 → server"), ("down", "server → client 127.0.0.1:5100")):
        entry = Entry(datetime(2026, 1, 2), Direction.RECEIVED, client_address, b"x", 1, relay=way)
        fields = dict(entry_fields(entry, local="0.0.0.0:9000", previous_from_peer=None, scanned_back=True))
        assert fields["relayed"] == said and "from" not in fields


# -- impairments, per direction ---------------------------------------------------------------


def predicted_losses(seed: int, count: int, loss: float) -> list[int]:
    """Which datagrams `--loss` drops with only it on: the i-th draw of `Random(seed)` (the way
    up's source) below the loss."""
    import random

    draws = random.Random(seed)
    return [index for index in range(count) if draws.random() < loss]


def test_loss_on_the_way_up_drops_what_the_seed_says_and_marks_it(
    echo: EchoServer, headless: list[Headless]
) -> None:
    app = start(
        headless,
        "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl",
        "--impair", "up", "--loss", "50%", "--seed", "1",
    )  # fmt: skip
    lost = predicted_losses(1, 40, 0.5)
    assert 0 < len(lost) < 40
    with client() as alice:
        for number in range(40):
            alice.sendto(b"n%d" % number, ("127.0.0.1", app.port))
        back = sorted(alice.recvfrom(100)[0] for _ in range(40 - len(lost)))
        alice.settimeout(0.3)
        with pytest.raises(TimeoutError):
            alice.recvfrom(100)
    survivors = [number for number in range(40) if number not in lost]
    assert back == sorted(b"echo:n%d" % number for number in survivors)
    assert echo.payloads == [b"n%d" % number for number in survivors]
    app.process.send_signal(signal.SIGTERM)
    _, records, _ = app.finish()
    up = [record for record in records if record["dir"] == "up"]
    assert len(up) == 40  # every datagram the relay took is in the records, lost or not
    assert [int(r["text"][1:]) for r in up if r.get("impaired") == "lost"] == lost
    assert all(r["lost_by"] == "loss" for r in up if r.get("impaired"))
    down = [record for record in records if record["dir"] == "down"]
    assert len(down) == len(survivors) and not any("impaired" in r for r in down)  # only up


def test_duplicate_on_the_way_down_sends_each_reply_twice(echo: EchoServer, headless: list[Headless]) -> None:
    app = start(
        headless,
        "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl",
        "--impair", "down", "--duplicate", "100%", "--seed", "3",
    )  # fmt: skip
    with client() as alice:
        for number in range(5):
            alice.sendto(b"d%d" % number, ("127.0.0.1", app.port))
        back = [alice.recvfrom(100)[0] for _ in range(10)]
    assert sorted(back) == sorted([b"echo:d%d" % n for n in range(5)] * 2)
    assert echo.payloads == [b"d%d" % n for n in range(5)]  # up is not impaired
    app.process.send_signal(signal.SIGTERM)
    _, records, _ = app.finish()
    down = [record for record in records if record["dir"] == "down"]
    assert len(down) == 5 and all(record["impaired"] == "duplicate" for record in down)


def test_a_relay_impairs_both_ways_by_default_and_refuses_out_and_in(
    echo: EchoServer, headless: list[Headless]
) -> None:
    app = start(
        headless,
        "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl",
        "--loss", "100%", "--seed", "5",
    )  # fmt: skip
    with client() as alice:
        alice.sendto(b"gone", ("127.0.0.1", app.port))
        app.type("/to server", "typed, never impaired")  # udptui's own sends are not the relay's
        wait_until(lambda: b"typed, never impaired" in echo.payloads, "the typed line at the server")
    assert b"gone" not in echo.payloads
    app.type("/impair")
    records = [app.record()]
    while not records[-1].get("text", "").startswith("impaired so far"):
        records.append(app.record())
    app.process.send_signal(signal.SIGTERM)
    records += app.finish()[1]
    assert [r.get("impaired") for r in records if r["dir"] == "up"] == ["lost"]
    notes = [record["text"] for record in records if record["dir"] == "note"]
    assert "impairments: loss 100% both ways (seed 5)" in notes
    for direction in ("out", "in"):
        done = subprocess.run(
            [*UDPTUI, "--listen", "0", "--forward", "127.0.0.1:9", "--impair", direction, "--loss", "1%"],
            capture_output=True, text=True, timeout=WAIT_SECONDS,
        )  # fmt: skip
        assert done.returncode == 2
        assert (
            done.stderr
            == f"udptui: error: --impair {direction}: a relay impairs up (clients to server), down, or both\n"
        )


def test_impair_up_and_down_are_for_relay_mode_and_out_and_in_are_not(
    echo: EchoServer, headless: list[Headless]
) -> None:
    chat = start(headless, "--listen", "0", "--bind", "127.0.0.1", "--jsonl")
    chat.type("/impair up loss 10%")
    assert chat.record()["text"] == "/impair up: up and down are for relay mode (--forward)"
    relay = start(headless, "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl")
    relay.type("/impair out loss 10%", "/impair down loss 10%")
    assert relay.record()["text"] == "/impair out: a relay impairs up, down or both"
    assert relay.record()["text"].startswith("impairments: loss 10% on what the server sends back (seed ")


def test_delay_on_the_way_up_holds_each_datagram_its_time(headless: list[Headless]) -> None:
    """`--impair up --delay 100ms`: the server gets each datagram 100 ms (±15, the issue's
    tolerance) after the client sent it.

    Measured where the delay ends, not by a round trip: the server socket's kernel arrival
    time (SO_TIMESTAMPNS) less the client's clock just before its send, both the system
    clock. No echo thread and no reply path is timed, and the server is read after all ten
    have arrived (the kernel stamped each on arrival), so only the relay's own lateness
    (its scheduler waking on a loaded machine) is in the figure. The median of ten: one
    late wake-up of a busy CI machine does not decide it. The delay can never come early."""
    import statistics
    import struct
    import time

    from udptui.net.batch import SO_TIMESTAMPNS

    server = udp_socket("127.0.0.1")
    server.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    server.settimeout(WAIT_SECONDS)
    server_address = Address("127.0.0.1", server.getsockname()[1])
    app = start(
        headless,
        "--listen", "0", "--bind", "127.0.0.1", "--forward", str(server_address), "--jsonl",
        "--impair", "up", "--delay", "100ms", "--seed", "4",
    )  # fmt: skip
    sent: dict[bytes, int] = {}
    with client() as alice, server:
        for number in range(10):
            payload = b"t%d" % number
            sent[payload] = time.time_ns()
            alice.sendto(payload, ("127.0.0.1", app.port))
            time.sleep(0.02)
        delays = []
        for _ in range(10):
            payload, ancillary, _, _ = server.recvmsg(100, 256)
            (seconds, nanoseconds) = next(
                struct.unpack("=qq", data[:16]) for level, kind, data in ancillary if kind == SO_TIMESTAMPNS
            )
            delays.append((seconds * 1_000_000_000 + nanoseconds - sent[payload]) / 1e6)
    assert min(delays) >= 100, delays
    assert 100 <= statistics.median(delays) <= 115, delays
    app.process.send_signal(signal.SIGTERM)
    _, records, _ = app.finish()
    assert [r.get("impaired") for r in records if r["dir"] == "up"] == ["delayed"] * 10


# -- failures: a dead client, a session closing with datagrams held ---------------------------


@pytest.mark.parametrize("recvmmsg", ["1", "0"], ids=["sendmmsg", "sendto"])
def test_a_dead_client_costs_a_live_one_nothing_and_is_the_one_named(
    recvmmsg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clients A and B; A closes; the server answers both 50 times. Each answer to A leaves
    an ICMP error pending on the listening socket, which the next send (to B) meets: B's
    answer is sent again and arrives, and the fault names A (from the error queue)."""
    monkeypatch.setenv("UDPTUI_RECVMMSG", recvmmsg)
    server = udp_socket("127.0.0.1")
    server.settimeout(WAIT_SECONDS)
    relay = Relay(Address("127.0.0.1", server.getsockname()[1]))
    alice, bob = client(), client()
    try:
        a_port, b_port = alice.getsockname()[1], bob.getsockname()[1]
        alice.sendto(b"a", relay.address)
        bob.sendto(b"b", relay.address)
        upstream = dict(server.recvfrom(100) for _ in range(2))
        alice.close()
        for number in range(50):
            server.sendto(b"to a %d" % number, upstream[b"a"])
            server.sendto(b"to b %d" % number, upstream[b"b"])
        got = [bob.recvfrom(100)[0] for _ in range(50)]
        assert got == [b"to b %d" % number for number in range(50)]
        wait_until(
            lambda: (
                (
                    relay.take(),
                    sum(
                        item.count
                        for item in relay.taken
                        if isinstance(item, Fault) and item.address == Address("127.0.0.1", a_port)
                    ),
                )[1]
                >= 49
            ),
            "A's port-unreachable faults",
        )
        faults = [item for item in relay.taken if isinstance(item, Fault)]
        assert all(fault.address == Address("127.0.0.1", a_port) for fault in faults), faults
        assert not any(str(b_port) in fault.text for fault in faults)
    finally:
        bob.close()
        relay.close()
        server.close()


def test_a_session_with_a_datagram_held_stays_open_until_its_release(
    echo: EchoServer, headless: list[Headless]
) -> None:
    """`--delay 800ms` past a `--session-timeout 0.2`: the held datagram still reaches the
    server from its session's socket, and its answer the client; the session closes after."""
    app = start(
        headless,
        "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl",
        "--impair", "up", "--delay", "800ms", "--session-timeout", "0.2",
    )  # fmt: skip
    with client() as alice:
        alice.sendto(b"late", ("127.0.0.1", app.port))
        assert alice.recvfrom(100)[0] == b"echo:late"
    assert echo.payloads == [b"late"]
    records = [app.record()]
    while "idle for 0.2 s" not in records[-1].get("text", ""):
        records.append(app.record())
    app.process.send_signal(signal.SIGTERM)
    records += app.finish()[1]
    assert [r.get("impaired") for r in records if r["dir"] == "up"] == ["delayed"]
    assert not any("not forwarded" in r.get("text", "") for r in records)


def test_failures_said_from_two_threads_are_each_counted_once(echo: EchoServer) -> None:
    """An impairer's release (the scheduler's thread) records failed sends while the receive
    thread says them: none is lost, none said twice, and saying them never raises."""
    from udptui.net.relay import RelayTable

    said: list[Inbound] = []
    listen = udp_socket("127.0.0.1")
    table = RelayTable(listen, echo.address, said.append)
    errors: list[BaseException] = []

    def record() -> None:
        try:
            for number in range(20_000):
                table.failures.add(OSError(1, "x"), Address("127.0.0.1", 1 + number % 7), "to the server")
        except BaseException as error:
            errors.append(error)

    def say() -> None:
        try:
            while thread.is_alive():
                table.flush_failures()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=record)
    sayer = threading.Thread(target=say)
    thread.start()
    sayer.start()
    thread.join()
    sayer.join()
    table.flush_failures()
    table.close()
    listen.close()
    assert not errors
    assert sum(item.count for item in said if isinstance(item, Fault)) == 20_000


def test_a_relay_forwarding_to_itself_refuses_its_own_datagrams() -> None:
    """The server is the relay's own listening socket (a loop the flags cannot see, as through
    a NAT): the first datagram opens one session; what comes back from its upstream socket is
    refused and counted, with one notice, instead of a new session per datagram."""
    import time

    from udptui.net.transport import bind_socket

    sock = bind_socket("127.0.0.1", 0, 0)
    transport = RelayTransport(sock, server=Address("127.0.0.1", sock.getsockname()[1]))
    thread = threading.Thread(target=transport.run_receiver, daemon=True)
    thread.start()
    try:
        with client() as alice:
            alice.sendto(b"round and round", sock.getsockname())
            wait_until(lambda: transport.table.looped >= 1, "the looped datagram refused")
            time.sleep(0.3)  # a loop would open thousands of sessions in this time
        table = transport.table
        assert (table.opened, table.looped, len(table.sessions)) == (1, 1, 1)
        notices = [item.message for item in transport.take_all() if isinstance(item, Notice)]
        assert sum("relay's own upstream socket" in text for text in notices) == 1
    finally:
        transport.close()
        thread.join(WAIT_SECONDS)


def test_forward_to_the_listening_port_itself_exits_2() -> None:
    """Refused before any socket is made: the port is never bound."""
    for flags in (
        ["--listen", "49350", "--bind", "127.0.0.1", "--forward", "127.0.0.1:49350"],
        ["--listen", "49350", "--forward", "127.0.0.1:49350"],
        ["--listen", "49350", "--forward", "localhost:49350"],
    ):
        done = subprocess.run([*UDPTUI, *flags], capture_output=True, text=True, timeout=WAIT_SECONDS)
        assert done.returncode == 2, flags
        said = f"--forward {flags[-1]} is the relay's own listening port: it would relay to itself"
        assert done.stderr == f"udptui: error: {said}\n"


@pytest.mark.parametrize("recvmmsg", ["1", "0"], ids=["recvmmsg", "recvmsg"])
def test_a_relay_forwards_every_datagram_whole_and_refuses_bufsize(
    recvmmsg: str, echo: EchoServer, headless: list[Headless], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UDPTUI_RECVMMSG", recvmmsg)
    done = subprocess.run(
        [*UDPTUI, "--listen", "0", "--forward", str(echo.address), "--bufsize", "4"],
        capture_output=True, text=True, timeout=WAIT_SECONDS,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (
        2,
        "udptui: error: --bufsize does not work with --forward: a relay forwards every datagram whole\n",
    )
    app = start(
        headless,
        "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl", "--count", "2",
    )  # fmt: skip
    big = b"x" * 60_000
    with client() as alice:
        alice.sendto(big, ("127.0.0.1", app.port))
        assert alice.recvfrom(65535)[0] == b"echo:" + big
    _, records, _ = app.finish()
    assert echo.payloads == [big]
    datagrams = [(r["dir"], r["len"], "truncated" in r) for r in records if r["dir"] != "note"]
    assert datagrams == [("up", 60_000, False), ("down", 60_005, False)]


def test_a_refusal_notice_counts_the_run_it_refuses(echo: EchoServer) -> None:
    """Three datagrams of a refused client in one batch: the notice says 3, not 1."""
    from udptui.net.relay import RelayTable

    said: list[Inbound] = []
    with udp_socket("127.0.0.1") as listen:
        table = RelayTable(listen, echo.address, said.append, max_clients=0)
        batch = RecvBatch.of([(b"x", ("127.0.0.1", 5100), 1, 0)] * 3)
        marks = table.forward_up(batch)
        table.close()
    assert [item.message for item in said if isinstance(item, Notice)] == [
        "client 127.0.0.1:5100 not relayed: the relay is full (0 clients) (3 datagrams refused so far)"
    ]
    assert marks is not None and [mark.text() for mark in marks] == ["✗ not forwarded: the relay is full"] * 3


def test_a_relay_that_cannot_start_leaves_no_socket_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """No socket to the server can be made: open_relay says so, and every socket it made
    (the listening one, the wake-up pair) is closed."""
    import os

    import udptui.net.relay_transport as relay_transport
    from udptui.net.transport import TransportError

    def no_table(*args: object, **options: object) -> None:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(relay_transport, "RelayTable", no_table)
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(TransportError, match="Too many open files"):
        RelayTransport.open_relay(server=Address("127.0.0.1", 9), bind_host="127.0.0.1")
    assert len(os.listdir("/proc/self/fd")) == before


def test_sessions_leave_descriptors_for_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a low open-files limit the table holds fewer clients, keeping 64 descriptors
    (and the relay's own sockets) free for --log, --pcap and /send's files."""
    import resource

    from udptui.net.relay_transport import FD_RESERVE, session_room

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
    try:
        assert session_room() == 512 - FD_RESERVE - 16
        with udp_socket("127.0.0.1") as sock:
            transport = RelayTransport(sock, server=Address("127.0.0.1", 9))
            assert transport.table.max_clients == 512 - FD_RESERVE - 16
            transport.close()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_impair_seed_replays_a_relay_way_and_a_natural_end_waits_for_what_it_holds(
    echo: EchoServer, headless: list[Headless]
) -> None:
    """`/impair seed 3` in relay mode starts the way up's sequence again (the same six
    datagrams meet the same fates); at `--idle-timeout`, the relay waits for what its way
    down still holds (`--delay`), so every reply reaches the client before it exits."""
    app = start(
        headless,
        "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl",
        "--loss", "50%", "--delay", "300ms", "--seed", "3", "--idle-timeout", "1",
    )  # fmt: skip

    def ups(count: int) -> list[str]:
        fates: list[str] = []
        while len(fates) < count:
            record = app.record()
            if record["dir"] == "up":
                fates.append(record.get("impaired", ""))
        return fates

    with client() as alice:
        for number in range(6):
            alice.sendto(b"u%d" % number, ("127.0.0.1", app.port))
        first = ups(6)
        app.type("/impair seed 3")
        while not app.record().get("text", "").startswith("impairments: "):  # it took effect
            pass
        for number in range(6):
            alice.sendto(b"u%d" % number, ("127.0.0.1", app.port))
        assert ups(6) == first and "lost" in first
        _, records, _ = app.finish(timeout=20)
        alice.settimeout(0.5)
        replies = []
        with contextlib.suppress(TimeoutError):
            while True:
                replies.append(alice.recvfrom(100)[0])
    down = [record for record in records if record["dir"] == "down"]
    assert len(replies) == sum(1 for record in down if record.get("impaired") != "lost")
    assert not any("never went" in record.get("text", "") for record in records)


def test_a_repeat_to_the_server_goes_from_udptuis_own_socket(
    echo: EchoServer, headless: list[Headless]
) -> None:
    """`/repeat` to the server: every send, not only the first, leaves from udptui's own
    socket, as a typed line does. From the listening port, the server's answers would come
    back as a client's datagrams and be relayed to it again."""
    app = start(headless, "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl")
    app.type("/to server", "/repeat 3 10ms ping")
    wait_until(lambda: echo.payloads.count(b"ping") == 3, "three pings at the server")
    sources = {
        source for source, payload in zip(echo.sources, echo.payloads, strict=False) if payload == b"ping"
    }
    assert len(sources) == 1 and app.port not in {port for _, port in sources}, (sources, app.port)
    time.sleep(0.3)  # what a loop would do in this time: relay the echoes back to the server
    assert echo.payloads.count(b"echo:ping") == 0, echo.payloads
