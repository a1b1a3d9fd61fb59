"""`serve --warm N`: the server opens N synthesis connections when it starts, and its speech
requests use them (no handshake on the first request)."""

from __future__ import annotations

import httpx
from tests.network.helpers import VOICE, eventually, last_id, since

from cosyvoice_clone import AsyncCosyVoice
from cosyvoice_clone.cli.serve import warm_on_start
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.server import ServerConfig, create_app, start_server


def test_the_server_warms_its_connections_at_start(
    cosyvoice_emulator_env: RunningEmulator,
) -> None:
    emulator = cosyvoice_emulator_env
    start = last_id(emulator)
    client = AsyncCosyVoice(warm=2)
    app = create_app(client, ServerConfig())
    warm_on_start(app, client)
    server = start_server(app)
    try:
        opened = since(emulator, start)
        assert len(opened) == 2 and all(c["tasks"] == 0 and not c["closed_at"] for c in opened)
        for i in range(3):
            response = httpx.post(
                f"{server.base_url}/audio/speech",
                json={"model": "tts-1", "input": f"Hello number {i}.", "voice": VOICE,
                      "response_format": "pcm"},
                timeout=30,
            )  # fmt: skip
            assert response.status_code == 200 and len(response.content) > 10_000
        assert len(since(emulator, start)) == 2  # no handshake for any request
        assert sum(c["tasks"] for c in since(emulator, start)) == 3
    finally:
        server.stop()
    assert eventually(lambda: all(c["closed_at"] for c in since(emulator, start)))


def test_serve_warm_is_an_option(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("serve", "--warm", "-1")
    assert result.exit_code != 0 and "--warm" in result.stderr
