"""Writing files the user names: never over an existing file unless they said so."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import IO, Any, BinaryIO

OVERWRITE_SUFFIX = "!"
"""`/save! FILE`: a command name ending in `!` overwrites on purpose."""


class FileExists(Exception):
    """The file is there and the user did not ask to overwrite it; one line for the user."""


def open_new_file(path: str, *, overwrite: bool = False) -> tuple[Path, BinaryIO]:
    """Open `path` (with `~` expanded) for writing bytes; returns the path and the file.

    Without `overwrite`, an existing file is refused with `FileExists`, checked and
    created in one step (`O_EXCL`), so nothing can slip in between. Raises OSError or
    RuntimeError (a `~user` that does not expand) for the rest.
    """
    target = Path(path).expanduser()
    if target.is_dir():  # O_EXCL would call it existing, and `!` cannot help
        raise IsADirectoryError(errno.EISDIR, "it is a directory: name a file in it", path)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        descriptor = os.open(target, flags, 0o666)
    except FileExistsError:
        raise FileExists(f"{path} already exists: use !, as in /save! FILE, to overwrite it") from None
    return target, os.fdopen(descriptor, "wb")


def write_new_file(path: str, data: bytes | str, *, overwrite: bool = False) -> Path:
    """Write `data` to `path` (with `~` expanded) as `open_new_file` opens it; returns the path."""
    content = data.encode("utf-8") if isinstance(data, str) else data
    target, file = open_new_file(path, overwrite=overwrite)
    with file:
        file.write(content)
    return target


def is_open_file(file: IO[Any], path: str | Path) -> bool:
    """Whether `path` (with `~` expanded) names the open `file`: the same device
    and inode, so a relative name, `~`, a symlink or a hard link is caught, and a file renamed
    or removed since it was opened is not mistaken for a new one of its old name."""
    try:
        target = os.stat(Path(path).expanduser())
        held = os.fstat(file.fileno())
    except (OSError, RuntimeError, ValueError):  # missing, `~nosuchuser`, a NUL, a closed file
        return False
    return (target.st_dev, target.st_ino) == (held.st_dev, held.st_ino)
