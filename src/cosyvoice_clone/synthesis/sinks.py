"""Where audio goes: a file written atomically, a binary stream, and the writers behind them.

Every writer writes into a temporary file next to the target (``.NAME.PID-XXXX.partial``) and
only :meth:`AudioWriter.commit` renames it into place, after fixing what must be fixed at the end
(the WAV sizes, the encoder tail) and an ``fsync``. :meth:`AudioWriter.discard` removes it. So a
failure, a cancel or a kill never leaves a file at the target path that looks complete; the
temporary files of a killed run are removed by the next run to the same target
(:func:`remove_stale_partials`).

Writers (:func:`open_writer` picks one):

- :class:`RawWriter`: bytes as they come (``pcm``, or a single task's mp3/opus/wav stream, whose
  streamed WAV header is then fixed by :func:`fix_wav_header`);
- :class:`WavWriter`: PCM 16-bit mono with our own header, sizes fixed at commit;
- :class:`EncodedWriter`: PCM fed to libsndfile's MP3 or Ogg/Opus encoder (for texts spoken in
  several tasks, whose separate streams cannot simply be concatenated).

Sinks (:class:`AudioSink`: ``write`` PCM, ``commit``, ``discard``) are what live speech writes
into: :class:`FileSink` (a writer), :class:`StreamSink` (stdout, a pipe) and, in
:mod:`cosyvoice_clone.play`, the speakers.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import stat
import threading
import uuid
from pathlib import Path
from typing import IO, Any, Protocol

from ..audio.outfile import file_kind
from ..audio.wav import fix_wav_header, wav_header
from ..errors import CosyVoiceCloneError, InvalidRequestError
from .encode import FILE_OPUS_LEVEL, Encoder, SndfileEncoder, encoder_for

PARTIAL_SUFFIX = ".partial"
_PARTIAL_TAG = re.compile(r"^(?:(?P<pid>\d+)-)?(?:[0-9a-f]{8}|probe)$")


def partial_path(target: Path, tag: str | None = None) -> Path:
    """A fresh temporary path next to ``target`` (same directory, so the rename is atomic).

    ``.NAME.PID-XXXXXXXX.partial``: the pid tells a later run whether the writer is still alive.
    """
    tag = tag or uuid.uuid4().hex[:8]
    return target.with_name(f".{target.name}.{os.getpid()}-{tag}{PARTIAL_SUFFIX}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def stale_partials(target: Path) -> list[Path]:
    """Leftover temporary files of ``target`` whose writer is gone (a killed run).

    Files of a process that is still running (a concurrent run to the same target) are not
    stale; files without a pid (older versions) are.
    """
    if not target.parent.is_dir():
        return []
    prefix = f".{target.name}."
    found: list[Path] = []
    for path in target.parent.glob(f".{glob.escape(target.name)}.*{PARTIAL_SUFFIX}"):
        tag = path.name[len(prefix) : -len(PARTIAL_SUFFIX)]
        match = _PARTIAL_TAG.match(tag)
        if match is None:
            continue
        pid = match.group("pid")
        if pid is None or not _pid_alive(int(pid)):
            found.append(path)
    return sorted(found)


def remove_stale_partials(target: Path) -> list[Path]:
    """Delete :func:`stale_partials` of ``target``; return what was removed."""
    removed: list[Path] = []
    for path in stale_partials(target):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


class AudioWriter:
    """Base: a temporary file renamed to ``target`` on :meth:`commit`."""

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.temp = partial_path(self.target)
        self.pcm_bytes = 0
        self.committed = False
        self.closed = False
        self.lock = threading.RLock()
        """Held by every write, commit and discard: a writer may be fed from a worker thread
        while the event loop discards it (libsndfile must never be closed under a write)."""

    def write(self, data: bytes) -> None:
        """Append audio bytes (ignored once the writer is closed)."""
        with self.lock:
            if not self.closed:
                self._write(data)

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def mark(self) -> Any:
        """A position to :meth:`rewind` to (for retrying a task that was being streamed)."""
        raise NotImplementedError

    def rewind(self, mark: Any) -> None:
        """Forget everything written since ``mark``."""
        raise NotImplementedError

    def _finish(self) -> None:
        """Close the temporary file, fixing what must be fixed."""
        raise NotImplementedError

    def _close_quietly(self) -> None:
        """Close without finishing (discard)."""
        raise NotImplementedError

    def commit(self) -> Path:
        """Finish, flush to disk and move the file into place (all under the lock).

        The target is checked again just before the rename: something that is not a regular
        file (a FIFO or device put there meanwhile) is never replaced.
        """
        with self.lock:
            if self.closed:
                raise RuntimeError("the writer was discarded")
            self.closed = True
            self._finish()
            fd = os.open(self.temp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                st: os.stat_result | None = os.lstat(self.target)
            except FileNotFoundError:
                st = None
            if st is not None and not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                with contextlib.suppress(FileNotFoundError):
                    self.temp.unlink()
                raise InvalidRequestError(
                    f"refusing to replace {self.target}: it became a {file_kind(st.st_mode)}",
                    field="out",
                )
            os.replace(self.temp, self.target)
            self.committed = True
        return self.target

    def discard(self) -> None:
        """Drop the temporary file; the target is left as it was."""
        with self.lock:
            if self.committed:
                return
            if not self.closed:
                self.closed = True
                self._close_quietly()
            with contextlib.suppress(FileNotFoundError):
                self.temp.unlink()


class _PlainWriter(AudioWriter):
    """Bytes appended as they come, after a ``header`` (fixed at commit by a subclass)."""

    def __init__(self, target: Path, header: bytes = b"") -> None:
        super().__init__(target)
        self._file = self.temp.open("wb")
        self._file.write(header)
        self._offset = len(header)
        self.bytes = 0
        """Bytes written after the header."""

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self.bytes += len(data)

    def mark(self) -> int:
        return self.bytes

    def rewind(self, mark: Any) -> None:
        self._file.flush()
        self._file.seek(self._offset + int(mark))
        self._file.truncate()
        self.bytes = int(mark)

    def _close_quietly(self) -> None:
        self._file.close()


class RawWriter(_PlainWriter):
    """Bytes as received; ``fix_wav`` patches a streamed WAV header at commit."""

    def __init__(self, target: Path, *, fix_wav: bool = False) -> None:
        super().__init__(target)
        self.fix_wav = fix_wav

    def _finish(self) -> None:
        self._file.close()
        if self.fix_wav:
            self.pcm_bytes = fix_wav_header(self.temp)


class WavWriter(_PlainWriter):
    """PCM 16-bit mono in a WAV file; the header is written first and fixed at commit."""

    def __init__(self, target: Path, sample_rate: int) -> None:
        super().__init__(target, wav_header(sample_rate, 0xFFFFFFFF - 36))
        self.sample_rate = sample_rate

    def _write(self, data: bytes) -> None:
        super()._write(data)
        self.pcm_bytes = self.bytes

    def rewind(self, mark: Any) -> None:
        super().rewind(mark)
        self.pcm_bytes = self.bytes

    def _finish(self) -> None:
        if self.pcm_bytes % 2:
            self._file.write(b"\0")  # never leave half a sample
            self.pcm_bytes += 1
        self._file.seek(0)
        self._file.write(wav_header(self.sample_rate, self.pcm_bytes))
        self._file.close()


class EncodedWriter(AudioWriter):
    """PCM 16-bit mono encoded to MP3 or Ogg/Opus by libsndfile, block by block."""

    def __init__(self, target: Path, fmt: str, sample_rate: int) -> None:
        super().__init__(target)
        level = FILE_OPUS_LEVEL if fmt == "opus" else None
        self._encoder = SndfileEncoder(fmt, sample_rate, target=self.temp, level=level)

    def _write(self, data: bytes) -> None:
        self._encoder.feed(data)
        self.pcm_bytes = self._encoder.pcm_bytes

    def mark(self) -> int:
        return self.pcm_bytes

    def rewind(self, mark: Any) -> None:
        if int(mark) != self.pcm_bytes:
            raise RuntimeError("an encoded stream cannot be rewound")

    def _finish(self) -> None:
        self._encoder.finish()

    def _close_quietly(self) -> None:
        self._encoder.close()


def open_writer(path: Path, fmt: str, sample_rate: int, *, single: bool = False) -> AudioWriter:
    """The writer of ``path`` (stale temporary files of killed runs removed first).

    ``single``: the bytes are one task's stream in ``fmt`` itself (kept as is); otherwise PCM
    that is wrapped (wav) or encoded (mp3, opus). A path that cannot be written is refused in
    one line.
    """
    try:
        remove_stale_partials(path)
        if single:
            return RawWriter(path, fix_wav=(fmt == "wav"))
        if fmt == "wav":
            return WavWriter(path, sample_rate)
        if fmt == "pcm":
            return RawWriter(path)
        return EncodedWriter(path, fmt, sample_rate)
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot write {path}: {exc.strerror or exc}", field="out"
        ) from None


# --------------------------------------------------------------------------- sinks


class AudioSink(Protocol):
    """Where :func:`~.live.speak_live` puts the PCM it receives."""

    def write(self, pcm: bytes) -> None: ...
    def commit(self) -> None: ...
    def discard(self) -> None: ...


class FileSink:
    """A file written atomically: a temporary file renamed into place only at the end, so a
    cancelled or failed session leaves nothing under the final name."""

    def __init__(self, path: str | Path, fmt: str, sample_rate: int) -> None:
        self.path = Path(path)
        self.bytes = 0
        self.writer = open_writer(self.path, fmt, sample_rate)

    def write(self, pcm: bytes) -> None:
        self.writer.write(pcm)

    def commit(self) -> None:
        self.writer.commit()
        self.bytes = self.path.stat().st_size

    def discard(self) -> None:
        self.writer.discard()


class StreamSink:
    """A binary stream (stdout, a pipe): each chunk encoded and flushed as it arrives (wav with
    a streaming header of unknown size, mp3/opus encoded block by block, pcm as is)."""

    def __init__(self, stream: IO[bytes], fmt: str, sample_rate: int) -> None:
        self.stream = stream
        self.encoder: Encoder = encoder_for(fmt, sample_rate)
        self.bytes = 0

    def _put(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.stream.write(data)
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            raise CosyVoiceCloneError(
                "the reader of the audio stream went away (broken pipe)",
                hint="keep the reading program running until the speech ends",
            ) from None
        self.bytes += len(data)

    def write(self, pcm: bytes) -> None:
        self._put(self.encoder.feed(pcm))

    def commit(self) -> None:
        self._put(self.encoder.finish())
        self.encoder.close()

    def discard(self) -> None:
        self.encoder.close()


__all__ = [
    "PARTIAL_SUFFIX",
    "AudioSink",
    "AudioWriter",
    "EncodedWriter",
    "FileSink",
    "RawWriter",
    "StreamSink",
    "WavWriter",
    "open_writer",
    "partial_path",
    "remove_stale_partials",
    "stale_partials",
]
