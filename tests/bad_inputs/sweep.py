"""The bad-input sweep's table row and its one shared assertion (issue 23).

A :class:`Case` is one bad input at one door (``cli``, ``env``, ``manifest``, ``mcp``,
``library``). :func:`assert_refused` checks what every refusal must be: the exit status (or
the exception class / the MCP error code), at most a few lines on stderr and no traceback, no
piece of the distinctive fake key in any output, log or file, no voice created on the
emulator (nor a sample uploaded), and no file written or changed outside the places the case allows.

Adding a case: one row in ``cases_<door>.py``. A case that fails because an issue-23 item is
still open carries ``xfail=N`` (strict: once the fix lands, the run reports the XPASS as a
failure and the mark must go).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from tests.security.test_security_keys import windows

FAKE_KEY = "sk-FAKE-SWEEP-qzXvKwJpTbHm-not-real"
"""Distinctive: none of its 6-character windows occurs in ordinary text."""

MAX_STDERR_LINES = 3

ALWAYS_ALLOWED = ("cc-home", "cc-home/*")
"""The tool's own home (registry, pacing, locks) may be opened and created on any run."""


@dataclass(frozen=True)
class Case:
    """One bad input. ``args``/``env`` values may name sandbox files as ``{W}`` (the work
    folder, the current directory), ``{REF}`` (a good sample), ``{GONE}``/``{MINE}`` (the ids
    of a deleted / a registered voice when ``setup`` made them)."""

    id: str
    args: tuple[Any, ...] = ()
    expect: int | str = 2  # exit status, exception class name, or MCP error code
    env: Mapping[str, str | None] = field(default_factory=dict)
    files: Mapping[str, bytes | str] = field(default_factory=dict)  # extra files ("dir", "fifo")
    setup: str = ""  # "voice": a registered voice MINE; "gone": a deleted voice GONE too
    expect_in: str = ""  # a substring of the refusal
    may_write: tuple[str, ...] = ()  # globs (relative to the sandbox) the run may touch
    may_create_voice: bool = False
    xfail: int | None = None  # the issue-23 item still open in the library (fixes-lib)
    owner: str = "fixes-lib"  # who fixes the xfail's item
    json_error: bool = False  # stdout must be the --json error object (ok false, error.code)
    door: str = "cli"

    def param(self) -> Any:
        marks = []
        if self.xfail is not None:
            marks.append(
                pytest.mark.xfail(strict=True, reason=f"issue 23 item {self.xfail} ({self.owner})")
            )
        return pytest.param(self, id=f"{self.door}-{self.id}", marks=marks)


def cases(door: str, rows: list[Case]) -> list[Any]:
    """The table's rows as pytest params of ``door`` (ids must be unique)."""
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    return [Case(**{**row.__dict__, "door": door}).param() for row in rows]


@dataclass
class Outcome:
    """What one run at a door produced."""

    status: int | str  # exit code, exception class name, MCP error code ("ok" when none)
    stdout: str = ""
    stderr: str = ""
    payloads: list[str] = field(default_factory=list)
    exc: BaseException | None = None


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """``{relative path: (kind, mode, size, mtime_ns, sha256)}`` of everything under ``root``."""
    state: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                state[rel] = ("file", st.st_mode, st.st_size, st.st_mtime_ns, digest)
            elif stat.S_ISLNK(st.st_mode):
                state[rel] = ("link", os.readlink(path))
            else:
                state[rel] = ("other", st.st_mode)
    return state


def changed_paths(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Paths created, removed or changed between two snapshots."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def product_texts(root: Path, inputs: set[str]) -> list[tuple[str, str]]:
    """Every regular file under ``root`` byte for byte (latin-1) but the case's own inputs
    (``inputs``, relative paths: a key file holds the key): registries, evidence, results,
    audio, logs, whether written by the run or by the setup before it."""
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if rel not in inputs and path.is_file() and not path.is_symlink():
            found.append((str(path), path.read_bytes().decode("latin-1")))
    return found


def input_paths(case: Case) -> set[str]:
    """The sandbox-relative paths of the files the case itself wrote (under ``work/``)."""
    return {os.path.normpath(f"work/{rel}") for rel in case.files}


def assert_no_key_piece(text: str, where: str) -> None:
    leaked = [w for w in windows(FAKE_KEY) if w in text]
    assert not leaked, f"key pieces {leaked[:3]} in {where}: {text[:300]!r}"


def assert_refused(
    case: Case,
    outcome: Outcome,
    root: Path,
    before: Mapping[str, Any],
    spent: Callable[[], tuple[int, int]],
    spent_before: tuple[int, int],
    logs: list[str],
) -> None:
    """The one assertion of the sweep (see the module docstring)."""
    shown = f"{outcome.status!r}\nstdout: {outcome.stdout[:600]}\nstderr: {outcome.stderr[:900]}"
    assert outcome.status == case.expect, shown
    err = outcome.stderr.strip()
    assert "Traceback" not in err and 'File "' not in err, shown
    assert len([line for line in err.splitlines() if line.strip()]) <= MAX_STDERR_LINES, shown
    if outcome.exc is not None:
        assert "\n" not in str(outcome.exc).strip(), repr(outcome.exc)
    if case.json_error:
        data = json.loads(outcome.stdout)
        assert data["ok"] is False and data["error"]["code"], data
    if case.expect_in:
        texts = err + outcome.stdout + "".join(outcome.payloads) + str(outcome.exc or "")
        assert case.expect_in in texts, shown
    changed = changed_paths(before, snapshot(root))
    for where, text in [
        ("stdout", outcome.stdout),
        ("stderr", outcome.stderr),
        ("exception", str(outcome.exc or "")),
        *(("payload", p) for p in outcome.payloads),
        *(("log", m) for m in logs),
        *product_texts(root, input_paths(case)),
    ]:
        assert_no_key_piece(text, where)
    if not case.may_create_voice:
        voices, uploads = spent()
        assert voices == spent_before[0], "a voice was created for an invalid input"
        assert uploads == spent_before[1], "a sample was uploaded for an invalid input"
    allowed = (*ALWAYS_ALLOWED, *case.may_write)
    stray = [p for p in changed if not any(fnmatch(p, g) for g in allowed)]
    assert not stray, f"written outside the expected places: {stray}"


__all__ = [
    "FAKE_KEY",
    "Case",
    "Outcome",
    "assert_no_key_piece",
    "assert_refused",
    "cases",
    "changed_paths",
    "snapshot",
]
