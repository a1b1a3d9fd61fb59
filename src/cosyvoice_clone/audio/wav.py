"""The WAV header of PCM 16-bit mono audio: written by synthesis and the emulator, fixed at the end.

A stream does not know its length up front; :func:`fix_wav_header` sets the RIFF and data sizes
to what the file really holds once it is complete.
"""

from __future__ import annotations

import struct
from pathlib import Path

WAV_HEADER_SIZE = 44
"""Bytes of the header :func:`wav_header` writes."""


def wav_header(sample_rate: int, data_size: int) -> bytes:
    """A 44-byte PCM 16-bit mono WAV header."""
    return (
        b"RIFF" + struct.pack("<I", min(0xFFFFFFFF, 36 + data_size)) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data" + struct.pack("<I", min(0xFFFFFFFF, data_size))
    )  # fmt: skip


def fix_wav_header(path: Path) -> int:
    """Set the RIFF and data sizes of a WAV file to what is really there; return the data size.

    Walks the chunks from the start (a streamed header may carry extra chunks before ``data``).
    Raises ``ValueError`` if the file is not a RIFF/WAVE file.
    """
    size = path.stat().st_size
    with path.open("r+b") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError("not a RIFF/WAVE stream")
        offset = 12
        while True:
            f.seek(offset)
            chunk = f.read(8)
            if len(chunk) < 8:
                raise ValueError("no data chunk in the WAV stream")
            cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                data_size = size - offset - 8
                f.seek(offset + 4)
                f.write(struct.pack("<I", min(0xFFFFFFFF, data_size)))
                f.seek(4)
                f.write(struct.pack("<I", min(0xFFFFFFFF, size - 8)))
                return data_size
            offset += 8 + csize + (csize & 1)


__all__ = ["WAV_HEADER_SIZE", "fix_wav_header", "wav_header"]
