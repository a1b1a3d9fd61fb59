"""Item 3 of issue 23: a full disk after the voice was created reports the voice (its id,
exit 1, "could not record it locally"); the next run records it, with no second slot."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from fixes_helpers import SAMPLE

from cosyvoice_clone.emulator.server import RunningEmulator

FULL_DISK = """
import sqlite3, sys
from cosyvoice_clone.claims import ClaimBoard
from cosyvoice_clone.registry import Registry

def full(*args, **kwargs):
    raise sqlite3.OperationalError("database or disk is full")

Registry.record_clone = full   # the registry write after the create
ClaimBoard.release = full      # and the claim release in the flow's finally
from cosyvoice_clone.cli.main import run
run(sys.argv[1:])
"""


def registered(home: Path) -> list[str]:
    with sqlite3.connect(f"file:{home / 'registry.sqlite3'}?mode=ro", uri=True) as db:
        return [r[0] for r in db.execute("SELECT voice_id FROM voices WHERE deleted_at IS NULL")]


def test_full_disk_after_create_then_next_run_records_it(
    cli: Any, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    home = Path(os.environ["COSYVOICE_CLONE_HOME"])
    args = ["--json", "clone", "--prefix", "full", "--sample", str(SAMPLE)]
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, *args],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    [voice] = emulator.backend.store.voices()
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "voice_not_recorded" and error["voice_id"] == voice.voice_id
    assert (
        f"voice {voice.voice_id} was created but could not be recorded locally"
        in (error["message"])
    )
    assert "database or disk is full" in error["message"]
    assert "unreadable" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert registered(home) == []

    again = cli("--json", "clone", "--prefix", "full", "--sample", str(SAMPLE))
    assert again.exit_code == 0, again.stderr
    assert again.json()["voice_id"] == voice.voice_id  # found and recorded, not created again
    assert emulator.backend.store.voice_count() == 1
    assert registered(home) == [voice.voice_id]


def test_design_preview_unwritable_after_create_names_the_voice(
    lib: Any, cosyvoice_emulator: RunningEmulator, tmp_path: Path, monkeypatch: Any
) -> None:
    import errno

    import pytest

    from cosyvoice_clone.audio import outfile
    from cosyvoice_clone.errors import VoiceNotRecordedError

    def full(path: Path, write: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outfile, "write_atomic", full)
    with lib() as cv, pytest.raises(VoiceNotRecordedError) as info:
        cv.design(prefix="kid", prompt="A calm low voice", preview_out=tmp_path / "p.wav")
    [voice] = cosyvoice_emulator.backend.store.voices()
    err = info.value
    assert err.voice_id == voice.voice_id and err.exit_code == 1
    assert "its preview could not be written to" in str(err) and "No space left" in str(err)
    assert err.result is not None and err.result.voice_id == voice.voice_id
    with lib() as cv:  # recorded: the registry has it, and a rerun reuses it
        assert cv.registry.get(voice.voice_id) is not None


def test_update_registry_full_after_the_update_names_the_voice(
    lib: Any, cosyvoice_emulator: RunningEmulator, monkeypatch: Any
) -> None:
    import pytest

    from cosyvoice_clone.errors import VoiceNotRecordedError
    from cosyvoice_clone.registry import Registry

    with lib() as cv:
        voice = cv.clone(prefix="upd", sample=SAMPLE)

        def full(*args: Any, **kwargs: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(Registry, "update_sample", full)
        with pytest.raises(VoiceNotRecordedError, match="was updated but could not be recorded"):
            cv.voices.update(voice.voice_id, SAMPLE, skip_check=True)
    assert cosyvoice_emulator.backend.store.voice_count() == 1
