"""The sweep's sandbox: a temp tree of bad files, the session emulator taking the fake key,
optional registered/deleted voices, and a snapshot taken just before the bad input."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from tests.bad_inputs.sweep import FAKE_KEY, Case, Outcome, assert_refused, snapshot

ID3_GARBAGE = b"ID3\x03" + bytes(6) + bytes(range(256)) * 78


def _reference() -> Path:
    with resources.as_file(resources.files("cosyvoice_clone") / "data" / "reference_en.wav") as p:
        return Path(p)


def _standard_files(work: Path) -> None:
    """The bad (and a few good) files every case may name, relative to the work folder."""
    shutil.copyfile(_reference(), work / "ref.wav")
    (work / "adir").mkdir()
    os.mkfifo(work / "ff")
    (work / "empty.wav").write_bytes(b"")
    (work / "text.wav").write_text("this is not audio\n" * 50)
    (work / "id3.mp3").write_bytes(ID3_GARBAGE)
    (work / "hello.txt").write_text("Hello there.\n")
    (work / "utf16.txt").write_bytes("Hello there.".encode("utf-16"))
    (work / "nul.txt").write_bytes(b"hello\x00world\x07bell\n")
    (work / "a" / "b").mkdir(parents=True)


@dataclass
class Sandbox:
    """The tree of one case (``root`` = the test's tmp_path), the emulator and what was set up."""

    root: Path
    work: Path
    emulator: Any
    ids: dict[str, str] = field(default_factory=dict)

    def fill(self, value: Any) -> Any:
        """``value`` with ``{W}``, ``{REF}``, ``{MINE}``, ``{GONE}`` filled in (str, list, dict)."""
        if isinstance(value, str):
            for token, real in {
                "{W}": str(self.work),
                "{REF}": str(self.work / "ref.wav"),
                **{f"{{{k}}}": v for k, v in self.ids.items()},
            }.items():
                value = value.replace(token, real)
            return value
        if isinstance(value, (list, tuple)):
            return type(value)(self.fill(v) for v in value)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def spent(self) -> tuple[int, int]:
        """Voices and uploaded samples on the emulator (what a refused input must not add)."""
        store = self.emulator.backend.store
        return int(store.voice_count()), int(store.upload_count())


@pytest.fixture
def sandbox(
    isolated_env: Path, cosyvoice_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    """The work folder (the current directory) with the standard bad files; the DashScope
    variables point at the session emulator, which accepts only :data:`FAKE_KEY`."""
    work = isolated_env / "work"
    work.mkdir()
    _standard_files(work)
    monkeypatch.chdir(work)
    cosyvoice_emulator.configure(api_keys=[FAKE_KEY])
    for name, value in cosyvoice_emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DASHSCOPE_API_KEY", FAKE_KEY)
    yield Sandbox(isolated_env, work, cosyvoice_emulator)


def prepare_case(box: Sandbox, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the case's voices and files and set its environment (before the snapshot)."""
    if case.setup:
        from cosyvoice_clone import CosyVoice

        with CosyVoice() as cv:
            box.ids["MINE"] = cv.clone(prefix="mine", sample=box.work / "ref.wav").voice_id
            if case.setup == "gone":
                gone = cv.clone(prefix="gone", sample=box.work / "ref.wav").voice_id
                cv.voices.delete(gone)
                box.ids["GONE"] = gone
    for rel, content in case.files.items():
        path = box.work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "dir":
            path.mkdir()
        elif content == "fifo":
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(box.fill(content), encoding="utf-8")
    for name, value in case.env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, box.fill(value))


@pytest.fixture
def check_case(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Any:
    """``check_case(case, run)``: set the case up, snapshot, ``run(filled args)`` -> Outcome,
    then :func:`assert_refused`."""
    caplog.set_level(logging.DEBUG)

    def check(case: Case, run: Any) -> Outcome:
        prepare_case(sandbox, case, monkeypatch)
        before = snapshot(sandbox.root)
        spent_before = sandbox.spent()
        outcome: Outcome = run(sandbox.fill(case.args))
        # The project's own records at every level; other libraries' from INFO up (what an
        # application shows). websockets logs its handshake headers at DEBUG (reported).
        logs = [
            r.getMessage()
            for r in caplog.records
            if r.name.startswith("cosyvoice_clone") or r.levelno >= logging.INFO
        ]
        assert_refused(case, outcome, sandbox.root, before, sandbox.spent, spent_before, logs)
        return outcome

    return check
