"""Evidence files: what a clone leaves under the output dir, and what it never leaves."""

from __future__ import annotations

import json
from pathlib import Path

from cosyvoice_clone.evidence import record_clone
from cosyvoice_clone.request import CloneResponse, normalize_clone_request

VOICE = "cosyvoice-v3.5-plus-good-" + "a" * 32


def test_success_then_failure_each_in_its_own_folder(tmp_path: Path) -> None:
    tmp_path = tmp_path / "evidence"
    good = normalize_clone_request(prefix="good", voice_sample_url="https://x/good.wav")
    made = record_clone(tmp_path, good, CloneResponse(VOICE, "req-1", 1))
    assert made["evidence"].parent == tmp_path / "voices" / VOICE
    assert json.loads((made["evidence"].parent / "response.json").read_text())["voice_id"] == VOICE

    bad = normalize_clone_request(prefix="bad", voice_sample_url="https://x/silent.wav")
    failed = record_clone(tmp_path, bad, None, extra={"error": {"code": "bad_sample"}})
    assert failed["evidence"].parent.parent == tmp_path / "failed"
    assert not (failed["evidence"].parent / "response.json").exists()
    assert json.loads(failed["request"].read_text())["input"]["prefix"] == "bad"
    evidence = json.loads(failed["evidence"].read_text())
    assert evidence["prefix"] == "bad" and evidence["voice_id"] is None
    # the earlier voice keeps its own record, untouched; nothing loose at the top
    kept = json.loads((tmp_path / "voices" / VOICE / "evidence.json").read_text())
    assert kept["prefix"] == "good" and kept["request_id"] == "req-1"
    assert (tmp_path / "voices" / VOICE / "response.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failed", "latest.json", "voices"]
    assert json.loads((tmp_path / "latest.json").read_text())["folder"].startswith("failed/")


def test_reuse_keeps_the_creation_record(tmp_path: Path) -> None:
    req = normalize_clone_request(prefix="good", voice_sample_url="https://x/good.wav")
    record_clone(tmp_path, req, CloneResponse(VOICE, "req-1", 1))
    paths = record_clone(tmp_path, req, CloneResponse(VOICE, None, 0), extra={"reused": True})
    assert "voice_evidence" not in paths
    assert paths["evidence"].parent.parent == tmp_path / "reused" / VOICE
    assert json.loads(paths["evidence"].read_text())["reused"] is True
    kept = json.loads((tmp_path / "voices" / VOICE / "evidence.json").read_text())
    assert kept["request_id"] == "req-1" and "reused" not in kept


def test_secrets_and_key_shapes_are_redacted(tmp_path: Path) -> None:
    secret = "sk-FAKE-evidence-secret-42"
    req = normalize_clone_request(
        prefix="good", voice_sample_url=f"https://x/good.wav?token={secret}"
    )
    record_clone(tmp_path, req, CloneResponse(VOICE, "req-1"), secrets=(secret,))
    for path in tmp_path.rglob("*.json"):
        assert secret not in path.read_text()
