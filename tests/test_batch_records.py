"""A batch's JSON lines, read straight off the batch, are the lines its entries would make."""

from __future__ import annotations

import socket
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from udptui.chat.session import ChatSession
from udptui.chat.store import FreshEntries
from udptui.net.transport import UdpTransport
from udptui.record.batch_records import records_text
from udptui.record.transcript import format_records

SENDERS: list[Any] = [
    ("127.0.0.1", 5000),
    ("::ffff:10.0.0.7", 53),
    ("::1", 65535, 0, 0),
    ("fe80::1", 9, 0, socket.if_nametoindex("lo")),
    object(),  # no address at all: the entry's own way says so
]
payloads = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"", b"\x1b]0;pwned\x07", "\u202eevil".encode(), b'"quoted" \\ back', b"\xff\xfe"]),
)
datagrams = st.lists(
    st.tuples(payloads, st.sampled_from(range(len(SENDERS))), st.integers(0, 3), st.sampled_from([0, 1, 2])),
    min_size=1,
    max_size=30,
)


class Keeper:
    """A session writer that keeps what it was handed."""

    label = "keeper"

    def __init__(self) -> None:
        self.handed: list[Any] = []

    def write(self, entries: Any) -> None:
        self.handed.append(entries)

    def close(self) -> None:
        pass


@settings(max_examples=150, deadline=None)
@given(datagrams)
def test_the_fast_lines_are_the_entries_lines(batch: list[tuple[bytes, int, int, int]]) -> None:
    transport = UdpTransport.open(bind_host="127.0.0.1", port=0)
    try:
        session = ChatSession(transport)  # the real clock: every datagram shows its own time
        keeper = Keeper()
        session.add_writer(keeper)
        session.ingest(
            [(payload, SENDERS[who], len(payload) + extra, cut) for payload, who, extra, cut in batch]
        )
        [written] = keeper.handed
        assert isinstance(written, FreshEntries)
        assert records_text(written) == format_records(list(written.fresh()))
        assert records_text(written).count("\n") == len(batch)
    finally:
        transport.close()


def test_a_real_flood_writes_the_same_lines_both_ways() -> None:
    """Batches as `recvmmsg` gives them (kernel times in the control bytes, across seconds)."""
    import threading
    import time

    transport = UdpTransport.open(bind_host="127.0.0.1", port=0)
    receiver = threading.Thread(target=transport.run_receiver, daemon=True)
    receiver.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for number in range(3000):
                sender.sendto(b"%d \x1b[2J \xff" % number if number % 7 == 0 else b"n%d" % number,
                              transport.local_address.sockaddr_for(socket.AF_INET))  # fmt: skip
                if number == 1500:
                    time.sleep(1.0)  # two different seconds at least
        session, keeper = ChatSession(transport), Keeper()
        session.add_writer(keeper)
        deadline = time.monotonic() + 5
        while session.counters.received < 3000 and time.monotonic() < deadline:
            session.ingest(transport.take_all())
            time.sleep(0.01)
        assert session.counters.received == 3000
        for written in keeper.handed:
            assert records_text(written) == format_records(list(written.fresh()))
    finally:
        transport.stop()
        receiver.join(timeout=2)
        transport.close()
