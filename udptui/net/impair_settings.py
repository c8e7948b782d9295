"""What impairments are asked for: `--loss 10%`, `--delay 80ms`, `--rate 100kbit`, `--seed 7`,
and the same as `/impair loss 25%` at run time.

`ImpairSettings` is a frozen value; the parsers turn flag text into it and raise
`ImpairError` with one line for the user on a bad value (the command line exits 2 with it,
the screen shows it as a notice).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, replace

MAX_DELAY = 60.0
"""Seconds of `--delay` or `--jitter` at most."""
MIN_RATE = 8
"""Bits a second `--rate` takes at least (one byte a second)."""

_NUMBER = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
"""ASCII digits only: `float` would take other scripts' digits, and `int` too."""
_PERCENT = re.compile(_NUMBER + r"[ \t]*(%?)")
_DURATION = re.compile(r"(-?)" + _NUMBER + r"[ \t]*(us|µs|ms|s)?")
_RATE = re.compile(_NUMBER + r"[ \t]*(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)?")
_SEED = re.compile(r"[0-9]+")
MAX_SEED_DIGITS = 100
"""A seed is a whole number of at most this many digits (`int` refuses past 4,300)."""
_DURATION_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
_RATE_UNITS = {
    "bit": 1,
    "kbit": 1_000,
    "mbit": 1_000_000,
    "gbit": 1_000_000_000,
    "bps": 8,
    "kbps": 8_000,
    "mbps": 8_000_000,
    "gbps": 8_000_000_000,
}
"""As `tc` reads them: `kbit` is 1,000 bits a second, `kbps` 1,000 bytes a second."""

OFF_WORDS = frozenset({"off", "0", "none"})
"""What `/impair NAME off` accepts to turn one impairment off."""


class ImpairError(ValueError):
    """A value an impairment cannot take; one line for the user."""


def parse_percent(name: str, text: str) -> float:
    """`10%`, `0.5%` or `10` (percent either way) -> a probability from 0 to 1."""
    match = _PERCENT.fullmatch(text.strip())
    if match is None:
        raise ImpairError(f"bad --{name} {text!r}: a percentage like 10% or 0.5%")
    value = _finite(name, text, match.group(1))
    if value > 100:
        raise ImpairError(f"bad --{name} {text!r}: at most 100%")
    return value / 100


def parse_duration(name: str, text: str) -> float:
    """`80ms`, `0.2s`, `500us` -> seconds; `0` alone needs no unit."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or (match.group(3) is None and _finite(name, text, match.group(2)) != 0):
        raise ImpairError(f"bad --{name} {text!r}: a time like 80ms, 0.2s or 500us")
    if match.group(1):
        raise ImpairError(f"bad --{name} {text!r}: a time cannot be negative")
    seconds = _finite(name, text, match.group(2)) * _DURATION_UNITS[match.group(3) or "s"]
    if not seconds <= MAX_DELAY:
        raise ImpairError(f"bad --{name} {text!r}: {MAX_DELAY:.0f}s at most")
    return seconds


def parse_rate(name: str, text: str) -> int:
    """`100kbit`, `2mbit`, `50kbps` (bytes) -> bits a second; a bare number is bits."""
    match = _RATE.fullmatch(text.strip().lower())
    if match is None:
        raise ImpairError(f"bad --{name} {text!r}: a rate like 100kbit, 2mbit or 50kbps")
    value = _finite(name, text, match.group(1)) * _RATE_UNITS[match.group(2) or "bit"]
    if not math.isfinite(value):
        raise ImpairError(f"bad --{name} {text!r}: too large a rate")
    bits = int(value)
    if bits < MIN_RATE:
        raise ImpairError(f"bad --{name} {text!r}: at least {MIN_RATE}bit (one byte a second)")
    return bits


def parse_seed(text: str) -> int:
    """A whole number from 0 (`random.Random` draws the same for -5 as for 5: a negative seed
    would only be a second name for a positive one)."""
    digits = text.strip()
    if digits.startswith("-") and _SEED.fullmatch(digits[1:]):
        raise ImpairError(f"bad --seed {text!r}: a whole number from 0 (not negative)")
    if _SEED.fullmatch(digits) is None or len(digits) > MAX_SEED_DIGITS:
        raise ImpairError(f"bad --seed {text!r}: a whole number from 0, of {MAX_SEED_DIGITS} digits at most")
    return int(digits)


def _finite(name: str, text: str, number: str) -> float:
    """The number of a flag's text, which must be finite (`1e999` is no number here)."""
    value = float(number)
    if not math.isfinite(value):
        raise ImpairError(f"bad --{name} {text!r}: too large a number")
    return value


def percent_text(probability: float) -> str:
    """0.1 -> `10%`, 0.005 -> `0.5%`."""
    return f"{probability * 100:.4g}%"


def duration_text(seconds: float) -> str:
    """0.08 -> `80ms`, 1.5 -> `1.5s`, 0.0005 -> `500us`."""
    if seconds >= 1:
        return f"{seconds:.4g}s"
    if seconds >= 0.001 or seconds == 0:
        return f"{seconds * 1000:.4g}ms"
    return f"{seconds * 1_000_000:.4g}us"


def rate_text(bits: int) -> str:
    """100_000 -> `100kbit`, 2_500_000 -> `2.5mbit`."""
    for unit, size in (("gbit", 1_000_000_000), ("mbit", 1_000_000), ("kbit", 1_000)):
        if bits >= size:
            return f"{bits / size:.4g}{unit}"
    return f"{bits}bit"


@dataclass(frozen=True)
class ImpairSettings:
    """The impairments of one direction (or of both: each direction builds its own `Impairer`)."""

    loss: float = 0.0
    """Probability (0 to 1) that a datagram is dropped (`--loss`)."""
    delay: float = 0.0
    """Seconds every datagram is held before it goes (`--delay`)."""
    jitter: float = 0.0
    """Seconds the delay varies by, uniformly either way (`--jitter`); at most the delay
    (`checked`), so the delay is never cut at 0 and its spread stays even."""
    duplicate: float = 0.0
    """Probability that a datagram goes twice (`--duplicate`)."""
    reorder: float = 0.0
    """Probability that a datagram is held back behind the next one (`--reorder`)."""
    corrupt: float = 0.0
    """Probability that one random bit of a datagram is flipped (`--corrupt`)."""
    rate: int = 0
    """Bits a second of payload the link carries (`--rate`); 0 for no cap."""
    seed: int | None = None
    """`--seed`: the same seed and the same sends give the same fates; None picks one at start."""

    NAMES = ("loss", "delay", "jitter", "duplicate", "reorder", "corrupt", "rate")
    """The impairments, in the order `describe` lists them and `/impair NAME VALUE` knows them."""

    @property
    def active(self) -> bool:
        """Whether anything is impaired at all (else nothing need pass through an `Impairer`)."""
        return any(getattr(self, name) for name in self.NAMES)

    @property
    def timed(self) -> bool:
        """Whether some datagrams wait for a later release (delay, jitter, rate, reorder)."""
        return bool(self.delay or self.jitter or self.rate or self.reorder)

    def changed(self, name: str, text: str) -> ImpairSettings:
        """These settings with one impairment set from text (`/impair loss 25%`); `off` is 0."""
        if name == "seed":
            return replace(self, seed=parse_seed(text))
        if name not in self.NAMES:
            raise ImpairError(f"no impairment {name!r}: {', '.join(self.NAMES)} or seed")
        word = text.strip().lower()
        # `rate 0` would be a link that carries nothing, as `--rate 0` is refused for: only
        # `off` (or `none`) lifts the cap; for the others 0 is the same as off.
        off = word in OFF_WORDS and not (name == "rate" and word == "0")
        value = 0 if off else parse_value(name, text)
        return replace(self, **{name: value})  # type: ignore[arg-type]

    def checked(self) -> ImpairSettings:
        """These settings, if they go together; `ImpairError` for a jitter over the delay (with
        `--jitter 20ms` alone, half the datagrams would go undelayed and the rest late)."""
        if self.jitter > self.delay:
            raise ImpairError(
                f"--jitter {duration_text(self.jitter)} is more than --delay {duration_text(self.delay)}: "
                "the delay varies by the jitter either way, so it needs a delay at least as long"
            )
        return self

    def off(self) -> ImpairSettings:
        """Nothing impaired; the seed stays, so turning them on again goes on repeatably."""
        return ImpairSettings(seed=self.seed)

    def parts(self) -> list[str]:
        """`loss 10%`, `delay 80ms±20ms`, … for what is on, in `NAMES` order."""
        parts = []
        for name in ("loss", "duplicate", "reorder", "corrupt"):
            if value := getattr(self, name):
                parts.append(f"{name} {percent_text(value)}")
        if self.delay or self.jitter:
            jitter = f"±{duration_text(self.jitter)}" if self.jitter else ""
            parts.insert(1 if self.loss else 0, f"delay {duration_text(self.delay)}{jitter}")
        if self.rate:
            parts.append(f"rate {rate_text(self.rate)}")
        return parts

    def describe(self) -> str:
        """One line: what is on, or `off`."""
        return ", ".join(self.parts()) or "off"

    def rng(self, direction: str) -> random.Random:
        """The random source of one direction: `out` (and a relay's `up`) draws from
        `Random(seed)` itself, so a test can predict its fates with the same seed; any other
        direction from a source of its own, also fixed by the seed."""
        if direction in ("out", "up"):
            return random.Random(self.seed)
        return random.Random(f"{self.seed}/{direction}")


def parse_value(name: str, text: str) -> float | int:
    """The value of impairment `name` from flag text; `ImpairError` if it cannot be."""
    if name in ("delay", "jitter"):
        return parse_duration(name, text)
    if name == "rate":
        return parse_rate(name, text)
    return parse_percent(name, text)
