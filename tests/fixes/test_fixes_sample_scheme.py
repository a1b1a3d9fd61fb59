"""Issue 23, found on the way: `clone --sample ftp://...` is an unsupported scheme, not a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixes_helpers import posts

from cosyvoice_clone import CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import SampleUnreadableError


def test_cli_clone_ftp_sample(cli: Any, cosyvoice_emulator_env: RunningEmulator) -> None:
    res = cli("clone", "--prefix", "ftp", "--sample", "ftp://x/y.wav")
    assert res.exit_code == 2, res.stderr
    assert "unsupported URL scheme ftp://" in res.stderr and "not found" not in res.stderr
    assert cosyvoice_emulator_env.backend.store.voice_count() == 0


@pytest.mark.parametrize("sample", ["ftp://x/y.wav", Path("gopher://x/y.wav")])
def test_library_clone_ftp_sample(
    lib: Callable[..., CosyVoice], cosyvoice_emulator: RunningEmulator, sample: Any
) -> None:
    with lib() as cv, pytest.raises(SampleUnreadableError, match="unsupported URL scheme"):
        cv.clone(prefix="ftp", sample=sample)
    assert posts(cosyvoice_emulator) == 0
