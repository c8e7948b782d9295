"""What a decoder is and what it returns: a tag, a one-line summary in parts, a tree of fields.

A decoder is any object with a `name` and a `decode(payload, context)` method; it returns
`Decoded`, or None when the bytes are not its protocol, or raises `DecodeError` when they
are but are broken. It may also have `ports`, the well-known ports that make it tried first,
and `prepare()`, called once a moment after start-up to import what it needs.
Decoders return peer text as it is: `udptui.decoders.registry` makes every string visible
and bounded before anything draws it, so a third-party decoder cannot forget to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from udptui.net.address import Address


class DecodeError(ValueError):
    """The payload is this decoder's protocol but cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Field:
    """One node of the field tree: a name, its value, and where in the payload it came from."""

    name: str
    value: str = ""
    span: tuple[int, int] | None = None
    """Byte offsets [start, end) in the payload, where that is cheap to know."""
    children: tuple[Field, ...] = ()


@dataclass(frozen=True, slots=True)
class Decoded:
    """What a decoder made of a datagram."""

    tag: str
    """A short protocol tag drawn in its own style: `DNS`, `syslog`."""
    parts: tuple[str, ...]
    """The summary in parts, joined by two spaces: `query A example.com`, `id 74e1`."""
    fields: tuple[Field, ...] = ()
    decoder: str = ""
    """The name of the decoder that made it (filled in by the registry)."""

    @property
    def summary(self) -> str:
        return "  ".join(part for part in self.parts if part)


@dataclass(frozen=True, slots=True)
class DecodeContext:
    """Where a datagram went: decoders use the ports as a hint, DNS the peer and time to pair
    a response with its query."""

    peer: Address | None = None
    local_port: int | None = None
    received: bool = True
    time: datetime | None = None

    @property
    def ports(self) -> tuple[int, ...]:
        """The peer's port and ours: either may be the well-known one."""
        ports = [] if self.peer is None else [self.peer.port]
        if self.local_port is not None:
            ports.append(self.local_port)
        return tuple(ports)


@runtime_checkable
class Decoder(Protocol):
    """A protocol decoder (see the module docstring)."""

    name: str

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded | None: ...


def text_of(payload: bytes) -> str:
    """UTF-8 with invalid bytes as U+FFFD: peer text for a field, made visible later."""
    return payload.decode("utf-8", errors="replace")


def tree_rows(fields: tuple[Field, ...], guide: str = "") -> list[tuple[str, Field]]:
    """The tree as lines, each with its guide (`├─ `, `│  └─ `), for views drawn line by line."""
    rows: list[tuple[str, Field]] = []
    for index, field in enumerate(fields):
        last = index == len(fields) - 1
        rows.append((guide + ("└─ " if last else "├─ "), field))
        rows += tree_rows(field.children, guide + ("   " if last else "│  "))
    return rows
