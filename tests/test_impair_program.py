"""Impairments in the real program: headless `udptui --jsonl` processes sending to (and
receiving from) plain sockets on loopback. What the plain socket gets is checked against
what a seeded `random.Random` predicts, computed here, independently of udptui's counting;
the delay against the kernel's arrival times. Every wait has a deadline."""

from __future__ import annotations

import random
import signal
import socket
import statistics
import struct
from datetime import datetime
from pathlib import Path
from typing import Any

import dpkt
import pytest
from conftest import Headless, start, udp_socket
from test_cli import assert_one_line_error, run_udptui

from udptui.net.transport import set_receive_buffer

SO_TIMESTAMPNS = 35
QUIET = 0.3
"""Seconds of silence after which a plain receiver has read all its buffer holds."""


def receive_all(sock: socket.socket, quiet: float = QUIET) -> list[tuple[bytes, int]]:
    """Every datagram until `quiet` seconds pass without one: (bytes, kernel arrival ns)."""
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.settimeout(quiet)
    got: list[tuple[bytes, int]] = []
    while True:
        try:
            data, ancillary, _, _ = sock.recvmsg(70000, 64)
        except TimeoutError:
            return got
        arrived = 0
        for level, kind, value in ancillary:
            if (level, kind) == (socket.SOL_SOCKET, SO_TIMESTAMPNS):
                seconds, nanoseconds = struct.unpack("@qq", value[:16])
                arrived = seconds * 1_000_000_000 + nanoseconds
        got.append((data, arrived))


def receiver() -> socket.socket:
    sock = udp_socket()
    set_receive_buffer(sock, 16 * 1024 * 1024)  # a thousand datagrams at once must all fit
    return sock


def sender(headless: list[Headless], port: int, *flags: str, idle: float = 1.5) -> Headless:
    """udptui sending to `port`, ending `idle` seconds after its start (nothing comes back)."""
    return start(headless, "--peer", f"127.0.0.1:{port}", "--jsonl", "--idle-timeout", str(idle), *flags)


def sent_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [record for record in records if record["dir"] == "out"]


def test_loss_50_on_1000_sends_delivers_what_the_seed_predicts(headless: list[Headless]) -> None:
    """`--loss 50% --seed 1`: datagram i goes exactly when Random(1)'s i-th draw is >= 0.5."""
    predictor = random.Random(1)
    predicted = [str(i).encode() for i in range(1000) if predictor.random() >= 0.5]
    with receiver() as plain:
        udptui = sender(headless, plain.getsockname()[1], "--loss", "50%", "--seed", "1")
        udptui.type(*(str(i) for i in range(1000)))
        udptui.end_input()
        _, records, _ = udptui.finish(timeout=30)
        got = [data for data, _ in receive_all(plain)]
    assert got == predicted
    out = sent_records(records)
    lost = [record for record in out if record.get("impaired") == "lost"]
    assert len(out) == 1000
    assert len(got) + len(lost) == 1000
    assert {record["text"] for record in lost}.isdisjoint(data.decode() for data in got)
    assert all(record["lost_by"] == "loss" for record in lost)


def test_the_same_seed_repeats_a_run(headless: list[Headless]) -> None:
    def run() -> list[bytes]:
        with receiver() as plain:
            flags = ("--loss", "30%", "--duplicate", "20%", "--corrupt", "20%", "--seed", "42")
            udptui = sender(headless, plain.getsockname()[1], *flags)
            udptui.type(*(f"message {i}" for i in range(100)))
            udptui.end_input()
            udptui.finish(timeout=30)
            got = [data for data, _ in receive_all(plain)]
            return got

    first = run()
    assert 0 < len(first) < 130
    assert run() == first


FATE_FIELDS = ("text", "impaired", "lost_by", "delay_ms", "corrupt_byte", "corrupt_bit")


def test_the_same_seed_gives_the_same_fates_and_impair_seed_replays(headless: list[Headless]) -> None:
    """Every impairment at once, through the real program, twice with `--seed 42`: each send's
    record (what hit it, its delay to the microsecond, the bit flipped) is the same both
    times; within a run, `/impair seed 42` starts the sequence again, so the same messages
    meet the same fates a second time."""
    flags = ("--loss", "20%", "--delay", "10ms", "--jitter", "5ms", "--duplicate", "20%")
    flags += ("--reorder", "20%", "--corrupt", "20%", "--seed", "42")
    messages = [f"message {i}" for i in range(30)]

    def run() -> list[tuple[Any, ...]]:
        with receiver() as plain:
            udptui = sender(headless, plain.getsockname()[1], *flags, idle=0.5)
            udptui.type(*messages, "/impair seed 42", *messages)
            udptui.end_input()
            _, records, _ = udptui.finish(timeout=30)
            receive_all(plain, quiet=0.1)
        return [tuple(record.get(name) for name in FATE_FIELDS) for record in sent_records(records)]

    first = run()
    kinds = {fate[1] for fate in first}
    assert {"lost", "delayed", "delayed+duplicate", "delayed+reordered"} <= kinds
    assert any(fate[4] is not None for fate in first)  # some bit was flipped
    half = len(first) // 2
    assert first[:half] == first[half:]
    assert run() == first


def test_duplicate_100_delivers_each_twice(headless: list[Headless]) -> None:
    with receiver() as plain:
        udptui = sender(headless, plain.getsockname()[1], "--duplicate", "100%")
        udptui.type(*(f"d{i}" for i in range(20)))
        udptui.end_input()
        _, records, _ = udptui.finish(timeout=30)
        got = [data for data, _ in receive_all(plain)]
    assert got == [f"d{i}".encode() for i in range(20) for _ in range(2)]
    out = sent_records(records)
    assert [record.get("impaired") for record in out] == [None, "duplicate"] * 20


def test_delay_100ms_arrives_100ms_later(headless: list[Headless]) -> None:
    """Each record's send time against the plain socket's kernel arrival time: 100 ms ± 15
    on the median of 40 datagrams, and none early. The tolerance is on the median, not on
    every datagram: a release is a thread waking on time, and on a loaded machine (a CI
    runner's two cores shared by other tests) one wake-up can be late by more than 15 ms
    without the delay being wrong; the median of many says what the delay is."""
    with receiver() as plain:
        udptui = sender(headless, plain.getsockname()[1], "--delay", "100ms", idle=0.5)
        udptui.type(*(f"late {i}" for i in range(40)))
        udptui.end_input()
        _, records, _ = udptui.finish(timeout=30)
        arrivals = dict(receive_all(plain, quiet=0.2))
    latencies = []
    for record in sent_records(records):
        assert record["impaired"] == "delayed" and record["delay_ms"] == 100.0
        sent_ns = int(datetime.fromisoformat(record["ts"]).timestamp() * 1_000_000) * 1000
        latencies.append((arrivals[record["text"].encode()] - sent_ns) / 1e6)
    assert len(latencies) == 40
    assert min(latencies) >= 99
    assert 85 <= statistics.median(latencies) <= 115


def test_reorder_delivers_out_of_order_and_loses_none(headless: list[Headless]) -> None:
    with receiver() as plain:
        # The last ones reordered wait the full second for a follower that never comes: the
        # idle timeout may come first, and udptui then waits for them before it exits.
        udptui = sender(headless, plain.getsockname()[1], "--reorder", "30%", "--seed", "3", idle=0.5)
        sent = [f"{i:03d}".encode() for i in range(200)]
        udptui.type(*(payload.decode() for payload in sent))
        udptui.end_input()
        _, records, _ = udptui.finish(timeout=30)
        got = [data for data, _ in receive_all(plain, quiet=0.2)]
    assert sorted(got) == sent
    assert got != sent
    reordered = [
        record["text"].encode() for record in sent_records(records) if record.get("impaired") == "reordered"
    ]
    assert len(reordered) > 20
    # each went after something sent later than it (but those after the last plain one,
    # which nothing overtook: they went when they had waited long enough)
    last_plain = max(payload for payload in sent if payload not in reordered)
    for payload in reordered:
        if payload < last_plain:
            assert any(other > payload for other in got[: got.index(payload)])


def test_corrupt_flips_exactly_one_bit_the_record_names(headless: list[Headless]) -> None:
    with receiver() as plain:
        udptui = sender(headless, plain.getsockname()[1], "--corrupt", "100%")
        sent = [f"payload number {i}" for i in range(30)]
        udptui.type(*sent)
        udptui.end_input()
        _, records, _ = udptui.finish(timeout=30)
        got = [data for data, _ in receive_all(plain)]
    assert len(got) == 30
    out = sent_records(records)
    for original, data, record in zip(sent, got, out, strict=True):
        flipped = [(i, a ^ b) for i, (a, b) in enumerate(zip(original.encode(), data, strict=True)) if a != b]
        assert len(flipped) == 1 and flipped[0][1].bit_count() == 1
        assert record["impaired"] == "corrupted"
        assert (record["corrupt_byte"], 1 << record["corrupt_bit"]) == flipped[0]
        on_wire = bytes.fromhex(record["hex"]) if "hex" in record else record["text"].encode()
        assert on_wire == data  # the record holds what went on the wire


def test_impair_in_drops_received_datagrams_as_marked_records(headless: list[Headless]) -> None:
    """`--impair in --loss 50%`: the lost ones are records of their own, not received."""
    predictor = random.Random("5/in")
    predicted = [f"in {i}" for i in range(200) if predictor.random() >= 0.5]
    udptui = start(
        headless, "--listen", "0", "--jsonl", "--impair", "in", "--loss", "50%", "--seed", "5",
        "--idle-timeout", "1.5",
    )  # fmt: skip
    with udp_socket() as peer:
        for i in range(200):
            peer.sendto(f"in {i}".encode(), ("127.0.0.1", udptui.port))
    status, records, _ = udptui.finish(timeout=30)
    assert status == 0
    received = [record for record in records if record["dir"] == "in"]
    assert len(received) == 200
    assert [record["text"] for record in received if "impaired" not in record] == predicted
    assert all(record["impaired"] == "lost" for record in received if "impaired" in record)


def test_impair_in_delays_what_arrives(headless: list[Headless]) -> None:
    udptui = start(
        headless, "--listen", "0", "--jsonl", "--impair", "in", "--delay", "200ms", "--count", "1",
        "--idle-timeout", "5",
    )  # fmt: skip
    with udp_socket() as peer:
        peer.sendto(b"slow", ("127.0.0.1", udptui.port))
        peer.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sent_ns = datetime.now().timestamp() * 1e9
    status, records, _ = udptui.finish(timeout=30)
    assert status == 0
    (record,) = [record for record in records if record["dir"] == "in"]
    assert record["text"] == "slow" and record["impaired"] == "delayed"
    arrived_ns = datetime.fromisoformat(record["ts"]).timestamp() * 1e9
    assert 180 <= (arrived_ns - sent_ns) / 1e6 <= 400


def test_impair_command_changes_them_while_running(headless: list[Headless]) -> None:
    with receiver() as plain:
        udptui = sender(headless, plain.getsockname()[1], "--seed", "7", idle=20)
        udptui.type("/impair loss 100%")
        assert "loss 100% on what udptui sends (seed 7)" in udptui.record()["text"]
        udptui.type("gone")
        assert udptui.record()["impaired"] == "lost"
        udptui.type("/impair loss 120%")
        assert "bad loss '120%': at most 100%" in udptui.record()["text"]
        udptui.type("/impair jitter 20ms")  # jitter alone: half would go undelayed
        assert "--jitter 20ms is more than --delay 0ms" in udptui.record()["text"]
        udptui.type("/impair seed --5")
        assert "bad seed '--5': a whole number" in udptui.record()["text"]
        udptui.type("/impair off", "kept")
        assert udptui.record()["text"] == "impairments: off (seed 7)"
        assert "impaired" not in udptui.record()
        udptui.type("/impair")
        assert udptui.record()["text"] == "impairments: off (seed 7)"
        assert udptui.record()["text"] == "impaired so far: lost 1"
        got = [data for data, _ in receive_all(plain)]
        udptui.end_input()
        udptui.process.terminate()
        udptui.finish(timeout=30)
    assert got == [b"kept"]


def test_pcap_holds_what_went_and_not_what_was_lost(headless: list[Headless], tmp_path: Path) -> None:
    capture = tmp_path / "out.pcap"
    with receiver() as plain:
        udptui = sender(
            headless, plain.getsockname()[1], "--loss", "50%", "--seed", "1", "--pcap", str(capture)
        )
        udptui.type(*(str(i) for i in range(40)))
        udptui.end_input()
        udptui.finish(timeout=30)
        got = [data for data, _ in receive_all(plain)]
    with capture.open("rb") as file:
        packets = [dpkt.ip.IP(data) for _, data in dpkt.pcap.Reader(file)]
    assert [bytes(packet.data.data) for packet in packets] == got


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--loss", "120%"), "bad --loss '120%': at most 100%"),
        (("--delay", "-5ms"), "bad --delay '-5ms': a time cannot be negative"),
        (("--rate", "0"), "bad --rate '0'"),
        (("--seed", "x"), "bad --seed 'x': a whole number"),
        (("--seed=--5",), "bad --seed '--5': a whole number"),
        (("--seed", "-5"), "bad --seed '-5': a whole number from 0 (not negative)"),
        (("--rate", "9" * 400 + "bit"), "bad --rate"),
        (("--delay", "1e999ms"), "bad --delay"),
        (("--jitter", "fast"), "bad --jitter 'fast'"),
        (("--jitter", "20ms"), "--jitter 20ms is more than --delay 0ms"),
        (("--delay", "10ms", "--jitter", "20ms"), "--jitter 20ms is more than --delay 10ms"),
        (("--impair", "up"), "--impair up is for relay mode"),
        (("--impair", "sideways"), "--impair"),
    ],
)
def test_bad_impairment_values_exit_2_with_one_line(args: tuple[str, ...], words: str) -> None:
    assert_one_line_error(run_udptui("--listen", "0", *args), words)


def test_a_repeat_goes_through_the_impairments_and_its_records_say_so(headless: list[Headless]) -> None:
    """`/repeat 50 1ms` with `--loss 50% --seed 1`: send i is lost when the seed's i-th draw
    is below 0.5 (the first send, typed, included); each lost one is a record saying so."""
    predictor = random.Random(1)
    went = [predictor.random() >= 0.5 for _ in range(50)]
    with receiver() as plain:
        udptui = sender(headless, plain.getsockname()[1], "--loss", "50%", "--seed", "1")
        udptui.type("/repeat 50 1ms tick")
        udptui.end_input()
        _, records, _ = udptui.finish(timeout=30)
        got = [data for data, _ in receive_all(plain)]
    assert got == [b"tick"] * sum(went)
    out = sent_records(records)
    assert len(out) == 50
    assert [record.get("impaired") != "lost" for record in out] == went


def test_what_is_held_at_a_natural_end_still_goes(headless: list[Headless]) -> None:
    """`printf 'a\\nb\\n' | udptui --delay 500ms --idle-timeout 0.3`: the idle timeout comes
    while both are held; udptui waits for them to go before it exits."""
    with receiver() as plain:
        udptui = sender(headless, plain.getsockname()[1], "--delay", "500ms", idle=0.3)
        udptui.type("a", "b")
        udptui.end_input()
        status, records, _ = udptui.finish(timeout=10)
        assert [data for data, _ in receive_all(plain, quiet=0.2)] == [b"a", b"b"]
    assert status == 1  # nothing came back within the idle timeout
    assert not any("never went" in record.get("text", "") for record in records)


def test_what_is_held_when_a_signal_ends_it_never_goes_and_a_note_says_so(headless: list[Headless]) -> None:
    """A signal ends the wait for held datagrams: they never go, and the last note says so."""
    with receiver() as plain:
        udptui = sender(headless, plain.getsockname()[1], "--delay", "30s", idle=0.2)
        udptui.type("too late")
        assert udptui.record()["dir"] == "out"
        udptui.process.send_signal(signal.SIGTERM)
        status, records, _ = udptui.finish(timeout=10)
        assert receive_all(plain, quiet=0.2) == []
    assert status == 128 + signal.SIGTERM
    texts = [record.get("text") for record in records]
    assert "1 datagram held back by impairments never went: udptui stopped first" in texts
