"""Helpers for the decoder tests: a context, and running the auto choice on bytes."""

from __future__ import annotations

from datetime import datetime, timedelta

from udptui.decoders import AUTO, Choice, DecodeContext, Decoded, Outcome, Registry, decode_payload
from udptui.net.address import Address

PEER = Address("127.0.0.1", 40000)
WHEN = datetime(2026, 1, 2, 12, 0, 1)
REGISTRY = Registry(entry_points=False)


def context(
    *, peer: Address = PEER, local_port: int = 9999, received: bool = True, later_ms: float = 0.0
) -> DecodeContext:
    return DecodeContext(peer, local_port, received, WHEN + timedelta(milliseconds=later_ms))


def outcome(payload: bytes, choice: Choice = AUTO, **kwargs: object) -> Outcome:
    return decode_payload(REGISTRY, choice, payload, context(**kwargs))  # type: ignore[arg-type]


def decoded(payload: bytes, choice: Choice = AUTO, **kwargs: object) -> Decoded:
    result = outcome(payload, choice, **kwargs)
    assert isinstance(result, Decoded), f"expected a decode of {payload!r}, got {result!r}"
    return result


def line(result: Decoded) -> str:
    return f"{result.tag} {result.summary}"


def field_values(result: Decoded) -> dict[str, str]:
    """Every field in the tree by name (later ones win), for asserting on a few."""
    found: dict[str, str] = {}
    pending = list(result.fields)
    while pending:
        field = pending.pop(0)
        found[field.name] = field.value
        pending += field.children
    return found
