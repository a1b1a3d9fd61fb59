"""Item 10 of issue 23: a batch row id names a file in the manifest's folder, never a path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cosyvoice_clone.audio.outfile import safe_file_stem
from cosyvoice_clone.emulator.server import RunningEmulator


@pytest.mark.parametrize(
    "name", ["../../x", "/tmp/abs", "CON", "con.txt", "..", ".", "sub/dir", "a\\b", "x\x00y", ""]
)
def test_safe_stem_stays_in_its_folder(name: str, tmp_path: Path) -> None:
    stem = safe_file_stem(name)
    assert stem and "/" not in stem and "\\" not in stem and not stem.startswith(".")
    assert all(c.isprintable() for c in stem)
    assert stem.split(".", 1)[0].upper() not in ("CON", "PRN", "AUX", "NUL")
    assert (tmp_path / f"{stem}.wav").resolve().parent == tmp_path.resolve()


def test_safe_stem_keeps_ordinary_ids_and_keeps_changed_ones_apart() -> None:
    assert safe_file_stem("chapter-01_intro") == "chapter-01_intro"
    assert safe_file_stem("第一章") == "第一章"
    assert safe_file_stem("a/b") != safe_file_stem("a_b") and safe_file_stem("a_b") == "a_b"


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_cli_batch_ids_never_leave_the_manifest_folder(
    cli: Any, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "a" / "b" / "m"
    folder.mkdir(parents=True)
    ids = ["../../x", str(tmp_path / "abs"), "CON", "..", "sub/dir"]
    rows = [{"id": i, "voice": "longxiaochun_v2", "text": "你好。"} for i in ids]
    rows.append({"id": "explicit", "voice": "longxiaochun_v2", "text": "你好。",
                 "out": "../given.wav"})  # fmt: skip
    manifest = folder / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    before = tree(tmp_path)
    res = cli("batch", str(manifest))
    assert res.exit_code == 0, res.stderr
    created = tree(tmp_path) - before
    outside = {p for p in created if not p.startswith(("a/b/m/", "cc-home"))} - {"a/b/given.wav"}
    assert outside == set(), outside  # only the explicit `out`, as given, is outside
    assert (tmp_path / "a" / "b" / "given.wav").stat().st_size > 44
    wavs = sorted(p for p in created if p.startswith("a/b/m/") and p.endswith(".wav"))
    assert len(wavs) == 5 and all("/" not in p.removeprefix("a/b/m/") for p in wavs)
    assert not any(Path(p).name.upper().startswith("CON.") for p in wavs)
