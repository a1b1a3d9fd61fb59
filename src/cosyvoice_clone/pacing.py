"""Pacing shared by every process that uses one home: one budget per account limit.

The service's limits are per account (10 enrollment requests/s; 3 synthesis task submissions/s
per model), so an MCP server, a batch job and a CLI call that share a home must share one budget
instead of each taking the whole rate. A :class:`SharedBudget` allows at most ``limit`` events
in any ``window`` seconds: each caller *reserves* the next free slot (a time, possibly in the
future) and sleeps until it. Slots live in a tiny file per bucket under ``HOME/pacing/``,
read and written under an exclusive ``fcntl.flock`` (a few microseconds; nothing is fsynced:
the page cache is what the processes share). Where ``fcntl`` is missing (Windows), or without a
home, the budget is kept in memory and shared by the threads of one process only.

Times are wall-clock seconds (``time.time``; injectable), the one clock every process agrees on.
A file that is unreadable, or whose slots lie absurdly far in the future (a clock that jumped
back, a file from another machine), is reset: that forgets at most one window of history.

Replicas on several hosts share a budget through a :class:`RemotePacing` bound to their home
(:func:`share_pacing`; the Redis backend of :mod:`cosyvoice_clone.state` binds one): every
file-backed budget of that home then asks it first, with the same limit and window, and uses
its file only while the remote is unavailable (``None``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PACING_DIR = "pacing"
HORIZON = 3600.0
"""Slots or a push-back further than this in the future are treated as garbage (reset)."""

_MAGIC = b"CVPB"
_HEADER = struct.Struct("<4sIdI")  # magic, format version, floor, slot count
_SLOT = struct.Struct("<d")
_VERSION = 1
_MAX_SLOTS = 1024


PaceMode = Literal["reserve", "take", "push"]


class RemotePacing(Protocol):
    """Budgets kept elsewhere (shared by hosts): one atomic call per acquire."""

    def pace(
        self, bucket: str, *, limit: int, window: float, mode: PaceMode, seconds: float = 0.0
    ) -> float | None:
        """What :class:`SharedBudget` would return for ``mode``, or ``None`` when unavailable
        (the caller then paces with its local file)."""
        ...


_REMOTES: dict[str, RemotePacing] = {}


def share_pacing(home: Path | str, remote: RemotePacing | None) -> None:
    """Make every file budget under ``home`` ask ``remote`` first (``None``: files only)."""
    key = str(Path(home).expanduser())
    if remote is None:
        _REMOTES.pop(key, None)
    else:
        _REMOTES[key] = remote


@dataclass
class _State:
    floor: float = 0.0
    """No slot before this time (a 429's Retry-After pushed everyone back)."""
    slots: list[float] = field(default_factory=list)
    """The latest reserved slots, oldest first (at most ``limit`` matter)."""


def _reserve(state: _State, now: float, limit: int, window: float) -> float:
    """Take the next slot that keeps at most ``limit`` slots in any ``window``; return it."""
    slots = [s for s in state.slots if s > now - window]
    at = max(now, state.floor)
    if len(slots) >= limit:
        at = max(at, slots[-limit] + window)
    if slots:
        at = max(at, slots[-1])  # first come, first served: slots stay sorted
    slots.append(at)
    state.slots = slots[-limit:]
    return at


def _take(state: _State, now: float, limit: int, window: float) -> float:
    """Take a slot now if one is free (0.0), else reserve nothing and return the wait."""
    slots = [s for s in state.slots if s > now - window]
    free_at = max(state.floor, slots[-limit] + window if len(slots) >= limit else now)
    if free_at > now:
        state.slots = slots
        return free_at - now
    state.slots = sorted([*slots, now])[-limit:]
    return 0.0


def _sane(state: _State, now: float) -> bool:
    latest = max([state.floor, *state.slots])
    return latest <= now + HORIZON


def _encode(state: _State) -> bytes:
    slots = state.slots[-_MAX_SLOTS:]
    return _HEADER.pack(_MAGIC, _VERSION, state.floor, len(slots)) + b"".join(
        _SLOT.pack(s) for s in slots
    )


def _decode(data: bytes) -> _State:
    """The state in ``data``; an empty, foreign or truncated file reads as a fresh state."""
    if len(data) < _HEADER.size:
        return _State()
    magic, version, floor, count = _HEADER.unpack_from(data)
    end = _HEADER.size + count * _SLOT.size
    if magic != _MAGIC or version != _VERSION or count > _MAX_SLOTS or len(data) < end:
        return _State()
    slots = [_SLOT.unpack_from(data, _HEADER.size + i * _SLOT.size)[0] for i in range(count)]
    return _State(floor, slots)


class _MemoryStore:
    """The budget of one process (no ``fcntl``, or no home)."""

    def __init__(self) -> None:
        self._state = _State()

    @contextmanager
    def locked(self) -> Iterator[_State]:
        yield self._state

    def close(self) -> None:
        pass


class _FileStore:
    """The budget in a file, read-modify-written under ``flock`` (shared by processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        self._pid = -1

    def _open(self) -> int:
        # A forked child shares its parent's open file description, and flock locks belong to
        # that description: reopen so the child's lock really excludes the parent.
        if self._fd < 0 or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def locked(self) -> Iterator[_State]:
        assert fcntl is not None
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            state = _decode(os.pread(fd, _HEADER.size + _MAX_SLOTS * _SLOT.size, 0))
            yield state
            data = _encode(state)
            os.pwrite(fd, data, 0)
            if os.fstat(fd).st_size > len(data):
                os.ftruncate(fd, len(data))
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0 and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = -1


class SharedBudget:
    """At most ``limit`` events in any ``window`` seconds, shared through ``path`` if given.

    ``reserve()`` returns how long to wait before the event may happen (the slot is taken
    either way); ``push_back(s)`` makes every user of the budget wait at least ``s`` seconds
    from now (after a 429). Thread-safe; the file makes it process-safe.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a budget needs limit >= 1 and window > 0")
        self.limit = int(limit)
        self.window = float(window)
        self.clock = clock
        self.shared = path is not None and fcntl is not None
        self.path = path if self.shared else None
        self._store: _FileStore | _MemoryStore = (
            _FileStore(path) if path is not None and self.shared else _MemoryStore()
        )
        self._lock = threading.Lock()
        self._home = str(self.path.parent.parent) if self.path is not None else None
        self._bucket = self.path.stem if self.path is not None else ""

    def _remote(self, mode: PaceMode, seconds: float = 0.0) -> float | None:
        """The remote's answer when this home is bound to one (real clock only)."""
        if self._home is None or self.clock is not time.time:
            return None
        remote = _REMOTES.get(self._home)
        if remote is None:
            return None
        return remote.pace(
            self._bucket, limit=self.limit, window=self.window, mode=mode, seconds=seconds
        )

    @contextmanager
    def _state(self) -> Iterator[_State]:
        with self._lock, self._store.locked() as state:
            now = self.clock()
            if not _sane(state, now):
                state.floor, state.slots = 0.0, []
            yield state

    def reserve(self) -> float:
        """Take the next slot; return the seconds to wait before using it."""
        if (shared := self._remote("reserve")) is not None:
            return shared
        with self._state() as state:
            now = self.clock()
            return _reserve(state, now, self.limit, self.window) - now

    def take(self) -> float:
        """Take a slot if one is free now (returns 0.0); else take nothing and return the
        seconds until one may be. The slot is stamped when it is really used, so a caller that
        woke up late never crowds the next window."""
        if (shared := self._remote("take")) is not None:
            return shared
        with self._state() as state:
            return _take(state, self.clock(), self.limit, self.window)

    def push_back(self, seconds: float) -> None:
        """Nobody gets a slot before ``seconds`` from now (e.g. a 429's ``Retry-After``)."""
        if self._remote("push", seconds) is not None:
            return
        with self._state() as state:
            state.floor = max(state.floor, self.clock() + min(seconds, HORIZON))

    async def wait(self) -> float:
        """Sleep (asynchronously) until a slot is free and take it; returns the seconds slept."""
        slept = 0.0
        while (delay := self.take()) > 0:
            await asyncio.sleep(delay)
            slept += delay
        return slept

    def close(self) -> None:
        """Close the file (the budget reopens it when used again)."""
        with self._lock:
            self._store.close()


def bucket_path(home: Path | str, name: str) -> Path:
    """The file of bucket ``name`` under ``home`` (readable, and unique by a short hash)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:60] or "bucket"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return Path(home).expanduser() / PACING_DIR / f"{readable}-{digest}.bucket"


_BUDGETS: dict[tuple[str, int, float], SharedBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def shared_budget(home: Path | str | None, name: str, *, limit: int, window: float) -> SharedBudget:
    """The process-wide budget ``name`` in ``home`` (in memory only when ``home`` is None).

    One object per (file, limit, window) per process, so its threads and its processes' peers
    all draw from the same slots.
    """
    path = bucket_path(home, name) if home is not None else None
    key = (str(path) if path is not None else f"memory:{name}", int(limit), float(window))
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(key)
        if budget is None:
            budget = _BUDGETS[key] = SharedBudget(limit, window, path=path)
        return budget


def pacing_budget(
    limit: int,
    window: float,
    *,
    home: Path | str | None,
    name: str,
    clock: Callable[[], float] | None = None,
) -> SharedBudget:
    """A budget for one limit: shared through ``home`` when given, else this caller's own.

    With ``home`` and the real clock this is :func:`shared_budget` (one per process); an
    injected ``clock`` always gets a fresh object (tests drive its time by hand).
    """
    if home is not None and clock is None:
        return shared_budget(home, name, limit=limit, window=window)
    path = bucket_path(home, name) if home is not None else None
    return SharedBudget(limit, window, path=path, clock=clock or time.time)


__all__ = [
    "HORIZON",
    "PACING_DIR",
    "PaceMode",
    "RemotePacing",
    "SharedBudget",
    "bucket_path",
    "pacing_budget",
    "share_pacing",
    "shared_budget",
]
