"""Fixtures of the shared-state tests: a real redis-server per test, a sample."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from state_helpers import REDIS_SERVER, SAMPLE, RedisServer, free_port

from cosyvoice_clone.state import forget_states


def _server(data_dir: Path | None) -> Iterator[RedisServer]:
    if not REDIS_SERVER.is_file():
        pytest.fail(f"{REDIS_SERVER} is missing: `make test` installs it (apt-get redis-server)")
    server = RedisServer(free_port(), data_dir)
    server.start()
    try:
        yield server
    finally:
        forget_states()
        server.stop()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    yield from _server(None)


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server with AOF (fsync always) in a temp dir: it survives a restart."""
    data = tmp_path / "redis-data"
    data.mkdir()
    yield from _server(data)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "speaker.wav"
    shutil.copyfile(SAMPLE, path)
    return path
