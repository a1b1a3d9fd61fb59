"""The normalized clone request: every validation rule, normalization, wire payload, response."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cosyvoice_clone import catalog
from cosyvoice_clone.errors import InvalidRequestError
from cosyvoice_clone.request import (
    CloneResponse,
    RegionRuleWarning,
    clone_request_from_dict,
    normalize_clone_options,
    normalize_clone_request,
)

URL = "https://example.com/voice.wav"


def make(**kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("prefix", "myvoice")
    kw.setdefault("voice_sample_url", URL)
    return normalize_clone_request(**kw)  # type: ignore[arg-type]


def test_minimal_request_defaults_and_payload() -> None:
    req = make()
    assert req.target_model == "cosyvoice-v3.5-plus"
    assert req.model == "voice-enrollment"
    assert req.to_payload() == {
        "model": "voice-enrollment",
        "input": {
            "action": "create_voice",
            "target_model": "cosyvoice-v3.5-plus",
            "prefix": "myvoice",
            "url": URL,
        },
    }
    assert req.to_dict() == {
        "model": "voice-enrollment",
        "target_model": "cosyvoice-v3.5-plus",
        "prefix": "myvoice",
        "voice_sample_url": URL,
    }


def test_full_request_payload_has_every_optional_field() -> None:
    req = make(language_hints=["en"], max_prompt_audio_length=12, enable_preprocess=True)
    assert req.to_payload()["input"] == {
        "action": "create_voice",
        "target_model": "cosyvoice-v3.5-plus",
        "prefix": "myvoice",
        "url": URL,
        "language_hints": ["en"],
        "max_prompt_audio_length": 12.0,
        "enable_preprocess": True,
    }


@given(st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True))
def test_valid_prefixes_pass(prefix: str) -> None:
    assert make(prefix=prefix).prefix == prefix


@given(
    st.one_of(
        st.text(min_size=11, alphabet=st.characters(categories=["Lu", "Ll", "Nd"])),
        st.text(min_size=1).filter(lambda s: not s.isascii() or not s.isalnum()),
    )
)
def test_invalid_prefixes_are_refused_naming_the_field(prefix: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        make(prefix=prefix)
    assert info.value.field == "prefix"
    assert info.value.exit_code == 2


@pytest.mark.parametrize("prefix", [None, "", "my_voice", "a" * 11, "voix-1", "声音"])
def test_bad_prefix_examples(prefix: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        make(prefix=prefix)
    assert info.value.field == "prefix"
    assert "letters or digits" in str(info.value)


def test_unknown_target_model_lists_the_known_ones() -> None:
    with pytest.raises(InvalidRequestError) as info:
        make(target_model="cosyvoice-v9")
    assert info.value.field == "target_model"
    assert "cosyvoice-v9" in str(info.value)
    for name in catalog.TARGET_MODELS:
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("model", "region", "verdict"),
    [
        ("cosyvoice-v3.5-plus", "cn-beijing", "yes"),
        ("cosyvoice-v3.5-flash", "cn-beijing", "yes"),
        ("cosyvoice-v3-plus", "cn-beijing", "yes"),
        ("cosyvoice-v2", "ap-southeast-1", "disputed"),  # the newest guide: "v3 series only"
        # every source agrees: v3.5 exists only in Beijing -> refused, nothing sent
        ("cosyvoice-v3.5-plus", "ap-southeast-1", "no"),
        ("cosyvoice-v3.5-flash", "ap-southeast-1", "no"),
        ("cosyvoice-v3.5-plus", "us-east-1", "no"),
        # sources disagree (or none covers the region) -> sent, with one warning naming the rule
        ("cosyvoice-v3-plus", "ap-southeast-1", "disputed"),
        ("cosyvoice-v3-flash", "ap-southeast-1", "disputed"),
        ("cosyvoice-v2", "eu-central-1", "disputed"),
    ],
)
def test_region_rules(model: str, region: str, verdict: str) -> None:
    assert catalog.clone_rule(model, region).verdict == verdict
    if verdict == "no":
        with pytest.raises(InvalidRequestError) as info:
            make(target_model=model, region=region)
        assert info.value.field == "target_model"
        line = str(info.value)
        assert region in line and "\n" not in line and len(line) < 260  # one short line
        assert "only in China (Beijing)" not in line  # the citation is not in the line ...
        source = info.value.to_dict()["source"]  # ... but in the JSON shape (--json)
        assert "only in China (Beijing)" in source
        assert catalog.clone_rule(model, region).fact.source in source
        if region == "ap-southeast-1":
            assert "cosyvoice-v2" in line  # says what does work there
        return
    caught: list[RegionRuleWarning] = []
    if verdict == "disputed":
        with pytest.warns(RegionRuleWarning, match="region rule") as record:
            req = make(target_model=model, region=region)
        caught = [w.message for w in record if isinstance(w.message, RegionRuleWarning)]
    else:
        req = make(target_model=model, region=region)
    assert req.to_payload()["input"]["target_model"] == model
    region_warnings = [w for w in req.warnings if w.startswith("region rule:")]
    if verdict == "yes":
        assert region_warnings == []
    else:
        assert len(region_warnings) == 1
        assert "\n" not in region_warnings[0]
        assert model in region_warnings[0] and region in region_warnings[0]
        assert len(region_warnings[0]) < 200
        fact = catalog.clone_rule(model, region).fact
        assert fact.source not in region_warnings[0]  # the citation rides on the warning
        assert len(caught) == 1 and str(caught[0]) == region_warnings[0]
        assert caught[0].source is not None and fact.source in caught[0].source


def test_every_clone_rule_has_a_source_and_date() -> None:
    for rule in catalog.CLONE_RULES:
        assert rule.model in catalog.TARGET_MODELS
        assert rule.region == "*" or rule.region in catalog.REGIONS
        assert rule.fact.source and rule.fact.date[:4].isdigit()
    for region in catalog.REGIONS.values():
        assert region.hosts_fact.source and region.upload_fact.date


def test_temporary_upload_is_documented_in_beijing_and_singapore() -> None:
    uploads = [r.name for r in catalog.REGIONS.values() if r.supports_temporary_upload]
    assert uploads == ["cn-beijing", "ap-southeast-1"]
    assert "2026-10" in catalog.REGIONS["ap-southeast-1"].upload_fact.date


@pytest.mark.parametrize(
    "url", ["https://example.com/a.wav", "http://127.0.0.1:8000/a.mp3", "oss://dir/a.wav"]
)
def test_sample_url_schemes_accepted(url: str) -> None:
    assert make(voice_sample_url=url).voice_sample_url == url


@pytest.mark.parametrize("url", [None, "", "ftp://x/a.wav", "/tmp/a.wav", "oss://", 42])
def test_sample_url_refused(url: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        make(voice_sample_url=url)
    assert info.value.field == "voice_sample_url"


def test_oss_url_marks_temporary_upload() -> None:
    assert make(voice_sample_url="oss://d/a.wav").uses_temporary_upload
    assert not make().uses_temporary_upload


def test_language_hints_keep_only_the_first_with_a_warning() -> None:
    req = make(language_hints=["EN", "zh"])
    assert req.language_hints == ("en",)
    assert any("only the first" in w for w in req.warnings)


def test_language_hint_as_string_is_a_one_item_list() -> None:
    assert make(language_hints="ja").language_hints == ("ja",)


def test_language_hint_unsupported_by_model() -> None:
    with pytest.raises(InvalidRequestError) as info:
        make(target_model="cosyvoice-v3-plus", language_hints=["th"])
    assert info.value.field == "language_hints"
    assert "cosyvoice-v3-plus accepts" in str(info.value)
    # the same hint is fine on the extended models
    assert make(target_model="cosyvoice-v3-flash", language_hints=["th"]).language_hints == ("th",)


def test_language_hint_dropped_for_v2_with_warning() -> None:
    req = make(target_model="cosyvoice-v2", language_hints=["zh"])
    assert req.language_hints == ()
    assert "language_hints" not in req.to_payload()["input"]
    assert any("does not take language hints" in w for w in req.warnings)


@given(st.floats(min_value=3.0, max_value=30.0))
def test_max_prompt_audio_length_in_range(value: float) -> None:
    assert make(max_prompt_audio_length=value).max_prompt_audio_length == value


@given(
    st.one_of(
        st.floats(max_value=2.999),
        st.floats(min_value=30.001),
        st.just(math.nan),
        st.just(math.inf),
    )
)
def test_max_prompt_audio_length_out_of_range(value: float) -> None:
    with pytest.raises(InvalidRequestError) as info:
        make(max_prompt_audio_length=value)
    assert info.value.field == "max_prompt_audio_length"
    assert "[3.0, 30.0]" in str(info.value)


@pytest.mark.parametrize("value", ["abc", True, [10]])
def test_max_prompt_audio_length_not_a_number(value: object) -> None:
    with pytest.raises(InvalidRequestError):
        make(max_prompt_audio_length=value)


@pytest.mark.parametrize("model", ["cosyvoice-v3-plus", "cosyvoice-v2"])
def test_optional_fields_only_for_supporting_models(model: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        make(target_model=model, max_prompt_audio_length=10)
    assert "cosyvoice-v3.5-plus, cosyvoice-v3.5-flash, cosyvoice-v3-flash" in str(info.value)
    with pytest.raises(InvalidRequestError) as info:
        make(target_model=model, enable_preprocess=True)
    assert info.value.field == "enable_preprocess"


@pytest.mark.parametrize(
    "model", ["cosyvoice-v3.5-plus", "cosyvoice-v3.5-flash", "cosyvoice-v3-flash"]
)
def test_optional_fields_on_supporting_models(model: str) -> None:
    req = make(target_model=model, max_prompt_audio_length=20.5, enable_preprocess=False)
    assert req.to_payload()["input"]["enable_preprocess"] is False
    assert req.to_payload()["input"]["max_prompt_audio_length"] == 20.5


def test_enable_preprocess_must_be_bool() -> None:
    with pytest.raises(InvalidRequestError):
        make(enable_preprocess="yes")


def test_model_is_fixed() -> None:
    assert make(model="voice-enrollment").model == "voice-enrollment"
    with pytest.raises(InvalidRequestError) as info:
        make(model="cosyvoice-v2")
    assert info.value.field == "model"


def test_options_validate_before_the_sample_is_known() -> None:
    options = normalize_clone_options(prefix="abc", language_hints=["de"])
    assert options.with_sample("oss://x/y.wav").to_payload()["input"]["url"] == "oss://x/y.wav"
    with pytest.raises(InvalidRequestError):
        options.with_sample("file:///x.wav")


def test_from_dict_refuses_unknown_fields() -> None:
    req = clone_request_from_dict({"prefix": "abc", "voice_sample_url": URL})
    assert req.prefix == "abc"
    with pytest.raises(InvalidRequestError) as info:
        clone_request_from_dict({"prefix": "abc", "voice_sample_url": URL, "speed": 2})
    assert info.value.field == "speed"


def test_response_parsing() -> None:
    body = {
        "output": {"voice_id": "cosyvoice-v3.5-plus-myvoice-" + "a" * 32},
        "usage": {"count": 1},
        "request_id": "r-1",
    }
    resp = CloneResponse.from_wire(body)
    assert resp.voice_id.endswith("a" * 32)
    assert resp.to_dict() == {"voice_id": resp.voice_id, "request_id": "r-1", "usage": {"count": 1}}
    assert CloneResponse.from_wire({"voice_id": "v", "request_id": "r"}).usage_count is None
    for bad in ({}, {"output": {}}, {"output": {"voice_id": ""}}, {"output": "x"}):
        with pytest.raises(ValueError, match=r"missing output\.voice_id"):
            CloneResponse.from_wire(bad)


def test_model_from_voice_id() -> None:
    assert (
        catalog.model_from_voice_id("cosyvoice-v3.5-plus-abc-" + "0" * 32) == "cosyvoice-v3.5-plus"
    )
    assert catalog.model_from_voice_id("cosyvoice-v3-plus-abc-" + "0" * 32) == "cosyvoice-v3-plus"
    assert catalog.model_from_voice_id("cosyvoice-v2-x-" + "0" * 32) == "cosyvoice-v2"
    assert catalog.model_from_voice_id("longxiaochun") is None


def test_text_weight_counts_cjk_twice() -> None:
    assert catalog.text_weight("abc") == 3
    assert catalog.text_weight("你好") == 4
    assert catalog.text_weight("hi 你好!") == 8
