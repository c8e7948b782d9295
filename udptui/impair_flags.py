"""The impairment flags: `--impair out|in|both`, `--loss`, `--delay`, `--jitter`,
`--duplicate`, `--reorder`, `--corrupt`, `--rate` and `--seed`. A bad value is one line and
exit status 2, like every start-up error."""

from __future__ import annotations

import argparse

from udptui.net.impair_settings import ImpairError, ImpairSettings, parse_seed, parse_value

DIRECTION_CHOICES = ("up", "down", "out", "in", "both")
RELAY_ONLY = ("up", "down")

FLAGS = (
    ("loss", "10%", "drop this share of datagrams, each shown marked"),
    ("delay", "80ms", "hold every datagram this long"),
    ("jitter", "20ms", "vary the delay by up to this much either way (at most --delay)"),
    ("duplicate", "1%", "send this share twice"),
    ("reorder", "5%", "hold this share back behind the next datagram"),
    ("corrupt", "0.5%", "flip one random bit in this share"),
    ("rate", "100kbit", "cap the bandwidth (kbit, mbit, kbps…); a full 64 KiB queue drops"),
)


def join_negative_values(argv: list[str]) -> list[str]:
    """`--delay -5ms` as `--delay=-5ms`: argparse would take `-5ms` for a flag and say only
    that `--delay` expected a value; joined, the value's own check says what is wrong."""
    names = {f"--{name}" for name, _, _ in FLAGS} | {"--seed"}
    joined: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else ""
        if word in names and following[:1] == "-" and following[1:2].isdigit():
            joined.append(f"{word}={following}")
            index += 2
            continue
        joined.append(word)
        index += 1
    return joined


def add_impair_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("impairments (see every datagram they hit)")
    group.add_argument(
        "--impair",
        choices=DIRECTION_CHOICES,
        metavar="out|in|both",
        help="impair what udptui sends (out, the default), what it receives (in), or both; "
        "relaying (--forward): up, down or both (the default)",
    )
    for name, example, text in FLAGS:
        group.add_argument(f"--{name}", metavar=example, help=text)
    group.add_argument(
        "--seed", metavar="N", help="seed the impairments: the same seed repeats a run exactly"
    )


def impair_from_args(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[ImpairSettings, str | None]:
    """The settings and direction the flags ask for; a bad value exits 2 with one line."""
    values: dict[str, float | int] = {}
    try:
        for name, _, _ in FLAGS:
            text = getattr(args, name)
            if text is not None:
                values[name] = parse_value(name, text)
        seed = parse_seed(args.seed) if args.seed is not None else None
        settings = ImpairSettings(seed=seed, **values).checked()  # type: ignore[arg-type]
    except ImpairError as error:
        parser.error(str(error))
    relaying = getattr(args, "forward", None) is not None
    if args.impair in RELAY_ONLY and not relaying:
        parser.error(f"--impair {args.impair} is for relay mode (--forward HOST:PORT): out, in or both here")
    if args.impair in ("out", "in") and relaying:
        parser.error(f"--impair {args.impair}: a relay impairs up (clients to server), down, or both")
    return settings, args.impair
