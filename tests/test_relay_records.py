"""`--count N` and `--pcap` in relay mode: the relay relays N datagrams (either way) and stops there, so
nothing is forwarded that the records do not hold. The real `udptui --jsonl` between a plain
client and a plain echo server on loopback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Headless, start, udp_socket, wait_until
from test_pcap import tcpdump
from test_relay import EchoServer, client


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def test_at_count_the_relay_stops_forwarding(echo: EchoServer, headless: list[Headless]) -> None:
    app = start(
        headless,
        "--listen",
        "0",
        "--bind",
        "127.0.0.1",
        "--forward",
        str(echo.address),
        "--jsonl",
        "--count",
        "4",
    )
    relay = ("127.0.0.1", app.port)
    with client() as alice:
        # As the tutorial's client does: each message right after the last one's answer.
        for word in (b"a", b"b"):
            alice.sendto(word, relay)
            assert alice.recvfrom(100)[0] == b"echo:" + word
        for word in (b"c", b"d", b"e"):  # the 4th datagram (echo:b) is in: these come too late
            alice.sendto(word, relay)
        status, records, _ = app.finish()
    assert status == 0
    relayed = [(r["dir"], r["text"]) for r in records if r["dir"] in ("up", "down")]
    assert relayed == [("up", "a"), ("down", "echo:a"), ("up", "b"), ("down", "echo:b")]
    # What reached the server: a marker sent straight to it comes after anything the relay sent.
    with udp_socket() as marker:
        marker.sendto(b"marker", (echo.address.host, echo.address.port))
        wait_until(lambda: b"marker" in echo.payloads, "the marker at the server")
    assert echo.payloads == [b"a", b"b", b"marker"]  # c, d and e were never forwarded


def test_a_relay_pcap_holds_what_the_way_up_dropped(
    echo: EchoServer, headless: list[Headless], tmp_path: Path
) -> None:
    """`--pcap` in relay mode holds what crossed the client's wire: a datagram `--loss` dropped
    on the way up reached the relay's port all the same (it was not forwarded), so it is there;
    the server never saw it, so no reply is."""
    pcap = tmp_path / "relay.pcap"
    app = start(
        headless,
        "--listen", "0", "--bind", "127.0.0.1", "--forward", str(echo.address), "--jsonl",
        "--impair", "up", "--loss", "100%", "--pcap", str(pcap), "--count", "1",
    )  # fmt: skip
    with client() as alice:
        alice.sendto(b"lost", ("127.0.0.1", app.port))
        mine = alice.getsockname()[1]
        status, records, _ = app.finish()
    assert status == 0
    assert [(r["dir"], r.get("impaired")) for r in records if r["dir"] == "up"] == [("up", "lost")]
    lines = [re.sub(r"^\S+ ", "", line) for line in tcpdump(pcap)]
    assert lines == [f"IP 127.0.0.1.{mine} > 127.0.0.1.{app.port}: UDP, length 4"]
    assert echo.payloads == []
