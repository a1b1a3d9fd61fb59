"""The speech server in a thread, over the library, against the emulator: helpers and fixtures
(imported by tests/server/conftest.py and tests/studio/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cosyvoice_clone.client import AsyncCosyVoice, CosyVoice
from cosyvoice_clone.config import Settings
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.server import RunningServer, ServerConfig, create_app, start_server

MODEL = "cosyvoice-v3.5-plus"
TEST_KEY = "test-server-key"  # obviously fake


def emulator_settings(emulator: RunningEmulator, home: Path, **overrides: Any) -> Settings:
    return Settings.resolve(
        api_key=emulator.api_key,
        http_base=emulator.http_base,
        websocket_url=overrides.get("websocket_url", emulator.websocket_url),
        home=home,
        region="cn-beijing",
    )


def register_voice(
    emulator: RunningEmulator, home: Path, *, prefix: str, model: str = MODEL
) -> str:
    """A voice on the emulator, known to the registry (as `voices sync` does)."""
    voice = emulator.backend.create_voice(
        target_model=model, prefix=prefix, url=emulator.sample_url(), sample=b"x", pitch_hz=170.0
    )
    with CosyVoice(settings=emulator_settings(emulator, home)) as client:
        client.voices.sync()
    return str(voice.voice_id)


@pytest.fixture
def home(isolated_env: Path) -> Path:
    return isolated_env / "cc-home"


@pytest.fixture
def voice(cosyvoice_emulator: RunningEmulator, home: Path) -> str:
    """An OK voice (prefix ``myvoice``) on the emulator and in the registry."""
    return register_voice(cosyvoice_emulator, home, prefix="myvoice")


ServerFactory = Callable[..., RunningServer]


def tune_synthesis(monkeypatch: pytest.MonkeyPatch, **knobs: Any) -> None:
    """Give every synthesis of this test ``event_timeout`` / ``tasks_per_second`` (the client
    has no option for them yet: the library's defaults are 60 s and 3 tasks/s per model)."""
    from cosyvoice_clone.synthesis import AsyncSynthesizer

    original = AsyncSynthesizer.from_settings.__func__  # type: ignore[attr-defined]

    def from_settings(cls: Any, settings: Settings, **options: Any) -> Any:
        return original(cls, settings, **{**options, **knobs})

    monkeypatch.setattr(AsyncSynthesizer, "from_settings", classmethod(from_settings))


@pytest.fixture
def make_server(
    cosyvoice_emulator: RunningEmulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServerFactory]:
    """Start a server over an ``AsyncCosyVoice``: ``make_server(api_keys=..., aliases=...,
    max_queue=..., concurrency=..., retries=..., event_timeout=..., tasks_per_second=...)``."""
    running: list[RunningServer] = []

    def make(
        *,
        api_keys: tuple[str, ...] = (),
        aliases: dict[str, str] | None = None,
        max_queue: int = 64,
        websocket_url: str | None = None,
        retries: int = 2,
        concurrency: int = 4,
        **knobs: Any,
    ) -> RunningServer:
        overrides = {"websocket_url": websocket_url} if websocket_url else {}
        settings = emulator_settings(cosyvoice_emulator, home, **overrides)
        if knobs:
            tune_synthesis(monkeypatch, **knobs)
        client = AsyncCosyVoice(settings=settings)
        config = ServerConfig(api_keys=api_keys, aliases=aliases or {}, max_queue=max_queue,
                              concurrency=concurrency, retries=retries)  # fmt: skip
        app = create_app(client, config)
        server = start_server(app)
        server.app = app  # type: ignore[attr-defined]
        running.append(server)
        return server

    yield make
    for server in running:
        server.stop()


@pytest.fixture
def server(make_server: ServerFactory, voice: str) -> RunningServer:
    """A server without keys, with the alias ``alloy`` -> ``myvoice``."""
    return make_server(aliases={"alloy": "myvoice"})


def openai_client(server: RunningServer, key: str = "unused", **kwargs: Any) -> Any:
    import openai

    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0, **kwargs)
