"""DNS queries and responses, parsed whole by dnspython (imported on first use).

A message must parse whole with its counts consistent, so text is never taken for DNS.
dnspython refuses compression pointers that do not point backwards, so a pointer loop is
an error, not a hang. A response is paired with the query of the same id to or from the
same peer, when that query was decoded first, and shows the time between them.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from udptui.decoders.base import DecodeContext, Decoded, DecodeError, Field
from udptui.net.address import Address

HEADER_BYTES = 12
PAIRED_QUERIES = 1024
"""Queries remembered for timing their responses; the oldest go first."""
MAX_RECORDS_SHOWN = 64
"""Records of a section listed in the field tree; the rest are counted."""
PAIRING_WINDOW_SECONDS = 60.0


def _name(name: Any) -> str:
    text: str = name.to_text(omit_final_dot=True)
    return text or "."


class DnsDecoder:
    """DNS over UDP (ports 53 and 5353): questions, answers, authority, additional, EDNS."""

    name = "dns"
    ports = frozenset({53, 5353})

    def __init__(self) -> None:
        self._queries: OrderedDict[tuple[Address | None, int, bool], datetime] = OrderedDict()

    def prepare(self) -> None:
        import dns.message  # noqa: F401  (imported ahead of the first datagram)

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded | None:
        if len(payload) < HEADER_BYTES:
            return None
        import dns.exception
        import dns.message

        try:
            message = dns.message.from_wire(payload, ignore_trailing=False, one_rr_per_rrset=True)
        except (dns.exception.DNSException, ValueError, UnicodeError, IndexError) as error:
            raise DecodeError(f"malformed DNS: {str(error) or type(error).__name__}") from None
        return self._describe(message, payload, context)

    def _describe(self, message: Any, payload: bytes, context: DecodeContext) -> Decoded:
        import dns.flags
        import dns.opcode
        import dns.rcode
        import dns.rdatatype

        is_response = bool(message.flags & dns.flags.QR)
        ident = f"id {message.id:04x}"
        question = message.question[0] if message.question else None
        qname = _name(question.name) if question is not None else "(no question)"
        qtype = dns.rdatatype.to_text(question.rdtype) if question is not None else ""
        more_questions = f" (+{len(message.question) - 1} more)" if len(message.question) > 1 else ""
        opcode = dns.opcode.to_text(message.opcode())
        kind = "response" if is_response else "query"
        if opcode != "QUERY":
            kind = f"{opcode.lower()} {kind}"
        if is_response:
            rcode = dns.rcode.to_text(message.rcode())
            answers = [(rrset, rdata) for rrset in message.answer for rdata in rrset]
            if answers:
                rrset, rdata = answers[0]
                shown = f"{dns.rdatatype.to_text(rrset.rdtype)} {rdata.to_text()}"
                extra = f" (+{len(answers) - 1} more)" if len(answers) > 1 else ""
                what = f"{kind} {rcode} {qname}{more_questions} {shown}{extra}"
            else:
                what = f"{kind} {rcode} {qname}{more_questions} {qtype}: no answer".replace("  ", " ")
        else:
            what = f"{kind} {qtype} {qname}{more_questions}"
        parts = [what, ident]
        elapsed = self._pair(message.id, is_response, context)
        if elapsed is not None:
            parts.append(f"{elapsed * 1000:.1f} ms")
        return Decoded("DNS", tuple(parts), self._fields(message, payload, opcode, elapsed))

    def _pair(self, ident: int, is_response: bool, context: DecodeContext) -> float | None:
        """Remember a query; for a response, the seconds since its query (or None)."""
        if context.time is None:
            return None
        if not is_response:
            key = (context.peer, ident, context.received)
            self._queries[key] = context.time
            self._queries.move_to_end(key)
            while len(self._queries) > PAIRED_QUERIES:
                self._queries.popitem(last=False)
            return None
        asked = self._queries.get((context.peer, ident, not context.received))
        if asked is None:
            return None
        elapsed = (context.time - asked).total_seconds()
        return elapsed if 0 <= elapsed <= PAIRING_WINDOW_SECONDS else None

    def _fields(self, message: Any, payload: bytes, opcode: str, elapsed: float | None) -> tuple[Field, ...]:
        import dns.flags
        import dns.rcode
        import dns.rdataclass
        import dns.rdatatype

        header = Field(
            "header",
            f"id {message.id:04x}",
            (0, HEADER_BYTES),
            (
                Field("id", f"{message.id} (0x{message.id:04x})", (0, 2)),
                Field("flags", dns.flags.to_text(message.flags) or "(none)", (2, 4)),
                Field("opcode", opcode, (2, 3)),
                Field("rcode", dns.rcode.to_text(message.rcode()), (3, 4)),
                Field("questions", str(len(message.question)), (4, 6)),
                Field("answers", str(sum(len(r) for r in message.answer)), (6, 8)),
                Field("authority", str(sum(len(r) for r in message.authority)), (8, 10)),
                Field("additional", str(sum(len(r) for r in message.additional)), (10, 12)),
            ),
        )
        fields = [header]
        questions = tuple(
            Field(
                _name(q.name),
                f"{dns.rdataclass.to_text(q.rdclass)} {dns.rdatatype.to_text(q.rdtype)}",
            )
            for q in message.question[:MAX_RECORDS_SHOWN]
        )
        fields.append(Field("question", str(len(message.question)), None, questions))
        for title, section in (
            ("answer", message.answer),
            ("authority", message.authority),
            ("additional", message.additional),
        ):
            records = [(rrset, rdata) for rrset in section for rdata in rrset]
            if not records:
                continue
            shown = tuple(
                Field(
                    _name(rrset.name),
                    f"{rrset.ttl} {dns.rdataclass.to_text(rrset.rdclass)} "
                    f"{dns.rdatatype.to_text(rrset.rdtype)} {rdata.to_text()}",
                )
                for rrset, rdata in records[:MAX_RECORDS_SHOWN]
            )
            if len(records) > MAX_RECORDS_SHOWN:
                shown += (Field("…", f"{len(records) - MAX_RECORDS_SHOWN} more records"),)
            fields.append(Field(title, str(len(records)), None, shown))
        if message.edns >= 0:
            options = tuple(Field(f"option {option.otype}", option.to_text()) for option in message.options)
            edns = (
                Field("version", str(message.edns)),
                Field("udp payload", str(message.payload)),
                Field("flags", dns.flags.edns_to_text(message.ednsflags) or "(none)"),
                *options,
            )
            fields.append(Field("EDNS", f"version {message.edns}, {message.payload} B", None, edns))
        if elapsed is not None:
            fields.append(Field("time since query", f"{elapsed * 1000:.3f} ms"))
        fields.append(Field("size", f"{len(payload)} B"))
        return tuple(fields)
