"""`prepare` and the skill: the seed command verbatim, the three evals, response validation."""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKILL = REPO / "skills/ai/audio/alicloud-ai-audio-cosyvoice-voice-clone"
SCRIPT = SKILL / "scripts/prepare_cosyvoice_clone_request.py"
SEED = [
    "--target-model",
    "cosyvoice-v3.5-plus",
    "--prefix",
    "myvoice",
    "--voice-sample-url",
    "https://example.com/voice.wav",
    "--language-hint",
    "zh",
]
DEFAULT_OUT = Path("output/alicloud-ai-audio-cosyvoice-voice-clone")


def run_script(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COSYVOICE_CLONE_OUTPUT_DIR"}
    return subprocess.run(
        [sys.executable, str(SCRIPT.relative_to(REPO)) if cwd == REPO else str(SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_seed_command_verbatim(tmp_path: Path) -> None:
    proc = run_script(SEED, tmp_path)
    assert proc.returncode == 0, proc.stderr
    # exactly the original helper's stdout: one line, json.dumps' default separators
    assert proc.stdout == (
        '{"ok": true, "request_path": "output/alicloud-ai-audio-cosyvoice-voice-clone/'
        'request.json"}\n'
    )
    result = json.loads(proc.stdout)
    assert result == {"ok": True, "request_path": str(DEFAULT_OUT / "request.json")}
    # request.json is the wire body, what a user can POST as it is
    written = json.loads((tmp_path / result["request_path"]).read_text())
    assert written == {
        "model": "voice-enrollment",
        "input": {
            "action": "create_voice",
            "target_model": "cosyvoice-v3.5-plus",
            "prefix": "myvoice",
            "url": "https://example.com/voice.wav",
            "language_hints": ["zh"],
        },
    }
    # issue 23 item 17: the evidence is in the command's own folder, named by latest.json
    latest = json.loads((tmp_path / DEFAULT_OUT / "latest.json").read_text())
    assert latest["folder"].startswith("prepared/") and latest["folder"].endswith("-myvoice")
    evidence = json.loads((tmp_path / DEFAULT_OUT / latest["folder"] / "evidence.json").read_text())
    assert evidence["target_model"] == "cosyvoice-v3.5-plus"
    assert evidence["prefix"] == "myvoice"
    assert evidence["voice_sample_url"] == "https://example.com/voice.wav"
    assert evidence["time"]


def test_evals(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    evals = json.loads((SKILL / "evals/evals.json").read_text())["evals"]
    assert len(evals) == 3
    for case in evals:
        out = tmp_path / f"eval{case['id']}.json"
        result = cli("prepare", *case["args"], "--output", str(out))
        assert result.exit_code == 0, result.stdout + result.stderr
        assert json.loads(out.read_text()) == case["expected_request"]
        assert result.stdout == json.dumps({"ok": True, "request_path": str(out)}) + "\n"


def test_invalid_request_exits_2_naming_the_field(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("prepare", "--prefix", "bad_prefix!", "--voice-sample-url", "https://x/a.wav")
    assert result.exit_code == 2
    assert result.stdout.count("\n") == 1  # one line, like every answer of the helper
    error = result.json()["error"]
    assert result.json()["ok"] is False
    assert error["field"] == "prefix"
    assert "bad_prefix!" in error["message"]
    result = cli(
        "prepare",
        "--prefix",
        "abc",
        "--voice-sample-url",
        "https://x/a.wav",
        "--target-model",
        "cosyvoice-v2",
        "--enable-preprocess",
    )
    assert result.exit_code == 2
    assert result.json()["error"]["field"] == "enable_preprocess"
    result = cli(
        "--region",
        "ap-southeast-1",
        "prepare",
        "--prefix",
        "abc",
        "--voice-sample-url",
        "https://x/a.wav",
    )
    assert result.exit_code == 2
    assert "ap-southeast-1" in result.json()["error"]["message"]


def test_missing_fields(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("prepare", "--voice-sample-url", "https://x/a.wav")
    assert result.exit_code == 2
    assert result.json()["error"]["message"].startswith("missing prefix")


def test_v2_drops_language_hint_with_a_warning(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.json"
    result = cli(
        "prepare",
        "--target-model",
        "cosyvoice-v2",
        "--prefix",
        "abc",
        "--voice-sample-url",
        "https://x/a.wav",
        "--language-hint",
        "zh",
        "--output",
        str(out),
    )
    assert result.exit_code == 0
    assert "language_hints" not in json.loads(out.read_text())["input"]
    assert "warning: language_hints" in result.stderr
    assert result.json() == {"ok": True, "request_path": str(out)}


def test_optional_fields_go_in_the_wire_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.json"
    result = cli(
        "prepare",
        "--target-model",
        "cosyvoice-v3-flash",
        "--prefix",
        "abc",
        "--voice-sample-url",
        "https://x/a.wav",
        "--language-hint",
        "en",
        "--language-hint",
        "fr",
        "--max-prompt-audio-length",
        "12",
        "--enable-preprocess",
        "--output",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text()) == {
        "model": "voice-enrollment",
        "input": {
            "action": "create_voice",
            "target_model": "cosyvoice-v3-flash",
            "prefix": "abc",
            "url": "https://x/a.wav",
            "language_hints": ["en"],
            "max_prompt_audio_length": 12.0,
            "enable_preprocess": True,
        },
    }
    assert "only the first item counts" in result.stderr


def test_disputed_region_rule_warns_once_and_writes_the_request(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.json"
    result = cli(
        "--region",
        "ap-southeast-1",
        "prepare",
        "--target-model",
        "cosyvoice-v3-plus",
        "--prefix",
        "abc",
        "--voice-sample-url",
        "https://x/a.wav",
        "--output",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text())["input"]["target_model"] == "cosyvoice-v3-plus"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "region rule" in warnings[0]
    # one short line (issue 23 item 21): the citation is in docs/protocol.md and --json, not here
    assert "voice_clone.py" not in warnings[0] and len(warnings[0]) < 260


def test_validate_response_both_ways(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "output": {"voice_id": "cosyvoice-v3.5-plus-myvoice-" + "b" * 32},
                "usage": {"count": 1},
                "request_id": "req-1",
            }
        )
    )
    result = cli("prepare", "--validate-response", str(good))
    assert result.exit_code == 0
    assert result.stdout == '{"ok": true, "response_valid": true}\n'

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"output": {}, "request_id": "req-2"}))
    result = cli("prepare", "--validate-response", str(bad))
    assert result.exit_code == 1
    assert result.stdout == '{"ok": false, "error": "missing output.voice_id"}\n'

    result = cli("prepare", *SEED, "--validate-response", str(good))
    assert result.exit_code == 0
    out_dir = Path(os.environ["COSYVOICE_CLONE_OUTPUT_DIR"])
    assert result.stdout == (
        json.dumps(
            {"ok": True, "request_path": str(out_dir / "request.json"), "response_valid": True}
        )
        + "\n"
    )
    out_dir = Path(os.environ["COSYVOICE_CLONE_OUTPUT_DIR"])
    folder = json.loads((out_dir / "latest.json").read_text())["folder"]
    assert json.loads((out_dir / folder / "response.json").read_text())["request_id"] == "req-1"

    result = cli("prepare", "--validate-response", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    (tmp_path / "junk.json").write_text("{not json")
    result = cli("prepare", "--validate-response", str(tmp_path / "junk.json"))
    assert result.exit_code == 2
    assert "not JSON" in result.json()["error"]["message"]


def test_skill_validation_loop(tmp_path: Path) -> None:
    scripts = sorted((SKILL / "scripts").glob("*.py"))
    assert scripts
    for script in scripts:
        py_compile.compile(str(script), cfile=str(tmp_path / (script.name + "c")), doraise=True)
    (tmp_path / "validate.txt").write_text("py_compile_ok\n")
    assert (tmp_path / "validate.txt").read_text() == "py_compile_ok\n"


def test_skill_files_present() -> None:
    text = (SKILL / "SKILL.md").read_text()
    assert text.startswith("---\nname: alicloud-ai-audio-cosyvoice-voice-clone\ndescription: ")
    for section in ("## Prerequisites", "## Workflow", "## Validation", "## Output And Evidence"):
        assert section in text
    assert "cosyvoice-clone" in text
    for name in ("references/api_reference.md", "references/sources.md", "agents/openai.yaml"):
        assert (SKILL / name).is_file()


@pytest.mark.parametrize("secret", ["sk-test-secret-1234567890"])
def test_prepare_never_writes_the_key(cli, tmp_path: Path, monkeypatch, secret: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DASHSCOPE_API_KEY", secret)
    result = cli("prepare", *SEED)
    assert result.exit_code == 0
    assert secret not in result.stdout + result.stderr
    for path in Path(os.environ["COSYVOICE_CLONE_OUTPUT_DIR"]).rglob("*"):
        if path.is_file():
            assert secret not in path.read_text()
