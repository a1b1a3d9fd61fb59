"""Issue 28: the doors' schemas list what the catalog now knows (their enums come from it)."""

from __future__ import annotations

from cosyvoice_clone import catalog
from cosyvoice_clone.mcp import schemas

QWEN_AUDIO = [m for m in catalog.SYNTHESIS_MODELS if m.startswith("qwen-audio")]


def test_mcp_synthesize_and_system_voices_offer_the_qwen_audio_models() -> None:
    for schema in (schemas.SYNTHESIZE_INPUT, schemas.LIST_SYSTEM_VOICES_INPUT):
        enum = schema["properties"]["model"]["enum"]
        assert set(QWEN_AUDIO) <= set(enum) and "cosyvoice-v1" in enum


def test_mcp_clone_offers_the_new_targets_and_not_the_31_models() -> None:
    enum = schemas.VOICE_CLONE_INPUT["properties"]["target_model"]["enum"]
    assert {"cosyvoice-v1", "qwen-audio-3.0-tts-flash", "qwen-audio-3.0-tts-plus"} <= set(enum)
    assert "qwen-audio-3.1-tts-flash" not in enum
