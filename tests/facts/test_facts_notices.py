"""Issue 28 follow-up: the voice list's notices before a run-task is sent (never a refusal: the
service decides), and the 128-character instruction limit for the cosyvoice family only."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from tests.facts.facts_helpers import Run
from tests.server.server_helpers import emulator_settings

from cosyvoice_clone import catalog
from cosyvoice_clone.client import CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import InvalidRequestError
from cosyvoice_clone.request import NoticeWarning, VoiceNoticeWarning

QA_FLASH = "qwen-audio-3.0-tts-flash"
QA_VOICE = "longanfengyue"  # the voice list marks it: SSML no, Instruct yes, timestamps no
SSML = "<speak>Hello from a voice marked without SSML.</speak>"
TEXT = "Hello from Qwen-Audio-TTS."


def run_tasks(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return [
        e["message"]["payload"]
        for e in emulator.backend.recorded("websocket").get("websocket", [])
        if e["message"]["header"]["action"] == "run-task"
    ]


def voice_notices(record: pytest.WarningsRecorder) -> list[VoiceNoticeWarning]:
    return [w.message for w in record if isinstance(w.message, VoiceNoticeWarning)]


def test_ssml_for_a_voice_marked_without_it_is_sent_after_one_notice(
    cosyvoice_emulator: RunningEmulator, home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ssml.wav"
    with (
        CosyVoice(settings=emulator_settings(cosyvoice_emulator, home)) as client,
        pytest.warns(VoiceNoticeWarning, match=f"{QA_VOICE} without SSML") as record,
    ):
        client.speak(SSML, out, voice=QA_VOICE, model=QA_FLASH, ssml=True)
    (notice,) = voice_notices(record)
    assert isinstance(notice, NoticeWarning)
    assert "\n" not in str(notice) and len(str(notice)) < 200  # one short line
    assert notice.source is not None and catalog.QWEN_AUDIO_VOICE_LIST_PAGE in notice.source
    (task,) = run_tasks(cosyvoice_emulator)  # sent: the service decides
    assert task["parameters"]["voice"] == QA_VOICE and task["parameters"]["enable_ssml"] is True
    assert sf.info(out).duration > 0.5


def test_word_timestamps_for_a_voice_marked_without_them_are_asked_after_one_notice(
    cosyvoice_emulator: RunningEmulator, home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "words.wav"
    with (
        CosyVoice(settings=emulator_settings(cosyvoice_emulator, home)) as client,
        pytest.warns(VoiceNoticeWarning) as record,
    ):
        result = client.speak(TEXT, out, voice=QA_VOICE, model=QA_FLASH, word_timestamps=True,
                              instruction="Speak warmly.")  # fmt: skip
    (notice,) = voice_notices(record)  # timestamps only: the list marks Instruct as supported
    assert "without word timestamps" in str(notice)
    (task,) = run_tasks(cosyvoice_emulator)
    assert task["parameters"]["word_timestamp_enabled"] is True
    assert task["parameters"]["instruction"] == "Speak warmly."
    assert result.words  # the emulator answered with words
    assert sf.info(out).duration > 0.5


def test_no_notice_for_what_a_voice_list_allows_or_says_nothing_about(
    cosyvoice_emulator: RunningEmulator, home: Path, tmp_path: Path
) -> None:
    with (
        CosyVoice(settings=emulator_settings(cosyvoice_emulator, home)) as client,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error", NoticeWarning)
        client.speak(TEXT, tmp_path / "a.wav", voice=QA_VOICE, model=QA_FLASH,
                     instruction="Speak warmly.")  # fmt: skip
        client.speak(SSML, tmp_path / "b.wav", voice="longanyang", ssml=True)
    assert [t["parameters"]["voice"] for t in run_tasks(cosyvoice_emulator)] == [
        QA_VOICE,
        "longanyang",
    ]
    assert (tmp_path / "a.wav").is_file() and (tmp_path / "b.wav").is_file()


def test_a_long_instruction_is_sent_for_qwen_audio_and_refused_for_cosyvoice(
    cosyvoice_emulator: RunningEmulator, home: Path, tmp_path: Path
) -> None:
    limit = catalog.INSTRUCTION_MAX_LENGTH
    long_text = "Speak slowly and warmly, like a storyteller by the fire. " * 4
    assert len(long_text) > limit
    with CosyVoice(settings=emulator_settings(cosyvoice_emulator, home)) as client:
        client.speak(TEXT, tmp_path / "qa.wav", voice=QA_VOICE, model=QA_FLASH,
                     instruction=long_text)  # fmt: skip
        with pytest.raises(InvalidRequestError) as info:
            client.speak(TEXT, tmp_path / "cosy.wav", voice="longanyang",
                         model="cosyvoice-v3-flash", instruction="x" * (limit + 1))  # fmt: skip
        client.speak(TEXT, tmp_path / "cosy128.wav", voice="longanyang",
                     model="cosyvoice-v3-flash", instruction="x" * limit)  # fmt: skip
    assert info.value.field == "instruction" and str(limit) in str(info.value)
    assert info.value.to_dict()["source"] and "128" in info.value.to_dict()["source"]
    tasks = run_tasks(cosyvoice_emulator)
    assert [t["model"] for t in tasks] == [QA_FLASH, "cosyvoice-v3-flash"]  # nothing for 129
    assert tasks[0]["parameters"]["instruction"] == long_text
    assert len(tasks[1]["parameters"]["instruction"]) == limit
    assert not (tmp_path / "cosy.wav").exists()
    assert sf.info(tmp_path / "qa.wav").duration > 0.5


def test_cli_ssml_for_a_voice_marked_without_it_one_notice_and_the_audio(
    cli: Callable[..., Run], cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "cli.wav"
    result = cli("--json", "speak", "--voice", QA_VOICE, "--model", QA_FLASH, "--ssml",
                 "--text", SSML, "--out", str(out))  # fmt: skip
    assert result.code == 0, result.err
    notices = [line for line in result.err.splitlines() if "the voice list marks" in line]
    assert len(notices) == 1 and notices[0].startswith("warning: notice:")
    assert "without SSML" in notices[0] and len(notices[0]) < 200
    assert json.loads(result.out)["ok"] is not False  # stdout stays JSON
    assert run_tasks(cosyvoice_emulator_env)[0]["parameters"]["enable_ssml"] is True
    assert sf.info(out).duration > 0.5


def test_cli_long_instruction_refused_for_cosyvoice_only(
    cli: Callable[..., Run], cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    long_text = "y" * (catalog.INSTRUCTION_MAX_LENGTH + 50)
    refused = cli("--json", "speak", "--voice", "longanyang", "--model", "cosyvoice-v3-flash",
                  "--instruction", long_text, "--text", TEXT,
                  "--out", str(tmp_path / "cosy.wav"))  # fmt: skip
    assert refused.code == 2, refused.err
    error = json.loads(refused.out)["error"]
    assert error["field"] == "instruction" and "128" in error["message"]
    assert not (tmp_path / "cosy.wav").exists() and run_tasks(cosyvoice_emulator_env) == []
    sent = cli("speak", "--voice", QA_VOICE, "--model", QA_FLASH, "--instruction", long_text,
               "--text", TEXT, "--out", str(tmp_path / "qa.wav"))  # fmt: skip
    assert sent.code == 0, sent.err
    (task,) = run_tasks(cosyvoice_emulator_env)
    assert task["parameters"]["instruction"] == long_text
    assert sf.info(tmp_path / "qa.wav").duration > 0.5
