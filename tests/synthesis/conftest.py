"""Fixtures for the synthesis tests: a voice on the emulator and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from synthesis_helpers import CliResult, make_voice

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.synthesis import AsyncSynthesizer, Synthesizer


@pytest.fixture
def voice(cosyvoice_emulator: RunningEmulator) -> str:
    """An OK voice bound to cosyvoice-v3.5-plus, pitch 180 Hz."""
    return make_voice(cosyvoice_emulator)


@pytest.fixture
def synth(cosyvoice_emulator: RunningEmulator) -> Synthesizer:
    """A sync synthesizer pointed at the emulator, unpaced (the emulator's rate limits off)."""
    cosyvoice_emulator.set_rate_limits(False)
    return Synthesizer(
        api_key=cosyvoice_emulator.api_key,
        websocket_url=cosyvoice_emulator.websocket_url,
        event_timeout=20.0,
        tasks_per_second=None,
    )


@pytest.fixture
def paced_synth(cosyvoice_emulator: RunningEmulator) -> Synthesizer:
    """A sync synthesizer with the real pacing (3 tasks/s), the emulator's limits on."""
    cosyvoice_emulator.set_rate_limits(True)
    return Synthesizer(
        api_key=cosyvoice_emulator.api_key,
        websocket_url=cosyvoice_emulator.websocket_url,
        event_timeout=20.0,
    )


@pytest.fixture
def async_synth(cosyvoice_emulator: RunningEmulator) -> AsyncSynthesizer:
    """An async synthesizer pointed at the emulator, unpaced (the emulator's limits off)."""
    cosyvoice_emulator.set_rate_limits(False)
    return AsyncSynthesizer(
        api_key=cosyvoice_emulator.api_key,
        websocket_url=cosyvoice_emulator.websocket_url,
        event_timeout=20.0,
        tasks_per_second=None,
    )


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], cosyvoice_emulator_env: RunningEmulator
) -> Callable[..., CliResult]:
    """Run ``cosyvoice-clone ARGS`` in-process against the emulator (DASHSCOPE_* env set)."""
    from cosyvoice_clone.cli.main import run

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            run(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - run() always exits
            code = 0
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return invoke
