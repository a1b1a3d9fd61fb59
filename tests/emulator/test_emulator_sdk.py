"""The official dashscope SDK (unchanged) driving the emulator's enrollment and upload side."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dashscope.audio.tts_v2 import VoiceEnrollmentService
from dashscope.audio.tts_v2.enrollment import VoiceEnrollmentException
from dashscope.utils.oss_utils import OssUtils
from emulator_helpers import derived, reference_bytes, sample_server, speech_b_bytes

from cosyvoice_clone.emulator.server import RunningEmulator

OSS_RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}


def service(emulator: RunningEmulator, **kwargs: object) -> VoiceEnrollmentService:
    return VoiceEnrollmentService(
        api_key=emulator.api_key, base_address=emulator.http_base, **kwargs
    )


def sdk_error(call: object, *args: object, **kwargs: object) -> VoiceEnrollmentException:
    with pytest.raises(VoiceEnrollmentException) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value


def test_create_list_query_update_delete(cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_deploy_delay(0.6)
    sdk = service(cosyvoice_emulator)
    voice_id = sdk.create_voice("cosyvoice-v2", "alice", cosyvoice_emulator.sample_url())
    assert voice_id.startswith("cosyvoice-v2-alice-")
    hex_part = voice_id.rsplit("-", 1)[1]
    assert len(hex_part) == 32 and int(hex_part, 16) >= 0
    assert sdk.get_last_request_id()

    details = sdk.query_voice(voice_id)
    assert set(details) == {"gmt_create", "gmt_modified", "status", "target_model", "resource_link"}
    assert details["status"] == "DEPLOYING"
    assert details["target_model"] == "cosyvoice-v2"
    assert details["resource_link"] == cosyvoice_emulator.sample_url()
    assert time.strptime(details["gmt_create"], "%Y-%m-%d %H:%M:%S")

    deadline = time.monotonic() + 10
    while sdk.query_voice(voice_id)["status"] != "OK":
        assert time.monotonic() < deadline, "voice never became OK"
        time.sleep(0.1)

    other = sdk.create_voice("cosyvoice-v3.5-plus", "bob", cosyvoice_emulator.sample_url())
    listed = sdk.list_voices()
    assert [v["voice_id"] for v in listed] == [other, voice_id]  # newest first
    for item in listed:
        assert set(item) == {"voice_id", "gmt_create", "gmt_modified", "status"}
    assert [v["voice_id"] for v in sdk.list_voices(prefix="alice")] == [voice_id]

    # the backend measured the voice's pitch from the sample (used by synthesis)
    voice = cosyvoice_emulator.backend.voice(voice_id)
    assert voice is not None and voice.pitch_hz is not None and 60 < voice.pitch_hz < 400

    with sample_server({"/b.wav": speech_b_bytes()}) as base:
        assert sdk.update_voice(voice_id, f"{base}/b.wav") is None
    updated = sdk.query_voice(voice_id)
    assert updated["resource_link"].endswith("/b.wav")
    assert updated["status"] == "DEPLOYING"  # an updated voice deploys again
    new_voice = cosyvoice_emulator.backend.voice(voice_id)
    assert new_voice is not None and new_voice.sample_sha256 != voice.sample_sha256

    assert sdk.delete_voice(voice_id) is None
    assert [v["voice_id"] for v in sdk.list_voices()] == [other]
    assert sdk_error(sdk.query_voice, voice_id)._code == "BadRequest.ResourceNotExist"


def test_paging(cosyvoice_emulator: RunningEmulator) -> None:
    sdk = service(cosyvoice_emulator)
    ids = [
        sdk.create_voice("cosyvoice-v2", "page", cosyvoice_emulator.sample_url()) for _ in range(5)
    ]
    sdk.create_voice("cosyvoice-v2", "other", cosyvoice_emulator.sample_url())
    pages = [sdk.list_voices(prefix="page", page_index=i, page_size=2) for i in range(4)]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    seen = [v["voice_id"] for page in pages for v in page]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 5
    assert len(sdk.list_voices(page_size=100)) == 6


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("short", "Audio.AudioShortError"),
        ("silent", "Audio.AudioSilentError"),
        ("rate8k", "Audio.AudioRateError"),
        ("corrupt", "Audio.DecoderError"),
        ("text", "BadRequest.UnsupportedFileFormat"),
    ],
)
def test_bad_samples_are_refused_with_the_documented_code(
    cosyvoice_emulator: RunningEmulator, kind: str, code: str
) -> None:
    sdk = service(cosyvoice_emulator)
    name = "notes.txt" if kind == "text" else f"{kind}.wav"
    with sample_server({f"/{name}": derived(kind)}) as base:
        err = sdk_error(sdk.create_voice, "cosyvoice-v2", "bad", f"{base}/{name}")
    assert (err._status_code, err._code) == (400, code)
    assert sdk.list_voices() == []  # nothing was stored


def test_update_revalidates_the_new_sample(cosyvoice_emulator: RunningEmulator) -> None:
    sdk = service(cosyvoice_emulator)
    voice_id = sdk.create_voice("cosyvoice-v2", "upd", cosyvoice_emulator.sample_url())
    before = sdk.query_voice(voice_id)
    with sample_server({"/short.wav": derived("short")}) as base:
        err = sdk_error(sdk.update_voice, voice_id, f"{base}/short.wav")
    assert err._code == "Audio.AudioShortError"
    assert sdk.query_voice(voice_id) == before
    unknown = "cosyvoice-v2-upd-" + "0" * 32
    err = sdk_error(sdk.update_voice, unknown, cosyvoice_emulator.sample_url())
    assert err._code == "BadRequest.ResourceNotExist"


def test_download_failures(cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.configure(fetch_timeout=1.0)
    sdk = service(cosyvoice_emulator)
    with sample_server({}) as base:
        for path in ("/missing.wav", "/slow.wav", "/huge.wav"):
            err = sdk_error(sdk.create_voice, "cosyvoice-v2", "dl", base + path)
            assert err._code == "BadRequest.InputDownloadFailed", path
    assert sdk.list_voices() == []


def test_errors_surface_as_sdk_exceptions(cosyvoice_emulator: RunningEmulator) -> None:
    sdk = service(cosyvoice_emulator)
    url = cosyvoice_emulator.sample_url()
    bad_key = VoiceEnrollmentService(api_key="wrong-key", base_address=cosyvoice_emulator.http_base)
    err = sdk_error(bad_key.list_voices)
    assert (err._status_code, err._code) == (401, "InvalidApiKey")

    wrong_model = service(cosyvoice_emulator, model="cosyvoice-v2")
    err = sdk_error(wrong_model.list_voices)
    assert (err._status_code, err._code) == (400, "InvalidParameter")
    assert err._error_message == "url error, please check url!"

    assert sdk_error(sdk.create_voice, "cosyvoice-v9", "x", url)._code == "InvalidParameter"
    assert sdk_error(sdk.create_voice, "cosyvoice-v2", "bad-prefix!", url)._code == (
        "InvalidParameter"
    )
    assert sdk_error(sdk.delete_voice, "nope")._code == "BadRequest.ResourceNotExist"

    cosyvoice_emulator.set_quota(1)
    sdk.create_voice("cosyvoice-v2", "q", url)
    err = sdk_error(sdk.create_voice, "cosyvoice-v2", "q", url)
    assert (err._status_code, err._code) == (400, "Throttling.AllocationQuota")
    assert "1" in err._error_message


def test_region_rules_come_from_the_catalog(cosyvoice_emulator: RunningEmulator) -> None:
    from cosyvoice_clone import catalog

    cosyvoice_emulator.set_region("ap-southeast-1")
    sdk = service(cosyvoice_emulator)
    url = cosyvoice_emulator.sample_url()
    for name in catalog.TARGET_MODELS:
        rule = catalog.clone_rule(name, "ap-southeast-1")
        if rule.verdict is catalog.CloneVerdict.YES or rule.emulated:  # disputed: one answer
            assert sdk.create_voice(name, "intl", url).startswith(name)
        else:
            err = sdk_error(sdk.create_voice, name, "intl", url)
            assert err._code == "InvalidParameter" and "ap-southeast-1" in err._error_message


def test_language_hints_and_optional_fields(cosyvoice_emulator: RunningEmulator) -> None:
    sdk = service(cosyvoice_emulator)
    url = cosyvoice_emulator.sample_url()
    voice_id = sdk.create_voice(
        "cosyvoice-v3.5-plus",
        "en",
        url,
        language_hints=["en", "zh"],
        max_prompt_audio_length=12.5,
        enable_preprocess=True,
    )
    voice = cosyvoice_emulator.backend.voice(voice_id)
    assert voice is not None and voice.language_hint == "en"
    # v2 takes no hints: the service ignores them; max_prompt_audio_length is tolerated (Java SDK)
    assert sdk.create_voice(
        "cosyvoice-v2", "v2", url, language_hints=["en"], max_prompt_audio_length=10.0
    )
    err = sdk_error(sdk.create_voice, "cosyvoice-v3-plus", "x", url, language_hints=["pt"])
    assert err._code == "InvalidParameter"
    err = sdk_error(sdk.create_voice, "cosyvoice-v3-flash", "x", url, max_prompt_audio_length=99)
    assert err._code == "InvalidParameter"


def test_sdk_upload_helper_then_clone_from_oss(
    cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    sample = tmp_path / "my voice.wav"
    sample.write_bytes(reference_bytes())
    url, certificate = OssUtils.upload(
        "voice-enrollment",
        str(sample),
        api_key=cosyvoice_emulator.api_key,
        base_address=cosyvoice_emulator.http_base,
    )
    assert url.startswith("oss://dashscope-instant/") and url.endswith("/my voice.wav")
    assert certificate["upload_host"].startswith(cosyvoice_emulator.base_url)

    # without the resolve header the service cannot download oss:// URLs
    plain = service(cosyvoice_emulator)
    err = sdk_error(plain.create_voice, "cosyvoice-v3.5-plus", "oss", url)
    assert err._code == "BadRequest.InputDownloadFailed"

    resolving = service(cosyvoice_emulator, headers=OSS_RESOLVE)
    voice_id = resolving.create_voice("cosyvoice-v3.5-plus", "oss", url)
    assert resolving.query_voice(voice_id)["resource_link"] == url

    # the certificate can be reused for a second file (forbid-overwrite: new name)
    second = tmp_path / "second.wav"
    second.write_bytes(speech_b_bytes())
    url2, _ = OssUtils.upload(
        "voice-enrollment",
        str(second),
        api_key=cosyvoice_emulator.api_key,
        upload_certificate=certificate,
    )
    resolving.update_voice(voice_id, url2)
    assert resolving.query_voice(voice_id)["resource_link"] == url2


def test_sdk_retry_after_a_dropped_create_makes_a_duplicate(
    cosyvoice_emulator: RunningEmulator,
) -> None:
    """The hazard the client must handle: the SDK retries a create whose answer was lost."""
    # seed 1: the first roll drops the connection after the commit, the second does not
    cosyvoice_emulator.configure(seed=1, faults={"drop_after_commit": 0.5})
    sdk = service(cosyvoice_emulator)
    voice_id = sdk.create_voice("cosyvoice-v2", "dup", cosyvoice_emulator.sample_url())
    listed = [v["voice_id"] for v in sdk.list_voices(prefix="dup")]
    assert len(listed) == 2 and voice_id in listed  # two slots used for one call
    assert cosyvoice_emulator.backend.counters["fault:drop_after_commit"] == 1
