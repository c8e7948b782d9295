"""Which decoders exist: the built-in ones, third-party ones by entry point, and files.

Built-in decoders cost nothing to list (their libraries load on first decode). Entry
points (group `udptui.decoders`) are read on first use; a plugin that fails to load is
left out and said once, as a problem the app shows. A `--decoder-path` file is the user's
own, named on the command line: if it fails, start-up stops with one line saying why.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from udptui.decoders.base import Decoder

ENTRY_POINT_GROUP = "udptui.decoders"
BUILTIN_NAMES = ("dns", "syslog", "osc", "statsd", "json")
"""Built-in decoders in the order `auto` tries them (the strictest first)."""
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")


class DecoderLoadError(Exception):
    """A `--decoder-path` file or a `--decode` name that cannot be used; one line."""


def builtin_decoders() -> list[Decoder]:
    from udptui.decoders.dns import DnsDecoder
    from udptui.decoders.json import JsonDecoder
    from udptui.decoders.osc import OscDecoder
    from udptui.decoders.statsd import StatsdDecoder
    from udptui.decoders.syslog import SyslogDecoder

    return [DnsDecoder(), SyslogDecoder(), OscDecoder(), StatsdDecoder(), JsonDecoder()]


def as_decoder(thing: Any, origin: str) -> Decoder:
    """A decoder from what a plugin gave: an object, or a class to build with no arguments."""
    if isinstance(thing, type):
        thing = thing()
    name = getattr(thing, "name", None)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise DecoderLoadError(
            f"{origin}: a decoder needs a `name` like `game` (lowercase, up to 32), got {name!r}"
        )
    if not callable(getattr(thing, "decode", None)):
        raise DecoderLoadError(f"{origin}: decoder {name!r} has no decode(payload, context) method")
    decoder: Decoder = thing
    return decoder


def load_file(path: str) -> list[Decoder]:
    """The decoders a Python file defines as `DECODERS` (a list) or `DECODER`."""
    import importlib.util  # here, not at the top: `udptui --version` imports this module
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise DecoderLoadError(f"--decoder-path {path}: no such file")
    module_name = "udptui_decoder_" + re.sub(r"\W", "_", file.stem)
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise DecoderLoadError(f"--decoder-path {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise DecoderLoadError(f"--decoder-path {path}: {type(error).__name__}: {error}") from None
    found: Iterable[Any] | None = getattr(module, "DECODERS", None)
    if found is None and hasattr(module, "DECODER"):
        found = [module.DECODER]
    if not found:
        raise DecoderLoadError(f"--decoder-path {path}: defines neither DECODER nor DECODERS")
    return [as_decoder(thing, f"--decoder-path {path}") for thing in found]


class Registry:
    """Every decoder by name: files first (loaded now), entry points on first use, then built-ins."""

    def __init__(self, paths: Sequence[str] = (), *, entry_points: bool = True) -> None:
        self._files: list[Decoder] = [decoder for path in paths for decoder in load_file(path)]
        self._use_entry_points = entry_points
        self._decoders: dict[str, Decoder] | None = None
        self._problems: list[str] = []
        self._loading = threading.Lock()
        """Loading is guarded, so a decoder's `prepare()` may also load on a thread of its own."""

    @classmethod
    def checked(cls, paths: Sequence[str], choice: Any) -> Registry:
        """A registry with the user's decoder files loaded and `--decode`'s names known to it
        (`choice.names`); DecoderLoadError, one line, when either fails."""
        registry = cls(paths)
        registry.check_names(choice.names or ())
        return registry

    def add(self, decoder: Decoder) -> None:
        """Add one more decoder (before or after loading), as a file's would be."""
        self._files.append(decoder)
        self._decoders = None

    @property
    def decoders(self) -> dict[str, Decoder]:
        """Name to decoder, in the order `auto` tries them; loaded on first use."""
        with self._loading:
            if self._decoders is None:
                self._decoders = self._load()
            return self._decoders

    def warm_up(self) -> None:
        """Load plugins and the decoders' libraries now (a moment after start-up), so the
        first datagram drawn does not wait ~50 ms for dnspython's import."""
        for decoder in self.decoders.values():
            prepare = getattr(decoder, "prepare", None)
            if callable(prepare):
                try:
                    prepare()
                except Exception as error:
                    self._problems.append(f"decoder {decoder.name!r} failed to prepare: {error}")

    def _load(self) -> dict[str, Decoder]:
        found: dict[str, Decoder] = {}
        plugins: list[tuple[Decoder, str]] = [(decoder, "--decoder-path") for decoder in self._files]
        if self._use_entry_points:
            plugins += self._entry_point_decoders()
        for decoder, origin in [*plugins, *((d, "built-in") for d in builtin_decoders())]:
            if decoder.name in found:
                if origin != "built-in":
                    self._problems.append(f"decoder {decoder.name!r} ({origin}) left out: the name is taken")
                continue
            found[decoder.name] = decoder
        return found

    def _entry_point_decoders(self) -> list[tuple[Decoder, str]]:
        from importlib.metadata import entry_points

        loaded: list[tuple[Decoder, str]] = []
        try:
            points = list(entry_points(group=ENTRY_POINT_GROUP))
        except Exception as error:  # a broken installed distribution must not stop the app
            self._problems.append(f"decoder plugins not read: {type(error).__name__}: {error}")
            return loaded
        for point in points:
            origin = f"plugin {point.name} ({point.value})"
            try:
                loaded.append((as_decoder(point.load(), origin), origin))
            except Exception as error:
                self._problems.append(f"decoder {origin} failed to load: {type(error).__name__}: {error}")
        return loaded

    def take_problems(self) -> list[str]:
        """What went wrong loading plugins since last asked, one line each."""
        problems, self._problems = self._problems, []
        return problems

    def check_names(self, names: Iterable[str]) -> None:
        """Raise DecoderLoadError naming an unknown decoder (loading plugins if needed)."""
        known = {decoder.name for decoder in self._files} | set(BUILTIN_NAMES)
        unknown = [name for name in names if name not in known]
        if unknown and any(name not in self.decoders for name in unknown):
            missing = next(name for name in unknown if name not in self.decoders)
            raise DecoderLoadError(f"unknown decoder {missing!r}: known are {', '.join(self.decoders)}")
