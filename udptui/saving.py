"""`/save FILE`: this session's transcript as JSON lines, with one line saying what was written."""

from __future__ import annotations

from pathlib import Path

from udptui.session import ChatSession
from udptui.transcript import format_records


class SaveError(Exception):
    """The transcript was not saved; the message is one line for the user."""


def save_session(session: ChatSession, path: str) -> str:
    """Write the session's transcript to `path`; returns what was saved, for the user.

    The whole session when `--log` can be read back, else what the scrollback holds.
    """
    log = session.transcript
    if log is not None and log.is_same_file(path):
        raise SaveError(f"{path} is the --log file: it already holds everything")
    try:
        text = log.session_text() if log is not None else None
        if text is not None:
            detail = "the whole session, from the --log file"
        else:
            text = format_records(session.store)
            detail = f"{len(session.store)} entries"
            if session.store.let_go:
                detail += f"; {session.store.let_go} older ones had left the scrollback"
        Path(path).expanduser().write_text(text, encoding="utf-8")
    except (OSError, RuntimeError) as error:  # RuntimeError: `~nosuchuser` cannot expand
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise SaveError(f"cannot save to {path}: {reason}") from None
    return f"saved {detail} to {path}"
