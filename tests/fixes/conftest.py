"""Fixtures for the issue-23 library fixes: an in-process CLI and a client on the emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cosyvoice_clone import CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator


@pytest.fixture(autouse=True)
def quick_deploy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY", "0.1")


@pytest.fixture
def lib(cosyvoice_emulator: RunningEmulator) -> Callable[..., CosyVoice]:
    """``lib(**kwargs)``: a sync client on the test's emulator."""

    def make(**kwargs: Any) -> CosyVoice:
        return CosyVoice(
            api_key=cosyvoice_emulator.api_key,
            http_base=cosyvoice_emulator.http_base,
            websocket_url=cosyvoice_emulator.websocket_url,
            **kwargs,
        )

    return make
