"""Files the user names are never overwritten without asking."""

from __future__ import annotations

from pathlib import Path

import pytest

from udptui.record.files import FileExists, write_new_file


def test_a_new_file_is_written(tmp_path: Path) -> None:
    written = write_new_file(str(tmp_path / "out.txt"), "hello")
    assert written.read_text() == "hello"


def test_an_existing_file_is_refused_and_kept(tmp_path: Path) -> None:
    precious = tmp_path / "x"
    precious.write_text("PRECIOUS\n")
    with pytest.raises(FileExists, match="already exists"):
        write_new_file(str(precious), b"new")
    assert precious.read_text() == "PRECIOUS\n"


def test_overwrite_replaces_on_purpose(tmp_path: Path) -> None:
    precious = tmp_path / "x"
    precious.write_text("PRECIOUS, and longer than what replaces it\n")
    write_new_file(str(precious), b"new", overwrite=True)
    assert precious.read_bytes() == b"new"


def test_a_directory_is_not_called_existing(tmp_path: Path) -> None:
    """`!` cannot overwrite a directory, so the refusal must not suggest it."""
    with pytest.raises(IsADirectoryError, match="directory"):
        write_new_file(str(tmp_path), b"x")
    with pytest.raises(IsADirectoryError):
        write_new_file(str(tmp_path), b"x", overwrite=True)
