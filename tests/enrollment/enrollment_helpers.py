"""Shared helpers of the enrollment tests (sample files, the CLI result type)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

REFERENCE = Path(str(files("cosyvoice_clone") / "data" / "reference_en.wav"))
SECOND = Path(__file__).resolve().parents[1] / "data" / "speech_b_16k.wav"


@dataclass
class Result:
    """What one CLI invocation did."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


def derive(tmp_path: Path, name: str, kind: str) -> Path:
    """A bad sample derived from the reference: short, silent, 8k or corrupt."""
    data, rate = sf.read(REFERENCE, dtype="float32")
    path = tmp_path / name
    if kind == "short":
        sf.write(path, data[: int(rate * 2.0)], rate, subtype="PCM_16")
    elif kind == "silent":
        sf.write(path, np.zeros(rate * 12, dtype="float32"), rate, subtype="PCM_16")
    elif kind == "8k":
        step = rate / 8000
        idx = (np.arange(int(len(data) / step)) * step).astype(int)
        sf.write(path, data[idx], 8000, subtype="PCM_16")
    elif kind == "corrupt":
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(range(256)) * 40)
    else:  # pragma: no cover
        raise ValueError(kind)
    return path
