"""argparse actions for flags that may be given once: a second time is a usage error (one
line, exit status 2), not a silent override of the first."""

from __future__ import annotations

import argparse
from typing import Any


def refuse_twice(parser: argparse.ArgumentParser, action: argparse.Action, advice: str) -> None:
    """Remember that `action`'s flag was given; the parser's error if it already was. Only a
    parser that keeps a `given` set (`cli.OneLineParser`) counts."""
    given = getattr(parser, "given", None)
    if isinstance(given, set):
        if action.dest in given:
            parser.error(f"{'/'.join(action.option_strings)} is given more than once: {advice}")
        given.add(action.dest)


class StoreOnce(argparse._StoreAction):
    """A flag that takes one value."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        refuse_twice(parser, self, "give it once")
        super().__call__(parser, namespace, values, option_string)


class SwitchOnce(argparse.BooleanOptionalAction):
    """`--loop` or `--no-loop`, once: both, or either twice, is a usage error."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        refuse_twice(parser, self, "give one, once")
        super().__call__(parser, namespace, values, option_string)
