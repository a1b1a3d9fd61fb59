"""Item 8 of issue 23: a full disk while opening a database (the emulator's state, the
registry) is one line about the disk, and leaves no 0-byte database or -wal/-shm behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cosyvoice_clone import _sqlite
from cosyvoice_clone._sqlite import DatabaseFileError
from cosyvoice_clone.emulator.store import Store


class FullDisk(sqlite3.Connection):
    """A connection on a disk with no room left: reading works, every write fails as
    SQLite reports it (SQLITE_FULL)."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        words = sql.lstrip().upper()
        if words.startswith(("CREATE", "INSERT", "UPDATE", "BEGIN", "ALTER")):
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real(*args, **kwargs, factory=FullDisk)

    monkeypatch.setattr(_sqlite.sqlite3, "connect", connect)


def test_new_emulator_state_on_a_full_disk(full_disk: None, tmp_path: Path) -> None:
    tmp_path = tmp_path / "state"
    path = tmp_path / "emulator.sqlite3"
    with pytest.raises(DatabaseFileError) as info:
        Store(path)
    err = info.value
    assert err.kind == "unwritable" and "the disk is full" in str(err)
    assert err.hint is not None and "free some disk space" in err.hint and "keep" in err.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no 0-byte db, no -wal/-shm


def test_existing_state_is_kept_on_a_full_disk(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "emulator.sqlite3"
    Store(path).close()
    before = path.read_bytes()
    real = sqlite3.connect
    monkeypatch.setattr(_sqlite.sqlite3, "connect",
                        lambda *a, **k: real(*a, **k, factory=FullDisk))  # fmt: skip
    store = Store(path)  # nothing to migrate: opening needs no write (WAL already set)
    store.close()
    assert path.read_bytes() == before


def test_cli_emulator_on_a_full_disk_is_one_line(cli: Any, full_disk: None, tmp_path: Path) -> None:
    home = tmp_path / "home"
    res = cli("--emulator", "--home", str(home), "voices", "list")
    assert res.exit_code == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert "disk is full" in lines[0], lines[0]
    left = sorted(p.name for p in home.iterdir()) if home.exists() else []
    assert not [n for n in left if n.endswith((".sqlite3", "-wal", "-shm"))], left
