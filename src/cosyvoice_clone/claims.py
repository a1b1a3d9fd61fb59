"""Clone claims: which process is cloning a given request right now, across processes.

An identical clone (same dedupe key) started by several processes sharing a home must make one
voice. Before sending anything, a clone *claims* its key: one row in the registry's
``clone_claims`` table, written in an immediate transaction, naming its owner (token, pid,
host, start time) and an expiry. The others wait until the row is gone and then find the voice
in the registry. A row whose owner is dead (same host, no such pid) or past its expiry is taken
over; the new owner learns who it replaced (:attr:`Claim.previous`) and must first look on the
service for a voice that owner may have created just before it died (adopt, don't duplicate).

The owner notes the sample URL it is about to send (:meth:`ClaimBoard.note`), so a take-over
can recognise that voice by its resource link.

:class:`ClaimStore` is the contract (``try_claim``, ``note``, ``release``, ``owner``) and the
waiting loop built on it; :class:`ClaimBoard` keeps claims in SQLite (one home), the Redis
backend of :mod:`cosyvoice_clone.state` keeps them where every replica sees them.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

DEFAULT_TTL = 300.0
"""Seconds a claim lasts without a refresh (an upload plus a create with its retries)."""

S = TypeVar("S")
T = TypeVar("T")


class Database(Protocol):
    """What claims need of a connection (``sqlite3.Connection`` or the registry's)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> sqlite3.Cursor: ...


def create_claims_table(db: Database) -> None:
    """The ``clone_claims`` table (a registry migration)."""
    db.execute(
        """
        CREATE TABLE clone_claims (
            key TEXT PRIMARY KEY,
            token TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            started_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            sample_url TEXT
        )
        """
    )


@dataclass(frozen=True)
class ClaimOwner:
    """Who holds (or held) a claim; times are epoch seconds."""

    key: str
    token: str
    pid: int
    host: str
    started_at: float
    expires_at: float
    sample_url: str | None = None


@dataclass(frozen=True)
class Claim:
    """A claim this process holds."""

    key: str
    token: str
    started_at: float
    previous: ClaimOwner | None = None
    """The dead or expired owner this claim replaced: reconcile with the service first."""


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs on this host (True when it can't be told: rely on the expiry)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) is not a probe on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # e.g. EPERM: it exists, owned by someone else
    return True


class ClaimStore(ABC):
    """Where claims live: claim, note, release, and the wait built on them."""

    clock: Callable[[], float]
    """Epoch seconds, on the clock the expiries are written in (as this process sees it)."""

    @abstractmethod
    def owner(self, key: str) -> ClaimOwner | None:
        """The current holder of ``key`` (live or not), if any."""

    @abstractmethod
    def try_claim(self, key: str) -> Claim | ClaimOwner:
        """Claim ``key``: our :class:`Claim`, or the live :class:`ClaimOwner` that holds it."""

    @abstractmethod
    def note(self, claim: Claim, sample_url: str) -> bool:
        """Record the sample URL about to be sent and extend the expiry; False if lost."""

    @abstractmethod
    def release(self, claim: Claim) -> None:
        """Give the claim up (only if it is still ours)."""

    def claim_or_wait(
        self,
        key: str,
        done: Callable[[], T | None],
        pause: Callable[[float], S],
        *,
        poll: float = 0.05,
        max_poll: float = 0.5,
    ) -> Generator[S, object, tuple[Claim | None, T | None]]:
        """Claim ``key``, or wait while someone else holds it until ``done()`` has a result.

        A generator that yields ``pause(seconds)`` steps (the caller sleeps them) and returns
        ``(claim, None)`` when this process must do the work, or ``(None, result)`` when
        ``done()`` found it done by another. ``done`` is asked again right after a claim is
        won, so work finished just before is never redone.
        """
        delay = poll
        while True:
            found = done()
            if found is not None:
                return None, found
            got = self.try_claim(key)
            if isinstance(got, Claim):
                found = done()
                if found is not None:
                    self.release(got)
                    return None, found
                return got, None
            remaining = got.expires_at - self.clock()
            yield pause(max(0.0, min(delay, remaining)))
            delay = min(max_poll, delay * 1.5)


class ClaimBoard(ClaimStore):
    """The claims in one SQLite database (the registry's); thread- and process-safe.

    ``lock`` is the lock that guards ``db`` in this process (the registry's).
    """

    def __init__(
        self,
        db: Database,
        lock: threading.RLock | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
        alive: Callable[[int], bool] = process_alive,
    ) -> None:
        self._db = db
        self._lock = lock or threading.RLock()
        self.ttl = ttl
        self.clock = clock
        self._alive = alive
        self.host = socket.gethostname()

    def _live(self, owner: ClaimOwner, now: float) -> bool:
        if owner.expires_at <= now:
            return False
        if owner.host == self.host and owner.pid != os.getpid():
            return self._alive(owner.pid)
        return True

    def _row(self, key: str) -> ClaimOwner | None:
        row = self._db.execute(
            "SELECT key, token, pid, host, started_at, expires_at, sample_url "
            "FROM clone_claims WHERE key = ?",
            (key,),
        ).fetchone()
        return ClaimOwner(*tuple(row)) if row else None

    def owner(self, key: str) -> ClaimOwner | None:
        """The current holder of ``key`` (live or not), if any."""
        with self._lock:
            return self._row(key)

    def try_claim(self, key: str) -> Claim | ClaimOwner:
        """Claim ``key``: our :class:`Claim`, or the live :class:`ClaimOwner` that holds it."""
        token = secrets.token_hex(8)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = self.clock()
                current = self._row(key)
                if current is not None and self._live(current, now):
                    self._db.execute("COMMIT")
                    return current
                self._db.execute(
                    "INSERT OR REPLACE INTO clone_claims "
                    "(key, token, pid, host, started_at, expires_at, sample_url) "
                    "VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (key, token, os.getpid(), self.host, now, now + self.ttl),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return Claim(key, token, now, previous=current)

    def note(self, claim: Claim, sample_url: str) -> bool:
        """Record the sample URL about to be sent and extend the expiry; False if lost."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE clone_claims SET sample_url = ?, expires_at = ? "
                "WHERE key = ? AND token = ?",
                (sample_url, self.clock() + self.ttl, claim.key, claim.token),
            )
            return cursor.rowcount == 1

    def release(self, claim: Claim) -> None:
        """Give the claim up (only if it is still ours)."""
        with self._lock:
            self._db.execute(
                "DELETE FROM clone_claims WHERE key = ? AND token = ?", (claim.key, claim.token)
            )


__all__ = [
    "DEFAULT_TTL",
    "Claim",
    "ClaimBoard",
    "ClaimOwner",
    "ClaimStore",
    "Database",
    "create_claims_table",
    "process_alive",
]
