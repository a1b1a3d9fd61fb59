"""THE writable-output check of every file we write (speech, timestamps, results, ``--fix``,
``--plot``), and atomic writing.

- :func:`check_target`: the path names a regular file, or a new one, whose nearest existing
  folder is a directory; a symlink is followed (the link is kept); ``-`` (stdout), directories,
  FIFOs, devices and sockets are refused. Nothing is touched.
- :func:`check_output_path` (alias :func:`probe_target`): :func:`check_target`, then proof that a
  file can be created there, by creating and removing a temporary file in the nearest existing
  folder: permission bits alone do not tell (root may write everywhere except where the kernel
  refuses, as in ``/proc``). Missing folders are not created here.

Every refusal is one clear :class:`~cosyvoice_clone.errors.InvalidRequestError` (exit 2), before
any work, so nothing is written.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import CosyVoiceCloneError, InvalidRequestError
from .files import give_default_mode

_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{kind}{n}" for kind in ("COM", "LPT") for n in "123456789"]
)
"""Names Windows reserves for devices in every folder (``CON.wav`` is the console)."""

_STEM_MAX = 100


def safe_file_stem(name: str) -> str:
    """A file name (without extension) made from ``name`` (a batch row id, a voice name) that
    stays in its folder: no separators, no ``..``, no leading dot, no control characters, no
    Windows device name, at most 100 characters. A name that had to change gets a short hash
    of the original, so two ids never collapse into one file."""
    import hashlib

    stem = "".join(c if (c.isalnum() or c in "-_.") and c.isprintable() else "_" for c in name)
    stem = stem.lstrip(". ").rstrip(". ")[:_STEM_MAX]
    head, dot, rest = stem.partition(".")
    if head.upper() in _DEVICE_NAMES:  # `con.txt` is the console too
        stem = f"{head}_{dot}{rest}"
    if stem != name or not stem:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        stem = f"{stem}-{digest}" if stem else digest
    return stem


def file_kind(mode: int) -> str:
    """What a non-regular file is, for messages: ``directory``, ``FIFO (named pipe)`` ..."""
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def check_target(path: str | Path, *, option: str = "--out", mkdir: bool = False) -> Path:
    """The regular file to write for the output ``path``; refuse anything else (nothing sent).

    - ``-`` (standard output) is refused: stdout carries the summary (``--json``), and audio
      assembled from several tasks needs a seekable file (headers are fixed at the end);
    - an existing directory, FIFO, device or socket is refused: the output is renamed into
      place, which would replace it (``/dev/null`` would become a regular file);
    - a symlink is followed: the file it points to is written and the link is kept;
    - the nearest existing parent must be a directory;
    - a missing folder is refused unless ``mkdir`` (as ``curl -o`` does: a typo in a path
      must not create folders anywhere); the caller creates it once the work may start.

    Raises :class:`InvalidRequestError` (exit 2).
    """
    field = option.lstrip("-").replace("-", "_")
    if str(path) == "-":
        raise InvalidRequestError(
            f"{option} - (standard output) is not supported: audio is written to a file",
            field=field,
            hint="write to a file and pipe that, e.g. --out speech.wav && cat speech.wav",
        )
    given = Path(path)
    real = given
    try:
        st: os.stat_result | None = os.lstat(given)
    except (FileNotFoundError, NotADirectoryError):  # a parent that is a file: reported below
        st = None
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot use {option} {given}: {exc.strerror or exc}", field=field
        ) from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        real = Path(os.path.realpath(given))
        try:
            st = os.stat(real)
        except FileNotFoundError:
            st = None  # a dangling link: create the file it names, keep the link
        except OSError as exc:
            raise InvalidRequestError(
                f"cannot use {option} {given}: {exc.strerror or exc}", field=field
            ) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        where = f"{given}" if real == given else f"{given} (-> {real})"
        kind = file_kind(st.st_mode)
        raise InvalidRequestError(
            f"refusing to write {option} {where}: it is a {kind}, not a regular file",
            field=field,
            hint="give the path of a new or existing regular file",
        )
    ancestor = real.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidRequestError(
            f"cannot write {option} {given}: {ancestor} is not a directory", field=field
        )
    if ancestor != real.parent and not mkdir:
        raise InvalidRequestError(
            f"cannot write {option} {given}: the folder {real.parent} does not exist",
            field=field,
            hint=f"create it with `mkdir -p {real.parent}`, or pass --mkdir",
        )
    return real


def check_output_path(path: str | Path, option: str = "--out", *, mkdir: bool = False) -> Path:
    """:func:`check_target`, then prove a file can be created there; return the file to write.

    ``option`` names the option in the messages (``--out``, ``--fix`` ...). Missing folders are
    refused unless ``mkdir`` (then they must be creatable); they are not created here.
    """
    field = option.lstrip("-").replace("-", "_")
    if str(path).strip() == "":
        raise InvalidRequestError(
            f"{option} needs a file name", field=field, hint="give a file name such as out.wav"
        )
    real = check_target(Path(path).expanduser(), option=option, mkdir=mkdir)
    folder = real.parent
    while not _exists(folder) and folder != folder.parent:
        folder = folder.parent
    try:
        fd, probe = tempfile.mkstemp(prefix=".cosyvoice-clone-probe-", dir=folder)
    except OSError as exc:
        raise InvalidRequestError(
            f"{option} {path}: cannot create files in {folder} ({exc.strerror or exc})",
            field=field,
            value=str(path),
            hint="choose a folder you can write to",
        ) from None
    os.close(fd)
    os.unlink(probe)
    return real


probe_target = check_output_path
"""The name synthesis uses for :func:`check_output_path`."""


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Create ``path``'s folders, let ``write`` fill a temporary file beside it, rename it in
    with the mode any new file gets (:func:`~cosyvoice_clone.audio.files.new_file_mode`).

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
        give_default_mode(tmp)  # mkstemp makes 0600; outputs get the umask's mode (0644)
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


__all__ = [
    "check_output_path",
    "check_target",
    "file_kind",
    "probe_target",
    "safe_file_stem",
    "write_atomic",
]
