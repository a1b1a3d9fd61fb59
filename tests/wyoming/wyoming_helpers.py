"""Helpers and fixtures of the Wyoming tests: a cloned voice on the emulator, and the server
over a client in the test's own loop (the real ``wyoming`` package on both sides)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("wyoming")

from cosyvoice_clone.client import AsyncCosyVoice
from cosyvoice_clone.config import Settings
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.wyoming import RunningWyoming, WyomingDoor, start_server

MODEL = "cosyvoice-v3.5-plus"


def reference_sample() -> Path:
    ref = resources.files("cosyvoice_clone") / "data" / "reference_en.wav"
    with resources.as_file(ref) as path:
        return Path(path)


def emulator_settings(emulator: RunningEmulator, home: Path, **overrides: Any) -> Settings:
    return Settings.resolve(
        api_key=overrides.get("api_key", emulator.api_key),
        http_base=emulator.http_base,
        websocket_url=emulator.websocket_url,
        home=home,
        region="cn-beijing",
    )


@pytest.fixture
def home(isolated_env: Path) -> Path:
    return isolated_env / "cc-home"


@pytest.fixture
async def cloned(cosyvoice_emulator: RunningEmulator, home: Path) -> str:
    """A voice cloned here (prefix ``myvoice``, language hint ``en``), OK: its voice id."""
    async with AsyncCosyVoice(settings=emulator_settings(cosyvoice_emulator, home)) as cv:
        result = await cv.clone(
            prefix="myvoice", sample=reference_sample(), language_hints=["en"], wait=True
        )
    return result.voice_id


WyomingFactory = Callable[..., AbstractAsyncContextManager[RunningWyoming]]


@pytest.fixture
def wyoming_server(cosyvoice_emulator: RunningEmulator, home: Path) -> WyomingFactory:
    """``async with wyoming_server(model=..., system_voices=..., api_key=...) as running:`` a
    Wyoming server on a free loopback port over its own client."""

    @asynccontextmanager
    async def make(**options: Any) -> AsyncIterator[RunningWyoming]:
        key = options.pop("api_key", cosyvoice_emulator.api_key)
        settings = emulator_settings(cosyvoice_emulator, home, api_key=key)
        async with AsyncCosyVoice(settings=settings) as client:
            door = WyomingDoor(client, **options)
            async with await start_server(door, "tcp://127.0.0.1:0") as running:
                yield running

    return make
