"""The decoders alone: what each makes of real messages, what it refuses, and how the
registry, the choice (`auto`, `none`, names, per peer) and the containment behave."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import dns.message
import dns.rrset
import pytest
from decoder_helpers import PEER, REGISTRY, context, decoded, field_values, line, outcome

from udptui.chat.datagram import Direction, Entry, is_safe_char, make_visible
from udptui.decoders import (
    AUTO,
    NONE,
    Choice,
    DecodeContext,
    Decoded,
    DecoderLoadError,
    Decoding,
    Failure,
    Field,
    Registry,
    run_decoder,
    tree_rows,
)
from udptui.decoders.json import MAX_DEPTH
from udptui.net.address import Address

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "game_decoder.py"


def visible(text: str) -> str:
    return "".join(piece.text for piece in make_visible(text))


def dns_pair(ident: int = 0x74E1) -> tuple[bytes, bytes]:
    query = dns.message.make_query("example.com", "A", id=ident)
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "A", "93.184.216.34"))
    response.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "AAAA", "2606:2800::1"))
    return query.to_wire(), response.to_wire()


# -- DNS -------------------------------------------------------------------------------------


def test_a_dns_response_is_timed_against_its_query_from_the_same_peer() -> None:
    registry = Registry(entry_points=False)
    query, response = dns_pair()
    from udptui.decoders import decode_payload

    first = decode_payload(registry, AUTO, query, context(received=False))
    assert isinstance(first, Decoded) and first.summary == "query A example.com  id 74e1"
    answer = decode_payload(registry, AUTO, response, context(received=True, later_ms=12.4))
    assert isinstance(answer, Decoded)
    assert line(answer) == "DNS response NOERROR example.com A 93.184.216.34 (+1 more)  id 74e1  12.4 ms"
    other_peer = decode_payload(registry, AUTO, response, context(peer=Address("127.0.0.1", 1), later_ms=5))
    assert isinstance(other_peer, Decoded) and "ms" not in other_peer.summary


def test_a_dns_compression_pointer_loop_is_an_error_not_a_hang() -> None:
    # One question whose name is a pointer to itself (offset 12).
    looping = bytes.fromhex("1234 0100 0001 0000 0000 0000 c00c 0001 0001")
    result = outcome(looping, local_port=53)
    assert isinstance(result, Failure) and result.decoder == "dns"
    assert result.reason.startswith("malformed DNS: ")
    assert outcome(looping) is None  # off port 53, broken DNS is just not DNS


def test_dns_labels_with_escape_bytes_come_out_visible() -> None:
    query = dns.message.make_query(dns.name.Name([b"\x1b[31mevil\xe2\x80\xae", b"com", b""]), "TXT")
    result = decoded(query.to_wire())
    assert "\x1b" not in result.summary and "\u202e" not in result.summary
    assert result.summary.startswith("query TXT \\027[31mevil")  # dnspython's own escape, kept


# -- syslog ------------------------------------------------------------------------------------


def test_syslog_rfc5424_structured_data_and_nil_values() -> None:
    payload = b'<165>1 2026-01-02T12:00:01Z vm app 42 ID47 [ex@1 a="x\\"y" b="z"][two] \xef\xbb\xbfhello'
    result = decoded(payload)
    assert line(result) == "syslog local4.notice vm app[42]: hello"
    fields = field_values(result)
    assert fields["a"] == 'x"y' and fields["msgid"] == "ID47" and fields["structured data"] == "2 elements"
    nil = decoded(b"<13>1 - - - - - -")
    assert line(nil) == "syslog user.notice"


@pytest.mark.parametrize(
    "payload",
    [b"<192>too high", b"<013>leading zero", b"<>empty", b"13> no bracket", b"< 13>spaced"],
)
def test_syslog_needs_a_real_pri(payload: bytes) -> None:
    assert outcome(payload) is None


def test_broken_structured_data_on_port_514_says_why() -> None:
    result = outcome(b'<13>1 - vm app - - [ex a="never ends', local_port=514)
    assert isinstance(result, Failure) and "structured data value never ends" in result.reason


# -- StatsD, JSON, OSC ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [b"a:b", b"foo:1", b"foo:bar|c", b"foo:1|x", b"1foo:1|c", b"foo:1|c\nnot a metric", b"ratio 3:1|c"],
)
def test_statsd_refuses_what_is_not_its_grammar(payload: bytes) -> None:
    assert outcome(payload) is None


def test_dogstatsd_events_and_service_checks() -> None:
    payload = b"_e{6,13}:deploy|v1.2 released|p:low|#env:prod\n_sc|app.up|2|m:disk full\nhits:3|c"
    result = decoded(payload)
    assert line(result) == "statsd event deploy: v1.2 released  check app.up CRITICAL: disk full  hits:3|c"
    assert outcome(b"_e{9,13}:deploy|v1.2 released") is None  # the lengths must match
    assert outcome(b"_sc|app.up|7") is None


def test_json_objects_and_arrays_only_with_a_depth_limit() -> None:
    result = decoded(b'{"user": "egon", "n": [1, 2.5, null], "esc": "\\u001b[2J\\u202e"}')
    # JSON's own escape for ESC; the bidi override, raw in the JSON text, made visible.
    assert line(result) == 'JSON {"user":"egon","n":[1,2.5,null],"esc":"\\u001b[2J' + visible("\u202e") + '"}'
    assert field_values(result)["user"] == '"egon"'
    for bare in (b"42", b'"hi"', b"true", b"null"):
        assert outcome(bare) is None
    deep = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    assert outcome(deep) is None
    refused = outcome(deep, Choice(("json",)))
    assert isinstance(refused, Failure) and "deeper than" in refused.reason
    assert isinstance(
        outcome(b"[" * 30000 + b"]" * 30000, Choice(("json",))), Failure
    )  # a scan, no recursion


def test_an_osc_bundle_of_65507_bytes_is_refused_quickly() -> None:
    element = b"\x00\x00\x00\x08/a\x00\x00,\x00\x00\x00"
    payload = b"#bundle\x00" + bytes(8) + element * ((65507 - 16) // len(element))
    result = outcome(payload, Choice(("osc",)))
    assert isinstance(result, Failure) and "bundle elements" in result.reason
    nested = b"#bundle\x00" + bytes(8)
    for _ in range(20):
        nested = b"#bundle\x00" + bytes(8) + len(nested).to_bytes(4, "big") + nested
    result = outcome(nested, Choice(("osc",)))
    assert isinstance(result, Failure) and "nested deeper" in result.reason


# -- choosing, containing, plugins ------------------------------------------------------------


def test_none_and_a_limited_set() -> None:
    query, _ = dns_pair()
    assert outcome(query, NONE) is None
    assert outcome(query, Choice(("syslog",))) is None
    assert decoded(query, Choice.parse("syslog,dns")).tag == "DNS"
    assert str(Choice.parse("DNS, syslog")) == "dns,syslog"
    with pytest.raises(ValueError, match="expected auto, none"):
        Choice.parse("dns,,auto")


def test_a_decoder_that_breaks_or_lies_cannot_hurt_the_app() -> None:
    class Broken:
        name = "broken"

        def decode(self, payload: bytes, context: DecodeContext) -> Decoded | None:
            raise ZeroDivisionError("oops")

    class Liar:
        name = "liar"

        def decode(self, payload: bytes, context: DecodeContext) -> Decoded | None:
            return Decoded(
                "\x1b[31mT" * 10,
                ("\u202eevil\x07", "x" * 100_000),
                (Field("a\x1b", "b\u2066", (5, 999_999), tuple(Field(str(i)) for i in range(5000))),),
            )

    failure = run_decoder(Broken(), b"x", context())
    assert failure == Failure("broken", "decoder broken failed: ZeroDivisionError: oops")
    safe = run_decoder(Liar(), b"x", context())
    assert isinstance(safe, Decoded)
    assert safe.tag.endswith("…") and len(safe.parts[1]) == 401  # cut, then made visible
    assert safe.fields[0].span is None  # outside the payload
    assert len(safe.fields[0].children) <= 2001
    texts = [safe.tag, *safe.parts, safe.fields[0].name, safe.fields[0].value]
    assert all(is_safe_char(char) for text in texts for char in text)


def test_the_example_game_decoder_by_path() -> None:
    registry = Registry([str(EXAMPLE)], entry_points=False)
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        from game_decoder import make_packet  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    from udptui.decoders import decode_payload

    chat = decode_payload(registry, AUTO, make_packet("chat", 7, 42, b"\x05hello"), context())
    assert isinstance(chat, Decoded) and line(chat) == "GAME chat player 7  seq 42  hello"
    move = make_packet("move", 7, 43, bytes.fromhex("3fc00000 00000000 c0000000"))
    assert (
        line(decode_payload(registry, AUTO, move, context())) == "GAME move player 7  seq 43  x=1.5 y=0 z=-2"
    )  # type: ignore[arg-type]
    assert "game" in registry.decoders


def test_decoder_path_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(DecoderLoadError, match="no such file"):
        Registry([str(tmp_path / "missing.py")])
    broken = tmp_path / "broken.py"
    broken.write_text("def oops(:\n")
    with pytest.raises(DecoderLoadError, match="SyntaxError"):
        Registry([str(broken)])
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(DecoderLoadError, match="neither DECODER nor DECODERS"):
        Registry([str(empty)])
    with pytest.raises(DecoderLoadError, match="unknown decoder 'nope'"):
        Registry(entry_points=False).check_names(["dns", "nope"])


def test_entry_point_plugins_load_on_first_use_and_a_broken_one_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real distribution's metadata on sys.path, as `pip install` would leave it."""
    (tmp_path / "beacon_decoder.py").write_text(
        textwrap.dedent(
            """
            from udptui.decoders import Decoded

            class Beacon:
                name = "beacon"
                def decode(self, payload, context):
                    if payload.startswith(b"BEACON"):
                        return Decoded("BEACON", (payload[6:].decode(),))
            """
        )
    )
    info = tmp_path / "beacon-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: beacon\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[udptui.decoders]\nbeacon = beacon_decoder:Beacon\nbad = no_such_module:Thing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry()
    assert registry.take_problems() == []  # nothing is loaded until used
    from udptui.decoders import decode_payload

    result = decode_payload(registry, AUTO, b"BEACON here", context())
    assert isinstance(result, Decoded) and line(result) == "BEACON  here"
    problems = registry.take_problems()
    assert len(problems) == 1 and "plugin bad" in problems[0] and "ModuleNotFoundError" in problems[0]
    assert decoded(dns_pair()[0]).tag == "DNS"  # built-ins still work beside plugins


def test_decoding_caches_per_entry_and_per_peer_choice() -> None:
    decoding = Decoding(Registry(entry_points=False))
    query, _ = dns_pair()
    entry = Entry(context().time, Direction.RECEIVED, PEER, query, len(query))  # type: ignore[arg-type]
    first = decoding.summary(entry)
    assert first is not None and decoding.summary(entry) is first  # cached
    assert decoding.choose(NONE, PEER) == f"decode none for {PEER}"
    assert decoding.summary(entry) is None
    other = Entry(entry.time, Direction.RECEIVED, Address("127.0.0.1", 2), query, len(query))
    assert decoding.summary(other) is not None
    decoding.choose(AUTO)
    assert decoding.summary(entry) is not None
    with pytest.raises(DecoderLoadError):
        decoding.choose(Choice(("nope",)))
    assert REGISTRY.decoders


def test_version_imports_no_decoder_library() -> None:
    code = (
        "import sys\nfrom udptui.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dns', 'pythonosc', 'textual')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().endswith("[]"), result.stdout


def test_the_readme_example_decoder_works(tmp_path: Path) -> None:
    """The README's dozen-line decoder, loaded as --decoder-path would load it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = readme.split("For example, `heartbeat.py`:\n\n```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "heartbeat.py").write_text(source)
    registry = Registry([str(tmp_path / "heartbeat.py")], entry_points=False)
    from udptui.decoders import decode_payload

    result = decode_payload(registry, AUTO, b"HB\x00\x00\x00\x00\x00\x07", context())
    assert isinstance(result, Decoded) and line(result) == "HB seq 7"
    assert result.fields == (Field("seq", "7", (4, 8)),)


def test_warm_up_imports_the_libraries_ahead_of_the_first_datagram() -> None:
    code = (
        "import sys\nfrom udptui.decoders import Registry\nregistry = Registry(entry_points=False)\n"
        "assert 'dns.message' not in sys.modules\nregistry.warm_up()\n"
        "print('dns.message' in sys.modules, 'pythonosc.osc_bundle' in sys.modules, registry.take_problems())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True True []"


def test_tree_rows_draw_guides_for_line_by_line_views() -> None:
    fields = (Field("a", "1", None, (Field("b"), Field("c", "", None, (Field("d"),)))), Field("e"))
    assert [guide + field.name for guide, field in tree_rows(fields)] == [
        "├─ a",
        "│  ├─ b",
        "│  └─ c",
        "│     └─ d",
        "└─ e",
    ]
