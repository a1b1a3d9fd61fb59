"""The SQLite voice registry: migrations, file mode, dedupe identity, resolve, sync."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from cosyvoice_clone.registry import MIGRATIONS, Registry, dedupe_key, split_voice_id
from cosyvoice_clone.request import normalize_clone_options
from cosyvoice_clone.voices import resolve

V1 = "cosyvoice-v3.5-plus-anna-" + "1" * 32
V2 = "cosyvoice-v3.5-plus-anna-" + "2" * 32
V3 = "cosyvoice-v2-bob-" + "3" * 32


def _record(reg: Registry, voice_id: str, prefix: str, model: str = "cosyvoice-v3.5-plus") -> None:
    opts = normalize_clone_options(prefix=prefix, target_model=model)
    reg.record_clone(
        voice_id,
        region="cn-beijing",
        endpoint="emulator",
        target_model=model,
        prefix=prefix,
        options=opts.fingerprint(),
        key=f"k-{voice_id}",
        sample_url="https://x/a.wav",
        sample_sha256=None,
        sample_source="https://x/a.wav",
        request_id="r",
        usage_count=1,
        status="OK",
    )


def test_blank_database_migrates_wal_0600_and_reopens(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"
    with Registry(home) as reg:
        assert reg.schema_version == len(MIGRATIONS)
        path = reg.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)
    with Registry(home) as again:  # migrations are not re-run
        assert again.schema_version == len(MIGRATIONS)
        assert again.list() == []


def test_corrupt_registry_is_a_clear_config_error(tmp_path: Path) -> None:
    from cosyvoice_clone.errors import ConfigError

    (tmp_path / "registry.sqlite3").write_bytes(b"not a database" * 100)
    with pytest.raises(ConfigError) as info:
        Registry(tmp_path)
    assert "voices sync" in str(info.value)


def test_resolve_by_id_prefix_ambiguity_and_unknown(tmp_path: Path) -> None:
    from cosyvoice_clone.catalog import VoiceStatus
    from cosyvoice_clone.errors import AmbiguousVoiceError, UnknownVoiceError

    with Registry(tmp_path) as reg:
        _record(reg, V1, "anna")
        _record(reg, V3, "bob", "cosyvoice-v2")
        assert resolve(reg, V1).target_model == "cosyvoice-v3.5-plus"
        bob = resolve(reg, "bob")
        assert bob.voice_id == V3 and bob.target_model == "cosyvoice-v2"
        assert bob.status is VoiceStatus.OK
        _record(reg, V2, "anna")
        with pytest.raises(AmbiguousVoiceError) as info:
            resolve(reg, "anna")
        assert "matches 2 voices" in str(info.value) and "full voice id" in str(info.value)
        reg.mark_deleted(V2)
        assert resolve(reg, "anna").voice_id == V1  # deleted voices don't count
        stranger = "cosyvoice-v3-flash-zed-" + "9" * 32
        unregistered = resolve(reg, stranger)
        assert unregistered.origin is None and not unregistered.registered
        assert unregistered.target_model == "cosyvoice-v3-flash" and unregistered.prefix == "zed"
        with pytest.raises(UnknownVoiceError) as info:
            resolve(reg, "nobody")
        assert "voices sync" in str(info.value)


def test_dedupe_identity() -> None:
    opts = normalize_clone_options(prefix="anna").fingerprint()
    base = dedupe_key(opts, endpoint="e", sample_sha256="aa")
    assert base == dedupe_key(dict(opts), endpoint="e", sample_sha256="aa")
    assert base != dedupe_key(opts, endpoint="other", sample_sha256="aa")
    assert base != dedupe_key(opts, endpoint="e", sample_sha256="bb")
    assert base != dedupe_key(opts, endpoint="e", sample_url="https://x/a.wav")
    hinted = normalize_clone_options(prefix="anna", language_hints=["en"]).fingerprint()
    assert base != dedupe_key(hinted, endpoint="e", sample_sha256="aa")
    assert split_voice_id(V1) == ("cosyvoice-v3.5-plus", "anna")


def test_sync_adds_updates_and_marks_deleted(tmp_path: Path) -> None:
    with Registry(tmp_path) as reg:
        _record(reg, V1, "anna")
        _record(reg, V2, "anna")
        report = reg.sync(
            [
                (V1, {"status": "UNDEPLOYED"}),
                (V3, {"status": "OK", "gmt_create": "2026-01-01 08:00:00"}),
            ],
            region="cn-beijing",
            endpoint="emulator",
        )
        assert report.added == (V3,) and report.updated == (V1,) and report.marked_deleted == (V2,)
        assert reg.get(V2).deleted  # type: ignore[union-attr]
        assert reg.get(V3).origin == "seen"  # type: ignore[union-attr]
        assert {r.voice_id for r in reg.list()} == {V1, V3}
