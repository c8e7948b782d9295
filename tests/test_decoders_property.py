# ruff: noqa: RUF001  (real sentences in other scripts, full-width punctuation included, on purpose)
"""Hostile and ordinary input for every decoder: random bytes and mutated valid messages
never raise, stay within a deadline, and no control or bidi character reaches an output
string; chat text (the tutorial's words, sentences, numbers) is claimed by no decoder."""

from __future__ import annotations

import dns.message
import pytest
from decoder_helpers import REGISTRY, context, outcome
from hypothesis import given, settings
from hypothesis import strategies as st

from udptui.chat.datagram import is_safe_char
from udptui.decoders import AUTO, Choice, Decoded, Failure, Field, decode_payload

VALID = [
    dns.message.make_query("example.com", "A", id=0x74E1, use_edns=0).to_wire(),
    b'<12>1 2026-11-25T15:39:28.877125+00:00 vm backup - - [timeQuality tzKnown="1"] disk full',
    b"<12>Nov 25 15:39:28 vm backup: disk /var is 93% full",
    b"<14>hello\x00",
    b"foo:1|c\nbar:12.5|ms|@0.1|#env:prod",
    b"_e{6,13}:deploy|v1.2 released|p:low|#env:prod\n_sc|app.up|2|m:disk full",
    b'{"a": [1, {"b": "c"}], "d": null}',
    b"/synth/freq\x00,f\x00\x00C\xdc\x00\x00",
    b"#bundle\x00" + bytes(8) + b"\x00\x00\x00\x0c/a\x00\x00,i\x00\x00\x00\x00\x00\x01",
]
CHOICES = [AUTO, *(Choice((name,)) for name in ("dns", "syslog", "osc", "statsd", "json"))]


def all_text(result: Decoded | Failure | None) -> list[str]:
    if result is None:
        return []
    if isinstance(result, Failure):
        return [result.reason, result.decoder]
    texts = [result.tag, result.decoder, *result.parts]
    pending: list[Field] = list(result.fields)
    while pending:
        field = pending.pop()
        texts += [field.name, field.value]
        pending += field.children
    return texts


def assert_safe(payload: bytes) -> None:
    for choice in CHOICES:
        result = decode_payload(REGISTRY, choice, payload, context(local_port=53))
        for text in all_text(result):
            bad = [char for char in text if not is_safe_char(char)]
            assert not bad, f"{bad!r} reached {text!r} from {payload!r}"


@settings(deadline=500, max_examples=300)
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise_nor_leak_controls(payload: bytes) -> None:
    assert_safe(payload)


@settings(deadline=500, max_examples=400)
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
    st.integers(0, 300),
    st.binary(max_size=40),
)
def test_mutated_messages_never_raise_nor_leak_controls(
    valid: bytes, flips: list[tuple[int, int]], cut: int, tail: bytes
) -> None:
    payload = bytearray(valid)
    for position, value in flips:
        if payload:
            payload[position % len(payload)] = value
    assert_safe(bytes(payload[: max(cut, 1)]) + tail)


@settings(deadline=500, max_examples=200)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_hostile_text_inside_valid_messages_comes_out_visible(text: str) -> None:
    raw = text.encode("utf-8", errors="surrogatepass")
    assert_safe(b"<13>Nov 25 15:39:28 vm app: " + raw)
    assert_safe(b'<13>1 - vm app - - [x@1 k="' + raw.replace(b'"', b"") + b'"] ' + raw)
    assert_safe(b"users:" + raw + b"|s")


CHAT = [
    "hello",
    "world",
    "egon",
    "h",
    "",
    " ",
    "a:b",
    "a:1",
    "ratio 3:1",
    "12:30",
    "42",
    "3.14",
    "-7",
    "true",
    "null",
    '"quoted"',
    "[citation needed]",
    "{braces} in text",
    "see <https://example.com>",
    "<3 you",
    "/me waves",
    "/to 127.0.0.1:9000",
    "#general",
    "foo|bar",
    "ping",
    "PING 1",
    "Hello, world! How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "Bonjour, comment ça va ? À bientôt.",
    "Grüß Gott, wie geht's?",
    "¿Dónde está la biblioteca?",
    "Привет, как дела?",
    "你好，世界！我们用 UDP 聊天。",
    "こんにちは、元気ですか？",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "안녕하세요 여러분",
    "Γεια σου κόσμε",
    "Merhaba dünya: nasılsın?",
    "time: 12:00:01 | ok",
    "user:alice|admin",
    "key: value",
    "1, 2, 3",
    "email me: egon@example.com",
    "C:\\Users\\egon",
    "x" * 600,
    "Hello\nworld\n",
    "line one\r\nline two",
]


@pytest.mark.parametrize("text", CHAT)
def test_chat_text_is_claimed_by_no_decoder(text: str) -> None:
    assert outcome(text.encode("utf-8")) is None
    for port in (53, 514, 8125):  # a well-known port helps a decoder, never lowers its bar
        assert not isinstance(outcome(text.encode("utf-8"), local_port=port), Decoded)
