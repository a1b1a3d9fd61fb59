"""Items 5, 5b, 13 (evidence) and 17 of issue 23: `prepare --output` refuses what it cannot
or must not write (one line, target unchanged); every command has its own evidence folder."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from fixes_helpers import SAMPLE

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import InvalidRequestError
from cosyvoice_clone.evidence import write_json

PREPARE = ["prepare", "--prefix", "abc", "--voice-sample-url", "https://example.com/v.wav"]
DESIGN = ["prepare-design", "--prefix", "abc", "--voice-prompt", "沉稳的男声"]


def state(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    return (st.st_mode, st.st_size, st.st_mtime_ns)


def targets(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "outdir"
    folder.mkdir()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    return {
        "folder": folder,
        "fifo": fifo,
        "proc": Path("/proc/nope.json"),
        "missing": tmp_path / "new" / "sub" / "x.json",
    }


@pytest.mark.parametrize("command", [PREPARE, DESIGN], ids=["prepare", "prepare-design"])
@pytest.mark.parametrize("kind", ["folder", "fifo", "proc", "missing"])
def test_cli_prepare_output_refused_in_one_line(
    cli: Any, tmp_path: Path, command: list[str], kind: str
) -> None:
    target = targets(tmp_path)[kind]
    before = state(target)
    res = cli(*command, "--output", str(target))
    assert res.exit_code == 2, (res.stdout, res.stderr)
    err = (res.stderr + res.stdout).strip()
    assert "Traceback" not in err and len(res.stderr.strip().splitlines()) <= 1, err
    assert "--output" in err
    assert state(target) == before
    assert not (tmp_path / "new").exists()


def test_write_json_never_replaces_a_fifo_or_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target in (fifo, tmp_path):
        before = state(target)
        with pytest.raises(InvalidRequestError, match="not a regular file"):
            write_json(target, {"a": 1})
        assert state(target) == before
    with pytest.raises(InvalidRequestError, match="does not exist"):
        write_json(tmp_path / "missing" / "x.json", {"a": 1})
    assert write_json(tmp_path / "made" / "x.json", {"a": 1}, mkdir=True).is_file()


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/full"), reason="needs root")
def test_prepare_output_dev_full_left_a_device(cli: Any) -> None:
    import stat

    res = cli(*PREPARE, "--output", "/dev/full")
    assert res.exit_code == 2
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "latest.json"
    }


def test_commands_sharing_an_output_dir_overwrite_nothing(
    cli: Any, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "ev"
    runs = [
        ["clone", "--prefix", "ev1", "--sample", str(SAMPLE)],
        ["design", "--prefix", "ev2", "--prompt", "A calm low male voice", "--no-wait"],
        PREPARE,
        ["clone", "--prefix", "ev4", "--sample", str(SAMPLE)],
        ["clone", "--prefix", "ev1", "--sample", str(SAMPLE)],  # reused
    ]
    seen: dict[str, str] = {}
    folders = []
    for args in runs:
        res = cli("--output-dir", str(out), *args)
        assert res.exit_code == 0, (args, res.stderr)
        now = digest_tree(out)
        changed = {p for p in seen if now.get(p) != seen[p]}
        assert changed == set(), (args, changed)  # nothing earlier changed or deleted
        seen = now
        folders.append(json.loads((out / "latest.json").read_text())["folder"])
    assert len(set(folders)) == len(folders), folders  # one folder per command
    assert folders[0].startswith("voices/") and folders[2].startswith("prepared/")
    assert folders[4].startswith("reused/")
    assert not (out / "evidence.json").exists() and not (out / "response.json").exists()
