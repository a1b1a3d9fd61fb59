"""Issue 28: the catalog's rows as the pages of December 2026 say (each with its source)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.facts.facts_helpers import Run

from cosyvoice_clone import catalog
from cosyvoice_clone.catalog import CloneVerdict
from cosyvoice_clone.errors import InvalidRequestError
from cosyvoice_clone.request import RegionRuleWarning, normalize_clone_request

URL = "https://example.com/voice.wav"
QA_FLASH = "qwen-audio-3.0-tts-flash"
QA_PLUS = "qwen-audio-3.0-tts-plus"


def test_cosyvoice_v2_in_singapore_is_now_disputed_with_the_newest_guide_as_source() -> None:
    rule = catalog.clone_rule("cosyvoice-v2", "ap-southeast-1")
    assert rule.verdict is CloneVerdict.DISPUTED
    assert rule.fact.date == "2026-12"
    assert "voice-cloning-user-guide" in rule.fact.source
    assert "text-to-speech" in rule.fact.source  # Singapore lists no v2 synthesis
    assert "v3 series only" in rule.fact.text
    # never refused locally: sent with one notice
    with pytest.warns(RegionRuleWarning, match="cosyvoice-v2 in ap-southeast-1"):
        request = normalize_clone_request(
            prefix="sg", voice_sample_url=URL, target_model="cosyvoice-v2", region="ap-southeast-1"
        )
    assert request.to_payload()["input"]["target_model"] == "cosyvoice-v2"


def test_v3_in_singapore_stays_disputed_and_v35_stays_beijing_only() -> None:
    for model in ("cosyvoice-v3-plus", "cosyvoice-v3-flash"):
        rule = catalog.clone_rule(model, "ap-southeast-1")
        assert rule.verdict is CloneVerdict.DISPUTED and rule.fact.date == "2026-12"
        assert "voice-cloning-user-guide" in rule.fact.source
    for model in ("cosyvoice-v3.5-plus", "cosyvoice-v3.5-flash"):
        for region in catalog.REGIONS:
            expected = CloneVerdict.YES if region == "cn-beijing" else CloneVerdict.NO
            assert catalog.clone_rule(model, region).verdict is expected


def test_cosyvoice_v1_is_a_beijing_clone_target() -> None:
    assert "cosyvoice-v1" in catalog.TARGET_MODELS
    assert catalog.clone_rule("cosyvoice-v1", "cn-beijing").verdict is CloneVerdict.YES
    assert "cosyvoice-v1" in catalog.clone_models_in("cn-beijing")
    assert "cosyvoice-v1" in catalog.clone_rule("cosyvoice-v1", "cn-beijing").fact.source
    # elsewhere no page says: sent with a notice, not refused
    assert catalog.clone_rule("cosyvoice-v1", "ap-southeast-1").verdict is CloneVerdict.DISPUTED
    assert catalog.model_from_voice_id("cosyvoice-v1-abc-" + "0" * 32) == "cosyvoice-v1"
    # its system voices still speak with it
    assert {v.name for v in catalog.system_voices("cosyvoice-v1")} >= {"longxiaochun"}


def test_qwen_audio_targets_follow_the_pages() -> None:
    assert catalog.clone_rule(QA_FLASH, "cn-beijing").verdict is CloneVerdict.YES
    assert catalog.clone_rule(QA_FLASH, "ap-southeast-1").verdict is CloneVerdict.DISPUTED
    for region in catalog.REGIONS:  # the overview contradicts itself: the service decides
        assert catalog.clone_rule(QA_PLUS, region).verdict is CloneVerdict.DISPUTED
    for name in (QA_FLASH, QA_PLUS):
        target = catalog.target_model(name)
        assert target.family == "qwen-audio" and target.note
        assert not target.languages_checked  # no page lists their hints: passed unchecked
    # no page read names the 3.1 models as clone targets: synthesis only
    for name in ("qwen-audio-3.1-tts-flash", "qwen-audio-3.1-tts-plus"):
        assert name not in catalog.TARGET_MODELS and name in catalog.synthesis_models()
    assert catalog.DEFAULT_TARGET_MODEL == "cosyvoice-v3.5-plus"


def test_unchecked_language_hints_are_sent_as_given() -> None:
    request = normalize_clone_request(
        prefix="qa", voice_sample_url=URL, target_model=QA_FLASH, language_hints=["yue"]
    )
    assert request.to_payload()["input"]["language_hints"] == ["yue"]
    assert list(catalog.target_model(QA_FLASH).language_hints) == []  # nothing to list


def test_every_clone_rule_and_target_is_sourced_and_dated() -> None:
    for rule in catalog.CLONE_RULES:
        assert rule.model in catalog.TARGET_MODELS
        assert rule.fact.source and rule.fact.date[:4].isdigit()
        if rule.model.startswith("qwen-audio") or rule.region == "ap-southeast-1":
            assert rule.fact.date == "2026-12"


def test_qwen_audio_models_are_synthesis_models_with_their_facts() -> None:
    names = [m for m in catalog.SYNTHESIS_MODELS if m.startswith("qwen-audio")]
    assert names == [QA_FLASH, QA_PLUS, "qwen-audio-3.1-tts-flash", "qwen-audio-3.1-tts-plus"]
    assert set(catalog.synthesis_models()) == set(catalog.SYNTHESIS_MODELS)
    for name in names:
        model = catalog.synthesis_model(name)
        assert model.family == "qwen-audio" and model.source and model.source_date == "2026-12"
        assert catalog.http_synthesis_regions(name) == ("ap-southeast-1", "cn-beijing")
        assert name in catalog.INSTRUCTION_MODELS
    assert catalog.synthesis_model("qwen-audio-3.1-tts-plus").note  # unconfirmed, marked
    assert catalog.http_synthesis_regions("cosyvoice-v3-flash") == ("cn-beijing",)
    assert catalog.check_model(QA_FLASH) == QA_FLASH
    # the same formats and rates (the Qwen-Audio-TTS client events page)
    fact = catalog.QWEN_AUDIO_PARAMS_FACT
    for value in (*catalog.AUDIO_FORMATS, *map(str, catalog.SAMPLE_RATES)):
        assert value in fact.text
    assert catalog.DEFAULT_SAMPLE_RATE == 22050


def test_qwen_audio_system_voices_as_the_voice_list_marks_them() -> None:
    flash = {v.name for v in catalog.system_voices(QA_FLASH)}
    assert {"longanfengyue", "longanyuanfei", "longanlingxi", "longanxiaoxin"} <= flash
    plus = catalog.system_voices(QA_PLUS)
    assert [v.name for v in plus] == ["longanlingxin", "longanlufeng"]
    for voice in plus:
        assert voice.default_model == QA_PLUS and voice.note  # flash use: inferred, marked
    voice = catalog.SYSTEM_VOICES["longanfengyue"]
    assert (voice.ssml, voice.instruct, voice.timestamps) == (False, True, False)
    assert voice.regions == ("cn-beijing", "ap-southeast-1")
    assert voice.source == catalog.QWEN_AUDIO_VOICE_LIST_PAGE and voice.source_date == "2026-07-15"
    assert voice.to_dict()["instruct"] is True
    v31 = catalog.SYSTEM_VOICES["longanhuan_v3.1"]
    assert v31.models == ("qwen-audio-3.1-tts-flash",) and "inferred" in (v31.note or "")
    for v in catalog.SYSTEM_VOICES.values():
        assert set(v.models) <= set(catalog.SYNTHESIS_MODELS), v.name


def test_voice_notices_for_options_a_voice_is_marked_without() -> None:
    notices = catalog.voice_notices("longanfengyue", ssml=True, instruction="warm", timestamps=True)
    assert len(notices) == 2  # SSML and timestamps: not supported; instruction: supported
    assert all("\n" not in n and len(n) < 160 for n in notices)
    assert any("SSML" in n for n in notices) and any("timestamps" in n for n in notices)
    assert catalog.voice_notices("longanyang", ssml=True) == []  # the list says nothing


def test_region_wording_is_one_short_line_and_the_citation_is_apart() -> None:
    refused = catalog.clone_rule("cosyvoice-v3.5-plus", "us-east-1")
    line = catalog.region_refusal(refused.model, refused.region)
    assert "\n" not in line and len(line) < 260 and "docs/protocol.md" in line
    assert refused.fact.source not in line
    notice = catalog.region_notice(catalog.clone_rule("cosyvoice-v2", "ap-southeast-1"))
    assert notice.startswith("region rule:") and len(notice) < 160
    cited = catalog.citation(catalog.clone_rule("cosyvoice-v2", "ap-southeast-1"))
    assert "voice-cloning-user-guide" in cited["source"] and cited["date"] == "2026-12"


def test_math_reading_is_automatic_and_documented() -> None:
    fact = catalog.MATH_FACT
    assert "automatically" in fact.text and "no parameter" in fact.text
    assert "latex-capability-support-description" in fact.source
    reading = [m for m, info in catalog.SYNTHESIS_MODELS.items() if info.math]
    assert reading == ["cosyvoice-v3-plus", "cosyvoice-v3-flash", "cosyvoice-v2"]


def test_what_every_source_agrees_on_is_still_refused_locally() -> None:
    with pytest.raises(InvalidRequestError) as info:
        normalize_clone_request(
            prefix="x", voice_sample_url=URL, target_model="cosyvoice-v3.5-plus", region="us-east-1"
        )
    assert info.value.field == "target_model"


NEW_DISPUTED = [
    ("cosyvoice-v2", "ap-southeast-1"),
    (QA_FLASH, "ap-southeast-1"),
    (QA_PLUS, "cn-beijing"),
    (QA_PLUS, "ap-southeast-1"),
    ("cosyvoice-v1", "ap-southeast-1"),
    (QA_FLASH, "us-east-1"),
]


@pytest.mark.parametrize(("model", "region"), NEW_DISPUTED)
def test_every_new_disputed_row_is_sent_with_one_notice_library(model: str, region: str) -> None:
    assert catalog.clone_rule(model, region).verdict is CloneVerdict.DISPUTED
    with pytest.warns(RegionRuleWarning) as caught:
        request = normalize_clone_request(
            prefix="d", voice_sample_url=URL, target_model=model, region=region
        )
    assert len(caught) == 1 and model in str(caught[0].message) and region in str(caught[0].message)
    assert request.to_payload()["input"]["target_model"] == model
    assert [w for w in request.warnings if w.startswith("region rule:")] == [str(caught[0].message)]


@pytest.mark.parametrize(("model", "region"), NEW_DISPUTED)
def test_every_new_disputed_row_is_sent_with_one_notice_cli(
    cli: Callable[..., Run], tmp_path: Path, model: str, region: str
) -> None:
    out = tmp_path / "request.json"
    result = cli("--region", region, "prepare", "--target-model", model, "--prefix", "d",
                 "--voice-sample-url", URL, "--output", str(out))  # fmt: skip
    assert result.code == 0, result.err
    notices = [line for line in result.err.splitlines() if "region rule:" in line]
    assert len(notices) == 1 and model in notices[0]
    assert json.loads(out.read_text())["input"]["target_model"] == model
