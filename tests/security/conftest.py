"""Fixtures of the local-safety tests: protected servers over the emulator, the emulator's
state before and after an attack, and Debian's Chromium (as tests/studio launches it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.server.server_helpers import emulator_settings, home, register_voice  # noqa: F401

from cosyvoice_clone.client import AsyncCosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.server import RunningServer, ServerConfig, create_app, start_server
from cosyvoice_clone.server.security import Protection, default_protection

ProtectedFactory = Callable[..., RunningServer]


@pytest.fixture
def voice(cosyvoice_emulator: RunningEmulator, home: Path) -> str:  # noqa: F811
    """An OK voice (prefix ``myvoice``) on the emulator and in the registry."""
    return register_voice(cosyvoice_emulator, home, prefix="myvoice")


@pytest.fixture
def protected(cosyvoice_emulator: RunningEmulator, home: Path) -> Iterator[ProtectedFactory]:  # noqa: F811
    """Start a server with the given protection options (``Protection`` fields, plus
    ``api_keys``, ``settings`` to replace the emulator's and ``host`` to bind)."""
    running: list[RunningServer] = []

    def make(
        *,
        api_keys: tuple[str, ...] = (),
        settings: Any = None,
        host: str = "127.0.0.1",
        **options: Any,
    ) -> RunningServer:
        settings = settings or emulator_settings(cosyvoice_emulator, home)
        client = AsyncCosyVoice(settings=settings)
        protection = default_protection(settings, api_keys, bound_host=host, **options)
        config = ServerConfig(api_keys=api_keys, aliases={"alloy": "myvoice"})
        app = create_app(client, config, protection)
        server = start_server(app, host=host)
        server.app = app  # type: ignore[attr-defined]
        server.protection = protection  # type: ignore[attr-defined]
        running.append(server)
        return server

    yield make
    for server in running:
        server.stop()


def root(server: RunningServer) -> str:
    return server.base_url.removesuffix("/v1")


def token(server: RunningServer) -> str:
    """The studio's launch token, read from the page as the page's own script reads it."""
    import re

    page = httpx.get(root(server) + "/", timeout=10).text
    found = re.search(r'<meta name="cosyvoice-studio-token" content="([^"]+)">', page)
    assert found, "the page carries no token"
    return found.group(1)


def emulator_state(emulator: RunningEmulator) -> dict[str, Any]:
    """What an attack could change on the service: voices, uploads, every counted or recorded
    request (synthesis tasks included)."""
    snap = emulator.backend.snapshot()
    recorded = emulator.backend.recorded()
    return {
        "voices": snap["voices"],
        "voices_by_status": snap["voices_by_status"],
        "uploads": snap["uploads"],
        "counters": snap["counters"],
        "requests": {k: len(v) for k, v in recorded.items()},
    }


__all__ = ["Protection", "emulator_state", "root", "token"]
