"""Where a command's text comes from: ``--text``, ``--text-file`` (``-`` is stdin), piped
stdin, or (``speak --stream``) standard input read as it arrives."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

from ..errors import InvalidRequestError


def read_text(text: str | None, text_file: Path | None) -> str:
    """The text from ``--text``, ``--text-file`` (``-`` is stdin) or piped stdin."""
    if text is not None and text_file is not None:
        raise InvalidRequestError("pass either --text or --text-file, not both", field="text")
    if text is not None:
        value = text
    elif text_file is not None:
        if str(text_file) == "-":
            value = sys.stdin.read()
        else:
            from ..client import read_utf8

            value = read_utf8(text_file, "text file", "text_file")
    elif not sys.stdin.isatty():
        value = sys.stdin.read()
    else:
        raise InvalidRequestError(
            "no text to speak",
            field="text",
            hint="pass --text 'Hello', --text-file FILE, or pipe the text on stdin",
        )
    if not value.strip():
        raise InvalidRequestError("the text is empty", field="text")
    return value


def live_text(text: str | None, text_file: Path | None, stream: bool) -> str | IO[bytes]:
    """The text of a live `speak`: read whole (:func:`read_text`), or with ``--stream``
    standard input itself, which the library reads as it arrives."""
    if not stream:
        return read_text(text, text_file)
    if text is not None or (text_file is not None and str(text_file) != "-"):
        raise InvalidRequestError(
            "--stream reads the text from standard input",
            field="stream",
            hint="pipe the text in (`llm ... | cosyvoice-clone speak --stream ...`), or leave "
            "--stream out to speak --text or --text-file",
        )
    return sys.stdin.buffer


__all__ = ["live_text", "read_text"]
