"""Issue 28: cloning to a Qwen-Audio-TTS target where the rows allow it; the notice of a disputed
row (sent, the emulator answers); the catalog and the emulator agreeing on every row."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import pytest
import soundfile as sf
from tests.facts.facts_helpers import Run

from cosyvoice_clone import catalog
from cosyvoice_clone.client import CosyVoice
from cosyvoice_clone.config import Settings
from cosyvoice_clone.emulator.exceptions import ApiError
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import CosyVoiceCloneError, ModelMismatchError
from cosyvoice_clone.request import RegionRuleWarning

REFERENCE = Path(str(files("cosyvoice_clone") / "data" / "reference_en.wav"))
QA_FLASH = "qwen-audio-3.0-tts-flash"
TEXT = "A cloned Qwen-Audio-TTS voice speaks."


def client_in(emulator: RunningEmulator, home: Path, region: str) -> CosyVoice:
    emulator.set_region(region)
    settings = Settings.resolve(api_key=emulator.api_key, http_base=emulator.http_base,
                                websocket_url=emulator.websocket_url, home=home,
                                region=region)  # fmt: skip
    return CosyVoice(settings=settings)


def creates(emulator: RunningEmulator) -> list[dict[str, object]]:
    return [
        e["body"]["input"]
        for e in emulator.backend.recorded("enrollment").get("enrollment", [])
        if isinstance(e.get("body"), dict)
        and e["body"].get("input", {}).get("action") == "create_voice"
    ]


def test_clone_to_qwen_audio_flash_in_beijing_then_speak_it_with_its_model_only(
    cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    with client_in(cosyvoice_emulator, tmp_path / "home", "cn-beijing") as client:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RegionRuleWarning)  # a documented row: no notice
            result = client.clone(prefix="qaflash", sample=REFERENCE, target_model=QA_FLASH,
                                  wait=True, timeout=30)  # fmt: skip
        assert result.voice_id.startswith(f"{QA_FLASH}-qaflash-")
        assert str(result.status) == "OK"
        client.speak(TEXT, tmp_path / "clone.wav", voice=result.voice_id)
        with pytest.raises(ModelMismatchError):
            client.speak(TEXT, tmp_path / "other.wav", voice=result.voice_id,
                         model="qwen-audio-3.0-tts-plus")  # fmt: skip
    assert sf.info(tmp_path / "clone.wav").duration > 1.0
    assert not (tmp_path / "other.wav").exists()
    stored = cosyvoice_emulator.backend.voice(result.voice_id)
    assert stored is not None and stored.target_model == QA_FLASH
    assert [c["target_model"] for c in creates(cosyvoice_emulator)] == [QA_FLASH]


@pytest.mark.parametrize("model", [QA_FLASH, "cosyvoice-v3-flash"])
def test_a_disputed_row_is_sent_with_a_notice_and_the_service_decides(
    cosyvoice_emulator: RunningEmulator, tmp_path: Path, model: str
) -> None:
    with (
        client_in(cosyvoice_emulator, tmp_path / "home", "ap-southeast-1") as client,
        pytest.warns(RegionRuleWarning, match=f"{model} in ap-southeast-1"),
        pytest.raises(CosyVoiceCloneError) as info,
    ):
        client.clone(prefix="sg", sample=REFERENCE, target_model=model)
    assert "ap-southeast-1" in str(info.value)
    assert [c["target_model"] for c in creates(cosyvoice_emulator)] == [model]  # it was sent
    assert cosyvoice_emulator.backend.voice_count() == 0


def test_a_disputed_row_the_emulator_accepts_clones_after_one_notice(
    cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    assert catalog.clone_rule("cosyvoice-v2", "ap-southeast-1").emulated
    with (
        client_in(cosyvoice_emulator, tmp_path / "home", "ap-southeast-1") as client,
        pytest.warns(RegionRuleWarning, match="cosyvoice-v2 in ap-southeast-1") as caught,
    ):
        result = client.clone(prefix="sgv2", sample=REFERENCE, target_model="cosyvoice-v2")
    assert len([w for w in caught if issubclass(w.category, RegionRuleWarning)]) == 1
    assert result.voice_id.startswith("cosyvoice-v2-sgv2-")
    assert any(w.startswith("region rule:") for w in result.warnings)
    assert cosyvoice_emulator.backend.voice(result.voice_id) is not None


def test_cli_disputed_row_one_notice_one_error_and_the_request_sent(
    cli: Callable[..., Run], cosyvoice_emulator_env: RunningEmulator
) -> None:
    cosyvoice_emulator_env.set_region("ap-southeast-1")
    result = cli("--region", "ap-southeast-1", "clone", "--prefix", "sgqa", "--sample",
                 str(REFERENCE), "--target-model", QA_FLASH, "--no-wait")  # fmt: skip
    assert result.code != 0
    lines = [line for line in result.err.splitlines() if line.strip()]
    notices = [line for line in lines if line.startswith("warning: region rule:")]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(notices) == 1 and QA_FLASH in notices[0]
    assert len(errors) == 1 and "Traceback" not in result.err
    assert [c["target_model"] for c in creates(cosyvoice_emulator_env)] == [QA_FLASH]


REGIONS = ("cn-beijing", "ap-southeast-1", "us-east-1")


@pytest.mark.parametrize("region", REGIONS)
def test_the_emulator_answers_every_row_as_the_catalog_says(
    cosyvoice_emulator: RunningEmulator, region: str
) -> None:
    backend = cosyvoice_emulator.backend
    backend.config.update({"region": region})
    for model in catalog.TARGET_MODELS:
        verdict = catalog.clone_rule(model, region).verdict
        rule = catalog.clone_rule(model, region)
        if verdict is catalog.CloneVerdict.YES or rule.emulated:
            assert backend.check_clone_request(model, "demo")[0] == model
        else:  # NO: never sent by the client; DISPUTED: sent, the row's answer is a refusal
            with pytest.raises(ApiError, match=f"not supported in region {region}"):
                backend.check_clone_request(model, "demo")
    assert backend.voice_count() == 0


def test_the_region_refusal_is_one_short_line_and_its_citation_is_in_json(
    cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-fake-for-a-local-refusal")
    args = ("--region", "us-east-1", "clone", "--prefix", "x", "--sample",
            "https://example.com/a.wav", "--target-model", "cosyvoice-v3.5-plus")  # fmt: skip
    plain = cli(*args)
    assert plain.code == 2
    (line,) = [line for line in plain.err.splitlines() if line.strip()]
    assert len(line) < 260, line
    as_json = cli("--json", *args)
    error = json.loads(as_json.out)["error"]
    assert "cosyvoice-clone-design-api" in json.dumps(error)


def test_the_disputed_notice_is_one_short_line(cli: Callable[..., Run], tmp_path: Path) -> None:
    out = tmp_path / "request.json"
    result = cli("--region", "ap-southeast-1", "prepare", "--target-model", "cosyvoice-v2",
                 "--prefix", "sg", "--voice-sample-url", "https://example.com/a.wav",
                 "--output", str(out))  # fmt: skip
    assert result.code == 0 and out.exists(), result.err
    (notice,) = [line for line in result.err.splitlines() if "region rule:" in line]
    assert len(notice) < 200, notice
