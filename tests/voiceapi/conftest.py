"""Fixtures of the custom-voice tests: ``serve`` (the app in a thread) over the emulator, with
every :class:`ServerConfig` field settable, and the official ``openai`` package as the client."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.server.server_helpers import emulator_settings, home, register_voice  # noqa: F401

from cosyvoice_clone.client import AsyncCosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.server import RunningServer, ServerConfig, create_app, start_server

SAMPLE = Path(__file__).parents[2] / "src" / "cosyvoice_clone" / "data" / "reference_en.wav"
TEST_KEY = "test-voiceapi-key"  # obviously fake
ServerFactory = Callable[..., RunningServer]


@pytest.fixture
def make_server(cosyvoice_emulator: RunningEmulator, home: Path) -> Iterator[ServerFactory]:  # noqa: F811
    """``make_server(**ServerConfig fields)``: a server over the emulator (stopped after)."""
    running: list[RunningServer] = []

    def make(**config: Any) -> RunningServer:
        client = AsyncCosyVoice(settings=emulator_settings(cosyvoice_emulator, home))
        app = create_app(client, ServerConfig(**config))
        server = start_server(app)
        server.app = app  # type: ignore[attr-defined]
        running.append(server)
        return server

    yield make
    for server in running:
        server.stop()


@pytest.fixture
def server(make_server: ServerFactory) -> RunningServer:
    return make_server(voice_wait=10.0)


@pytest.fixture
def voice(cosyvoice_emulator: RunningEmulator, home: Path) -> str:  # noqa: F811
    """An OK voice (prefix ``myvoice``) on the emulator and in the registry."""
    return register_voice(cosyvoice_emulator, home, prefix="myvoice")


def openai_client(server: RunningServer, key: str = "unused", **kwargs: Any) -> Any:
    import openai

    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0, **kwargs)


@pytest.fixture
def access_lines(caplog: pytest.LogCaptureFixture) -> Callable[..., list[str]]:
    """The access-log lines written so far."""
    caplog.set_level(logging.INFO, logger="cosyvoice_clone.server.access")

    def lines(wait_for: str | None = None) -> list[str]:
        """The lines; with ``wait_for``, first wait (up to 10 s) for one containing it (a
        streamed answer's line is written once the stream is over)."""
        deadline = time.monotonic() + 10
        while True:
            found = [r.getMessage() for r in caplog.records
                     if r.name == "cosyvoice_clone.server.access"]  # fmt: skip
            if wait_for is None or any(wait_for in line for line in found):
                return found
            assert time.monotonic() < deadline, f"no access line with {wait_for!r}"
            time.sleep(0.01)

    return lines
