"""The emulator's backend driven directly, without HTTP or sockets (moto-style): its rules and
state are plain Python, so these tests call it as the routes do and check what it stores."""

from __future__ import annotations

import base64
import json
import time
from importlib import resources

import pytest

from cosyvoice_clone import catalog
from cosyvoice_clone.emulator.backend import Backend
from cosyvoice_clone.emulator.config import EmulatorConfig
from cosyvoice_clone.emulator.design import design_traits
from cosyvoice_clone.emulator.exceptions import ENGINE_418, ApiError

SAMPLE = resources.files("cosyvoice_clone").joinpath("data/reference_en.wav").read_bytes()


@pytest.fixture
def backend() -> Backend:
    return Backend(EmulatorConfig(rate_limits=False))


def clone(backend: Backend, prefix: str = "demo", model: str = "cosyvoice-v3.5-plus") -> str:
    """A clone as the customization route runs it: checks, judged sample, stored voice."""
    target, prefix, hint = backend.check_clone_request(model, prefix, ["en"])
    pitch = backend.judge_sample(SAMPLE, "reference_en.wav")
    voice = backend.create_voice(
        target_model=target, prefix=prefix, url="https://example.com/s.wav", sample=SAMPLE,
        pitch_hz=pitch, language_hint=hint,
    )  # fmt: skip
    return voice.voice_id


def test_a_clone_deploys_then_speaks_with_its_own_model_only(backend: Backend) -> None:
    backend.config.update({"deploy_delay": 30})
    voice_id = clone(backend)
    voice = backend.voice(voice_id)
    assert voice is not None and voice.status is catalog.VoiceStatus.DEPLOYING
    assert voice_id.startswith("cosyvoice-v3.5-plus-demo-") and len(voice_id.rsplit("-")[-1]) == 32
    with pytest.raises(ApiError, match="418"):  # not deployed yet
        backend.speaking_voice(voice_id, "cosyvoice-v3.5-plus")
    assert backend.settle(voice_id) == 1
    pitch, rate = backend.speaking_voice(voice_id, "cosyvoice-v3.5-plus")
    assert 60 < pitch < 400 and rate == 1.0
    assert pitch == pytest.approx(backend.voice(voice_id).pitch_hz)  # type: ignore[union-attr]
    with pytest.raises(ApiError) as info:
        backend.speaking_voice(voice_id, "cosyvoice-v3-flash")
    assert info.value.message == ENGINE_418


def test_list_pages_delete_and_quota(backend: Backend) -> None:
    ids = [clone(backend, f"p{i}") for i in range(3)]
    assert [v.voice_id for v in backend.list_voices(page_size=2)] == ids[::-1][:2]
    assert [v.voice_id for v in backend.list_voices(page_index=1, page_size=2)] == [ids[0]]
    assert [v.voice_id for v in backend.list_voices("p1")] == [ids[1]]
    backend.delete_voice(ids[1])
    with pytest.raises(ApiError) as info:
        backend.delete_voice(ids[1])
    assert info.value.code == "BadRequest.ResourceNotExist"
    backend.config.update({"quota": 2})
    with pytest.raises(ApiError) as info:
        clone(backend, "full")
    assert info.value.code == "Throttling.AllocationQuota" and backend.voice_count() == 2
    with pytest.raises(ApiError, match="page_size"):
        backend.list_voices(page_size=0)


def test_requests_are_checked_before_anything_is_stored(backend: Backend) -> None:
    for args, needle in [
        (("cosyvoice-v9", "demo"), "not supported"),
        (("cosyvoice-v3.5-plus", "bad-prefix!"), "ASCII letters or digits"),
        (("cosyvoice-v3.5-plus", "demo", ["xx"]), "language_hints"),
        (("cosyvoice-v3.5-plus", "demo", None, 99.0), "max_prompt_audio_length"),
    ]:
        with pytest.raises(ApiError, match=needle):
            backend.check_clone_request(*args)
    backend.config.update({"region": "ap-southeast-1"})
    with pytest.raises(ApiError, match="not supported in region ap-southeast-1"):
        backend.check_clone_request("cosyvoice-v3.5-plus", "demo")
    with pytest.raises(ApiError) as info:
        backend.judge_sample(b"RIFF0000WAVEnot really audio", "x.wav")
    assert info.value.status == 400
    assert backend.voice_count() == 0


def test_a_designed_voice_sounds_like_its_description(backend: Backend) -> None:
    data = {
        "target_model": "cosyvoice-v3.5-plus", "prefix": "deep",
        "voice_prompt": "A deep, slow male voice", "preview_text": "Hello there.",
    }  # fmt: skip
    spec = backend.check_design_request(data, {})
    pitch, rate = design_traits(spec.voice_prompt)
    assert pitch < 135 and rate == 0.8
    voice = backend.create_voice(
        target_model=spec.target_model, prefix=spec.prefix, url="", sample=b"preview",
        pitch_hz=pitch, voice_prompt=spec.voice_prompt, rate=rate,
    )  # fmt: skip
    assert voice.designed and f"-{catalog.DESIGNED_VOICE_MARK}-deep-" in voice.voice_id
    assert backend.speaking_voice(voice.voice_id, spec.target_model) == (pitch, rate)
    with pytest.raises(ApiError, match="at most"):
        backend.check_design_request({**data, "voice_prompt": "x" * 501}, {})


def test_uploads_follow_their_signed_policy(backend: Backend) -> None:
    policy = backend.issue_upload_policy("cosyvoice-v3.5-plus", "http://oss.invalid")
    key = f"{policy['upload_dir']}/sample.wav"
    form = {"policy": policy["policy"], "Signature": policy["signature"], "key": key,
            "OSSAccessKeyId": policy["oss_access_key_id"]}  # fmt: skip
    assert backend.check_upload_form(form) == key
    backend.store_upload(key, SAMPLE, "audio/wav")
    stored = backend.upload(key)
    assert stored is not None and stored.data == SAMPLE and stored.url == f"oss://{key}"
    with pytest.raises(ApiError) as info:
        backend.store_upload(key, b"other", "audio/wav")
    assert info.value.code == "FileAlreadyExists"
    for change, code in [
        ({"Signature": base64.b64encode(b"forged").decode()}, "SignatureDoesNotMatch"),
        ({"key": "elsewhere/sample.wav"}, "AccessDenied"),
        ({"key": f"{policy['upload_dir']}/../escape.wav"}, "AccessDenied"),
    ]:
        with pytest.raises(ApiError) as info:
            backend.check_upload_form({**form, **change})
        assert info.value.code == code
    document = json.loads(base64.b64decode(policy["policy"]))
    assert ["starts-with", "$key", policy["upload_dir"]] in document["conditions"]


def test_seeded_faults_repeat_and_reset_restores_everything() -> None:
    config = EmulatorConfig(rate_limits=False, faults={"http503": 0.5}, seed=7)
    first, second = Backend(config), Backend(config)
    try:
        rolls = [first.fault("http503") for _ in range(40)]
        assert rolls == [second.fault("http503") for _ in range(40)]
        assert 5 < sum(rolls) < 35
        clone(first)
        first.count("enrollment:create_voice")
        first.record("enrollment", {"body": {}})
        first.config.update({"quota": 5, "faults": "http429=1"})
        first.reset()
        assert first.voice_count() == 0 and first.counters == {} and first.recorded() == {}
        assert first.config.quota == catalog.VOICE_QUOTA and first.config.faults == {"http503": 0.5}
        assert [first.fault("http503") for _ in range(40)] == rolls  # the dice restart too
    finally:
        first.close()
        second.close()


def test_a_bad_setting_changes_no_setting(backend: Backend) -> None:
    with pytest.raises(ValueError, match="quota"):
        backend.config.update({"rtf": 0.5, "quota": -1})
    assert backend.config.rtf == 0.0
    with pytest.raises(ValueError, match="unknown setting"):
        backend.config.update({"colour": "blue"})


def test_rate_limits_count_per_bucket() -> None:
    backend = Backend(EmulatorConfig(enrollment_rps=2, synthesis_tasks_per_second=1))
    try:
        assert backend.allow_enrollment() is None and backend.allow_enrollment() is None
        wait = backend.allow_enrollment()
        assert wait is not None and 0 < wait <= 1.0
        assert backend.allow_synthesis_task("cosyvoice-v2")
        assert not backend.allow_synthesis_task("cosyvoice-v2")
        assert backend.allow_synthesis_task("cosyvoice-v3-flash")  # its own bucket
    finally:
        backend.close()


def test_status_follows_the_clock(backend: Backend) -> None:
    backend.config.update({"deploy_delay": 0.2})
    voice_id = clone(backend)
    assert backend.require_voice(voice_id).status is catalog.VoiceStatus.DEPLOYING
    time.sleep(0.25)
    assert backend.require_voice(voice_id).status is catalog.VoiceStatus.OK
    assert backend.settle(voice_id, status="UNDEPLOYED") == 1
    assert backend.require_voice(voice_id).query_output()["status"] == "UNDEPLOYED"
    snapshot = backend.snapshot()
    assert snapshot["voices"] == 1 and snapshot["voices_by_status"]["UNDEPLOYED"] == 1
