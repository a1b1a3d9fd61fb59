"""OpenAI's custom-voice API through the official ``openai`` package, against ``serve`` on the
emulator: consents, voices from a sample and from a description, speech with them, deletion,
and every refusal in OpenAI's shape."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf
from tests.server.server_helpers import emulator_settings
from tests.voiceapi.conftest import SAMPLE, openai_client

from cosyvoice_clone.client import ConsentStore, CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator

TEXT = "Hello from a voice made through OpenAI's own API."


def wav_file(seconds: float, *, silent: bool = False, rate: int = 24000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = np.zeros_like(t) if silent else 0.3 * np.sin(2 * np.pi * 220 * t)
    out = io.BytesIO()
    sf.write(out, tone.astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def error_of(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.body
    assert isinstance(body, dict)
    return dict(body.get("error", body))


def decoded(content: bytes) -> tuple[np.ndarray, int]:
    data, rate = sf.read(io.BytesIO(content))
    return data, rate


def new_consent(client: Any, name: str = "Ann agrees") -> Any:
    return client.audio.voice_consents.create(
        name=name, language="en-US", recording=("consent.wav", SAMPLE.read_bytes(), "audio/wav")
    )


# --------------------------------------------------------------------------- consents


def test_consents_create_list_retrieve_update_delete(server: Any, home: Path) -> None:
    with openai_client(server) as client:
        first = new_consent(client, "first")
        second = new_consent(client, "second")
        third = new_consent(client, "third")
        assert first.object == "audio.voice_consent" and first.id.startswith("cons_")
        assert first.language == "en-US" and first.name == "first" and first.created_at > 0
        assert first._request_id  # x-request-id on every answer

        page = client.audio.voice_consents.list(limit=2)
        assert [c.id for c in page.data] == [first.id, second.id] and page.has_more
        assert [c.id for c in client.audio.voice_consents.list(limit=2)] == [
            first.id, second.id, third.id,
        ]  # fmt: skip  # auto-paging follows after=
        later = client.audio.voice_consents.list(after=second.id)
        assert [c.id for c in later.data] == [third.id] and not later.has_more

        assert client.audio.voice_consents.retrieve(second.id).name == "second"
        renamed = client.audio.voice_consents.update(second.id, name="Second, renamed")
        assert renamed.name == "Second, renamed" and renamed.id == second.id
        assert client.audio.voice_consents.retrieve(second.id).name == "Second, renamed"

        gone = client.audio.voice_consents.delete(first.id)
        assert gone.deleted is True and gone.id == first.id and gone.object == "audio.voice_consent"
        with pytest.raises(openai.NotFoundError) as caught:
            client.audio.voice_consents.retrieve(first.id)
        assert error_of(caught.value)["code"] == "consent_not_found"
    # kept under the home, the recording as uploaded; the deleted one's files are gone
    store = ConsentStore(home)
    kept = {c.id: c for c in store.all()}
    assert set(kept) == {second.id, third.id}
    assert (store.root / kept[third.id].recording).read_bytes() == SAMPLE.read_bytes()
    assert not list(store.root.glob(f"{first.id}*"))


def test_consent_refusals_name_the_field(server: Any, home: Path) -> None:
    with openai_client(server) as client:
        with pytest.raises(openai.UnprocessableEntityError) as caught:
            client.audio.voice_consents.create(
                name="x",
                language="en-US",
                recording=("c.wav", b"not audio at all" * 10, "audio/wav"),
            )
        assert error_of(caught.value)["param"] == "recording"
        with pytest.raises(openai.BadRequestError) as caught:
            client.audio.voice_consents.create(
                name="x", language="english please", recording=("c.wav", SAMPLE.read_bytes())
            )
        assert error_of(caught.value)["param"] == "language"
        with pytest.raises(openai.APIStatusError) as big:
            client.audio.voice_consents.create(
                name="x", language="en", recording=("c.wav", b"\0" * (10 * 2**20 + 10), "audio/wav")
            )
        assert big.value.status_code == 413 and error_of(big.value)["param"] == "recording"
    assert ConsentStore(home).all() == []  # nothing kept for a refused recording


# --------------------------------------------------------------------------- voices


def test_voice_from_a_sample_speaks_and_is_deleted(
    server: Any, cosyvoice_emulator: RunningEmulator, home: Path
) -> None:
    with openai_client(server) as client:
        consent = new_consent(client)
        voice = client.audio.voices.create(
            audio_sample=("me.wav", SAMPLE.read_bytes(), "audio/wav"), consent=consent.id,
            name="ann",
        )  # fmt: skip
        assert voice.object == "audio.voice" and voice.type == "audio_sample"
        assert voice.name == "ann" and voice.id.startswith("cosyvoice-v3.5-plus-ann-")
        assert voice.created_at > 0 and voice.status == "OK" and voice.consent == consent.id
        # on the emulator, in the registry, and the consent records it
        assert cosyvoice_emulator.backend.voice(voice.id) is not None
        with CosyVoice(settings=emulator_settings(cosyvoice_emulator, home)) as lib:
            assert lib.registry.get(voice.id) is not None
            assert lib.voices.resolve("ann").voice_id == voice.id  # every other door
        assert client.audio.voice_consents.retrieve(consent.id).voices == [voice.id]

        # the SDK's retry (or the same call again) gives the same voice, no second one
        again = client.audio.voices.create(
            audio_sample=("me.wav", SAMPLE.read_bytes(), "audio/wav"), consent=consent.id,
            name="ann",
        )  # fmt: skip
        assert again.id == voice.id and again.reused is True
        assert cosyvoice_emulator.backend.voice_count() == 1

        for chosen in ({"id": voice.id}, "ann"):
            audio = client.audio.speech.create(
                model="tts-1", voice=chosen, input=TEXT, response_format="wav"
            )
            samples, rate = decoded(audio.content)
            assert rate == 24000 and len(samples) > rate // 2 and np.abs(samples).max() > 0.01

        deleted = client.audio.voices.delete(voice.id)
        assert deleted.deleted is True and deleted.id == voice.id
        assert deleted.object == "audio.voice.deleted"
        with pytest.raises(openai.NotFoundError):
            client.audio.speech.create(model="tts-1", voice={"id": voice.id}, input=TEXT)
        with pytest.raises(openai.NotFoundError):
            client.audio.voices.delete(voice.id)
        assert client.audio.voice_consents.retrieve(consent.id).id == consent.id  # it stays


def test_voice_from_a_description_speaks(server: Any, cosyvoice_emulator: RunningEmulator) -> None:
    prompt = "A calm, warm female voice reading the evening news."
    with openai_client(server) as client:
        voice = client.audio.voices.create(
            name="calm", type="prompt", prompt=prompt, script_hint="Good evening, the news."
        )
        assert voice.type == "prompt" and voice.prompt == prompt and voice.name == "calm"
        assert cosyvoice_emulator.backend.voice(voice.id) is not None
        audio = client.audio.speech.create(
            model="gpt-4o-mini-tts", voice={"id": voice.id}, input=TEXT, response_format="wav"
        )
        samples, rate = decoded(audio.content)
        assert len(samples) > rate // 2
        # a CosyVoice model through extra_body / model=
        flash = client.audio.voices.create(
            name="calmflash", type="prompt", prompt=prompt, model="cosyvoice-v3-flash"
        )
        assert flash.id.startswith("cosyvoice-v3-flash-") and flash.model == "cosyvoice-v3-flash"


def test_target_model_from_extra_body(server: Any) -> None:
    with openai_client(server) as client:
        consent = new_consent(client)
        voice = client.audio.voices.create(
            audio_sample=("me.wav", SAMPLE.read_bytes(), "audio/wav"), consent=consent.id,
            name="flashy", extra_body={"model": "cosyvoice-v3-flash"},
        )  # fmt: skip
    assert voice.id.startswith("cosyvoice-v3-flash-flashy-")


def test_a_voice_still_deploying_is_answered_as_it_is(
    make_server: Any, cosyvoice_emulator: RunningEmulator
) -> None:
    cosyvoice_emulator.set_deploy_delay(600)
    server = make_server(voice_wait=0.5)
    with openai_client(server) as client:
        consent = new_consent(client)
        voice = client.audio.voices.create(
            audio_sample=("me.wav", SAMPLE.read_bytes(), "audio/wav"), consent=consent.id,
            name="slow",
        )  # fmt: skip
        assert voice.status == "DEPLOYING" and voice.id.startswith("cosyvoice-v3.5-plus-slow-")
        with pytest.raises(openai.ConflictError) as caught:
            client.audio.speech.create(model="tts-1", voice={"id": voice.id}, input=TEXT)
        assert error_of(caught.value)["code"] == "voice_deploying"


# --------------------------------------------------------------------------- refusals


def test_voice_refusals_in_openais_shape(
    server: Any, cosyvoice_emulator: RunningEmulator, home: Path
) -> None:
    sample = ("me.wav", SAMPLE.read_bytes(), "audio/wav")
    with openai_client(server) as client:
        consent = new_consent(client)
        cases: list[tuple[dict[str, Any], type[openai.APIStatusError], int, str, str]] = [
            ({"audio_sample": ("s.wav", wav_file(8, silent=True)), "consent": consent.id,
              "name": "quiet"}, openai.UnprocessableEntityError, 422, "audio_sample",
             "sample_rejected"),
            ({"audio_sample": ("s.wav", b"RIFF garbage" * 50), "consent": consent.id,
              "name": "junk"}, openai.UnprocessableEntityError, 422, "audio_sample",
             "sample_unreadable"),
            ({"audio_sample": sample, "consent": "cons_000000000000000000000000",
              "name": "nocons"}, openai.NotFoundError, 404, "consent", "consent_not_found"),
            ({"audio_sample": sample, "consent": consent.id, "name": "my voice!"},
             openai.BadRequestError, 400, "name", "invalid_name"),
            ({"audio_sample": sample, "consent": consent.id, "name": "elevenchars"},
             openai.BadRequestError, 400, "name", "invalid_name"),
            ({"audio_sample": ("big.wav", b"\0" * (10 * 2**20 + 100)), "consent": consent.id,
              "name": "big"}, openai.APIStatusError, 413, "audio_sample", "file_too_large"),
            ({"audio_sample": ("big.wav", b"\0" * (12 * 2**20)), "consent": consent.id,
              "name": "huge"}, openai.APIStatusError, 413, "audio_sample", "file_too_large"),
        ]  # fmt: skip
        for fields, kind, status, param, code in cases:
            with pytest.raises(kind) as caught:
                client.audio.voices.create(**fields)
            error = error_of(caught.value)
            assert caught.value.status_code == status, (fields["name"], error)
            assert (error["param"], error["code"]) == (param, code), fields["name"]
            assert error["type"] == "invalid_request_error" and error["message"]
            assert str(home) not in error["message"]
        assert cosyvoice_emulator.backend.voice_count() == 0  # no slot spent on any
        assert not list((home / "openai-samples").glob("*"))  # and no refused sample kept

        with pytest.raises(openai.BadRequestError) as caught:
            client.audio.voices.create(name="blank", type="prompt", prompt="A voice.",
                                       script_hint="   ")  # fmt: skip
        assert error_of(caught.value)["param"] == "script_hint"


def test_missing_consent_and_sample_are_400(server: Any) -> None:
    with httpx.Client(timeout=30) as http:
        answer = http.post(f"{server.base_url}/audio/voices", data={"name": "ann"},
                           files={"audio_sample": ("me.wav", SAMPLE.read_bytes())})  # fmt: skip
        assert answer.status_code == 400
        assert answer.json()["error"]["param"] == "consent"
        assert answer.json()["error"]["code"] == "missing_required_parameter"
        answer = http.post(f"{server.base_url}/audio/voices",
                           files={"name": (None, "ann"), "consent": (None, "cons_x")})  # fmt: skip
        assert answer.status_code == 400 and answer.json()["error"]["param"] == "audio_sample"


def test_quota_is_429_and_not_retried(server: Any, cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_quota(0)
    with openai_client(server) as client:
        consent = new_consent(client)
    retrying = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=2)
    with retrying, pytest.raises(openai.RateLimitError) as caught:
        retrying.audio.voices.create(
            audio_sample=("me.wav", SAMPLE.read_bytes(), "audio/wav"), consent=consent.id,
            name="full",
        )  # fmt: skip
    error = error_of(caught.value)
    assert caught.value.status_code == 429 and error["code"] == "quota_exceeded"
    assert error["type"] == "rate_limit_error"
    assert caught.value.response.headers["x-should-retry"] == "false"
    creates = [
        e for e in cosyvoice_emulator.backend.recorded().get("enrollment", [])
        if json.dumps(e).find("create_voice") >= 0
    ]  # fmt: skip
    assert len(creates) == 1  # refused once; the SDK did not ask twice more


def test_a_name_in_use_is_409_until_its_voice_is_deleted(
    server: Any, cosyvoice_emulator: RunningEmulator
) -> None:
    other = SAMPLE.read_bytes() + b"\0" * 4000  # another file (a little trailing silence)
    with openai_client(server) as client:
        consent = new_consent(client)
        first = client.audio.voices.create(
            audio_sample=("a.wav", SAMPLE.read_bytes(), "audio/wav"), consent=consent.id,
            name="ann",
        )  # fmt: skip
        with pytest.raises(openai.ConflictError) as caught:
            client.audio.voices.create(audio_sample=("b.wav", other, "audio/wav"),
                                       consent=consent.id, name="ann")  # fmt: skip
        error = error_of(caught.value)
        assert (error["param"], error["code"]) == ("name", "name_taken")
        assert first.id in error["message"]
        assert caught.value.response.headers["x-should-retry"] == "false"
        with pytest.raises(openai.ConflictError):
            client.audio.voices.create(name="ann", type="prompt", prompt="A deep calm voice.")
        assert cosyvoice_emulator.backend.voice_count() == 1
        client.audio.voices.delete(first.id)
        second = client.audio.voices.create(audio_sample=("b.wav", other, "audio/wav"),
                                            consent=consent.id, name="ann")  # fmt: skip
        assert second.id != first.id and second.name == "ann"


def test_consent_pages_refuse_a_bad_cursor_or_limit(server: Any) -> None:
    with openai_client(server) as client:
        new_consent(client)
        for params, param in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                              ({"after": "cons_000000000000000000000000"}, "after")):  # fmt: skip
            with pytest.raises(openai.BadRequestError) as caught:
                client.audio.voice_consents.list(**params)
            assert error_of(caught.value)["param"] == param
