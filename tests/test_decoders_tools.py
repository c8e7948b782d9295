"""Each decoder against messages made by the real tools: dig, logger, Python's
SysLogHandler, python-osc's client, dnspython and a StatsD line, captured on a plain
loopback socket."""

from __future__ import annotations

import logging
import logging.handlers
import socket
import subprocess
from collections.abc import Iterator

import dns.message
import dns.rrset
import pytest
from decoder_helpers import decoded, field_values, line
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient

WAIT_SECONDS = 5.0


@pytest.fixture
def catcher() -> Iterator[socket.socket]:
    """A plain UDP socket on loopback that the tools send to."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(WAIT_SECONDS)
    yield sock
    sock.close()


def port_of(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


def test_a_dig_query_and_the_answer_dig_accepts(catcher: socket.socket) -> None:
    dig = subprocess.Popen(
        ["dig", "@127.0.0.1", "-p", str(port_of(catcher)), "example.com", "+tries=1", "+time=2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    query_bytes, where = catcher.recvfrom(65535)
    query = decoded(query_bytes)
    ident = dns.message.from_wire(query_bytes).id
    assert line(query) == f"DNS query A example.com  id {ident:04x}"
    assert field_values(query)["udp payload"] == "1232"  # dig's EDNS
    response = dns.message.make_response(dns.message.from_wire(query_bytes))
    response.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "A", "93.184.216.34"))
    response_bytes = response.to_wire()
    catcher.sendto(response_bytes, where)
    out, _ = dig.communicate(timeout=WAIT_SECONDS)
    assert "93.184.216.34" in out  # dig read the same bytes the decoder reads below
    answer = decoded(response_bytes, received=False, later_ms=12.4)
    assert line(answer).startswith(f"DNS response NOERROR example.com A 93.184.216.34  id {ident:04x}")


@pytest.mark.parametrize(
    ("form", "expected_format"), [("--rfc5424", "RFC 5424"), ("--rfc3164", "RFC 3164 (BSD)")]
)
def test_logger_in_both_formats(catcher: socket.socket, form: str, expected_format: str) -> None:
    command = ["logger", "-n", "127.0.0.1", "-P", str(port_of(catcher)), "-d", form]
    subprocess.run([*command, "-p", "user.warning", "-t", "backup", "disk /var is 93% full"], check=True)
    result = decoded(catcher.recvfrom(65535)[0])
    host = socket.gethostname().split(".")[0]
    assert line(result) == f"syslog user.warning {host} backup: disk /var is 93% full"
    fields = field_values(result)
    assert fields["format"] == expected_format
    assert fields["severity"] == "4 warning"
    if form == "--rfc5424":
        assert fields["tzKnown"] == "1"  # logger's structured data, in the tree


def test_pythons_syslog_handler(catcher: socket.socket) -> None:
    handler = logging.handlers.SysLogHandler(
        ("127.0.0.1", port_of(catcher)), facility=logging.handlers.SysLogHandler.LOG_LOCAL3
    )
    handler.setFormatter(logging.Formatter("myapp[42]: %(message)s"))
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "payment failed", None, None)
    handler.emit(record)
    handler.close()
    assert line(decoded(catcher.recvfrom(65535)[0])) == "syslog local3.err myapp[42]: payment failed"


def test_statsd_and_dogstatsd_lines(catcher: socket.socket) -> None:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.sendto(
        b"foo:1|c\nbar:12.5|ms|@0.1|#env:prod\nqueue.depth:-3|g\nusers:alice|s", catcher.getsockname()
    )
    sender.close()
    result = decoded(catcher.recvfrom(65535)[0])
    assert line(result) == "statsd foo:1|c  bar:12.5|ms @0.1 #env:prod  queue.depth:-3|g  users:alice|s"
    assert field_values(result)["sample rate"] == "0.1"


def test_python_osc_client_message_and_bundle(catcher: socket.socket) -> None:
    client = SimpleUDPClient("127.0.0.1", port_of(catcher))
    client.send_message("/synth/freq", 440.0)
    assert line(decoded(catcher.recvfrom(65535)[0])) == "OSC /synth/freq ,f 440.0"
    client.send_message("/mix", [1, "kick", True])
    assert line(decoded(catcher.recvfrom(65535)[0])) == "OSC /mix ,isT 1 kick True"
    bundle = OscBundleBuilder(IMMEDIATELY)
    for address, value in (("/a", 1), ("/b", 2.5)):
        message = OscMessageBuilder(address)
        message.add_arg(value)
        bundle.add_content(message.build())
    client.send(bundle.build())
    result = decoded(catcher.recvfrom(65535)[0])
    assert line(result) == "OSC bundle, 2 messages  /a ,i 1  /b ,f 2.5"
