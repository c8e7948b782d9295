"""Saved messages: named datagrams in a TOML file, sent with `/send NAME` or the palette.

    # one table a message, text or hex
    [ping]
    text = "PING 1\\r\\n"

    ["dns query"]
    hex = "12 34 01 00 00 01 00 00 00 00 00 00"

The file is read with `tomllib`; a broken one is an error naming its line. `/keep NAME`
appends a table at the end (the rest of the file, comments included, stays as written);
`/keep! NAME` replaces the named `[NAME]` table where it stands (one written inline or with
dotted keys is refused: rewriting it would rewrite the file). Both read the file again first.
A message is sent as saved: the line ending (`--eol`) is not added, so what `/keep` saved is
what goes again.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "messages.toml"
MAX_NAME = 64


class SavedMessagesError(ValueError):
    """The messages file cannot be read or written, or a name is not usable; one line."""


def default_path() -> Path:
    """`messages.toml` in the user's config directory (`~/.config/udptui` on Linux)."""
    import platformdirs  # only when a session starts: `--version` stays instant

    return Path(platformdirs.user_config_dir("udptui")) / FILE_NAME


@dataclass(frozen=True)
class SavedMessage:
    name: str
    payload: bytes
    is_hex: bool
    """Kept as hex (bytes that are not plain text)."""

    @property
    def preview(self) -> str:
        """What the palette shows beside the name (never peer text: the user wrote it)."""
        if self.is_hex:
            return f"hex, {len(self.payload)} bytes: {self.payload[:16].hex(' ')}"
        return repr(self.payload.decode("utf-8"))[1:-1][:60]


def is_plain_text(payload: bytes) -> bool:
    """UTF-8 without control characters other than tab, CR and LF: saved as text, else hex."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(char.isprintable() or char in "\t\r\n" for char in text)


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise SavedMessagesError("a saved message needs a name")
    if len(name) > MAX_NAME or not name.isprintable():
        raise SavedMessagesError(f"bad name {name[:MAX_NAME]!r}: printable, {MAX_NAME} characters at most")
    return name


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F or not char.isprintable():
            out.append(f"\\u{ord(char):04X}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def table_text(message: SavedMessage) -> str:
    """The TOML for one message: `["NAME"]` then `text = "…"` or `hex = "…"`."""
    if message.is_hex:
        value = f"hex = {toml_string(message.payload.hex(' '))}"
    else:
        value = f"text = {toml_string(message.payload.decode('utf-8'))}"
    return f"[{toml_string(message.name)}]\n{value}\n"


def _line_of(source: str, name: str, key: str | None = None) -> int:
    """The line (from 1) where `name`'s table starts, or its `key` line in that table; 1 if
    not found. For errors only: the TOML reader gives no positions for values."""
    quoted = re.escape(name)
    header = re.compile(rf"^[ \t]*\[?[ \t]*(?:{quoted}|\"{quoted}\"|'{quoted}')[ \t]*[\]=.]", re.M)
    match = header.search(source)
    if match is None:
        return 1
    at = match.start()
    if key is not None:
        value = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=", re.M).search(source, match.end())
        if value is not None:
            at = value.start()
    return source.count("\n", 0, at) + 1


def _header_of(line: str) -> str | None:
    """The table name a `[name]` or `["name"]` line opens (TOML decides), or None."""
    if not line.lstrip().startswith("[") or line.lstrip().startswith("[["):
        return None
    try:
        keys = list(tomllib.loads(line))
    except tomllib.TOMLDecodeError:
        return None
    return keys[0] if len(keys) == 1 else None


def parse_messages(source: str, path: str) -> dict[str, SavedMessage]:
    """The messages in a file's text; `SavedMessagesError` naming the line of what is wrong."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"\(at line (\d+), column \d+\)", str(error))
        line = found.group(1) if found else "?"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise SavedMessagesError(f"messages file {path}, line {line}: {reason}") from None
    messages: dict[str, SavedMessage] = {}
    for name, value in data.items():
        where = f"messages file {path}, line {_line_of(source, name)}"
        if not isinstance(value, dict) or len(value) != 1 or not ({"text", "hex"} & value.keys()):
            raise SavedMessagesError(f'{where}: [{name}] needs one of text = "…" or hex = "…"')
        ((kind, content),) = value.items()
        where = f"messages file {path}, line {_line_of(source, name, kind)}"
        if not isinstance(content, str):
            raise SavedMessagesError(f"{where}: {name}.{kind} must be a string")
        try:
            checked = check_name(name)
            payload = bytes.fromhex(content) if kind == "hex" else content.encode("utf-8")
        except SavedMessagesError as error:
            raise SavedMessagesError(f"{where}: {error}") from None
        except ValueError:
            raise SavedMessagesError(f"{where}: {name}.hex: expected byte pairs like DE AD BE EF") from None
        messages[checked] = SavedMessage(checked, payload, kind == "hex")
    return messages


class SavedMessages:
    """The messages of one file, read at start, written back by `/keep`."""

    def __init__(self, path: Path | None = None, messages: dict[str, SavedMessage] | None = None) -> None:
        self.path = path
        """None: no file (tests, or a runner without one); `/keep` then says so."""
        self.messages = messages or {}

    @classmethod
    def load(cls, path: str | Path) -> SavedMessages:
        """Read `path` (a missing file is no messages yet); `SavedMessagesError` if it is broken."""
        target = Path(path).expanduser()
        try:
            source = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(target)
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8"
            raise SavedMessagesError(f"cannot read messages file {path}: {reason or error}") from None
        return cls(target, parse_messages(source, str(path)))

    def get(self, name: str) -> SavedMessage | None:
        return self.messages.get(name.strip())

    def keep(self, name: str, payload: bytes, *, overwrite: bool = False) -> SavedMessage:
        """Save `payload` under `name` and write the file; an existing name needs `overwrite`.

        The file is read again first: what was added or edited in it since the start (by
        hand, or by another udptui) stays, and becomes sendable here too."""
        name = check_name(name)
        message = SavedMessage(name, payload, not is_plain_text(payload))
        if self.path is None:
            raise SavedMessagesError("no messages file: start udptui with --messages FILE")
        path = self.path
        try:
            source = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            source = ""
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8"
            raise SavedMessagesError(f"cannot read {path}: {reason or error}") from None
        current = parse_messages(source, str(path))
        if name in current and not overwrite:
            raise SavedMessagesError(f"{name!r} is saved already: /keep! {name} replaces it")
        if name in current:
            updated = _replaced(source, message, str(path))
        else:
            separator = (
                "" if not source or source.endswith("\n\n") else "\n" if source.endswith("\n") else "\n\n"
            )
            updated = source + separator + table_text(message)
        parse_messages(updated, str(path))  # never write a file this module cannot read back
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(path, updated)
        except OSError as error:
            raise SavedMessagesError(f"cannot write {path}: {error.strerror or error}") from None
        self.messages = {**current, name: message}
        return message


def _replaced(source: str, message: SavedMessage, path: str) -> str:
    """`source` with `message`'s `[NAME]` table swapped for the new one, the rest as it was.

    A message written another way (an inline table `ping = { text = "…" }`, dotted keys
    `ping.text = "…"`) is not rewritten: that would mean writing the whole file anew, and
    its comments would go. The user edits that entry by hand instead."""
    lines = source.splitlines(keepends=True)
    start = next((index for index, line in enumerate(lines) if _header_of(line) == message.name), None)
    if start is None:
        raise SavedMessagesError(
            f"{message.name!r} in {path} is not a [{message.name}] table (an inline table or"
            f" dotted keys): /keep! replaces only those; edit that entry by hand"
        )
    end = start + 1
    while end < len(lines) and not lines[end].lstrip().startswith("["):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep the blank lines before the next table
    return "".join(lines[:start]) + table_text(message) + "".join(lines[end:])


def replace_file(path: Path, text: str) -> None:
    """Write all of it or nothing: a temporary file beside it, then a rename."""
    descriptor, temporary = tempfile.mkstemp(prefix=".messages-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
