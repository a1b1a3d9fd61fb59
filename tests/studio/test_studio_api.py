"""The studio's JSON API without a browser: what the page relies on (errors name the control,
jobs end in one event, a key guards the API) and the waveform the check draws."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf
from tests.server.server_helpers import register_voice

from cosyvoice_clone import catalog
from cosyvoice_clone.audio import check_sample
from cosyvoice_clone.audio.waveform import waveform
from cosyvoice_clone.emulator.server import RunningEmulator


def client(server: Any, key: str | None = None) -> httpx.Client:
    """A client of the studio's API that sends what the page sends: the key (if given) and the
    launch token the page carries (issue 22)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    headers["X-Studio-Token"] = server.app.state.protection.studio_token
    return httpx.Client(base_url=server.base_url.removesuffix("/v1"), headers=headers, timeout=30)


def events(http: httpx.Client, url: str) -> list[dict[str, Any]]:
    """A job's server-sent events, to its last one."""
    with http.stream("GET", url) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        return [json.loads(line[6:]) for line in answer.iter_lines() if line.startswith("data: ")]


def upload(http: httpx.Client, path: Path) -> str:
    answer = http.post("/studio/api/samples", params={"name": path.name},
                       content=path.read_bytes())  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["sample"]["id"])


def test_waveform_marks_pauses_and_clipping(tmp_path: Path, speech_wav: Path) -> None:
    speech, rate = sf.read(speech_wav, dtype="float32")
    loud = np.clip(speech[: rate * 3] * 40, -1, 1)  # hard-clipped speech at the end
    audio = np.concatenate([speech[: rate * 6], np.zeros(rate * 3, np.float32), speech[rate * 6 :],
                            loud])  # fmt: skip
    path = tmp_path / "marks.wav"
    sf.write(path, audio, rate, subtype="PCM_16")
    report = check_sample(path)
    wave = waveform(report, columns=300).to_dict()
    assert len(wave["envelope"]) == 300
    assert len(wave["segments"]) == len(report.measurements["speech_segments"])
    assert len(wave["long_pauses"]) == 1
    start, end = wave["long_pauses"][0]
    assert 5.5 < start < 6.5 and 8.5 < end < 9.5 and end - start > catalog.SAMPLE_MAX_PAUSE_SECONDS
    assert "clipping" in {p.code for p in report.problems}
    clipped_from = len(audio) / rate - 3
    late = sum(b - a for a, b in wave["clipped"] if a >= clipped_from - 0.01)
    early = sum(b - a for a, b in wave["clipped"] if a < clipped_from - 0.01)
    assert late > 1.0 and early < 0.05  # the source's own full-scale peaks are single spots


def test_page_config_and_field_errors(make_server: Any, tmp_path: Path) -> None:
    server = make_server()
    with client(server) as http:
        page = http.get("/")
        assert page.status_code == 200 and 'type="module"' in page.text
        assert http.get("/studio/static/studio.js").status_code == 200
        config = http.get("/studio/api/config").json()
        models = {m["name"]: m for m in config["target_models"]}
        assert set(models) == set(catalog.clone_models_in("cn-beijing"))
        for name, model in models.items():
            entry = catalog.target_model(name)
            assert model["max_prompt_audio_length"] == entry.max_prompt_audio_length
            assert model["language_hints"] == list(entry.language_hints)

        bad_url = http.post("/studio/api/samples/url", json={"url": "ftp://x/y.wav"})
        assert bad_url.status_code == 400 and bad_url.json()["error"]["param"] == "url"
        empty = http.post("/studio/api/samples", content=b"")
        assert empty.status_code == 400 and empty.json()["error"]["param"] == "sample"
        unknown = http.post("/studio/api/speech", json={"voice": "nobody", "text": "hi"})
        assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "voice"

        # Clone options are the library's to judge: the job ends in an error naming the field.
        sample = tmp_path / "s.wav"
        sf.write(sample, np.zeros(1000, np.float32), 16000)
        job = http.post("/studio/api/clones", json={"sample_id": upload(http, sample),
                                                    "prefix": "no way!"})  # fmt: skip
        assert job.status_code == 202
        seen = events(http, job.json()["events"])
        assert seen[-1]["type"] == "error" and seen[-1]["error"]["param"] == "prefix"


def test_speech_options_are_checked_by_the_library(
    make_server: Any, cosyvoice_emulator: RunningEmulator, home: Path
) -> None:
    register_voice(cosyvoice_emulator, home, prefix="myvoice", model="cosyvoice-v3-plus")
    server = make_server()
    with client(server) as http:
        order = {"voice": "myvoice", "text": "Hello there.", "format": "wav"}
        for name, value in (("rate", 5), ("pitch", 0.1), ("volume", 101)):
            answer = http.post("/studio/api/speech", json={**order, name: value})
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["param"] == name
        answer = http.post("/studio/api/speech", json={**order, "instruction": "whisper"})
        assert answer.json()["error"]["param"] == "instruction"  # v3-plus takes none

        good = http.post("/studio/api/speech", json={**order, "volume": 80, "pitch": 1.2})
        assert good.status_code == 200, good.text
        audio = http.get(good.json()["audio_url"])
        assert audio.headers["content-type"] == "audio/wav"
        download = http.get(good.json()["download_url"])  # served again from memory
        assert "attachment" in download.headers["content-disposition"]
        assert download.content == audio.content
        data, rate = sf.read(__import__("io").BytesIO(audio.content))
        # the library's default rate for the format (the studio has no rate of its own)
        assert rate == catalog.default_sample_rate("wav") and len(data) > rate // 2


def test_update_sample_job_and_delete(
    make_server: Any, cosyvoice_emulator: RunningEmulator, home: Path, speech_wav: Path
) -> None:
    voice_id = register_voice(cosyvoice_emulator, home, prefix="myvoice")
    server = make_server()
    with client(server) as http:
        sample_id = upload(http, speech_wav)
        job = http.post(f"/studio/api/voices/{voice_id}/sample", json={"sample_id": sample_id})
        seen = events(http, job.json()["events"])
        assert next(e["status"] for e in seen if e["type"] == "status") == "uploading"
        assert seen[-1]["type"] == "done" and seen[-1]["voice"]["status"] == "OK"
        assert seen[-1]["voice"]["sample_source"].endswith("reference_en.wav")

        listed = http.get("/studio/api/voices", params={"prefix": "myvoice"}).json()["voices"]
        assert [v["voice_id"] for v in listed] == [voice_id]
        assert http.get("/studio/api/voices", params={"prefix": "other"}).json()["voices"] == []
        assert http.delete(f"/studio/api/voices/{voice_id}").json()["deleted"] is True
        again = http.delete(f"/studio/api/voices/{voice_id}")
        assert again.status_code == 404 and again.json()["error"]["param"] == "voice"
        assert cosyvoice_emulator.backend.voice(voice_id) is None


def test_a_server_key_guards_the_studio_api(make_server: Any) -> None:
    server = make_server(api_keys=("studio-test-key",))
    with client(server) as http:
        assert http.get("/").status_code == 200  # the page itself asks for the key
        refused = http.get("/studio/api/config")
        assert refused.status_code == 401
    with client(server, "studio-test-key") as http:
        assert http.get("/studio/api/config").status_code == 200


def test_design_errors_name_the_field_and_nothing_is_sent(
    make_server: Any, cosyvoice_emulator: RunningEmulator
) -> None:
    server = make_server()
    with client(server) as http:
        design = http.get("/studio/api/config").json()["design"]
        assert design["target_models"] == catalog.design_models_in("cn-beijing")
        assert design["prompt_max_chars"] == catalog.VOICE_PROMPT_MAX_CHARS
        assert design["preview_text_max_chars"] == catalog.PREVIEW_TEXT_MAX_CHARS
        good = {"prefix": "calm", "prompt": "a calm deep male voice"}
        for name, value, param in (
            ("prompt", "x" * (catalog.VOICE_PROMPT_MAX_CHARS + 1), "voice_prompt"),
            ("prompt", "", "voice_prompt"),
            ("preview_text", "y" * (catalog.PREVIEW_TEXT_MAX_CHARS + 1), "preview_text"),
            ("prefix", "no way!", "prefix"),
            ("target_model", "cosyvoice-v2", "target_model"),
            ("language", "fr", "language_hints"),
        ):
            job = http.post("/studio/api/designs", json={**good, name: value})
            assert job.status_code == 202, job.text
            last = events(http, job.json()["events"])[-1]
            assert last["type"] == "error", last
            assert last["error"]["param"] == param, (name, last)
        assert cosyvoice_emulator.backend.voice_count() == 0

        # A valid design: the voice, its preview as playable audio, listed as designed.
        job = http.post("/studio/api/designs", json=good)
        done = events(http, job.json()["events"])[-1]
        assert done["type"] == "done", done
        voice_id = done["design"]["voice_id"]
        assert done["design"]["status"] == "OK" and "-vd-calm-" in voice_id
        preview = http.get(done["preview_url"])
        assert preview.headers["content-type"] == "audio/wav"
        audio, rate = sf.read(__import__("io").BytesIO(preview.content))
        assert len(audio) / rate > 1.0 and np.abs(audio).max() > 0.01
        listed = http.get("/studio/api/voices", params={"prefix": "calm"}).json()["voices"]
        assert [(v["voice_id"], v["designed"], v["voice_prompt"]) for v in listed] == [
            (voice_id, True, good["prompt"])
        ]
        assert http.get("/studio/api/previews/nope").status_code == 404
