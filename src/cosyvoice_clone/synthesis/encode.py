"""PCM 16-bit mono into wav, mp3, opus, flac or aac: the one encoder module.

An :class:`Encoder` takes the chunks of the wire format (``feed``) and returns the chunks of the
output format; ``finish`` returns the tail, ``close`` releases it (also after a failure). What
:func:`encoder_for` returns:

- the wire format itself: bytes as they come;
- ``wav``: a streaming header with unknown sizes, then the PCM;
- ``mp3``, ``opus``: libsndfile, block by block (:class:`SndfileEncoder`). Into a stream
  (``target=None``) the encoded bytes are taken out as they come and a late header rewrite is
  dropped (the bytes have left); into a file (``target=PATH``) libsndfile writes the file
  itself, so it may seek back and fix its headers;
- ``flac``, ``aac``: not produced by the service and not streamable (FLAC's STREAMINFO carries
  the total length; a FLAC written without it fails in libsndfile-based readers, tried:
  ``psf_fseek() failed``; AAC (ADTS) needs PyAV, the ``m4a`` extra): kept and encoded in one
  piece at ``finish``.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from .. import catalog
from ..audio.wav import wav_header

TRANSCODED_FORMATS = catalog.TRANSCODED_FORMATS
"""Formats the service does not produce: transcoded from PCM after the synthesis."""
STREAM_FORMATS = catalog.STREAM_FORMATS

FILE_OPUS_LEVEL = 0.8
"""libsndfile maps the level to the bitrate: 0.8 is about 55 kbit/s, plenty for mono speech, and
encodes about 2.5x faster than 0.9 (30 kbit/s) did; measured in benchmarks/progress_tail.py."""


def sndfile_format(fmt: str, level: float | None = None) -> dict[str, Any]:
    """libsndfile's arguments for ``fmt`` (``mp3`` or ``opus``)."""
    if fmt == "mp3":
        # constant bit rate: readers that size an mp3 without its LAME tag (e.g. libsndfile)
        # then measure it right
        return {"format": "MP3", "subtype": "MPEG_LAYER_III", "bitrate_mode": "CONSTANT",
                "compression_level": 0.5}  # fmt: skip
    if fmt == "opus":
        args: dict[str, Any] = {"format": "OGG", "subtype": "OPUS"}
        if level is not None:
            args["compression_level"] = level
        return args
    raise ValueError(f"cannot encode {fmt}")


class _Taken:
    """A write-only file for libsndfile: bytes are taken out as they come; an encoder's late
    rewrite of a header already taken is dropped (the stream has left)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.taken = 0
        self.pos = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        end = self.pos + len(chunk)
        start = max(self.pos, self.taken)
        if end > start:
            self.data[start - self.taken : end - self.taken] = chunk[start - self.pos :]
        self.pos = end
        return len(chunk)

    def seek(self, offset: int, whence: int = 0) -> int:
        size = self.taken + len(self.data)
        self.pos = offset if whence == 0 else (self.pos + offset if whence == 1 else size + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, size: int = -1) -> bytes:
        return b""

    def take(self) -> bytes:
        out = bytes(self.data)
        self.taken += len(out)
        self.data.clear()
        return out


class Samples:
    """Whole 16-bit samples out of arbitrary byte chunks (an odd byte waits for the next)."""

    def __init__(self) -> None:
        self.carry = b""

    def split(self, chunk: bytes) -> bytes:
        """The whole samples of ``carry + chunk`` as bytes; the odd byte is kept."""
        data = self.carry + chunk
        usable = len(data) - len(data) % 2
        self.carry = data[usable:]
        return data[:usable]

    def array(self, chunk: bytes) -> Any:
        """:meth:`split` as a numpy ``int16`` array."""
        import numpy as np

        return np.frombuffer(self.split(chunk), dtype="<i2")


class Encoder:
    """Turns the chunks of the wire format into the chunks of the output format (as is)."""

    def feed(self, chunk: bytes) -> bytes:
        return chunk

    def finish(self) -> bytes:
        return b""

    def close(self) -> None:
        return None


class WavStream(Encoder):
    """A WAV header with unknown sizes (streaming), then the PCM."""

    def __init__(self, sample_rate: int) -> None:
        self.header = wav_header(sample_rate, 0xFFFFFFFF)

    def feed(self, chunk: bytes) -> bytes:
        header, self.header = self.header, b""
        return header + chunk


class SndfileEncoder(Encoder):
    """PCM encoded block by block by libsndfile (mp3, Ogg/Opus), into a stream or a file."""

    def __init__(
        self, fmt: str, sample_rate: int, target: Path | None = None, level: float | None = None
    ) -> None:
        import soundfile as sf

        self.out = _Taken() if target is None else None
        self.samples = Samples()
        self.pcm_bytes = 0
        self.file = sf.SoundFile(
            self.out if self.out is not None else target,
            "w",
            samplerate=sample_rate,
            channels=1,
            **sndfile_format(fmt, level),
        )

    def _taken(self) -> bytes:
        return self.out.take() if self.out is not None else b""

    def feed(self, chunk: bytes) -> bytes:
        samples = self.samples.array(chunk)
        if samples.size:
            self.file.write(samples)
            self.pcm_bytes += samples.size * 2
        return self._taken()

    def finish(self) -> bytes:
        self.file.close()
        return self._taken()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.file.close()


class Transcoded(Encoder):
    """PCM kept until the end, then encoded in one piece (flac via libsndfile, aac via PyAV)."""

    def __init__(self, fmt: str, sample_rate: int) -> None:
        self.fmt = fmt
        self.sample_rate = sample_rate
        self.pcm = bytearray()

    def feed(self, chunk: bytes) -> bytes:
        self.pcm += chunk
        return b""

    def finish(self) -> bytes:
        import numpy as np

        samples = np.frombuffer(bytes(self.pcm[: len(self.pcm) - len(self.pcm) % 2]), "<i2")
        if self.fmt == "flac":
            import soundfile as sf

            out = io.BytesIO()
            sf.write(out, samples, self.sample_rate, format="FLAC", subtype="PCM_16")
            return out.getvalue()
        return encode_aac(samples, self.sample_rate)


def encode_aac(samples: Any, sample_rate: int) -> bytes:
    """AAC-LC in an ADTS stream (what OpenAI's ``aac`` is), with PyAV."""
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format="adts") as container:
        stream: Any = container.add_stream("aac", rate=sample_rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def encoder_for(fmt: str, sample_rate: int, wire: str = "pcm") -> Encoder:
    """The streaming encoder from ``wire`` (the service's format) to ``fmt``."""
    if fmt == wire:
        return Encoder()
    if fmt in TRANSCODED_FORMATS:
        return Transcoded(fmt, sample_rate)
    if fmt == "wav":
        return WavStream(sample_rate)
    return SndfileEncoder(fmt, sample_rate)


__all__ = [
    "FILE_OPUS_LEVEL",
    "STREAM_FORMATS",
    "TRANSCODED_FORMATS",
    "Encoder",
    "Samples",
    "SndfileEncoder",
    "Transcoded",
    "WavStream",
    "encode_aac",
    "encoder_for",
    "sndfile_format",
]
