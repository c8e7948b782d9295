"""Running decoders safely, choosing which to run, and remembering what they said.

`run_decoder` is the one place a decoder is called: whatever it does (raises, returns the
wrong thing, hands back ESC or a bidi override in a DNS label), what comes out is a
`Decoded` whose every string is made visible by `udptui.chat.datagram.make_visible` and cut to
a bounded size, or a one-line reason, or None. `Decoding` holds the `--decode` / `/decode`
choice (for everyone and per peer) and caches each entry's result, so an entry is decoded
once, when it is first drawn or inspected.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from udptui.chat.datagram import Direction, Entry, make_visible
from udptui.decoders.base import DecodeContext, Decoded, DecodeError, Decoder, Field
from udptui.decoders.registry import Registry
from udptui.net.address import Address

MAX_PARTS = 16
MAX_PART_CHARACTERS = 400
MAX_TAG_CHARACTERS = 12
MAX_NAME_CHARACTERS = 200
MAX_VALUE_CHARACTERS = 1000
MAX_FIELDS = 2000
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Failure:
    """A decoder that was expected to read the payload (by choice or port) and could not."""

    decoder: str
    reason: str
    """One line: `malformed DNS: …`."""


Outcome = Decoded | Failure | None


@dataclass(frozen=True, slots=True)
class Choice:
    """`auto` (names is None), `none` (names is empty) or a list of decoder names."""

    names: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, text: str) -> Choice:
        """`auto`, `none` or `dns,syslog`; ValueError with a one-line message if malformed."""
        words = [word.strip().lower() for word in text.split(",")]
        if words == ["auto"]:
            return AUTO
        if words == ["none"]:
            return NONE
        if not all(words) or {"auto", "none"} & set(words):
            raise ValueError(f"expected auto, none or decoder names like dns,syslog, not {text!r}")
        return cls(tuple(dict.fromkeys(words)))

    def __str__(self) -> str:
        if self.names is None:
            return "auto"
        return ",".join(self.names) if self.names else "none"


AUTO = Choice()
NONE = Choice(())


def visible(text: Any, limit: int) -> str:
    """Any value as text, cut to `limit` characters and made visible."""
    text = str(text)
    if len(text) > limit:
        text = text[:limit] + "…"
    return "".join(piece.text for piece in make_visible(text))


def _safe_fields(fields: Any, size: int, budget: list[int], depth: int) -> tuple[Field, ...]:
    safe: list[Field] = []
    for field in fields:
        if budget[0] <= 0 or depth > MAX_DEPTH:
            safe.append(Field("…", "more fields left out"))
            break
        budget[0] -= 1
        if not isinstance(field, Field):
            raise TypeError(f"a field must be a Field, not {type(field).__name__}")
        span = field.span
        if span is not None and not (
            isinstance(span, tuple) and len(span) == 2 and all(isinstance(n, int) for n in span)
        ):
            span = None
        if span is not None and not 0 <= span[0] <= span[1] <= size:
            span = None
        children = _safe_fields(field.children, size, budget, depth + 1)
        safe.append(
            Field(
                visible(field.name, MAX_NAME_CHARACTERS),
                visible(field.value, MAX_VALUE_CHARACTERS),
                span,
                children,
            )
        )
    return tuple(safe)


def made_safe(decoded: Decoded, decoder: str, size: int) -> Decoded:
    """Every string visible and bounded, spans inside the payload, the tree cut to size."""
    if not isinstance(decoded, Decoded):
        raise TypeError(f"decode() must return Decoded or None, not {type(decoded).__name__}")
    parts = tuple(visible(part, MAX_PART_CHARACTERS) for part in list(decoded.parts)[:MAX_PARTS])
    fields = _safe_fields(decoded.fields, size, [MAX_FIELDS], 0)
    return Decoded(
        visible(decoded.tag, MAX_TAG_CHARACTERS), parts, fields, visible(decoder, MAX_TAG_CHARACTERS)
    )


def run_decoder(decoder: Decoder, payload: bytes, context: DecodeContext) -> Decoded | Failure | None:
    """Call one decoder; nothing it does escapes as an exception."""
    try:
        decoded = decoder.decode(payload, context)
        return None if decoded is None else made_safe(decoded, decoder.name, len(payload))
    except DecodeError as error:
        return Failure(decoder.name, visible(str(error) or f"malformed {decoder.name}", MAX_PART_CHARACTERS))
    except Exception as error:  # a decoder's bug must not reach the app
        reason = f"decoder {decoder.name} failed: {type(error).__name__}: {error}"
        return Failure(decoder.name, visible(reason, MAX_PART_CHARACTERS))


def decode_payload(registry: Registry, choice: Choice, payload: bytes, context: DecodeContext) -> Outcome:
    """What the chosen decoders make of a payload: the first that reads it, else the failure of
    one that was expected to (named by the user, or on its well-known port), else None."""
    if choice.names == ():
        return None
    decoders = registry.decoders
    if choice.names is None:
        ports = set(context.ports)
        expected = [d for d in decoders.values() if ports & set(getattr(d, "ports", ()) or ())]
        order = expected + [d for d in decoders.values() if d not in expected]
    else:
        expected = order = [decoders[name] for name in choice.names if name in decoders]
    failure: Failure | None = None
    for decoder in order:
        outcome = run_decoder(decoder, payload, context)
        if isinstance(outcome, Decoded):
            return outcome
        if outcome is not None and failure is None and decoder in expected:
            failure = outcome
    return failure


class Decoding:
    """The decode choice for everyone and per peer, and each entry's result, kept once made."""

    def __init__(self, registry: Registry, choice: Choice = AUTO, *, local_port: int | None = None) -> None:
        self.registry = registry
        self.choice = choice
        self.local_port = local_port
        self.per_peer: dict[Address, Choice] = {}
        self._generation = 0
        self._cache: weakref.WeakKeyDictionary[Entry, tuple[int, Outcome]] = weakref.WeakKeyDictionary()

    def choose(self, choice: Choice, peer: Address | None = None) -> str:
        """Change what is decoded (for one peer, or everyone); returns a line saying so."""
        if choice.names:
            self.registry.check_names(choice.names)  # DecoderLoadError for an unknown name
        if peer is None:
            self.choice = choice
            self.per_peer.clear()
        elif choice == self.choice:
            self.per_peer.pop(peer, None)
        else:
            self.per_peer[peer] = choice
        self._generation += 1  # results made under the old choice are stale
        return f"decode {choice} for {peer if peer is not None else 'every peer'}"

    def choice_for(self, peer: Address | None) -> Choice:
        return self.per_peer.get(peer, self.choice) if peer is not None else self.choice

    def outcome(self, entry: Entry) -> Outcome:
        """The entry's decoded form, a reason it could not be, or None; made once per choice."""
        if entry.direction is Direction.NOTE or not entry.payload:
            return None
        cached = self._cache.get(entry)
        if cached is not None and cached[0] == self._generation:
            return cached[1]
        context = DecodeContext(
            entry.peer, self.local_port, entry.direction is Direction.RECEIVED, entry.time
        )
        outcome = decode_payload(self.registry, self.choice_for(entry.peer), entry.payload, context)
        self._cache[entry] = (self._generation, outcome)
        return outcome

    def summary(self, entry: Entry) -> Decoded | None:
        """What the log line shows in place of the raw text, if a decoder read the entry."""
        outcome = self.outcome(entry)
        return outcome if isinstance(outcome, Decoded) else None

    def take_problems(self) -> list[str]:
        return self.registry.take_problems()
