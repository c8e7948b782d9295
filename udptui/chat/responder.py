"""Auto-replies: `--respond PATTERN REPLY` rules that answer matching datagrams, with a limit.

A rule's PATTERN is a regular expression searched for in the datagram's text (UTF-8, bad
bytes as U+FFFD) or, for a hex rule (`--respond-hex`), in its bytes written as lower-case
hex pairs with spaces (`de ad be ef`, matched ignoring case). REPLY may use `\\1`…`\\9` (and
`\\n`, `\\r`, `\\t`); a REPLY that starts with `/hex ` is bytes in hex after the captures
are put in. The first rule that matches answers. Only the first MATCH_CHARS characters of
the text (or of the hex) are searched: a pattern like `GET (.*) HTTP` takes time growing with
the square of what it searches, and it runs on the UI thread.

No rule answers a peer more than `LIMIT` times a second: two programs whose rules match
each other's replies settle at the limit instead of flooding each other, and a spoofed
source cannot turn udptui into an amplifier. The surplus is counted, not answered. Nor are
more than `SEARCH_LIMIT` datagrams a second from one peer searched at all: a flood of
datagrams that match nothing cannot keep the screen busy; those are counted as skipped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from udptui.net.address import Address

LIMIT = 20
"""Replies a second, per peer, per rule."""
MAX_TRACKED = 10_000
"""(rule, peer) windows kept; past this the idle ones are forgotten (a spoofed flood of sources)."""
HEX_REPLY = "/hex"
MATCH_CHARS = 4096
"""Characters of a datagram's text (or hex) a pattern is searched in: the first 4 KiB."""
SEARCH_LIMIT = 200
"""Datagrams a second, per peer, searched by the rules; the rest are skipped and counted."""


class RuleError(ValueError):
    """A rule that cannot be used (a bad pattern or reply); one line for the user."""


def _hex_bytes(text: str) -> bytes:
    cleaned = " ".join(word.removeprefix("0x").removeprefix("0X") for word in text.split())
    return bytes.fromhex(cleaned)


@dataclass(eq=False)
class Rule:
    """One auto-reply rule and what it has done."""

    pattern: str
    reply: str
    hex_match: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False)
    answered: int = 0
    limited: int = 0
    """Matching datagrams not answered because of the limit."""
    failed: int = 0
    """Replies that could not be made (a `/hex` reply whose captures are not hex) or sent."""

    def __post_init__(self) -> None:
        flags = re.IGNORECASE if self.hex_match else 0
        try:
            self.regex = re.compile(self.pattern, flags)
        except re.error as error:
            raise RuleError(f"bad pattern {self.pattern!r}: {error}") from None
        try:
            self.regex.sub(self._template, "")  # checks the escapes and group numbers now
        except re.error as error:
            raise RuleError(f"bad reply {self.reply!r}: {error}") from None
        except (IndexError, KeyError):
            raise RuleError(f"bad reply {self.reply!r}: no such group in the pattern") from None
        if self.reply_is_hex and "\\" not in self._template:
            try:
                _hex_bytes(self._template)
            except ValueError:
                raise RuleError(f"bad reply {self.reply!r}: expected hex byte pairs after /hex") from None

    @property
    def reply_is_hex(self) -> bool:
        return self.reply == HEX_REPLY or self.reply.startswith(HEX_REPLY + " ")

    @property
    def _template(self) -> str:
        return self.reply[len(HEX_REPLY) :] if self.reply_is_hex else self.reply

    def subject(self, payload: bytes) -> str:
        """What the pattern is searched in: the first MATCH_CHARS characters of the text or hex."""
        if self.hex_match:  # three characters a byte ("de "): decode no more than is kept
            return payload[: MATCH_CHARS // 3 + 1].hex(" ")[:MATCH_CHARS]
        return payload[:MATCH_CHARS].decode("utf-8", errors="replace")[:MATCH_CHARS]

    def answer(self, payload: bytes) -> bytes | None:
        """The reply to `payload`, or None when the pattern does not match it.

        Raises ValueError when the captures make no hex for a `/hex` reply."""
        match = self.regex.search(self.subject(payload))
        if match is None:
            return None
        reply = match.expand(self._template)
        return _hex_bytes(reply) if self.reply_is_hex else reply.encode("utf-8")

    def describe(self) -> str:
        flag = "--respond-hex" if self.hex_match else "--respond"
        counts = f"answered {self.answered:,}"
        if self.limited:
            counts += f", {self.limited:,} over the limit"
        if self.failed:
            counts += f", {self.failed:,} failed"
        return f"{flag} {self.pattern!r} {self.reply!r}  ({counts})"


Reply = tuple[Address, bytes, Rule]


class Responder:
    """The rules, in order, and each (rule, peer)'s count in the current second."""

    def __init__(
        self, rules: Iterable[Rule] = (), *, limit: int = LIMIT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rules = list(rules)
        self.limit = limit
        self.clock = clock
        self._windows: dict[tuple[int, Address], list[float]] = {}
        """(id of rule, peer) -> [start of its one-second window, replies in it]; rule id 0
        counts the datagrams searched (SEARCH_LIMIT)."""
        self.search_limit = SEARCH_LIMIT
        self.skipped = 0
        """Datagrams not searched: their peer sent more than `search_limit` in a second."""

    @property
    def limited(self) -> int:
        return sum(rule.limited for rule in self.rules)

    @property
    def answered(self) -> int:
        return sum(rule.answered for rule in self.rules)

    def add(self, rule: Rule) -> None:
        self.rules.append(rule)

    def remove(self, number: int) -> Rule:
        """Remove rule `number` (1 is the first); IndexError when there is none."""
        if not 1 <= number <= len(self.rules):
            raise IndexError(number)
        return self.rules.pop(number - 1)

    def respond(self, datagrams: Iterable[tuple[Address, bytes]]) -> list[Reply]:
        """The replies to a batch, the limit applied: (peer, reply, rule) for each to send."""
        replies: list[Reply] = []
        now = self.clock()
        windows = self._windows
        for peer, payload in datagrams:
            if not self._take(windows, (0, peer), now, self.search_limit):
                self.skipped += 1
                continue
            for rule in self.rules:
                try:
                    reply = rule.answer(payload)
                except ValueError:
                    rule.failed += 1
                    break
                if reply is None:
                    continue
                if self._take(windows, (id(rule), peer), now, self.limit):
                    rule.answered += 1
                    replies.append((peer, reply, rule))
                else:
                    rule.limited += 1
                break  # the first rule that matches answers (or is over its limit)
        return replies

    def _take(
        self,
        windows: dict[tuple[int, Address], list[float]],
        key: tuple[int, Address],
        now: float,
        limit: int,
    ) -> bool:
        """Count one in `key`'s one-second window; False when it already holds `limit`."""
        window = windows.get(key)
        if window is None or now - window[0] >= 1.0:
            if window is None and len(windows) >= MAX_TRACKED:
                self._forget_idle(now)
            window = windows[key] = [now, 0.0]
        if window[1] >= limit:
            return False
        window[1] += 1
        return True

    def _forget_idle(self, now: float) -> None:
        for key in [key for key, window in self._windows.items() if now - window[0] >= 1.0]:
            del self._windows[key]
        if len(self._windows) >= MAX_TRACKED:  # all busy: a flood of sources; start afresh
            self._windows.clear()
