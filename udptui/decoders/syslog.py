"""syslog: RFC 5424 and RFC 3164 (BSD), as `logger` and Python's SysLogHandler send them.

A small grammar written here: the format is a few fields and a structured-data block, and
the Python syslog parsers on PyPI either read files rather than datagrams or are unkept;
this one gives byte ranges for free. A message must start with `<PRI>` (0 to 191, no
leading zero), so chat text is never taken for syslog.
"""

from __future__ import annotations

import re

from udptui.decoders.base import DecodeContext, Decoded, DecodeError, Field, text_of

FACILITIES = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
]
SEVERITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]

_PRI = re.compile(rb"<(0|[1-9][0-9]{0,2})>")
_RFC5424 = re.compile(
    rb"1 (?P<timestamp>-|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) "
    rb"(?P<hostname>[!-~]{1,255}) (?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) "
)
_RFC3164_TIME = re.compile(rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-3]\d \d\d:\d\d:\d\d ")
_HOST = re.compile(rb"([!-~]{1,255}) ")
_TAG = re.compile(rb"([!-9;-Z\\^-~]{1,48})(?:\[([!-Z\\^-~]{1,128})\])?: ?")
"""An app name (no `:`, `[`, `]` or space), an optional `[pid]`, then `:`."""
_SD_NAME = re.compile(rb"[!#-<>-\\^-~]{1,32}")
"""SD-NAME: printable ASCII but `=`, space, `]` and `"`."""


def _nil(value: bytes) -> str:
    return "" if value == b"-" else text_of(value)


class SyslogDecoder:
    """syslog over UDP (port 514)."""

    name = "syslog"
    ports = frozenset({514})

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded | None:
        pri_match = _PRI.match(payload)
        if pri_match is None or int(pri_match[1]) > 191:
            return None
        pri = int(pri_match[1])
        facility, severity = FACILITIES[pri >> 3], SEVERITIES[pri & 7]
        pri_field = Field(
            "priority",
            f"{pri}: {facility}.{severity}",
            pri_match.span(),
            (Field("facility", f"{pri >> 3} {facility}"), Field("severity", f"{pri & 7} {severity}")),
        )
        start = pri_match.end()
        modern = _RFC5424.match(payload, start)
        if modern is not None:
            fields, host, app, message = self._rfc5424(payload, modern)
        else:
            fields, host, app, message = self._rfc3164(payload, start)
        line = " ".join(part for part in (f"{facility}.{severity}", host, f"{app}:" if app else "") if part)
        return Decoded("syslog", (f"{line} {message}".rstrip(),), (pri_field, *fields))

    def _rfc5424(self, payload: bytes, match: re.Match[bytes]) -> tuple[list[Field], str, str, str]:
        fields = [Field("format", "RFC 5424", match.span())]
        for name in ("timestamp", "hostname", "app", "procid", "msgid"):
            fields.append(Field(name, _nil(match[name]) or "-", match.span(name)))
        position, structured = _structured_data(payload, match.end())
        fields.append(structured)
        if position < len(payload):
            if payload[position : position + 1] != b" ":
                raise DecodeError(
                    f"malformed syslog: expected a space after structured data at byte {position}"
                )
            position += 1
        body = payload[position:]
        if body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]
            position += 3
        message = text_of(body).rstrip("\x00\n")
        fields.append(Field("message", message, (position, len(payload))))
        app = _nil(match["app"])
        procid = _nil(match["procid"])
        return fields, _nil(match["hostname"]), f"{app}[{procid}]" if app and procid else app, message

    def _rfc3164(self, payload: bytes, position: int) -> tuple[list[Field], str, str, str]:
        fields = [Field("format", "RFC 3164 (BSD)")]
        host = ""
        stamp = _RFC3164_TIME.match(payload, position)
        if stamp is not None:
            fields.append(Field("timestamp", text_of(stamp[0]).strip(), stamp.span()))
            position = stamp.end()
            hostname = _HOST.match(payload, position)
            # `logger` puts the host after the time; a bare `app: msg` has none.
            if hostname is not None and not hostname[1].endswith(b":") and b"[" not in hostname[1]:
                host = text_of(hostname[1])
                fields.append(Field("hostname", host, hostname.span(1)))
                position = hostname.end()
        app = ""
        tag = _TAG.match(payload, position)
        if tag is not None:
            app = text_of(tag[1]) + (f"[{text_of(tag[2])}]" if tag[2] else "")
            fields.append(Field("tag", app, tag.span()))
            position = tag.end()
        message = text_of(payload[position:]).rstrip("\x00\n")
        fields.append(Field("message", message, (position, len(payload))))
        return fields, host, app, message


def _structured_data(payload: bytes, position: int) -> tuple[int, Field]:
    """RFC 5424 STRUCTURED-DATA: `-` or `[id name="value" …]…`; returns the end and a field."""
    start = position
    if payload[position : position + 1] == b"-":
        return position + 1, Field("structured data", "-", (start, position + 1))
    elements: list[Field] = []
    while payload[position : position + 1] == b"[":
        sd_id = _SD_NAME.match(payload, position + 1)
        if sd_id is None:
            raise DecodeError(f"malformed syslog: bad structured data id at byte {position + 1}")
        element_start, position = position, sd_id.end()
        params: list[Field] = []
        while payload[position : position + 1] == b" ":
            name = _SD_NAME.match(payload, position + 1)
            if name is None or payload[name.end() : name.end() + 2] != b'="':
                raise DecodeError(f"malformed syslog: bad structured data parameter at byte {position + 1}")
            position = name.end() + 2
            value = bytearray()
            while True:
                if position >= len(payload):
                    raise DecodeError("malformed syslog: structured data value never ends")
                byte = payload[position]
                if byte == 0x5C and payload[position + 1 : position + 2] in (b'"', b"\\", b"]"):
                    value += payload[position + 1 : position + 2]
                    position += 2
                    continue
                position += 1
                if byte == 0x22:
                    break
                value.append(byte)
            params.append(Field(text_of(name[0]), text_of(bytes(value))))
        if payload[position : position + 1] != b"]":
            raise DecodeError(f"malformed syslog: structured data element not closed at byte {position}")
        position += 1
        elements.append(Field(text_of(sd_id[0]), "", (element_start, position), tuple(params)))
    if not elements:
        raise DecodeError(f"malformed syslog: expected structured data or - at byte {start}")
    return position, Field("structured data", f"{len(elements)} elements", (start, position), tuple(elements))
