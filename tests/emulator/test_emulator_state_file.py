"""The emulator's state file (and every SQLite file of the package, through ``_sqlite``): created
0600, migrated by name, and refused with one line before anything changes it when it is a
folder, not a database, damaged or from a newer version."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cosyvoice_clone._sqlite import DatabaseFileError, Migrations
from cosyvoice_clone.emulator.backend import Backend
from cosyvoice_clone.emulator.store import MIGRATIONS, m001_voices_uploads_meta

CLI = [sys.executable, "-m", "cosyvoice_clone"]


def _fingerprint(path: Path) -> tuple[int, int, bytes | None]:
    """Mode, size and content (None for a folder) of ``path``."""
    info = path.stat()
    content = None if path.is_dir() else path.read_bytes()
    return stat.S_IMODE(info.st_mode), info.st_size, content


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "files" / "folder.sqlite3"
    folder.mkdir(parents=True)
    notes = folder.with_name("notes.txt")
    notes.write_text("my notes, not a database\n")
    damaged = folder.with_name("damaged.sqlite3")
    damaged.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)
    for path in (notes, damaged):
        path.chmod(0o644)
    return {"folder": folder, "not_database": notes, "damaged": damaged}


def test_a_new_state_file_is_private_and_migrated_by_name(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.sqlite3"
    Backend(state_path=path).close()
    Backend(state_path=path).close()
    for name in ("state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm"):
        extra = path.with_name(name)
        if extra.exists():
            assert stat.S_IMODE(extra.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700  # folders it had to make
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [tuple(r) for r in rows] == list(enumerate(MIGRATIONS.names, start=1))
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_refused_files_are_left_exactly_as_they_were(tmp_path: Path) -> None:
    for kind, path in _bad_files(tmp_path).items():
        before = _fingerprint(path)
        with pytest.raises(DatabaseFileError) as info:
            Backend(state_path=path)
        assert info.value.kind == kind and info.value.path == path
        assert str(info.value).endswith("it was left untouched") and "\n" not in str(info.value)
        assert _fingerprint(path) == before  # no chmod, no byte written
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == [
        "damaged.sqlite3",
        "folder.sqlite3",
        "notes.txt",
    ]  # no -wal/-shm/-journal either


def test_a_state_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    Backend(state_path=path).close()
    with sqlite3.connect(path) as conn:  # what a later version's third migration leaves
        conn.execute("INSERT INTO schema_migrations VALUES (3, 'later', 'm003_future')")
        conn.execute("PRAGMA user_version = 3")
    before = path.read_bytes()
    with pytest.raises(DatabaseFileError) as info:
        Backend(state_path=path)
    assert info.value.kind == "newer" and "this version knows up to 2" in str(info.value)
    assert path.read_bytes() == before


def test_a_renamed_migration_is_a_foreign_history(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    Backend(state_path=path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_migrations SET name = 'm002_other' WHERE version = 2")
    with pytest.raises(DatabaseFileError, match="'m002_other' there"):
        Backend(state_path=path)


def test_migrations_are_registered_once_by_name() -> None:
    history = Migrations()

    @history.register
    def m001_first(db: object) -> None: ...

    with pytest.raises(ValueError, match="registered twice"):
        history.register(m001_first)
    assert list(history) == ["m001_first"] and len(history) == 1
    with pytest.raises(ValueError):
        Migrations("no such; table")


def test_a_state_file_of_an_older_emulator_is_adopted(tmp_path: Path) -> None:
    """Before the tracking table, the emulator counted its migrations in PRAGMA user_version."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        m001_voices_uploads_meta(conn)
        conn.execute(
            "INSERT INTO voices VALUES ('cosyvoice-v2-old-" + "0" * 32 + "', 'cosyvoice-v2', "
            "'old', 'https://example.com/a.wav', NULL, 150.0, 1, 1, 1, 'OK', 'abc')"
        )
        conn.execute("PRAGMA user_version = 1")
    os.chmod(path, 0o640)
    backend = Backend(state_path=path)
    try:
        voice = backend.voice("cosyvoice-v2-old-" + "0" * 32)
        assert voice is not None and voice.rate == 1.0 and voice.voice_prompt is None  # m002 ran
    finally:
        backend.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # an existing file keeps its mode
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY version")]
    assert names == list(MIGRATIONS.names)


@pytest.mark.parametrize("kind", ["folder", "not_database", "damaged"])
def test_emulator_serve_refuses_a_bad_state_before_changing_it(tmp_path: Path, kind: str) -> None:
    path = _bad_files(tmp_path)[kind]
    before = _fingerprint(path)
    result = subprocess.run(
        [*CLI, "emulator", "serve", "--port", "0", "--state", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(path) in lines[0] and "left untouched" in lines[0]
    assert _fingerprint(path) == before


@pytest.mark.parametrize("kind", ["folder", "not_database", "damaged"])
def test_a_bad_embedded_state_is_one_line_and_untouched(tmp_path: Path, kind: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    state = home / "emulator.sqlite3"
    _bad_files(tmp_path)[kind].rename(state)
    before = _fingerprint(state)
    env = {**os.environ, "COSYVOICE_CLONE_HOME": str(home)}
    result = subprocess.run(
        [*CLI, "--emulator", "voices", "list"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(state) in lines[0] and "left untouched" in lines[0] and "mv " in lines[0]
    assert _fingerprint(state) == before
    assert sorted(p.name for p in home.iterdir()) == ["emulator.sqlite3"]


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "photos.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE albums (name TEXT)")
        conn.execute("INSERT INTO albums VALUES ('summer')")
    before = _fingerprint(path)
    with pytest.raises(DatabaseFileError) as info:
        Backend(state_path=path)
    assert info.value.kind == "foreign" and "of something else" in str(info.value)
    assert _fingerprint(path) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "user-home") == ["photos.db"]
