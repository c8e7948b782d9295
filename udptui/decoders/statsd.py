"""StatsD and DogStatsD metrics, one or more lines per datagram.

A small grammar written here: a metric line is `name:value|type` with optional `|@rate`,
`|#tags`, `|c:container` and `|T timestamp` sections; the StatsD packages on PyPI are
clients, which build these lines but do not read them. Every line of the datagram must
match, the name must start with a letter and the value be a number (any text for sets),
so `a:b` or a sentence with a colon is never taken for a metric.
"""

from __future__ import annotations

import re

from udptui.decoders.base import DecodeContext, Decoded, Field, text_of

TYPES = {"c": "counter", "ms": "timer", "g": "gauge", "s": "set", "h": "histogram", "d": "distribution"}
MAX_SHOWN = 8
"""Metrics the summary lists; the field tree has them all."""

_NUMBER = rb"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_LINE = re.compile(
    rb"(?P<name>[A-Za-z][A-Za-z0-9_.\-/]{0,199}):"
    rb"(?P<value>" + _NUMBER + rb"(?::" + _NUMBER + rb")*|[!-9;-{}~]{1,200})"
    rb"\|(?P<type>ms|c|g|s|h|d)"
    rb"(?:\|@(?P<rate>0(?:\.\d+)?|1(?:\.0+)?|\.\d+))?"
    rb"(?:\|#(?P<tags>[!-+\--{}~]+(?:,[!-+\--{}~]+)*))?"
    rb"(?:\|c:(?P<container>[!-{}~]+))?"
    rb"(?:\|T(?P<timestamp>\d{1,12}))?"
)
"""Tags are printable ASCII but `,` and `|`; a set's value is printable ASCII but `|`."""


class StatsdDecoder:
    """StatsD and DogStatsD metrics (port 8125)."""

    name = "statsd"
    ports = frozenset({8125})

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded | None:
        metrics: list[Field] = []
        shown: list[str] = []
        position = 0
        for raw_line in payload.split(b"\n"):
            start, position = position, position + len(raw_line) + 1
            line = raw_line.removesuffix(b"\r")
            if not line:
                continue
            match = _LINE.fullmatch(line)
            if match is None:
                return None
            kind = match["type"].decode()
            if kind != "s" and not re.fullmatch(_NUMBER + rb"(?::" + _NUMBER + rb")*", match["value"]):
                return None
            metrics.append(_metric(match, kind, start))
            shown.append(_short(line, match))
        if not metrics:
            return None
        parts = shown[:MAX_SHOWN]
        if len(shown) > MAX_SHOWN:
            parts.append(f"(+{len(shown) - MAX_SHOWN} more)")
        return Decoded("statsd", tuple(parts), (Field("metrics", str(len(metrics))), *metrics))


def _short(line: bytes, match: re.Match[bytes]) -> str:
    """`bar:12.5|ms @0.1 #env:prod`: the metric, then its rate and tags spaced out."""
    text = f"{text_of(match['name'])}:{text_of(match['value'])}|{match['type'].decode()}"
    if match["rate"]:
        text += f" @{text_of(match['rate'])}"
    if match["tags"]:
        text += f" #{text_of(match['tags'])}"
    return text


def _metric(match: re.Match[bytes], kind: str, offset: int) -> Field:
    start, end = match.span()
    children = [
        Field("type", f"{kind} ({TYPES[kind]})", _shift(match.span("type"), offset)),
        Field("value", text_of(match["value"]), _shift(match.span("value"), offset)),
    ]
    if match["rate"]:
        children.append(Field("sample rate", text_of(match["rate"]), _shift(match.span("rate"), offset)))
    if match["tags"]:
        tags = tuple(Field("tag", text_of(tag)) for tag in match["tags"].split(b","))
        children.append(Field("tags", str(len(tags)), _shift(match.span("tags"), offset), tags))
    if match["container"]:
        children.append(Field("container", text_of(match["container"])))
    if match["timestamp"]:
        children.append(Field("timestamp", text_of(match["timestamp"])))
    return Field(
        text_of(match["name"]),
        f"{text_of(match['value'])}|{kind}",
        (offset + start, offset + end),
        tuple(children),
    )


def _shift(span: tuple[int, int], offset: int) -> tuple[int, int]:
    return span[0] + offset, span[1] + offset
