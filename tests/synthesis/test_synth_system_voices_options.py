"""System voices through the resolver and the synthesis options on the wire (issues 18, 11).

What the client sent is read from the emulator's record (``backend.recorded("websocket")``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import soundfile as sf
from synthesis_helpers import CliResult, make_voice

from cosyvoice_clone import catalog
from cosyvoice_clone.client import CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator

Cli = Callable[..., CliResult]


def sent(emulator: RunningEmulator, action: str) -> list[dict[str, Any]]:
    """The messages of one action (run-task, continue-task) the emulator received."""
    entries = emulator.backend.recorded("websocket").get("websocket", [])
    return [e["message"] for e in entries if e["message"]["header"]["action"] == action]


def run_parameters(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return [m["payload"]["parameters"] | {"model": m["payload"]["model"]}
            for m in sent(emulator, "run-task")]  # fmt: skip


# --------------------------------------------------------------------------- system voices


def test_speak_a_system_voice_without_a_model(
    cli: Cli, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "chun.wav"
    result = cli("--json", "speak", "--voice", "longxiaochun_v2", "--text", "你好，世界。",
                 "--out", str(out))  # fmt: skip
    assert result.code == 0, result.err
    assert result.json["model"] == "cosyvoice-v2" and result.json["voice"] == "longxiaochun_v2"
    assert sf.info(str(out)).duration > 0.2
    [params] = run_parameters(cosyvoice_emulator)
    assert params["model"] == "cosyvoice-v2" and params["voice"] == "longxiaochun_v2"


def test_a_system_voice_with_several_models_uses_the_documented_one_or_the_one_asked(
    cli: Cli, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    voice = catalog.system_voice("longanyang")
    assert voice is not None and len(voice.models) > 1
    first = cli("--json", "speak", "--voice", "longanyang", "--text", "Hello.",
                "--out", str(tmp_path / "a.wav"))  # fmt: skip
    assert first.code == 0, first.err
    assert first.json["model"] == voice.default_model
    second = cli("--json", "speak", "--voice", "longanyang", "--text", "Hello.",
                 "--model", voice.models[1], "--out", str(tmp_path / "b.wav"))  # fmt: skip
    assert second.code == 0, second.err
    assert [p["model"] for p in run_parameters(cosyvoice_emulator)] == list(voice.models[:2])


def test_a_mismatched_model_for_a_system_voice_is_refused_before_sending(
    cli: Cli, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    result = cli("--json", "speak", "--voice", "longxiaochun_v2", "--text", "Hi.",
                 "--model", "cosyvoice-v3-flash", "--out", str(tmp_path / "x.wav"))  # fmt: skip
    assert result.code == 2
    assert result.json["error"]["code"] == "model_mismatch"
    assert "speaks with cosyvoice-v2" in result.err
    assert not cosyvoice_emulator.backend.recorded("websocket")
    assert not (tmp_path / "x.wav").exists()


def test_an_unlisted_system_voice_still_needs_a_model(cli: Cli, tmp_path: Path) -> None:
    result = cli("speak", "--voice", "longnotinthecatalog", "--text", "Hi.",
                 "--out", str(tmp_path / "x.wav"))  # fmt: skip
    assert result.code == 2 and "voices list --system" in result.err


def test_voices_list_system_text_and_json(cli: Cli) -> None:
    listed = cli("--json", "voices", "list", "--system", "--model", "cosyvoice-v2")
    assert listed.code == 0, listed.err
    names = [v["name"] for v in listed.json["voices"]]
    assert names == [v.name for v in catalog.system_voices("cosyvoice-v2")]
    assert listed.json["count"] == len(names) and "longxiaochun_v2" in names
    first = listed.json["voices"][0]
    assert first == catalog.SYSTEM_VOICES[first["name"]].to_dict()
    text = cli("voices", "list", "--system")
    assert text.code == 0 and all(name in text.out for name in catalog.SYSTEM_VOICES)
    assert cli("voices", "list", "--model", "cosyvoice-v2").code == 2  # --model needs --system
    assert cli("voices", "list", "--system", "--model", "nope").code == 2


def test_library_resolves_and_lists_system_voices(cosyvoice_emulator: RunningEmulator,
                                                  tmp_path: Path) -> None:  # fmt: skip
    with CosyVoice(api_key=cosyvoice_emulator.api_key, http_base=cosyvoice_emulator.http_base,
                   websocket_url=cosyvoice_emulator.websocket_url) as client:  # fmt: skip
        voice = client.voices.resolve("longxiaochun")
        assert voice.system and voice.target_model == "cosyvoice-v1"
        assert voice.to_dict()["models"] == ["cosyvoice-v1"]
        assert [v.name for v in client.voices.system("cosyvoice-v1")] == [
            "longxiaochun", "longxiaoxia"]  # fmt: skip
        result = client.speak("Hello.", tmp_path / "v1.mp3", voice="longxiaochun")
    assert result.model == "cosyvoice-v1" and (tmp_path / "v1.mp3").stat().st_size > 0


# --------------------------------------------------------------------------- options


def test_options_reach_the_wire_with_the_documented_names(
    cli: Cli, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    voice = make_voice(cosyvoice_emulator, model="cosyvoice-v3-flash", prefix="opts")
    out = tmp_path / "o.mp3"
    result = cli("--json", "speak", "--voice", voice, "--text", "Hello **there**.",
                 "--out", str(out), "--bit-rate", "64", "--instruction", "Speak calmly.",
                 "--language-hint", "en", "--markdown-filter",
                 "--timestamps", str(tmp_path / "w.json"))  # fmt: skip
    assert result.code == 0, result.err
    [params] = run_parameters(cosyvoice_emulator)
    assert params["instruction"] == "Speak calmly." and "instruct" not in params
    assert params["bit_rate"] == 64 and params["language_hints"] == ["en"]
    assert params["enable_markdown_filter"] is True and params["word_timestamp_enabled"] is True
    assert "enable_ssml" not in params
    words = result.json["words"]
    assert [w["text"] for w in words] == ["Hello", "there"]
    for word in words:
        assert {"text", "begin_index", "end_index", "begin_ms", "end_ms"} <= set(word)
        assert isinstance(word["begin_index"], int) and word["end_index"] > word["begin_index"]
    opus = cli("speak", "--voice", voice, "--text", "Hi.", "--out", str(tmp_path / "o.opus"))
    assert opus.code == 0, opus.err
    wav = cli("speak", "--voice", voice, "--text", "Hi.", "--out", str(tmp_path / "o.wav"))
    assert wav.code == 0, wav.err
    later = run_parameters(cosyvoice_emulator)[1:]
    assert later[0]["bit_rate"] == catalog.DEFAULT_OPUS_BIT_RATE and "bit_rate" not in later[1]


def test_ssml_is_one_continue_task_and_too_long_ssml_is_refused(
    cli: Cli, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    voice = make_voice(cosyvoice_emulator, model="cosyvoice-v3-flash", prefix="ssml")
    sentences = " ".join(f"Sentence number {i} is here." for i in range(150))  # > 2,000 chars
    ssml = f'<speak rate="1.1">{sentences}<break time="300ms"/>The end.</speak>'
    result = cli("--json", "speak", "--voice", voice, "--text", ssml, "--ssml",
                 "--out", str(tmp_path / "s.wav"))  # fmt: skip
    assert result.code == 0, result.err
    assert result.json["parts"] == 1
    [params] = run_parameters(cosyvoice_emulator)
    assert params["enable_ssml"] is True
    assert [m["payload"]["input"]["text"] for m in sent(cosyvoice_emulator, "continue-task")] == [
        ssml]  # fmt: skip
    huge = "<speak>" + "a" * (catalog.MAX_CHARS_PER_MESSAGE + 1) + "</speak>"
    refused = cli("speak", "--voice", voice, "--text", huge, "--ssml",
                  "--out", str(tmp_path / "h.wav"))  # fmt: skip
    assert refused.code == 2 and "SSML" in refused.err
    tags_only_over = "<speak>" + "<break/>" * 3000 + "b" * 1000 + "</speak>"
    fine = cli("speak", "--voice", voice, "--text", tags_only_over, "--ssml",
               "--out", str(tmp_path / "t.wav"))  # tags are not counted  # fmt: skip
    assert fine.code == 0, fine.err
    assert len(run_parameters(cosyvoice_emulator)) == 2


def test_instruction_and_bit_rate_are_checked_before_sending(
    cli: Cli, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    old = make_voice(cosyvoice_emulator, model="cosyvoice-v2", prefix="old")
    refused = cli("speak", "--voice", old, "--text", "Hi.", "--instruction", "Whisper.",
                  "--out", str(tmp_path / "i.wav"))  # fmt: skip
    assert refused.code == 2 and "instruction" in refused.err
    for model in catalog.INSTRUCTION_MODELS:
        assert model in refused.err
    wav = cli("speak", "--voice", old, "--text", "Hi.", "--bit-rate", "64",
              "--out", str(tmp_path / "b.wav"))  # fmt: skip
    assert wav.code == 2 and "bit rate" in wav.err
    high = cli("speak", "--voice", old, "--text", "Hi.", "--bit-rate", "9999",
               "--out", str(tmp_path / "b.opus"))  # fmt: skip
    assert high.code == 2
    assert not cosyvoice_emulator.backend.recorded("websocket")
