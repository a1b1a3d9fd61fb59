"""Registry robustness: concurrent writers never fail; a damaged or newer file is refused with
one line and exit 2, and is left byte for byte as it was."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cosyvoice_clone.errors import RegistryError
from cosyvoice_clone.registry import MIGRATIONS, REGISTRY_FILE, Registry

CliRunner = Callable[..., Any]


def refused(cli: CliRunner, home: Path) -> dict[str, Any]:
    """Run a command that opens the registry; check it fails cleanly; return the JSON error."""
    path = home / REGISTRY_FILE
    before = path.read_bytes()
    result = cli("--json", "--emulator", "--home", str(home), "voices", "list")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 1
    assert path.read_bytes() == before  # nothing was overwritten
    error: dict[str, Any] = result.json()["error"]
    assert error["code"] == "registry" and str(path) in error["message"]
    return error


def test_a_file_that_is_not_a_database_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / REGISTRY_FILE).write_text("my notes, not a database\n")
    error = refused(cli, home)
    assert "unreadable" in error["message"] and "mv " in error["hint"]


def test_a_registry_from_a_newer_version_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Registry(home) as registry:
        registry.observe(
            "cosyvoice-v3-flash-keep-" + "a" * 32,
            region="cn-beijing",
            endpoint="emulator",
            status="OK",
        )
        registry._db.execute(
            "INSERT INTO schema_migrations VALUES (?, 'later')", (len(MIGRATIONS) + 1,)
        )
    error = refused(cli, home)
    assert "newer cosyvoice-clone" in error["message"] and "upgrade" in error["hint"]
    with pytest.raises(RegistryError):
        Registry(home)


def test_damaged_pages_are_a_registry_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Registry(home) as registry:
        for i in range(200):
            registry.observe(
                f"cosyvoice-v3-flash-bulk-{i:032x}",
                region="cn-beijing",
                endpoint="emulator",
                status="OK",
            )
    path = home / REGISTRY_FILE
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[2 * page : 6 * page] = b"\xff" * (4 * page)  # pages 3-6: the voices table's b-tree
    path.write_bytes(bytes(data))
    with pytest.raises(RegistryError, match="unreadable"), Registry(home) as registry:
        registry.list()


def _writer(home: str, worker: int) -> int:
    registry = Registry(home)  # all open (and migrate) a fresh file at the same moment
    with registry:
        for i in range(40):
            voice_id = f"cosyvoice-v3-flash-w{worker}-{i:032x}"
            registry.record_clone(
                voice_id,
                region="cn-beijing",
                endpoint="emulator",
                target_model="cosyvoice-v3-flash",
                prefix=f"w{worker}",
                options={},
                key=f"k{worker}-{i}",
                sample_url="https://example.com/s.wav",
                sample_sha256=None,
                sample_source=None,
                request_id=None,
                usage_count=1,
                status="DEPLOYING",
            )
            registry.observe(voice_id, region="cn-beijing", endpoint="emulator", status="OK")
            with registry.batch():
                registry.set_status(voice_id, "OK")
    return worker


def test_concurrent_writers_never_see_a_locked_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(6) as pool:
        assert sorted(pool.starmap(_writer, [(str(home), w) for w in range(6)])) == list(range(6))
    with Registry(home) as registry:
        assert len(registry.list()) == 240
        assert registry.schema_version == len(MIGRATIONS)
    db = sqlite3.connect(home / REGISTRY_FILE)
    assert json.loads(json.dumps(db.execute("PRAGMA integrity_check").fetchall())) == [["ok"]]
