"""Output files of the check (``--fix OUT.wav``, ``--plot OUT.png``): validated up front,
written atomically.

:func:`check_output_path` runs before any work, so a target that can never be written (a
directory, a device, a path under a file, a read-only or pseudo file system such as ``/proc``)
is one clear :class:`~cosyvoice_clone.errors.InvalidRequestError` (exit 2) and nothing is
written. It probes the nearest existing folder by creating and removing a temporary file there:
permission bits alone do not tell (root may write everywhere except where the kernel refuses).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import CosyVoiceCloneError, InvalidRequestError


def check_output_path(path: str | Path, option: str) -> Path:
    """Raise a one-line error if a file can't be written at ``path``; return it expanded.

    ``option`` names the command-line option in the message (e.g. ``--fix``). Missing parent
    folders are fine when they can be created; they are not created here.
    """
    out = Path(path).expanduser()

    def refuse(message: str, hint: str | None = None) -> InvalidRequestError:
        field = option.lstrip("-")
        return InvalidRequestError(f"{option} {message}", field=field, value=str(out), hint=hint)

    if str(path).strip() == "":
        raise refuse("needs a file name", "give a file name such as sample.fixed.wav")
    try:
        info = out.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:  # ENOTDIR: a parent is a file (reported below); ELOOP, EACCES ...
        if exc.errno != errno.ENOTDIR:
            raise refuse(f"{out}: {exc.strerror or exc}") from None
        info = None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise refuse(f"{out} is a directory", "give a file name inside it")
        if not stat.S_ISREG(info.st_mode):
            raise refuse(f"{out} is not a regular file (a device, pipe or socket)")
    folder = out.parent
    while not _exists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise refuse(f"{out}: {folder} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".cosyvoice-clone-probe-", dir=folder)
    except OSError as exc:
        raise refuse(
            f"{out}: cannot create files in {folder} ({exc.strerror or exc})",
            "choose a folder you can write to",
        ) from None
    os.close(fd)
    os.unlink(probe)
    return out


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Create ``path``'s folders, let ``write`` fill a temporary file beside it, rename it in.

    A failure leaves no temporary file behind and raises a one-line error.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CosyVoiceCloneError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CosyVoiceCloneError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _exists(path: Path) -> bool:
    try:
        path.stat()
    except OSError:
        return False
    return True
