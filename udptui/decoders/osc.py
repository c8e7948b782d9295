"""Open Sound Control messages and bundles, parsed by python-osc (imported on first use).

An OSC message starts with an address `/…` padded with NULs to four bytes, then a type
tag string `,…`: chat text holds no NULs, so it is never taken for OSC. The bundle's
layout is walked here first, iteratively, with limits on depth and elements, because
python-osc recurses into nested bundles and logs (to the terminal) what it cannot read.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from udptui.decoders.base import DecodeContext, Decoded, DecodeError, Field

BUNDLE = b"#bundle\x00"
MAX_DEPTH = 8
MAX_ELEMENTS = 256
MAX_SHOWN = 3
"""Messages of a bundle the summary lists."""
_ADDRESS = re.compile(rb"/[!-~]*\x00")
_TYPE_TAGS = re.compile(rb",[ifsbhtdcrmTFNI\[\]]*\x00")
"""The types python-osc reads (`c` and `I` are in the spec but not in python-osc)."""
_PYTHON_OSC_TYPES = set("ifsbhtdrmTFN[]")


def padded_end(data: bytes, match: re.Match[bytes] | None) -> int | None:
    """Where an OSC string ends with its NUL padding to four bytes, or None if it does not."""
    if match is None:
        return None
    end = -(-match.end() // 4) * 4
    return end if data[match.end() : end] == bytes(end - match.end()) and end <= len(data) else None


def check_message(data: bytes) -> None:
    """Raise DecodeError unless `data` starts like an OSC message python-osc can read."""
    address = _ADDRESS.match(data)
    end = padded_end(data, address)
    if end is None:
        raise DecodeError("malformed OSC: address is not a NUL-padded /path")
    if end == len(data):
        return
    tags = _TYPE_TAGS.match(data, end)
    if padded_end(data, tags) is None or tags is None:
        raise DecodeError("malformed OSC: no type tag string after the address")
    unread = set(tags[0].rstrip(b"\x00")[1:].decode()) - _PYTHON_OSC_TYPES
    if unread:
        raise DecodeError(f"malformed OSC: unsupported type tags {''.join(sorted(unread))}")


def check_bundle(data: bytes) -> int:
    """Walk a bundle's elements without recursion; returns how many messages it holds."""
    pending = [(data, 1)]
    messages = elements = 0
    while pending:
        bundle, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise DecodeError(f"malformed OSC: bundles nested deeper than {MAX_DEPTH}")
        if len(bundle) < 16:
            raise DecodeError("malformed OSC: bundle shorter than its time tag")
        position = 16
        while position < len(bundle):
            if position + 4 > len(bundle):
                raise DecodeError("malformed OSC: bundle element size cut short")
            (size,) = struct.unpack_from(">i", bundle, position)
            content = bundle[position + 4 : position + 4 + size]
            if size <= 0 or size % 4 or len(content) != size:
                raise DecodeError(f"malformed OSC: bad bundle element size {size}")
            elements += 1
            if elements > MAX_ELEMENTS:
                raise DecodeError(f"malformed OSC: more than {MAX_ELEMENTS} bundle elements")
            if content.startswith(BUNDLE):
                pending.append((content, depth + 1))
            else:
                check_message(content)
                messages += 1
            position += 4 + size
    return messages


def _value(value: Any) -> str:
    if isinstance(value, bytes):
        return f"blob {len(value)} B: {value[:16].hex(' ')}" + (" …" if len(value) > 16 else "")
    if isinstance(value, list):
        return "[" + " ".join(_value(item) for item in value) + "]"
    return str(value)


def _type_tags(message: Any) -> str:
    data: bytes = message.dgram
    tags = _TYPE_TAGS.match(data, padded_end(data, _ADDRESS.match(data)) or 0)
    return tags[0].rstrip(b"\x00").decode() if tags else ","


def _message_line(message: Any) -> str:
    """`/synth/freq ,f 440.0`"""
    return " ".join([message.address, _type_tags(message), *(_value(p) for p in message.params)])


def _message_field(message: Any, span: tuple[int, int] | None) -> Field:
    params = tuple(Field(f"[{i}]", _value(p)) for i, p in enumerate(message.params))
    return Field(message.address, _type_tags(message), span, params)


def _bundle_field(bundle: Any, name: str, span: tuple[int, int] | None) -> Field:
    children = [Field("time tag", str(bundle.timestamp))]
    for index, content in enumerate(bundle):
        if hasattr(content, "address"):
            children.append(_message_field(content, None))
        else:
            children.append(_bundle_field(content, f"bundle [{index}]", None))
    return Field(name, f"{bundle.num_contents} elements", span, tuple(children))


def _messages(bundle: Any) -> list[Any]:
    found: list[Any] = []
    pending = [bundle]
    while pending:
        for content in pending.pop():
            (found.append if hasattr(content, "address") else pending.append)(content)
    return found


class OscDecoder:
    """OSC 1.0 messages and bundles."""

    name = "osc"
    ports: frozenset[int] = frozenset()

    def prepare(self) -> None:
        import pythonosc.osc_bundle  # noqa: F401  (imported ahead of the first datagram)

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded | None:
        is_bundle = payload.startswith(BUNDLE)
        if not is_bundle and not _ADDRESS.match(payload):
            return None
        from pythonosc.osc_bundle import OscBundle, ParseError
        from pythonosc.osc_message import OscMessage
        from pythonosc.osc_message import ParseError as MessageError

        try:
            if not is_bundle:
                check_message(payload)
                message = OscMessage(payload)
                return Decoded(
                    "OSC", (_message_line(message),), (_message_field(message, (0, len(payload))),)
                )
            count = check_bundle(payload)
            bundle = OscBundle(payload)
        except DecodeError:
            raise
        except (ParseError, MessageError, struct.error, IndexError, ValueError) as error:
            raise DecodeError(f"malformed OSC: {error}") from None
        messages = _messages(bundle)
        parts = [f"bundle, {count} message{'s' if count != 1 else ''}"]
        parts += [_message_line(message) for message in messages[:MAX_SHOWN]]
        if len(messages) > MAX_SHOWN:
            parts.append(f"(+{len(messages) - MAX_SHOWN} more)")
        return Decoded("OSC", tuple(parts), (_bundle_field(bundle, "bundle", (0, len(payload))),))
