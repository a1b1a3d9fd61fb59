"""``cv.design`` through the library (sync and async) against the emulator on loopback."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from cosyvoice_clone import AsyncCosyVoice, CosyVoice, audio, catalog
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import InvalidRequestError
from cosyvoice_clone.registry import split_voice_id
from cosyvoice_clone.request import normalize_design_request

PROMPT = "沉稳的中年男性播音员，低沉有磁性，语速平稳"


def client(emulator: RunningEmulator, **kwargs: Any) -> CosyVoice:
    return CosyVoice(
        api_key=emulator.api_key,
        http_base=emulator.http_base,
        websocket_url=emulator.websocket_url,
        **kwargs,
    )


def enrollment_posts(emulator: RunningEmulator) -> int:
    return len(emulator.backend.recorded("enrollment").get("enrollment", []))


def test_design_preview_query_list_speak_delete(
    cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    with client(
        cosyvoice_emulator, evidence=True, output_dir=tmp_path / "out" / catalog.SKILL_NAME
    ) as cv:
        result = cv.design(
            prefix="anchor", prompt=PROMPT, preview_text="各位听众，晚上好。", wait=True
        )
        assert result.voice_id.startswith("cosyvoice-v3.5-plus-vd-anchor-")
        assert result.status == catalog.VoiceStatus.OK and result.language == "zh"
        assert result.preview is not None
        info = sf.info(io.BytesIO(result.preview))
        assert (info.samplerate, result.preview_format) == (24000, "wav") and info.duration > 1
        assert Path(result.preview_path or "").read_bytes() == result.preview
        pitch = audio.voice_pitch_hz(result.preview)
        assert pitch is not None and pitch < 140  # "低沉" and "男性": a low voice
        data = result.to_dict()
        assert data["designed"] and data["preview"]["bytes"] == len(result.preview)

        evidence_dir = tmp_path / "out" / catalog.DESIGN_SKILL_NAME
        voice_dir = evidence_dir / "voices" / result.voice_id
        evidence = (voice_dir / "evidence.json").read_text(encoding="utf-8")
        assert PROMPT in evidence and "各位听众" in evidence
        kept = evidence_dir / "voices" / result.voice_id / "preview.wav"
        assert kept.read_bytes() == result.preview

        shown = cv.voices.show("anchor")  # a registered prefix, like a clone's
        assert shown.voice_id == result.voice_id and shown.designed
        assert shown.voice_prompt == PROMPT and shown.registered and shown.origin == "designed"
        listed = cv.voices.list()
        assert [(v.voice_id, v.designed) for v in listed] == [(result.voice_id, True)]
        assert split_voice_id(result.voice_id) == ("cosyvoice-v3.5-plus", "anchor")

        spoken = cv.speak("各位听众，晚上好。", tmp_path / "news.wav", voice="anchor")
        assert spoken.voice == result.voice_id and spoken.model == "cosyvoice-v3.5-plus"
        assert sf.info(str(tmp_path / "news.wav")).duration > 0.5

        cv.voices.delete("anchor")
        assert cosyvoice_emulator.backend.voice(result.voice_id) is None


def test_identical_design_is_reused_with_its_preview(cosyvoice_emulator: RunningEmulator) -> None:
    with client(cosyvoice_emulator) as cv:
        first = cv.design(prefix="kid", prompt="A cheerful little girl, fast and high")
        posts = enrollment_posts(cosyvoice_emulator)
        again = cv.design(prefix="kid", prompt="A cheerful little girl, fast and high")
        assert again.reused and again.voice_id == first.voice_id and again.usage_count == 0
        assert again.preview == first.preview and again.original_request_id == first.request_id
        assert enrollment_posts(cosyvoice_emulator) == posts + 1  # one query_voice, no create
        other = cv.design(prefix="kid", prompt="A cheerful little girl, slow")
        forced = cv.design(prefix="kid", prompt="A cheerful little girl, fast and high", force=True)
        assert len({first.voice_id, other.voice_id, forced.voice_id}) == 3
    assert cosyvoice_emulator.backend.voice_count() == 3


def test_ambiguous_failure_is_reconciled_not_duplicated(
    cosyvoice_emulator: RunningEmulator,
) -> None:
    cosyvoice_emulator.set_faults(drop_after_commit=1.0)  # created, then the answer is lost
    with client(cosyvoice_emulator) as cv:
        result = cv.design(prefix="lost", prompt="A calm female narrator")
        assert result.adopted and result.preview is None
        assert any("no preview" in w for w in result.warnings)
        assert cosyvoice_emulator.backend.voice_count() == 1
        assert cv.voices.show("lost").origin == "designed"


async def test_async_client_designs_and_speaks(
    cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    async with AsyncCosyVoice(
        api_key=cosyvoice_emulator.api_key,
        http_base=cosyvoice_emulator.http_base,
        websocket_url=cosyvoice_emulator.websocket_url,
    ) as cv:
        result = await cv.design(
            prefix="host", prompt="A bright young female host", target_model="cosyvoice-v3-flash",
            response_format="mp3", sample_rate=16000, wait=True,
        )  # fmt: skip
        assert result.target_model == "cosyvoice-v3-flash" and result.preview is not None
        assert sf.info(io.BytesIO(result.preview)).samplerate == 16000
        spoken = await cv.speak("Hello there.", tmp_path / "hi.wav", voice=result.voice_id)
        assert spoken.model == "cosyvoice-v3-flash"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"prompt": ""}, "voice_prompt"),
        ({"prompt": "x" * 501}, "voice_prompt"),
        ({"prompt": "Низкий голос"}, "voice_prompt"),
        ({"preview_text": "y" * 201}, "preview_text"),
        ({"preview_text": "안녕하세요"}, "preview_text"),
        ({"language": "ja"}, "language_hints"),
        ({"target_model": "cosyvoice-v2"}, "target_model"),
        ({"prefix": "has space"}, "prefix"),
        ({"sample_rate": 11025}, "sample_rate"),
        ({"response_format": "flac"}, "response_format"),
    ],
)
def test_invalid_design_is_refused_before_sending(
    cosyvoice_emulator: RunningEmulator, fields: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"prefix": "ok", "prompt": "A calm voice", **fields}
    with client(cosyvoice_emulator) as cv, pytest.raises(InvalidRequestError) as info:
        cv.design(**args)
    assert info.value.field == field
    assert enrollment_posts(cosyvoice_emulator) == 0


def test_region_rule_refuses_singapore_before_sending(cosyvoice_emulator: RunningEmulator) -> None:
    with client(cosyvoice_emulator, region="ap-southeast-1") as cv:
        for model in catalog.DESIGN_MODELS:
            with pytest.raises(InvalidRequestError, match="not available in ap-southeast-1"):
                cv.design(prefix="sg", prompt="A calm voice", target_model=model)
    assert enrollment_posts(cosyvoice_emulator) == 0


def test_request_defaults_and_wire_payload() -> None:
    request = normalize_design_request(prefix="a1", voice_prompt="A calm male voice")
    assert request.language_hints == ("en",)
    assert request.preview_text == catalog.DEFAULT_PREVIEW_TEXTS["en"]
    assert request.to_payload() == {
        "model": "voice-enrollment",
        "input": {
            "action": "create_voice",
            "target_model": "cosyvoice-v3.5-plus",
            "voice_prompt": "A calm male voice",
            "preview_text": catalog.DEFAULT_PREVIEW_TEXTS["en"],
            "prefix": "a1",
            "language_hints": ["en"],
        },
        "parameters": {"sample_rate": 24000, "response_format": "wav"},
    }
    mismatch = normalize_design_request(
        prefix="a1", voice_prompt="calm", preview_text="你好", language_hints=["en"]
    )
    assert any("should match the preview text" in w for w in mismatch.warnings)
