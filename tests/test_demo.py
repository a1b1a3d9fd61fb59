"""`demo`: the whole offline journey leaves a voice, two decodable audio files and evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf


def test_demo_journey_then_reuse(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY", "0.3")
    home, out = tmp_path / "home", tmp_path / "out"
    result = cli("--json", "--home", str(home), "--output-dir", str(out), "demo")
    assert result.exit_code == 0, result.stdout + result.stderr
    summary = result.json()
    assert summary["ok"] is True
    assert summary["check"]["verdict"] in ("pass", "warn")
    voice = summary["voice"]
    assert voice["status"] == "OK"
    assert voice["voice_id"].startswith("cosyvoice-v3.5-plus-demo-")
    assert voice["reused"] is False
    durations = {}
    for item in summary["audio"]:
        info = sf.info(item["path"])
        assert info.samplerate == item["sample_rate"]
        assert info.duration == pytest.approx(item["duration"], abs=0.05)
        assert info.duration > 1.0
        durations[item["language"]] = info.duration
    assert set(durations) == {"zh", "en"}
    evidence = json.loads((out / "voices" / voice["voice_id"] / "evidence.json").read_text())
    assert evidence["voice_id"] == voice["voice_id"]
    assert evidence["target_model"] == "cosyvoice-v3.5-plus"
    assert json.loads((out / "demo.json").read_text())["voice"]["voice_id"] == voice["voice_id"]

    again = cli("--json", "--home", str(home), "--output-dir", str(out), "demo")
    assert again.exit_code == 0, again.stderr
    assert again.json()["voice"]["voice_id"] == voice["voice_id"]
    assert again.json()["voice"]["reused"] is True

    listed = cli("--json", "--emulator", "--home", str(home), "voices", "list")
    assert listed.exit_code == 0
    ids = json.dumps(listed.json())
    assert ids.count("cosyvoice-v3.5-plus-demo-") == 1  # one voice on the service, not two


def test_demo_human_output_says_where_everything_is(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY", "0")
    result = cli("--home", str(tmp_path / "h"), "--output-dir", str(tmp_path / "o"), "demo")
    assert result.exit_code == 0, result.stderr
    for step in ("1/5 sample", "2/5 check", "3/5 clone", "4/5 wait", "5/5 speak", "evidence:"):
        assert step in result.stdout
    assert str(tmp_path / "o" / "demo" / "demo_zh.wav") in result.stdout
