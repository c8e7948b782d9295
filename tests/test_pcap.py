"""pcap export: packets with real IPv4/IPv6 and UDP headers, read back by dpkt (an independent
parser) and by the real `tcpdump -r`; `--pcap FILE` and `/save FILE.pcap` never overwrite."""

from __future__ import annotations

import io
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dpkt
import pytest
import test_e2e_tmux
from conftest import WAIT_SECONDS, Headless, fixed_clock, start, type_line, udp_socket, wait_for
from hypothesis import given
from hypothesis import strategies as st
from test_e2e_tmux import Tmux, run_boundaries_client, start_listener

from udptui.chat.datagram import Direction, Entry, Truncation
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.transport import UdpTransport
from udptui.record.pcap import LINKTYPE_RAW, PcapWriter, packet, pcap_bytes
from udptui.ui.app import make_app

tmux = test_e2e_tmux.tmux  # the fixture: a private tmux server
T0 = datetime(2026, 1, 2, 12, 0, 1, 250000)
LOCAL = Address("::", 9000)


def read_pcap(data: bytes) -> list[tuple[float, bytes]]:
    reader = dpkt.pcap.Reader(io.BytesIO(data))
    assert reader.datalink() == LINKTYPE_RAW
    return list(reader)


def same_checksums_as_dpkt(raw: bytes) -> bool:
    """Zero the checksums and let dpkt compute them again: they must come out the same."""
    if raw[0] >> 4 == 4:
        ip: Any = dpkt.ip.IP(raw)
        want = (ip.sum, ip.data.sum)
        ip.sum = ip.data.sum = 0
    else:
        ip = dpkt.ip6.IP6(raw)
        want = (0, ip.data.sum)
        ip.data.sum = 0
    bytes(ip)
    return want == ((ip.sum if raw[0] >> 4 == 4 else 0), ip.data.sum)


def test_an_ipv4_datagram_received_is_a_packet_from_the_peer_to_us() -> None:
    entry = Entry(T0, Direction.RECEIVED, Address("127.0.0.1", 5000), b"hello", 5)
    raw = packet(entry, LOCAL)
    assert raw is not None
    ip = dpkt.ip.IP(raw)
    assert (dpkt.utils.inet_to_str(ip.src), dpkt.utils.inet_to_str(ip.dst)) == ("127.0.0.1", "0.0.0.0")
    assert (ip.p, ip.len, ip.data.sport, ip.data.dport, ip.data.ulen) == (17, 33, 5000, 9000, 13)
    assert ip.data.data == b"hello"
    assert same_checksums_as_dpkt(raw)


def test_an_ipv6_datagram_sent_is_a_packet_from_us_to_the_peer() -> None:
    entry = Entry(T0, Direction.SENT, Address("::1", 6000), b"\x00\xff", 2)
    raw = packet(entry, Address("::1", 9000))
    assert raw is not None
    ip = dpkt.ip6.IP6(raw)
    assert (dpkt.utils.inet_to_str(ip.src), dpkt.utils.inet_to_str(ip.dst)) == ("::1", "::1")
    assert (ip.nxt, ip.plen, ip.data.sport, ip.data.dport, ip.data.data) == (17, 10, 9000, 6000, b"\x00\xff")
    assert same_checksums_as_dpkt(raw)


def test_notes_have_no_packet_and_the_arrival_address_wins_when_known() -> None:
    assert packet(Entry(T0, Direction.NOTE, None, note="hi"), LOCAL) is None
    entry = Entry(T0, Direction.RECEIVED, Address("10.0.0.2", 5000), b"x", 1)
    entry.local_address = Address("10.0.0.1", 9000)  # type: ignore[attr-defined]  # IP_PKTINFO, later
    raw = packet(entry, LOCAL)
    assert raw is not None
    assert dpkt.utils.inet_to_str(dpkt.ip.IP(raw).dst) == "10.0.0.1"


def test_a_cut_datagram_keeps_its_wire_length_in_the_headers() -> None:
    """The receive buffer kept 1 byte of 5: the headers say 5, the record holds 1."""
    entry = Entry(T0, Direction.RECEIVED, Address("127.0.0.1", 5000), b"h", 5, Truncation.CUT)
    raw = packet(entry, LOCAL)
    assert raw is not None
    assert len(raw) == 20 + 8 + 1
    assert int.from_bytes(raw[2:4], "big") == 20 + 8 + 5
    assert int.from_bytes(raw[24:26], "big") == 8 + 5
    assert raw[26:28] == b"\0\0"  # IPv4: "no checksum", since it cannot be known


@given(payload=st.binary(max_size=300), ipv6=st.booleans(), sent=st.booleans())
def test_checksums_match_dpkts_for_any_payload(payload: bytes, ipv6: bool, sent: bool) -> None:
    peer = Address("fe80::1" if ipv6 else "192.0.2.7", 53)
    direction = Direction.SENT if sent else Direction.RECEIVED
    raw = packet(Entry(T0, direction, peer, payload, len(payload)), Address("::", 65535))
    assert raw is not None and raw.endswith(payload)
    assert same_checksums_as_dpkt(raw)


def test_a_pcap_file_holds_the_datagrams_with_their_times() -> None:
    entries = [
        Entry(T0, Direction.RECEIVED, Address("127.0.0.1", 5000), b"one", 3),
        Entry(T0, Direction.NOTE, None, note="not a packet"),
        Entry(T0 + timedelta(seconds=1), Direction.SENT, Address("::1", 5001), b"two", 3),
    ]
    records = read_pcap(pcap_bytes(entries, LOCAL))
    assert [timestamp for timestamp, _ in records] == [T0.timestamp(), T0.timestamp() + 1]
    assert [raw[-3:] for _, raw in records] == [b"one", b"two"]


# -- the real program --------------------------------------------------------------------------


def tcpdump(path: Path, *flags: str) -> list[str]:
    if shutil.which("tcpdump") is None:
        pytest.fail("tcpdump is needed to read the pcap file back (apt-get install tcpdump)")
    result = subprocess.run(
        ["tcpdump", "-nn", "-r", str(path), *flags], capture_output=True, text=True, timeout=WAIT_SECONDS
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_tcpdump_reads_a_session_with_ipv4_and_ipv6_peers(headless: list[Headless], tmp_path: Path) -> None:
    """Datagrams in from an IPv4 and an IPv6 peer, replies out to each; tcpdump shows the
    addresses, ports and lengths, and dpkt gives back every payload byte for byte."""
    capture = tmp_path / "session.pcap"
    before = datetime.now().timestamp()
    udptui = start(headless, "--listen", "0", "--jsonl", "--pcap", str(capture))
    with udp_socket() as peer4, udp_socket("::1") as peer6:
        port4, port6 = peer4.getsockname()[1], peer6.getsockname()[1]
        binary = bytes(range(256))
        peer4.sendto(b"from v4\n", ("127.0.0.1", udptui.port))
        assert udptui.record()["text"] == "from v4\n"
        peer6.sendto(binary, ("::1", udptui.port))
        assert udptui.record()["hex"] == binary.hex()
        udptui.type(f"/to 127.0.0.1:{port4}", "reply four", f"/to [::1]:{port6}", "/hex 00 ff 00")
        assert peer4.recvfrom(100)[0] == b"reply four"
        assert peer6.recvfrom(100)[0] == b"\x00\xff\x00"
        assert [udptui.record()["dir"] for _ in range(4)] == ["note", "out", "note", "out"]
        udptui.process.send_signal(signal.SIGTERM)
        status, _, errors = udptui.finish()
    assert status == 128 + signal.SIGTERM, errors
    port = udptui.port
    lines = [re.sub(r"^\S+ ", "", line) for line in tcpdump(capture)]  # without the time of day
    assert lines == [
        # Received: the address each arrived at (IP_PKTINFO); sent: the address the kernel's
        # route to the peer sends from, so each conversation is one flow in Wireshark.
        f"IP 127.0.0.1.{port4} > 127.0.0.1.{port}: UDP, length 8",
        f"IP6 ::1.{port6} > ::1.{port}: UDP, length 256",
        f"IP 127.0.0.1.{port} > 127.0.0.1.{port4}: UDP, length 10",
        f"IP6 ::1.{port} > ::1.{port6}: UDP, length 3",
    ]
    assert not [line for line in tcpdump(capture, "-vv") if "bad" in line.lower()]
    records = read_pcap(capture.read_bytes())
    payloads = [bytes(dpkt.ip.IP(raw).data.data if raw[0] >> 4 == 4 else dpkt.ip6.IP6(raw).data.data)
                for _, raw in records]  # fmt: skip
    assert payloads == [b"from v4\n", binary, b"reply four", b"\x00\xff\x00"]
    times = [timestamp for timestamp, _ in records]
    assert before <= times[0] <= times[1] <= times[2] <= times[3] <= datetime.now().timestamp()


def test_save_pcap_refuses_an_existing_file_and_writes_a_new_one(
    headless: list[Headless], tmp_path: Path
) -> None:
    """Headless `/save`: an existing file is a notice and stays as it was; a new name gets a pcap
    of the scrollback; with `--pcap` on, the whole --pcap file."""
    precious = tmp_path / "x.pcap"
    precious.write_bytes(b"PRECIOUS")
    for pcap_flag in ((), ("--pcap", str(tmp_path / "live.pcap"))):
        udptui = start(headless, "--listen", "0", "--jsonl", *pcap_flag)
        with udp_socket() as peer:
            peer.sendto(b"keep me", ("127.0.0.1", udptui.port))
            assert udptui.record()["text"] == "keep me"
        fresh = tmp_path / f"fresh{len(pcap_flag)}.pcap"
        udptui.type(f"/save {precious}", f"/save {fresh}")
        refused, saved = udptui.record(), udptui.record()
        assert refused["dir"] == "note" and "already exists" in refused["text"]
        assert saved["text"].startswith("saved ") and saved["text"].endswith(f" to {fresh}")
        assert ("--pcap file" in saved["text"]) == bool(pcap_flag)
        assert [raw[-7:] for _, raw in read_pcap(fresh.read_bytes())] == [b"keep me"]
        udptui.process.send_signal(signal.SIGTERM)
        assert udptui.finish()[0] == 128 + signal.SIGTERM
    assert precious.read_bytes() == b"PRECIOUS"


def test_pcap_flag_never_overwrites(tmp_path: Path) -> None:
    """`--pcap EXISTING`: one line, status 2, and the file as it was."""
    precious = tmp_path / "x.pcap"
    precious.write_bytes(b"PRECIOUS")
    result = subprocess.run(
        [sys.executable, "-m", "udptui", "--listen", "0", "--jsonl", "--pcap", str(precious)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"udptui: error: --pcap {precious}: the file already exists; remove it or name a new one"
    ]
    assert precious.read_bytes() == b"PRECIOUS"


async def test_the_screens_save_writes_pcap_and_refuses_an_existing_file(tmp_path: Path) -> None:
    """The App's `/save` is the same code: `.pcap` writes pcap, an existing file is refused,
    and `/save!` replaces it on purpose."""
    transport = UdpTransport.open(bind_host="127.0.0.1", port=0)
    app = make_app(Config(listening=True), transport=transport, clock=fixed_clock)
    precious, fresh = tmp_path / "x.pcap", tmp_path / "new.pcap"
    precious.write_bytes(b"PRECIOUS")
    try:
        async with app.run_test() as pilot:
            with udp_socket() as peer:
                peer.sendto(b"hello", transport.local_address.sockaddr_for(transport.family))
            await wait_for(pilot, lambda: app.session.counters.received == 1, "the datagram")
            await type_line(pilot, app, f"/save {precious}")
            await type_line(pilot, app, f"/save {fresh}")
            notes = [entry.note for entry in app.session.store if entry.direction is Direction.NOTE]
            await type_line(pilot, app, f"/save! {precious}")  # on purpose
    finally:
        transport.close()
    assert "already exists" in notes[0]
    assert notes[1] == f"saved 1 datagram as pcap to {fresh}"
    assert read_pcap(precious.read_bytes()) == read_pcap(fresh.read_bytes())
    ((_, raw),) = read_pcap(fresh.read_bytes())
    assert dpkt.utils.inet_to_str(dpkt.ip.IP(raw).dst) == "127.0.0.1" and raw.endswith(b"hello")


def test_the_screen_writes_pcap_flushed_per_batch(tmux: Tmux, tmp_path: Path) -> None:
    """`udptui --listen 0 --pcap FILE` in a terminal: tcpdump reads the file while udptui
    still runs (each batch is flushed), with the tutorial's three datagrams and the reply."""
    capture = tmp_path / "screen.pcap"
    port = start_listener(tmux, "app", "--pcap", str(capture))
    run_boundaries_client(port)
    tmux.wait_for("app", lambda screen: "egon" in screen)
    tmux.type("app", "and back")
    tmux.wait_for("app", lambda screen: "→ 127.0.0.1:" in screen and "and back" in screen)
    deadline = time.monotonic() + WAIT_SECONDS
    while len(lines := tcpdump(capture)) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    lengths = [line.rsplit("length ", 1)[1] for line in lines]
    assert lengths == ["5", "5", "4", "8"]
    # In at the address each arrived at (IP_PKTINFO), out from the route's source address.
    assert all(f"127.0.0.1.{port}:" in line for line in lines[:3])
    assert f"IP 127.0.0.1.{port} > 127.0.0.1." in lines[3]


def test_a_link_local_datagram_is_written_and_a_bad_one_is_left_out_once(tmp_path: Path) -> None:
    """The session ingests from ::1, from `fe80::1%lo` (the scope the kernel's index of `lo`,
    as a receive gives it) and ::1 again: tcpdump reads all three. A datagram no packet can be
    made of (a port past 65535) is left out, counted and said once, and the capture goes on."""
    from udptui.chat.session import ChatSession

    capture = tmp_path / "link.pcap"
    lo = socket.if_nametoindex("lo")
    transport = UdpTransport.open(bind_host="::1", port=0)
    try:
        port = transport.local_address.port
        writer = PcapWriter(str(capture), transport.local_address)
        session = ChatSession(transport, clock=lambda: T0)
        session.add_writer(writer)
        session.ingest([(b"one", ("::1", 5000, 0, 0), 3, 0)])
        session.ingest([(b"two", ("fe80::1", 5001, 0, lo), 3, 0)])
        assert str(session.store[-1].peer) == "[fe80::1%lo]:5001"
        assert session.take_transcript_error() is None
        session.ingest([(b"bad", ("::1", 70000, 0, 0), 3, 0), (b"three", ("::1", 5000, 0, 0), 5, 0)])
        session.ingest([(b"bad again", ("::1", 70001, 0, 0), 9, 0)])
        notice = session.take_transcript_error()
        assert notice is not None and "left out a datagram with [::1]:70000" in notice
        assert session.take_transcript_error() is None
        assert writer.skipped == 2 and session.writers == [writer]
        session.close_writers()
    finally:
        transport.close()
    assert [re.sub(r"^\S+ ", "", line) for line in tcpdump(capture)] == [
        f"IP6 ::1.5000 > ::1.{port}: UDP, length 3",
        f"IP6 fe80::1.5001 > ::1.{port}: UDP, length 3",
        f"IP6 ::1.5000 > ::1.{port}: UDP, length 5",
    ]


def test_save_bang_never_overwrites_the_pcap_file_whatever_its_name(
    headless: list[Headless], tmp_path: Path
) -> None:
    """`--pcap capture.bin`, then `/save! capture.bin` (JSON lines, by its name) or `/save!
    ./capture.bin` through another spelling: refused, and the capture goes on whole."""
    capture = tmp_path / "capture.bin"
    udptui = start(headless, "--listen", "0", "--jsonl", "--pcap", str(capture))
    with udp_socket() as peer:
        peer.sendto(b"first", ("127.0.0.1", udptui.port))
        assert udptui.record()["text"] == "first"
        udptui.type(f"/save! {capture}", f"/save! {tmp_path}/./capture.bin")
        for _ in range(2):
            assert "is the --pcap file" in udptui.record()["text"]
        peer.sendto(b"second", ("127.0.0.1", udptui.port))
        assert udptui.record()["text"] == "second"
    udptui.process.send_signal(signal.SIGTERM)
    assert udptui.finish()[0] == 128 + signal.SIGTERM
    payloads = [bytes(dpkt.ip.IP(raw).data.data) for _, raw in read_pcap(capture.read_bytes())]
    assert payloads == [b"first", b"second"]
