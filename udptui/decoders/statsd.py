"""StatsD and DogStatsD metrics (and DogStatsD events and service checks), one or more lines
per datagram.

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
_EVENT = re.compile(rb"_e\{(\d{1,5}),(\d{1,5})\}:")
_SERVICE_CHECK = re.compile(rb"_sc\|([A-Za-z][!-{}~]{0,199})\|([0-3])((?:\|[!-{}~][ -{}~]*)*)")
STATUSES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


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
            if line.startswith((b"_e{", b"_sc|")):  # DogStatsD events and service checks
                special = _event(line, start) if line.startswith(b"_e{") else _service_check(line, start)
                if special is None:
                    return None
                metrics.append(special[0])
                shown.append(special[1])
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


def _event(line: bytes, offset: int) -> tuple[Field, str] | None:
    """`_e{5,4}:title|text|…`: the lengths (in bytes) must match what follows."""
    head = _EVENT.match(line)
    if head is None:
        return None
    title_end = head.end() + int(head[1])
    text_end = title_end + 1 + int(head[2])
    if line[title_end : title_end + 1] != b"|" or len(line) < text_end:
        return None
    rest = line[text_end:]
    if rest and not rest.startswith(b"|"):
        return None
    title, text = text_of(line[head.end() : title_end]), text_of(line[title_end + 1 : text_end])
    options = tuple(Field("option", text_of(option)) for option in rest.split(b"|")[1:])
    field = Field("event", title, (offset, offset + len(line)), (Field("text", text), *options))
    return field, f"event {title}: {text}"


def _service_check(line: bytes, offset: int) -> tuple[Field, str] | None:
    """`_sc|name|status|…` with status 0 to 3."""
    match = _SERVICE_CHECK.fullmatch(line)
    if match is None:
        return None
    status = STATUSES[int(match[2])]
    options = [option for option in match[3].split(b"|")[1:]]
    message = next((text_of(option[2:]) for option in options if option.startswith(b"m:")), "")
    children = tuple(Field("option", text_of(option)) for option in options)
    field = Field(
        "service check", text_of(match[1]), (offset, offset + len(line)), (Field("status", status), *children)
    )
    return field, f"check {text_of(match[1])} {status}" + (f": {message}" if message else "")
