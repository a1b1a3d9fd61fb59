"""pytest plugin (entry point ``pytest11``): the ``cosyvoice_emulator`` fixture.

Kept import-light: pytest loads it in every session where cosyvoice-clone is installed, so the
emulator itself is imported only when a test asks for the fixture.

One emulator (in-memory state, loopback, free port) serves the whole session; each test that
uses ``cosyvoice_emulator`` gets it freshly reset (no voices, no uploads, default settings:
deploy delay 0, no latency, rtf 0, no faults, region cn-beijing, and rate limits OFF so that
timing never makes a test flaky; turn them on with ``set_rate_limits(True)`` to test throttling)::

    def test_clone(cosyvoice_emulator):
        from dashscope.audio.tts_v2 import VoiceEnrollmentService

        service = VoiceEnrollmentService(
            api_key=cosyvoice_emulator.api_key, base_address=cosyvoice_emulator.http_base
        )
        voice_id = service.create_voice(
            "cosyvoice-v2", "demo", cosyvoice_emulator.sample_url()
        )
        cosyvoice_emulator.set_faults(http503=0.5)

System voices of the catalog (``catalog.system_voices()``, e.g. ``longxiaochun_v2`` on
cosyvoice-v2, ``longanyang`` on cosyvoice-v3-flash) speak without cloning; what clients sent is
in ``backend.recorded()``.

The fixture value is a :class:`cosyvoice_clone.emulator.server.RunningEmulator`: ``http_base``,
``websocket_url``, ``api_key``, ``backend``, ``env()``, ``sample_url()``, ``set_faults()``,
``set_deploy_delay()``, ``set_latency()``, ``set_rtf()``, ``set_rate_limits()``,
``set_quota()``, ``set_region()``, ``configure(**settings)``, ``settle(voice_id=None,
status="OK")`` (end deployment now, or reject with ``status="UNDEPLOYED"``), ``reset()``.
Use ``cosyvoice_emulator_env`` to also export ``DASHSCOPE_*`` variables pointing at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .server import RunningEmulator


@pytest.fixture(scope="session")
def cosyvoice_emulator_server() -> Iterator[RunningEmulator]:
    """The session's emulator, not reset between tests (prefer ``cosyvoice_emulator``)."""
    from .backend import Backend, EmulatorConfig
    from .server import start_server

    running = start_server(Backend(EmulatorConfig(rate_limits=False)))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def cosyvoice_emulator(cosyvoice_emulator_server: RunningEmulator) -> Iterator[RunningEmulator]:
    """A freshly reset offline DashScope emulator on 127.0.0.1 (URLs, key and knobs)."""
    cosyvoice_emulator_server.reset()
    yield cosyvoice_emulator_server
    cosyvoice_emulator_server.reset()


@pytest.fixture
def cosyvoice_emulator_env(
    cosyvoice_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> RunningEmulator:
    """``cosyvoice_emulator`` with ``DASHSCOPE_*`` variables pointing at it for the test.

    The official SDK reads those variables once, when ``dashscope`` is imported; a test file
    usually imports it first. So when it is imported already, its module-level settings
    (``base_http_api_url``, ``base_websocket_api_url``, ``api_key``) are pointed here too, and
    ``api_key_file_path`` is cleared: nothing the test does with the SDK can reach the real
    service or use a real key from the environment.
    """
    import sys

    env = cosyvoice_emulator.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DASHSCOPE_API_KEY_FILE_PATH", raising=False)
    sdk = sys.modules.get("dashscope")
    if sdk is not None:
        monkeypatch.setattr(sdk, "base_http_api_url", env["DASHSCOPE_HTTP_BASE_URL"], raising=False)
        monkeypatch.setattr(
            sdk, "base_websocket_api_url", env["DASHSCOPE_WEBSOCKET_BASE_URL"], raising=False
        )
        monkeypatch.setattr(sdk, "api_key", env["DASHSCOPE_API_KEY"], raising=False)
        monkeypatch.setattr(sdk, "api_key_file_path", None, raising=False)
    return cosyvoice_emulator
