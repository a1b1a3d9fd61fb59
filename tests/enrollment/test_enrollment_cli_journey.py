"""The whole voice journey through the CLI in ``--emulator`` mode (state in the home dir)."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from enrollment_helpers import REFERENCE, SECOND, Result

pytestmark = pytest.mark.usefixtures("fast_emulator")


def _service_ids(cli: Callable[..., Result], prefix: str | None = None) -> list[str]:
    args = ["--emulator", "--json", "voices", "list"] + (["--prefix", prefix] if prefix else [])
    result = cli(*args)
    assert result.code == 0, result.err
    return [v["voice_id"] for v in result.json["voices"]]


def test_clone_wait_list_show_update_delete(cli: Callable[..., Result], isolated_env: Path) -> None:
    result = cli("--emulator", "--json", "clone", "--prefix", "journey", "--sample", str(REFERENCE))
    assert result.code == 0, result.err
    data = result.json
    voice_id = data["voice_id"]
    assert voice_id.startswith("cosyvoice-v3.5-plus-journey-")
    assert data["status"] == "OK"
    assert data["reused"] is False
    assert data["target_model"] == "cosyvoice-v3.5-plus"
    assert data["usage"] == {"count": 1}
    assert data["request_id"]
    assert data["sample_url"].startswith("oss://")
    assert len(data["sample_sha256"]) == 64
    evidence = Path(data["evidence"]["voice_evidence"])
    assert evidence.is_file() and voice_id in evidence.read_text()
    assert (evidence.parent / "request.json").is_file()  # the voice's own folder (item 17)

    assert _service_ids(cli) == [voice_id]

    shown = cli("--emulator", "--json", "voices", "show", voice_id)
    assert shown.code == 0
    assert shown.json["status"] == "OK"
    assert shown.json["origin"] == "created"
    assert shown.json["sample_sha256"] == data["sample_sha256"]

    updated = cli("--emulator", "--json", "voices", "update", voice_id, "--sample", str(SECOND))
    assert updated.code == 0, updated.err
    assert updated.json["status"] == "OK"
    assert updated.json["sample_sha256"] != data["sample_sha256"]

    human = cli("--emulator", "voices", "list")
    assert human.code == 0 and voice_id in human.out.replace("\n", "")

    refused = cli("--emulator", "voices", "delete", voice_id)  # no TTY, no --yes
    assert refused.code == 2
    assert "--yes" in refused.err
    assert _service_ids(cli) == [voice_id]

    deleted = cli("--emulator", "--json", "voices", "delete", voice_id, "--yes")
    assert deleted.code == 0
    assert deleted.json == {"ok": True, "deleted": [voice_id], "failed": []}
    assert _service_ids(cli) == []
    gone = cli("--emulator", "voices", "show", voice_id)
    assert gone.code == 2  # issue 23 item 11: "was deleted (on DATE)", not the service's 404
    assert "was deleted (on " in gone.err and "voices list" in gone.err

    registry = isolated_env / "cc-home" / "registry.sqlite3"
    assert stat.S_IMODE(os.stat(registry).st_mode) == 0o600
    with sqlite3.connect(registry) as db:
        row = db.execute("SELECT status, deleted_at FROM voices WHERE voice_id = ?", (voice_id,))
        status, deleted_at = row.fetchone()
    assert status == "DELETED" and deleted_at


def test_identical_clone_reuses_and_force_makes_a_new_one(cli: Callable[..., Result]) -> None:
    args = (
        "--emulator",
        "--json",
        "clone",
        "--prefix",
        "same",
        "--sample",
        str(REFERENCE),
        "--no-wait",
    )
    first = cli(*args)
    assert first.code == 0, first.err
    second = cli(*args)
    assert second.code == 0, second.err
    assert second.json["reused"] is True
    assert second.json["voice_id"] == first.json["voice_id"]
    assert _service_ids(cli, "same") == [first.json["voice_id"]]

    other_options = cli(*args, "--language-hint", "en")
    assert other_options.json["reused"] is False  # options are part of the identity

    forced = cli(*args, "--force")
    assert forced.code == 0
    assert forced.json["reused"] is False
    ids = _service_ids(cli, "same")
    assert len(ids) == 3
    assert forced.json["voice_id"] in ids and first.json["voice_id"] in ids


def test_sync_adds_unknown_and_marks_deleted(
    cli: Callable[..., Result], isolated_env: Path
) -> None:
    made = cli(
        "--emulator",
        "--json",
        "clone",
        "--prefix",
        "sync1",
        "--sample",
        str(REFERENCE),
        "--no-wait",
        "--skip-check",
    )
    voice_id = made.json["voice_id"]
    # Forget the registry: the service still has the voice.
    (isolated_env / "cc-home" / "registry.sqlite3").unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{isolated_env / 'cc-home' / 'registry.sqlite3'}{suffix}").unlink(missing_ok=True)
    synced = cli("--emulator", "--json", "voices", "sync")
    assert synced.code == 0
    assert synced.json["added"] == [voice_id]
    cli("--emulator", "--json", "voices", "delete", voice_id, "--yes")
    again = cli("--emulator", "--json", "voices", "sync")
    assert again.json["added"] == [] and again.json["service_total"] == 0


def test_prune_dry_run_then_delete(cli: Callable[..., Result]) -> None:
    for prefix in ("old1", "old2", "keep"):
        made = cli(
            "--emulator",
            "--json",
            "clone",
            "--prefix",
            prefix,
            "--sample",
            str(REFERENCE),
            "--no-wait",
            "--skip-check",
        )
        assert made.code == 0, made.err
    nofilter = cli("--emulator", "voices", "prune")
    assert nofilter.code == 2
    dry = cli("--emulator", "--json", "voices", "prune", "--prefix", "old1", "--dry-run")
    assert dry.code == 0 and len(dry.json["would_delete"]) == 1
    assert len(_service_ids(cli)) == 3
    # Ages that would select everything (or nothing sensible) are refused: exit 2, none deleted.
    for age, why in (
        ("-5d", "greater than zero"),
        ("-0d", "greater than zero"),
        ("-1d", "greater than zero"),
        ("0s", "greater than zero"),
        ("5", "unit is required"),
        ("99999999999999d", "too large"),
    ):
        refused = cli("--emulator", "voices", "prune", f"--older-than={age}", "--yes")
        assert refused.code == 2, (age, refused.err)
        assert why in refused.err and "Traceback" not in refused.err
        assert len(refused.err.strip().splitlines()) == 1
    assert len(_service_ids(cli)) == 3
    fresh = cli("--emulator", "--json", "voices", "prune", "--older-than", "1h", "--dry-run")
    assert fresh.code == 0 and fresh.json["would_delete"] == []
    time.sleep(1.1)  # gmt_create has whole seconds: now every voice is over 1 s old
    gone = cli("--emulator", "--json", "voices", "prune", "--older-than", "1s", "--yes")
    assert gone.code == 0 and len(gone.json["deleted"]) == 3
    assert _service_ids(cli) == []
