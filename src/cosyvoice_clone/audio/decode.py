"""Read a reference sample (path, URL or bytes) and decode it to float samples.

WAV, MP3, FLAC and Ogg (Vorbis/Opus) decode with soundfile (libsndfile); M4A/AAC decode with
PyAV when the optional ``m4a`` extra is installed (see :func:`~cosyvoice_clone.extras.extra_hint`).
Anything that cannot be read raises :class:`~cosyvoice_clone.errors.SampleUnreadableError` whose
``api_code`` is what the service would answer (``BadRequest.UnsupportedFileFormat`` when the
bytes are no known audio container, ``Audio.DecoderError`` when a known container is broken).
A sample URL that cannot be fetched because of the network raises :class:`SampleDownloadError`
(exit 6), or :class:`SampleDownloadTimeout` (exit 5) when it timed out.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import DecoderMissingError, SampleDownloadError, SampleUnreadableError
from ..extras import extra_hint
from ._stderr import quiet_decoder
from .files import format_size

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

UNSUPPORTED_FORMAT = "BadRequest.UnsupportedFileFormat"
DECODER_ERROR = "Audio.DecoderError"

URL_MAX_BYTES = 50 * 1024 * 1024
MAX_DECODE_SECONDS = 600.0
"""Only the first 10 minutes of a longer recording are decoded (memory stays bounded)."""
URL_TIMEOUT_S = 30.0
"""Seconds allowed to connect and between two reads of a sample URL (read at call time)."""
URL_SCHEMES = ("http", "https")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_NOT_AUDIO_TYPES = ("text/", "json", "xml", "html", "javascript", "image/", "font/")
"""Content types that are certainly not a sample (a web page, an error document)."""
_GENERIC_OPEN_FAILURES = ("File does not exist or is not a regular file", "Format not recognised")
"""libsndfile's open failures that say nothing about the file (it was read already)."""

M4A_HINT = extra_hint("m4a", "PyAV, to read M4A/AAC")

_SUBTYPE_BITS = {
    "PCM_S8": 8,
    "PCM_U8": 8,
    "PCM_16": 16,
    "PCM_24": 24,
    "PCM_32": 32,
    "FLOAT": 32,
    "DOUBLE": 64,
    "ALAW": 8,
    "ULAW": 8,
}


@dataclass
class Decoded:
    """A decoded sample: float32 samples shaped (frames, channels) and what the file is."""

    samples: npt.NDArray[np.float32]
    sample_rate: int
    format: str
    """Container as detected from the bytes: wav, mp3, flac, ogg, opus, m4a, aac, aiff ..."""
    codec: str
    """libsndfile subtype (PCM_16, MPEG_LAYER_III, VORBIS ...) or the PyAV codec name."""
    bit_depth: int | None
    file_size: int
    name: str | None = None
    total_seconds: float | None = None
    """Length of the whole file when only its beginning was decoded (``MAX_DECODE_SECONDS``)."""

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self.samples.shape[1])

    @property
    def frames(self) -> int:
        """Number of sample frames."""
        return int(self.samples.shape[0])

    @property
    def decoded_seconds(self) -> float:
        """Seconds of audio decoded (what the measurements look at)."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def duration(self) -> float:
        """Duration of the file in seconds."""
        return max(self.total_seconds or 0.0, self.decoded_seconds)


def sniff_format(head: bytes, filename: str | None = None) -> str | None:
    """The audio container the first bytes announce, or ``None`` if none is recognised."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "opus" if b"OpusHead" in head[:200] else "ogg"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "m4a"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # ADTS: sync 12 bits, layer 00
            return "aac"
        if head[1] & 0xE0 == 0xE0:  # MPEG audio frame sync
            return "mp3"
    return None


def read_source(source: str | Path | bytes) -> tuple[bytes | Path, str | None, int]:
    """Resolve a sample source to (bytes or local path, display name, size in bytes).

    A string is a local path or an http(s) URL; an empty string or another URL scheme is
    refused with a :class:`SampleUnreadableError` that says so.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return data, None, len(data)
    text = str(source)
    if isinstance(source, str):
        if not text.strip():
            raise SampleUnreadableError(
                "the sample path is empty",
                field="sample",
                value=text,
                hint="give the path of an audio file or an http(s) URL",
            )
        match = _SCHEME_RE.match(text)
        if match:
            scheme = match.group(1).lower()
            if scheme in URL_SCHEMES:
                data, name = download(text)
                return data, name, len(data)
            raise _unsupported_scheme(text, scheme)
    path = Path(text).expanduser()
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise SampleUnreadableError(f"{path} is not a file", field="sample", value=text)
    except OSError as exc:
        raise SampleUnreadableError(
            f"cannot read {path}: {exc.strerror or exc}", field="sample", value=text
        ) from exc
    return path, path.name, size


def _unsupported_scheme(url: str, scheme: str) -> SampleUnreadableError:
    if scheme == "oss":
        return SampleUnreadableError(
            f"{url} is a temporary oss:// upload, which only the service can read",
            field="sample",
            value=url,
            hint="check the local file that was uploaded instead",
        )
    return SampleUnreadableError(
        f"unsupported URL scheme {scheme}:// in {url}",
        field="sample",
        value=url,
        hint="give a local path or an http(s) URL",
    )


def download(
    url: str, *, max_bytes: int = URL_MAX_BYTES, timeout: float | None = None
) -> tuple[bytes, str]:
    """Fetch a sample over HTTP(S) with a size cap, a timeout and a content-type check.

    Raises :class:`SampleDownloadTimeout` (exit 5) when it times out,
    :class:`SampleDownloadError` (exit 6) when the network or the server fails (connection
    refused, reset, HTTP 5xx or 429), and :class:`SampleUnreadableError` (exit 2) when the URL
    is wrong or serves something other than audio (HTTP 4xx, a web page, too large).
    """
    import httpx

    seconds = URL_TIMEOUT_S if timeout is None else timeout
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises on a port out of range
    except ValueError as exc:
        raise _invalid_url(url, str(exc)) from exc
    if not host:
        raise _invalid_url(url, "no host")
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or url
    try:
        with httpx.stream("GET", url, timeout=seconds, follow_redirects=True) as resp:
            if resp.status_code >= 500 or resp.status_code == 429:
                raise SampleDownloadError(
                    f"cannot download {url}: HTTP {resp.status_code}",
                    field="sample",
                    value=url,
                    hint="the server of the sample failed; try again later",
                )
            if resp.status_code != 200:
                raise SampleUnreadableError(
                    f"cannot download {url}: HTTP {resp.status_code}", field="sample", value=url
                )
            ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
            if any(part in ctype for part in _NOT_AUDIO_TYPES):
                raise SampleUnreadableError(
                    f"{url} is not audio (content-type {ctype})",
                    field="sample",
                    value=url,
                    hint="the URL must point at the audio file itself, not a web page",
                )
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise _too_big(url, max_bytes)
            chunks: list[bytes] = []
            total = 0
            for chunk in resp.iter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise _too_big(url, max_bytes)
                chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise SampleDownloadError(
            f"cannot download {url}: timed out after {seconds:g} s",
            field="sample",
            value=url,
            timed_out=True,
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        raise _invalid_url(url, str(exc)) from exc
    except httpx.TransportError as exc:
        raise SampleDownloadError(
            f"cannot download {url}: {_network_reason(exc)}",
            field="sample",
            value=url,
            hint="check the URL's host and your network, then try again",
        ) from exc
    except httpx.HTTPError as exc:  # too many redirects, a broken content encoding ...
        raise SampleUnreadableError(
            f"cannot download {url}: {type(exc).__name__}: {exc}", field="sample", value=url
        ) from exc
    except httpx.InvalidURL as exc:
        raise _invalid_url(url, str(exc)) from exc
    return b"".join(chunks), name


def _invalid_url(url: str, reason: str) -> SampleUnreadableError:
    return SampleUnreadableError(f"{url} is not a valid URL ({reason})", field="sample", value=url)


def _network_reason(exc: Exception) -> str:
    """``connection refused`` rather than ``ConnectError: [Errno 111] Connection refused``."""
    text = str(exc).strip() or type(exc).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text[:200]


def _too_big(url: str, max_bytes: int) -> SampleUnreadableError:
    return SampleUnreadableError(
        f"{url} is larger than {format_size(max_bytes)}; not downloading it",
        field="sample",
        value=url,
    )


def unreadable(message: str, api_code: str, *, hint: str | None = None) -> SampleUnreadableError:
    """A :class:`SampleUnreadableError` carrying the service code it would cause."""
    err = SampleUnreadableError(message, field="sample", hint=hint)
    err.api_code = api_code
    return err


def decode(source: bytes | Path, name: str | None = None, file_size: int | None = None) -> Decoded:
    """Decode bytes or a local file; raise :class:`SampleUnreadableError` if impossible."""
    if isinstance(source, Path):
        try:
            with source.open("rb") as fh:
                head = fh.read(256)
        except OSError as exc:
            raise unreadable(f"cannot read {source}: {exc.strerror or exc}", DECODER_ERROR) from exc
        size = file_size if file_size is not None else source.stat().st_size
        name = name or source.name
    else:
        head = source[:256]
        size = len(source)
    label = name or "the sample"
    if size == 0:
        raise unreadable(f"{label} is empty", UNSUPPORTED_FORMAT)
    fmt = sniff_format(head, name)
    if fmt is None:
        raise unreadable(
            f"{label} is not an audio file this tool or the service can read",
            UNSUPPORTED_FORMAT,
            hint="use a WAV (16-bit), MP3 or M4A file",
        )
    if fmt in ("m4a", "aac"):
        return _decode_av(source, fmt, size, name)
    return _decode_soundfile(source, fmt, size, name)


def _decode_soundfile(source: bytes | Path, fmt: str, size: int, name: str | None) -> Decoded:
    import soundfile as sf

    target: Any = source if isinstance(source, Path) else io.BytesIO(source)
    try:
        quiet = quiet_decoder() if fmt == "mp3" else contextlib.nullcontext()
        with quiet, sf.SoundFile(target) as f:
            rate = int(f.samplerate)
            subtype = str(f.subtype)
            limit = int(MAX_DECODE_SECONDS * rate)
            total = int(f.frames) if f.frames and f.frames > 0 else None
            samples = f.read(
                frames=limit if total is None or total > limit else -1,
                dtype="float32",
                always_2d=True,
            )
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        what, reason = name or "the sample", _short(exc)
        message = f"cannot decode {what} as {fmt.upper()}: {reason}"
        if any(generic in reason for generic in _GENERIC_OPEN_FAILURES):
            # libsndfile's "cannot open" names no cause: the file is there, its bytes are wrong
            message = f"cannot decode {what}: not a valid {fmt.upper()} file"
        raise unreadable(message, DECODER_ERROR) from exc
    if samples.shape[0] == 0 or rate <= 0:
        raise unreadable(f"{name or 'the sample'} holds no audio frames", DECODER_ERROR)
    return Decoded(
        samples=samples,
        sample_rate=rate,
        format=fmt,
        codec=subtype,
        bit_depth=_SUBTYPE_BITS.get(subtype),
        file_size=size,
        name=name,
        total_seconds=total / rate if total and total > len(samples) else None,
    )


def _decode_av(source: bytes | Path, fmt: str, size: int, name: str | None) -> Decoded:
    import numpy as np

    try:
        import av
    except ImportError as exc:
        raise DecoderMissingError(
            f"{name or 'the sample'} is {fmt.upper()}, which needs PyAV to be read here",
            field="sample",
            hint=M4A_HINT,
            code="decoder_missing",
        ) from exc
    target: Any = str(source) if isinstance(source, Path) else io.BytesIO(source)
    blocks: list[np.ndarray[Any, Any]] = []
    try:
        with av.open(target) as container:
            stream = container.streams.audio[0]
            codec = str(stream.codec_context.name)
            rate = int(stream.codec_context.sample_rate or stream.rate or 0)
            total = float(container.duration) / 1e6 if container.duration else None
            decoded_frames = 0
            for frame in container.decode(stream):
                if rate and decoded_frames >= MAX_DECODE_SECONDS * rate:
                    break
                arr = frame.to_ndarray()
                channels = len(frame.layout.channels)
                if not frame.format.is_planar:
                    arr = arr.reshape(-1, channels).T
                blocks.append(_to_float(arr))
                decoded_frames += arr.shape[1]
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise unreadable(
            f"cannot decode {name or 'the sample'} as {fmt.upper()}: {_short(exc)}", DECODER_ERROR
        ) from exc
    if not blocks or rate <= 0:
        raise unreadable(f"{name or 'the sample'} holds no audio frames", DECODER_ERROR)
    samples = np.ascontiguousarray(np.concatenate(blocks, axis=1).T, dtype=np.float32)
    seconds = samples.shape[0] / rate
    whole = total if total and total > seconds + 1.0 else None
    return Decoded(samples, rate, fmt, codec, None, size, name, total_seconds=whole)


def _to_float(arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    import numpy as np

    out: np.ndarray[Any, Any]
    if arr.dtype.kind == "f":
        out = arr.astype(np.float32, copy=False)
    elif arr.dtype.kind == "u":
        half = float(2 ** (arr.dtype.itemsize * 8 - 1))
        out = (arr.astype(np.float32) - half) / half
    else:
        out = arr.astype(np.float32) / float(2 ** (arr.dtype.itemsize * 8 - 1))
    return out


def _short(exc: BaseException) -> str:
    """The useful last line of a decoder error, without libsndfile's "Error opening <obj>:"."""
    lines = str(exc).strip().splitlines()
    text = re.sub(r"^Error opening .*?: ", "", lines[-1]) if lines else ""
    return text[:200] or type(exc).__name__
