"""The `--log` transcript: one JSON object per line, appended, never truncated, flushed per batch."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safe_text import assert_safe_text
from test_render_property import hostile_text

from udptui.chat.datagram import Direction, Entry, Level, Truncation
from udptui.net.address import Address
from udptui.record.transcript import (
    Transcript,
    TranscriptError,
    _encode,
    _utc_offset,
    entry_record,
    format_records,
    timestamp,
)

T0 = datetime(2026, 1, 2, 12, 0, 1, 234567)
PEER = Address("127.0.0.1", 5000)


def test_record_fields() -> None:
    record = entry_record(Entry(T0, Direction.RECEIVED, PEER, b"hi", 2))
    assert record["dir"] == "in"
    assert record["peer"] == "127.0.0.1:5000"
    assert record["len"] == 2
    assert record["text"] == "hi"
    assert "hex" not in record and "truncated" not in record
    assert record["ts"].startswith("2026-01-02T12:00:01.234")
    assert datetime.fromisoformat(record["ts"]).utcoffset() is not None


def test_binary_goes_as_hex_and_truncation_is_marked() -> None:
    record = entry_record(Entry(T0, Direction.SENT, PEER, b"\x00\xffA", 3))
    assert record == {**record, "dir": "out", "hex": "00ff41", "len": 3}
    assert "text" not in record
    cut = entry_record(Entry(T0, Direction.RECEIVED, PEER, b"h", 5, Truncation.CUT))
    assert cut["truncated"] is True and cut["len"] == 5


def test_notes_are_records_too() -> None:
    record = entry_record(Entry(T0, Direction.NOTE, None, note="peer port closed?", level=Level.WARNING))
    assert record["dir"] == "note" and record["text"] == "peer port closed?"


def test_appends_and_never_truncates(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text('{"old": true}\n', encoding="utf-8")
    transcript = Transcript(str(path))
    transcript.write(
        [Entry(T0, Direction.RECEIVED, PEER, b"one", 3), Entry(T0, Direction.SENT, PEER, b"two", 3)]
    )
    # Flushed: another reader sees the records before the file is closed.
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line).get("text") for line in lines] == [None, "one", "two"]
    assert transcript.session_text().count("\n") == 2
    transcript.close()


def test_control_characters_are_escaped_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    transcript = Transcript(str(path))
    transcript.write([Entry(T0, Direction.RECEIVED, PEER, "\x1b]0;PWNED\x07\u202e\x9b".encode(), 9)])
    transcript.close()
    raw = path.read_text(encoding="utf-8")
    assert "\x1b" not in raw and "\x9b" not in raw and "\u202e" not in raw
    assert '"text": "\\u001b]0;PWNED\\u0007\\u202e\\u009b"' in raw
    assert json.loads(raw)["text"] == "\x1b]0;PWNED\x07\u202e\x9b"


def test_printable_text_is_written_as_itself(tmp_path: Path) -> None:
    """`cat` and `grep` show what was said: CJK, accents and emoji sequences are not \\u escapes."""
    path = tmp_path / "chat.jsonl"
    said = "你好 héllo 👨\u200d👩\u200d👧 ❤\ufe0f"
    transcript = Transcript(str(path))
    transcript.write(
        [Entry(T0, Direction.RECEIVED, PEER, said.encode(), 9), Entry(T0, Direction.NOTE, None, note=said)]
    )
    transcript.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(f'"text": "{said}"' in line for line in lines), lines


@given(st.text(max_size=60) | hostile_text, st.binary(max_size=40))
@settings(max_examples=300, deadline=None)
def test_every_record_is_safe_to_cat_and_round_trips(text: str, payload: bytes) -> None:
    entries = [
        Entry(T0, Direction.NOTE, None, note=text),
        Entry(T0, Direction.RECEIVED, PEER, text.encode("utf-8", "surrogatepass"), 9),
        Entry(T0, Direction.SENT, PEER, payload, len(payload)),
    ]
    written = format_records(entries)
    written.encode("utf-8")  # no lone surrogate left raw: the file can hold it
    assert written.endswith("\n") and written.count("\n") == len(entries)
    for line in written.splitlines():
        assert_safe_text(line)
    records = [json.loads(line) for line in written.splitlines()]
    assert records == [entry_record(entry) for entry in entries]


def test_unwritable_path_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError) as caught:
        Transcript(str(tmp_path / "missing-dir" / "chat.jsonl"))
    assert "\n" not in str(caught.value)
    with pytest.raises(TranscriptError):
        Transcript(str(tmp_path))


def test_a_failing_disk_is_said_once_and_the_chat_goes_on() -> None:
    """/dev/full answers every write with ENOSPC: the session says so once and keeps every entry."""
    from udptui.chat.session import ChatSession
    from udptui.net.transport import UdpTransport

    transport = UdpTransport.open(bind_host="127.0.0.1", port=0)
    try:
        session = ChatSession(transport, transcript=Transcript("/dev/full"), clock=lambda: T0)
        session.ingest([(b"one", ("127.0.0.1", 5000), 3, 0)])
        error = session.take_transcript_error()
        assert error is not None and "/dev/full" in error and "\n" not in error
        assert session.take_transcript_error() is None
        assert session.transcript is None
        session.ingest([(b"two", ("127.0.0.1", 5000), 3, 0)])
        assert [entry.payload for entry in session.store] == [b"one", b"two"]
    finally:
        transport.close()


def test_a_pipe_can_be_the_log(tmp_path: Path) -> None:
    """`--log >(jq .)`: a FIFO has no position; records still flow, and there is nothing to read back."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    transcript = Transcript(str(fifo))
    assert transcript.start_offset is None
    transcript.write([Entry(T0, Direction.RECEIVED, PEER, b"through the pipe", 16)])
    assert transcript.session_text() is None
    transcript.close()
    reader.join(timeout=5)
    assert json.loads(received[0])["text"] == "through the pipe"


@given(
    record=st.dictionaries(
        st.text(),
        st.one_of(st.text(), st.integers(), st.booleans(), st.floats(allow_nan=False), st.none()),
    )
)
def test_the_fast_encoder_writes_what_json_dumps_writes(record: dict[str, object]) -> None:
    """`_encode` stands in for `json.dumps(..., ensure_ascii=False)` per record: byte for byte."""
    assert _encode(record) == json.dumps(record, ensure_ascii=False)


@given(
    payload=st.binary(max_size=64) | st.text(max_size=64).map(str.encode),
    direction=st.sampled_from(Direction),
    truncation=st.sampled_from(Truncation),
    note=st.text(max_size=32),
    ipv6=st.booleans(),
)
def test_every_record_is_json_dumps_of_entry_record(
    payload: bytes, direction: Direction, truncation: Truncation, note: str, ipv6: bool
) -> None:
    """The batch path (one timestamp per batch, the fast encoder) writes what the plain one would."""
    from udptui.chat.visible import json_escape_unsafe

    peer = Address("::1" if ipv6 else "127.0.0.1", 5000)
    entry = Entry(T0, direction, peer, payload, len(payload) + 1, truncation, note=note)
    plain = json_escape_unsafe(json.dumps(entry_record(entry), ensure_ascii=False)) + "\n"
    assert format_records([entry, entry]) == plain * 2


@contextlib.contextmanager
def time_zone(zone: str) -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    _utc_offset.cache_clear()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()
        _utc_offset.cache_clear()


@given(when=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
def test_ts_is_what_astimezone_writes(when: datetime) -> None:
    """The per-hour offset cache writes what `astimezone().isoformat()` would, in a zone with
    an offset and summer time."""
    with time_zone("Europe/Berlin"):
        assert timestamp(when) == when.astimezone().isoformat(timespec="microseconds")


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Australia/Lord_Howe", datetime(2024, 4, 7)),  # 02:00 +11:00 back to 01:30 +10:30
        ("Australia/Lord_Howe", datetime(2024, 10, 6)),  # 02:00 +10:30 on to 02:30 +11:00
        ("Europe/Berlin", datetime(2024, 10, 27)),  # 03:00 back to 02:00: the hour's two folds
        ("Europe/Berlin", datetime(2024, 3, 31)),
    ],
)
def test_ts_is_right_through_a_day_with_an_offset_change(zone: str, day: datetime) -> None:
    """Every minute (and the last microsecond of each) of a day whose offset changes, both
    folds, in the order a flood writes them: the cache holds an hour's offset only where
    the whole hour has it (Lord Howe changes by half an hour, at half past)."""
    with time_zone(zone):
        for minute in range(24 * 60):
            for second, micro in ((0, 0), (59, 999_999)):
                for fold in (0, 1):
                    when = (day + timedelta(minutes=minute)).replace(
                        second=second, microsecond=micro, fold=fold
                    )
                    assert timestamp(when) == when.astimezone().isoformat(timespec="microseconds"), when
