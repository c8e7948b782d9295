"""`/save FILE`: this session's transcript as JSON lines, with one line saying what was written."""

from __future__ import annotations

from udptui.files import FileExists, write_new_file
from udptui.session import ChatSession
from udptui.transcript import format_records


class SaveError(Exception):
    """The transcript was not saved; the message is one line for the user."""


def save_session(session: ChatSession, path: str, *, overwrite: bool = False) -> str:
    """Write the session's transcript to `path`; returns what was saved, for the user.

    The whole session when `--log` can be read back, else what the scrollback holds. An
    existing file is refused unless `overwrite` (`/save!`); the `--log` file always is.
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
        write_new_file(path, text, overwrite=overwrite)
    except FileExists as error:
        raise SaveError(str(error)) from None
    except (OSError, RuntimeError) as error:  # RuntimeError: `~nosuchuser` cannot expand
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise SaveError(f"cannot save to {path}: {reason}") from None
    return f"saved {detail} to {path}"
