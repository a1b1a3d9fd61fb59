"""`design`, `prepare-design`, the design skill's helper and the MCP tool ``voice_design``."""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from cosyvoice_clone import audio, catalog

REPO = Path(__file__).resolve().parents[2]
SKILL = REPO / "skills/ai/audio" / catalog.DESIGN_SKILL_NAME
SCRIPT = SKILL / "scripts/prepare_cosyvoice_design_request.py"
PROMPT = "活泼的年轻女性主播，声音清亮，语速较快"


@pytest.fixture(autouse=True)
def quick_deploy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY", "0.1")


def test_design_then_speak_list_show_delete(cli: Any, tmp_path: Path) -> None:
    preview = tmp_path / "preview.mp3"
    made = cli(
        "--emulator", "--json", "design", "--prefix", "host", "--prompt", PROMPT,
        "--preview-text", "大家好，欢迎收看节目。", "--preview-out", str(preview),
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    data = made.json()
    voice_id = data["voice_id"]
    assert voice_id.startswith("cosyvoice-v3.5-plus-vd-host-") and data["status"] == "OK"
    assert data["preview"]["format"] == "mp3" and data["preview"]["written_to"] == str(preview)
    assert sf.info(str(preview)).samplerate == 24000
    pitch = audio.voice_pitch_hz(preview.read_bytes())
    assert pitch is not None and pitch > 190  # "女性", "清亮": a high voice

    out = tmp_path / "hello.wav"
    spoken = cli("--emulator", "--json", "speak", "--voice", "host", "--text", "你好。",
                 "--out", str(out))  # fmt: skip
    assert spoken.exit_code == 0, spoken.stderr
    assert spoken.json()["voice"] == voice_id and sf.info(str(out)).duration > 0.3

    listed = cli("--emulator", "voices", "list")
    assert listed.exit_code == 0 and f"designed: {PROMPT}" in listed.stdout
    shown = cli("--emulator", "--json", "voices", "show", "host").json()
    assert shown["designed"] and shown["voice_prompt"] == PROMPT and shown["origin"] == "designed"

    again = cli("--emulator", "--json", "design", "--prefix", "host", "--prompt", PROMPT,
                "--preview-text", "大家好，欢迎收看节目。", "--format", "mp3")  # fmt: skip
    assert again.json()["reused"] and again.json()["voice_id"] == voice_id

    deleted = cli("--emulator", "voices", "delete", "host", "--yes")
    assert deleted.exit_code == 0
    assert cli("--emulator", "--json", "voices", "list").json()["count"] == 0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--prompt", "x" * 501], "voice_prompt"),
        (["--prompt", "calm", "--preview-text", "y" * 201], "preview_text"),
        (["--prompt", "Спокойный голос"], "voice_prompt"),
        (["--prompt", "calm", "--target-model", "cosyvoice-v2"], "target_model"),
        (["--prompt", "calm", "--language", "fr"], "language_hints"),
        (["--prompt", "calm", "--format", "flac"], "response_format"),
    ],
)
def test_invalid_input_exits_2_with_one_line(cli: Any, args: list[str], field: str) -> None:
    result = cli("--emulator", "--json", "design", "--prefix", "bad", *args)
    assert result.exit_code == 2
    assert result.json()["error"]["code"] == "invalid_request"
    assert field in result.json()["error"]["message"]
    plain = cli("--emulator", "design", "--prefix", "bad", *args)
    assert (
        plain.exit_code == 2 and plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr
    )


def test_singapore_is_refused_with_the_rule(cli: Any) -> None:
    result = cli("--emulator", "--region", "ap-southeast-1", "design", "--prefix", "sg",
                 "--prompt", "A calm male voice")  # fmt: skip
    assert result.exit_code == 2
    assert "not available in ap-southeast-1" in result.stderr and "cn-beijing" in result.stderr


def test_preview_out_is_checked_before_sending(cli: Any, tmp_path: Path) -> None:
    result = cli("--emulator", "design", "--prefix", "p", "--prompt", "calm",
                 "--preview-out", str(tmp_path))  # a directory  # fmt: skip
    assert result.exit_code == 2
    assert cli("--emulator", "--json", "voices", "list").json()["count"] == 0

    missing = tmp_path / "no" / "such" / "preview.wav"
    refused = cli("--emulator", "design", "--prefix", "p", "--prompt", "calm",
                  "--preview-out", str(missing))  # fmt: skip
    assert refused.exit_code == 2 and "mkdir -p" in refused.stderr
    assert cli("--emulator", "--json", "voices", "list").json()["count"] == 0
    made = cli("--emulator", "design", "--prefix", "p", "--prompt", "calm", "--mkdir",
               "--preview-out", str(missing))  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert missing.stat().st_size > 44


def test_an_unwritable_preview_out_is_refused_before_a_slot_is_spent(
    cli: Any, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        # root ignores the mode bits: /proc refuses new files for everyone
        writable = os.access(locked, os.W_OK)
        target = Path("/proc/preview.wav") if writable else locked / "preview.wav"
        result = cli("--emulator", "design", "--prefix", "p", "--prompt", "calm",
                     "--preview-out", str(target))  # fmt: skip
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2, result.stderr
    assert cli("--emulator", "--json", "voices", "list").json()["count"] == 0


def test_preview_out_never_replaces_a_registered_sample(cli: Any, tmp_path: Path) -> None:
    import shutil
    from importlib import resources

    sample = tmp_path / "me.wav"
    shutil.copy(str(resources.files("cosyvoice_clone") / "data" / "reference_en.wav"), sample)
    original = sample.read_bytes()
    cloned = cli("--emulator", "clone", "--prefix", "me", "--sample", str(sample), "--no-wait")
    assert cloned.exit_code == 0, cloned.stderr
    refused = cli("--emulator", "design", "--prefix", "p", "--prompt", "calm",
                  "--preview-out", str(sample))  # fmt: skip
    assert refused.exit_code == 2 and "reference sample of voice" in refused.stderr
    assert sample.read_bytes() == original


def test_skill_evals(cli: Any, tmp_path: Path) -> None:
    evals = json.loads((SKILL / "evals/evals.json").read_text(encoding="utf-8"))["evals"]
    assert len(evals) == 3
    for case in evals:
        out = tmp_path / f"eval{case['id']}.json"
        result = cli("prepare-design", *case["args"], "--output", str(out))
        if "expected_error_field" in case:
            assert result.exit_code == 2
            assert result.json()["error"]["field"] == case["expected_error_field"]
            continue
        assert result.exit_code == 0, result.stdout + result.stderr
        assert json.loads(out.read_text(encoding="utf-8")) == case["expected_request"]
        assert result.stdout == json.dumps({"ok": True, "request_path": str(out)}) + "\n"


def test_skill_script_writes_the_request_and_validates_a_response(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COSYVOICE_CLONE_OUTPUT_DIR"}
    args = ["--prefix", "announcer", "--voice-prompt", "沉稳的男声", "--preview-text", "大家好。"]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    request_path = f"output/{catalog.DESIGN_SKILL_NAME}/request.json"
    assert json.loads(proc.stdout) == {"ok": True, "request_path": request_path}
    body = json.loads((tmp_path / request_path).read_text(encoding="utf-8"))
    assert body["input"]["voice_prompt"] == "沉稳的男声" and body["input"]["language_hints"] == [
        "zh"
    ]
    skill_dir = (tmp_path / request_path).parent  # issue 23 item 17: one folder per command
    folder = json.loads((skill_dir / "latest.json").read_text("utf-8"))["folder"]
    evidence = json.loads((skill_dir / folder / "evidence.json").read_text("utf-8"))
    assert evidence["voice_prompt"] == "沉稳的男声" and evidence["preview_text"] == "大家好。"

    bad = tmp_path / "bad.json"
    bad.write_text('{"output": {}}')
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--validate-response", str(bad)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    assert json.loads(proc.stdout) == {"ok": False, "error": "missing output.voice_id"}


def test_skill_files_and_validation_loop(tmp_path: Path) -> None:
    text = (SKILL / "SKILL.md").read_text(encoding="utf-8")
    assert text.startswith(f"---\nname: {catalog.DESIGN_SKILL_NAME}\ndescription: ")
    for section in ("## Prerequisites", "## Workflow", "## Validation", "## Output And Evidence"):
        assert section in text
    for name in ("references/api_reference.md", "references/sources.md", "agents/openai.yaml"):
        assert (SKILL / name).is_file()
    for script in sorted((SKILL / "scripts").glob("*.py")):
        py_compile.compile(str(script), cfile=str(tmp_path / (script.name + "c")), doraise=True)


async def test_mcp_voice_design_then_synthesize(cosyvoice_emulator: Any, tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from mcp import Client

    from cosyvoice_clone.config import Settings
    from cosyvoice_clone.mcp import build_server

    settings = Settings.resolve(
        api_key=cosyvoice_emulator.api_key,
        http_base=cosyvoice_emulator.http_base,
        websocket_url=cosyvoice_emulator.websocket_url,
        home=tmp_path / "home",
        output_dir=tmp_path / "out",
    )
    async with Client(build_server(settings)) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert "voice_design" in tools
        made = await client.call_tool(
            "voice_design", {"prefix": "mcp1", "voice_prompt": "A calm, deep male narrator"}
        )
        assert not made.is_error, made
        data = made.structured_content
        assert data["voice_id"].startswith("cosyvoice-v3.5-plus-vd-mcp1-")
        assert Path(data["preview"]["path"]).is_file() and data["preview"]["bytes"] > 1000
        out = tmp_path / "said.wav"
        spoken = await client.call_tool(
            "synthesize", {"voice": data["voice_id"], "text": "Hello.", "out": str(out)}
        )
        assert not spoken.is_error, spoken
        assert out.is_file()
        refused = await client.call_tool(
            "voice_design", {"prefix": "mcp2", "voice_prompt": "x" * 501}
        )
        assert refused.is_error
