"""`cosyvoice_emulator_env` as a user's test uses it: `dashscope` imported at the top of the file,
no URLs passed to the SDK. Every call must land on the emulator, never on the real service."""

from __future__ import annotations

from typing import Any

import dashscope
import pytest
from dashscope.audio.tts_v2 import SpeechSynthesizer, VoiceEnrollmentService


def test_sdk_imported_first_still_talks_to_the_emulator(
    cosyvoice_emulator_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = cosyvoice_emulator_env
    assert dashscope.base_http_api_url == emulator.http_base
    assert dashscope.base_websocket_api_url == emulator.websocket_url
    assert dashscope.api_key == emulator.api_key

    service = VoiceEnrollmentService()  # no base_address, no api_key: module settings only
    voice_id = service.create_voice("cosyvoice-v2", "envfix", emulator.sample_url())
    assert emulator.backend.voice(voice_id) is not None  # it really reached the emulator
    emulator.settle()

    audio = SpeechSynthesizer(model="cosyvoice-v2", voice=voice_id).call("Hello there.")
    assert isinstance(audio, bytes) and len(audio) > 1000
