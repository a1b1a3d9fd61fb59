"""The inference WebSocket is mounted with and without a trailing slash, behind the key."""

from __future__ import annotations

import io

import pytest
import soundfile as sf
from emulator_helpers import action
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cosyvoice_clone.emulator.server import RunningEmulator


def test_sdk_call_on_both_paths(cosyvoice_emulator: RunningEmulator) -> None:
    import dashscope
    from dashscope.audio.tts_v2 import AudioFormat, SpeechSynthesizer

    voice = action(
        cosyvoice_emulator,
        "create_voice",
        target_model="cosyvoice-v2",
        prefix="ws",
        url=cosyvoice_emulator.sample_url(),
    ).json()["output"]["voice_id"]
    dashscope.api_key = cosyvoice_emulator.api_key
    try:
        for url in (cosyvoice_emulator.websocket_url, cosyvoice_emulator.websocket_url + "/"):
            synthesizer = SpeechSynthesizer(
                model="cosyvoice-v2",
                voice=voice,
                url=url,
                format=AudioFormat.WAV_16000HZ_MONO_16BIT,
            )
            audio = synthesizer.call("Hello from both paths.")
            assert audio and sf.info(io.BytesIO(audio)).samplerate == 16000
    finally:
        dashscope.api_key = None


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_handshake_refused_without_a_valid_key(
    cosyvoice_emulator: RunningEmulator, key: str | None
) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with pytest.raises(InvalidStatus) as info:
        connect(cosyvoice_emulator.websocket_url, additional_headers=headers, open_timeout=5)
    assert info.value.response.status_code in (401, 403)
    assert action(cosyvoice_emulator, "list_voice").status_code == 200
