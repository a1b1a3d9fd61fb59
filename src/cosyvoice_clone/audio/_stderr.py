"""Keep C decoders' notes (libmpg123 writes straight to file descriptor 2) off the user's screen.

Python's ``sys.stderr`` redirection cannot catch a C library's ``fprintf(stderr, ...)``; only
moving file descriptor 2 can. That is process-wide, so it is held under a lock, only around one
decode, and whatever else was written to fd 2 meanwhile (a line that is not a decoder's note)
is written back afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Iterator

_LOCK = threading.Lock()
_DECODER_NOISE = re.compile(
    rb"^(\[src/libmpg123/[^\]]*\]|\[[^\]]*mpg123[^\]]*\]|Note: |Warning: |"
    rb"Big trouble|Can't rewind|Giving up )"
)


@contextlib.contextmanager
def quiet_decoder() -> Iterator[None]:
    """Run the body with fd 2 captured; decoder notes are dropped, anything else is kept."""
    with _LOCK:
        try:
            saved = os.dup(2)
            capture = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
        except OSError:  # no fd 2 to move (closed, or a sandbox): decode anyway
            yield
            return
        try:
            os.dup2(capture.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
            capture.seek(0)
            kept = [
                line for line in capture.read().splitlines(keepends=True)
                if not _DECODER_NOISE.match(line)
            ]  # fmt: skip
            if kept:
                os.write(2, b"".join(kept))
        finally:
            os.close(saved)
            capture.close()


__all__ = ["quiet_decoder"]
