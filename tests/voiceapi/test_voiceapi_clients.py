"""Discovery and OpenAI's contract, as the real clients send it: the HTTP requests of Open WebUI
and Home Assistant's openai_tts replayed against ``serve`` on the emulator, with and without
``--api-key`` / ``--open-discovery``; the default voice, speed and instructions leniencies;
404/405 in OpenAI's shape; ``x-request-id`` and the access line on every route."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.voiceapi.conftest import TEST_KEY, ServerFactory, register_voice

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.server import speech_api, studio

TEXT = "The living room lights are on."
OPEN_WEBUI_AGENT = "Python/3.11 aiohttp/3.11.18"  # Open WebUI's backend calls with aiohttp
HA_AGENT = "HomeAssistant/2026.11 aiohttp/3.12.15"


def open_webui_discovery(base: str) -> tuple[httpx.Response, httpx.Response]:
    """What Open WebUI asks first (no key on these calls): the models, then the voices."""
    with httpx.Client(timeout=30, headers={"User-Agent": OPEN_WEBUI_AGENT}) as http:
        return http.get(f"{base}/audio/models"), http.get(f"{base}/audio/voices")


def open_webui_speech(base: str, voice: str, key: str | None) -> httpx.Response:
    """Open WebUI's speech call: the frontend's {input, voice}, the model forced to TTS_MODEL."""
    headers = {"Content-Type": "application/json", "User-Agent": OPEN_WEBUI_AGENT,
               "X-OpenWebUI-User-Name": "Ann", "X-OpenWebUI-User-Id": "u1"}  # fmt: skip
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body = {"input": TEXT, "voice": voice, "model": "tts-1"}
    with httpx.Client(timeout=60) as http:
        return http.post(f"{base}/audio/speech", content=json.dumps(body), headers=headers)


def ha_openai_tts(base: str, key: str | None = None, **fields: Any) -> httpx.Response:
    """Home Assistant's openai_tts: one POST to the configured URL with its JSON."""
    body = {"model": "tts-1", "voice": "myvoice", "input": TEXT, "speed": 1.0,
            "response_format": "mp3", **fields}  # fmt: skip
    headers = {"Content-Type": "application/json", "User-Agent": HA_AGENT}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    with httpx.Client(timeout=60) as http:
        return http.post(f"{base}/audio/speech", json=body, headers=headers)


def openai_error(response: httpx.Response) -> dict[str, Any]:
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return dict(error)


# --------------------------------------------------------------------------- Open WebUI


def test_open_webui_without_a_key(make_server: ServerFactory, voice: str) -> None:
    server = make_server()
    models, voices = open_webui_discovery(server.base_url)
    assert models.status_code == 200
    ids = [m["id"] for m in models.json()["models"]]
    assert "tts-1" in ids and "cosyvoice-v3.5-plus" in ids
    listed = {v["id"]: v["name"] for v in voices.json()["voices"]}
    assert listed[voice] == "myvoice"
    spoken = open_webui_speech(server.base_url, "myvoice", None)
    assert spoken.status_code == 200 and spoken.headers["content-type"] == "audio/mpeg"
    assert spoken.content[:3] == b"ID3" or spoken.content[0] == 0xFF
    assert spoken.headers["x-request-id"] == spoken.headers["x-dashscope-request-id"]


def test_open_webui_with_a_key_needs_open_discovery(make_server: ServerFactory, voice: str) -> None:
    closed = make_server(api_keys=(TEST_KEY,))
    models, voices = open_webui_discovery(closed.base_url)
    assert models.status_code == voices.status_code == 401
    assert openai_error(models)["code"] == "invalid_api_key"  # Open WebUI shows the message

    server = make_server(api_keys=(TEST_KEY,), open_discovery=True)
    models, voices = open_webui_discovery(server.base_url)
    assert models.status_code == voices.status_code == 200
    assert voice in {v["id"] for v in voices.json()["voices"]}
    with httpx.Client(timeout=30) as http:
        one = http.get(f"{server.base_url}/models/cosyvoice-v3.5-plus")
        missing = http.get(f"{server.base_url}/models/tts-9000")
    assert one.json() == {"id": "cosyvoice-v3.5-plus", "object": "model", "created": 0,
                          "owned_by": "cosyvoice-clone"}  # fmt: skip
    assert missing.status_code == 404 and openai_error(missing)["code"] == "model_not_found"
    # speech and every change still need the key
    refused = open_webui_speech(server.base_url, "myvoice", None)
    assert refused.status_code == 401 and openai_error(refused)["code"] == "invalid_api_key"
    with httpx.Client(timeout=30) as http:
        deletion = http.delete(f"{server.base_url}/audio/voices/{voice}")
        consents = http.get(f"{server.base_url}/audio/voice_consents")
    assert deletion.status_code == 401 and consents.status_code == 401
    assert open_webui_speech(server.base_url, "myvoice", TEST_KEY).status_code == 200


# --------------------------------------------------------------------------- Home Assistant


@pytest.mark.parametrize(("speed", "used"), [(0.25, "0.5"), (4.0, "2.0"), (1.5, None)])
def test_home_assistant_speed_slider_ends_are_clamped(
    make_server: ServerFactory, voice: str, speed: float, used: str | None
) -> None:
    spoken = ha_openai_tts(make_server().base_url, speed=speed)
    assert spoken.status_code == 200 and len(spoken.content) > 1000
    header = spoken.headers.get("x-cosyvoice-speed-clamped")
    assert (header.split()[0] if header else None) == used


def test_speed_beyond_openais_range_is_400(make_server: ServerFactory, voice: str) -> None:
    refused = ha_openai_tts(make_server().base_url, speed=4.5)
    assert refused.status_code == 400 and openai_error(refused)["param"] == "speed"


def test_home_assistant_instructions_on_a_voice_without_them(
    make_server: ServerFactory, cosyvoice_emulator: RunningEmulator, home: Path
) -> None:
    register_voice(cosyvoice_emulator, home, prefix="old", model="cosyvoice-v2")
    server = make_server(api_keys=(TEST_KEY,))
    asked = {"voice": "old", "instructions": "Speak cheerfully."}
    for model in ("tts-1", "tts-1-hd", "gpt-4o-mini-tts"):
        spoken = ha_openai_tts(server.base_url, TEST_KEY, model=model, **asked)
        assert spoken.status_code == 200, spoken.text
        assert "x-cosyvoice-instructions-ignored" in spoken.headers
    strict = ha_openai_tts(server.base_url, TEST_KEY, model="cosyvoice-v2", **asked)
    assert strict.status_code == 400 and openai_error(strict)["param"] == "instructions"
    assert "--" not in openai_error(strict)["message"]  # no CLI flag in an HTTP answer
    followed = ha_openai_tts(server.base_url, TEST_KEY, model="gpt-4o-mini-tts", voice="old")
    assert "x-cosyvoice-instructions-ignored" not in followed.headers


def test_instructions_are_sent_where_the_model_takes_them(
    make_server: ServerFactory, voice: str, cosyvoice_emulator: RunningEmulator
) -> None:
    spoken = ha_openai_tts(make_server().base_url, model="gpt-4o-mini-tts",
                           instructions="Speak cheerfully.")  # fmt: skip
    assert spoken.status_code == 200 and "x-cosyvoice-instructions-ignored" not in spoken.headers
    sent = [e for e in cosyvoice_emulator.backend.recorded().get("websocket", [])
            if "Speak cheerfully." in json.dumps(e)]  # fmt: skip
    assert sent


# --------------------------------------------------------------------------- default voice


def test_default_voice_for_openai_and_unknown_names(
    make_server: ServerFactory, voice: str, cosyvoice_emulator: RunningEmulator, home: Path
) -> None:
    plain = make_server()
    assert ha_openai_tts(plain.base_url, voice="nova").status_code == 404
    server = make_server(default_voice="myvoice")
    for name in ("nova", "shimmer", "Robert"):
        spoken = ha_openai_tts(server.base_url, voice=name)
        assert spoken.status_code == 200, name
        assert spoken.headers["x-cosyvoice-voice"] == voice
        assert spoken.headers["x-cosyvoice-default-voice"].startswith(name)
    # a CosyVoice voice is never swapped: mismatched model, deleted voice
    mismatched = ha_openai_tts(server.base_url, voice=voice, model="cosyvoice-v2")
    assert mismatched.status_code == 400 and openai_error(mismatched)["param"] == "model"
    gone = register_voice(cosyvoice_emulator, home, prefix="gone")
    with httpx.Client(timeout=30) as http:
        assert http.delete(f"{server.base_url}/audio/voices/{gone}").status_code == 200
    deleted = ha_openai_tts(server.base_url, voice=gone)
    assert deleted.status_code == 404 and "x-cosyvoice-default-voice" not in deleted.headers


def test_alias_and_default_voice_targets_are_checked_at_start(
    make_server: ServerFactory, voice: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cosyvoice_clone.server.startup"):
        make_server(aliases={"alloy": "nosuchvoice", "echo": "myvoice"}, default_voice="nobody")
    warned = [r.getMessage() for r in caplog.records if r.name.endswith("startup")]
    assert any("--voice-alias alloy=nosuchvoice" in w for w in warned)
    assert any("--default-voice nobody" in w for w in warned)
    assert not any("echo=" in w for w in warned)


# --------------------------------------------------------------------------- contract edges


def test_unknown_paths_and_wrong_methods_answer_openais_json(
    make_server: ServerFactory, access_lines: Callable[..., list[str]]
) -> None:
    server = make_server(api_keys=(TEST_KEY,))
    root = server.base_url.removesuffix("/v1")
    with httpx.Client(timeout=30, headers={"User-Agent": "probe/1.0"}) as http:
        missing = http.get(f"{server.base_url}/audio/transcriptions")
        wrong = http.get(f"{server.base_url}/audio/speech")
        unauthorized = http.get(f"{server.base_url}/models",
                                headers={"Authorization": "Bearer wrong-key"})  # fmt: skip
        health = http.get(f"{root}/healthz")
    assert missing.status_code == 404 and openai_error(missing)["code"] == "unknown_url"
    assert wrong.status_code == 405 and openai_error(wrong)["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "POST"
    for answer in (missing, wrong, unauthorized, health):
        assert answer.headers["x-request-id"].startswith("req_")
    lines = [json.loads(line) for line in access_lines("/healthz")]
    seen = {(e["method"], e["path"]): e for e in lines}
    assert seen[("GET", "/v1/audio/transcriptions")]["status"] == 404
    assert seen[("GET", "/v1/audio/speech")]["error"] == "method_not_allowed"
    assert seen[("GET", "/v1/models")]["error"] == "invalid_api_key"
    assert seen[("GET", "/healthz")]["status"] == 200
    assert all(e["user_agent"] == "probe/1.0" for e in seen.values())
    assert all(e["total_ms"] >= 0 and e["request_id"] for e in seen.values())
    assert "wrong-key" not in "\n".join(access_lines())


def test_speech_access_line_has_stream_format_not_the_text(
    make_server: ServerFactory, voice: str, access_lines: Callable[..., list[str]]
) -> None:
    server = make_server(api_keys=(TEST_KEY,))
    body = {"model": "tts-1", "voice": "myvoice", "input": TEXT, "stream_format": "sse"}
    with httpx.Client(timeout=60) as http:
        answer = http.post(f"{server.base_url}/audio/speech", json=body,
                           headers={"Authorization": f"Bearer {TEST_KEY}"})  # fmt: skip
    assert answer.status_code == 200 and "speech.audio.done" in answer.text
    entry = next(json.loads(x) for x in access_lines("/audio/speech") if "/audio/speech" in x)
    assert entry["stream_format"] == "sse" and entry["voice"] == voice
    assert entry["request_id"] == answer.headers["x-request-id"]
    assert entry["first_audio_ms"] is not None and entry["characters"] == len(TEXT)
    assert TEXT not in "\n".join(access_lines()) and TEST_KEY not in "\n".join(access_lines())


def test_aac_is_offered_only_when_it_can_be_made(
    make_server: ServerFactory, voice: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server()
    made = ha_openai_tts(server.base_url, response_format="aac")
    assert made.status_code == 200 and made.headers["content-type"] == "audio/aac"
    root = server.base_url.removesuffix("/v1")
    assert "aac" in httpx.get(f"{root}/studio/api/config").json()["formats"]
    monkeypatch.setattr(speech_api, "aac_available", lambda: False)
    monkeypatch.setattr(studio, "aac_available", lambda: False)
    assert "aac" not in httpx.get(f"{root}/studio/api/config").json()["formats"]
    refused = ha_openai_tts(server.base_url, response_format="aac")
    error = openai_error(refused)
    assert refused.status_code == 400 and error["param"] == "response_format"
    assert "mp3" in error["message"] and "use one of mp3, opus, flac, wav, pcm" in error["message"]
    unknown = openai_error(ha_openai_tts(server.base_url, response_format="ogg"))
    assert "aac" not in unknown["message"]
    checkout = str(Path(speech_api.__file__).resolve().parents[3])
    assert checkout not in error["message"] and str(home) not in error["message"]


def test_error_texts_are_worded_for_http_clients(
    make_server: ServerFactory, voice: str, cosyvoice_emulator: RunningEmulator, home: Path
) -> None:
    server = make_server()
    cosyvoice_emulator.set_deploy_delay(600)
    fresh = register_voice(cosyvoice_emulator, home, prefix="fresh")
    answers = [
        ha_openai_tts(server.base_url, voice="nobody"),
        ha_openai_tts(server.base_url, voice=voice, model="cosyvoice-v2"),
        ha_openai_tts(server.base_url, voice=fresh),
        ha_openai_tts(server.base_url, voice="myvoice", input=""),
    ]
    assert [a.status_code for a in answers] == [404, 400, 409, 400]
    checkout = str(Path(speech_api.__file__).resolve().parents[3])
    for answer in answers:
        message = openai_error(answer)["message"]
        assert "--" not in message and "cosyvoice-clone " not in message, message
        assert checkout not in message and str(home) not in message


def test_uploads_keep_the_servers_protections(make_server: ServerFactory) -> None:
    server = make_server()
    form = {"name": (None, "ann"), "consent": (None, "cons_x")}
    with httpx.Client(timeout=30) as http:
        foreign = http.post(f"{server.base_url}/audio/voices", files=form,
                            headers={"Origin": "http://evil.example"})  # fmt: skip
        plain = http.post(f"{server.base_url}/audio/voices", content=b"name=ann",
                          headers={"Content-Type": "text/plain"})  # fmt: skip
        rebinding = http.post(f"{server.base_url}/audio/voice_consents", files=form,
                              headers={"Host": "attacker.example"})  # fmt: skip
        renamed_as_form = http.post(f"{server.base_url}/audio/voice_consents/cons_x",
                                    files={"name": (None, "x")})  # fmt: skip
    assert foreign.status_code == 403 and openai_error(foreign)["code"] == "origin_not_allowed"
    assert plain.status_code == 415
    assert rebinding.status_code == 421
    assert renamed_as_form.status_code == 415  # the update takes JSON only
