"""Clone claims across processes: one owner, waiters, take-over of dead or expired owners."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from cosyvoice_clone.claims import Claim, ClaimBoard, ClaimOwner, create_claims_table

KEY = "k" * 64


def open_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT)")
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'clone_claims'").fetchone():
        create_claims_table(db)
    return db


def test_one_owner_then_the_next_after_release(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    mine, theirs = ClaimBoard(open_db(path)), ClaimBoard(open_db(path))
    got = mine.try_claim(KEY)
    assert isinstance(got, Claim) and got.previous is None
    held = theirs.try_claim(KEY)
    assert isinstance(held, ClaimOwner) and held.token == got.token and held.pid == os.getpid()
    assert mine.note(got, "oss://bucket/sample.wav")
    mine.release(got)
    again = theirs.try_claim(KEY)
    assert isinstance(again, Claim) and again.previous is None


def test_a_dead_owner_is_taken_over_and_named(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    first = ClaimBoard(open_db(path))
    claim = first.try_claim(KEY)
    assert isinstance(claim, Claim)
    first.note(claim, "oss://bucket/a.wav")
    # Another process of this host sees the owner's pid gone.
    other = ClaimBoard(open_db(path), alive=lambda pid: False)
    other_pid = os.getpid() + 1
    other._db.execute("UPDATE clone_claims SET pid = ?", (other_pid,))
    taken = other.try_claim(KEY)
    assert isinstance(taken, Claim) and taken.previous is not None
    assert taken.previous.token == claim.token and taken.previous.sample_url == "oss://bucket/a.wav"
    assert not first.note(claim, "oss://bucket/late.wav")  # the old owner lost it
    first.release(claim)  # a late release does not free the new owner's claim
    owner = other.owner(KEY)
    assert owner is not None and owner.token == taken.token


def test_an_expired_owner_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    now = [1000.0]
    first = ClaimBoard(open_db(path), ttl=60.0, clock=lambda: now[0])
    second = ClaimBoard(open_db(path), ttl=60.0, clock=lambda: now[0])
    second.host = "another-host"  # can't probe its pid: only the expiry counts
    claim = first.try_claim(KEY)
    assert isinstance(claim, Claim)
    now[0] += 30.0
    assert first.note(claim, "https://example.com/s.wav")  # refreshed: expires at 1090
    now[0] += 59.0
    assert isinstance(second.try_claim(KEY), ClaimOwner)
    now[0] += 2.0
    taken = second.try_claim(KEY)
    assert isinstance(taken, Claim) and taken.previous is not None


def test_waiting_returns_what_the_owner_finished(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    now = [0.0]
    owner, waiter = ClaimBoard(open_db(path)), ClaimBoard(open_db(path), clock=lambda: now[0])
    claim = owner.try_claim(KEY)
    assert isinstance(claim, Claim)
    db = open_db(path)

    def done() -> str | None:
        row = db.execute("SELECT value FROM results WHERE key = ?", (KEY,)).fetchone()
        return row[0] if row else None

    steps = waiter.claim_or_wait(KEY, done, pause=lambda s: s)
    first, second = next(steps), next(steps)
    assert first == 0.05 and second > first  # polls, growing
    db.execute("INSERT INTO results VALUES (?, 'voice-1')", (KEY,))
    owner.release(claim)
    try:
        next(steps)
    except StopIteration as stop:
        assert stop.value == (None, "voice-1")
    else:
        raise AssertionError("the waiter kept waiting")


def _race(path: str, queue: multiprocessing.Queue[tuple[int, str, bool]]) -> None:
    db = open_db(Path(path))
    board = ClaimBoard(db)

    def done() -> str | None:
        row = db.execute("SELECT value FROM results WHERE key = ?", (KEY,)).fetchone()
        return row[0] if row else None

    steps = board.claim_or_wait(KEY, done, pause=lambda s: s)
    try:
        while True:
            time.sleep(next(steps))
    except StopIteration as stop:
        claim, found = stop.value
    if claim is not None:
        time.sleep(0.2)  # the "create" takes a while; the others wait
        value = f"voice-of-{os.getpid()}"
        db.execute("INSERT INTO results VALUES (?, ?)", (KEY, value))
        board.release(claim)
        queue.put((os.getpid(), value, False))
    else:
        assert found is not None
        queue.put((os.getpid(), found, True))


def test_six_processes_one_does_the_work(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[tuple[int, str, bool]] = ctx.Queue()
    path = str(tmp_path / "r.sqlite3")
    open_db(Path(path)).close()
    procs = [ctx.Process(target=_race, args=(path, queue)) for _ in range(6)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert len({value for _, value, _ in results}) == 1
    assert sorted(reused for _, _, reused in results) == [False] + [True] * 5


HOLDER = """
import sqlite3, sys
from cosyvoice_clone.claims import ClaimBoard
db = sqlite3.connect(sys.argv[1], timeout=10.0, isolation_level=None)
board = ClaimBoard(db)
claim = board.try_claim(sys.argv[2])
board.note(claim, "oss://bucket/held.wav")
print("claimed", flush=True)
sys.stdin.read()
"""


def test_a_killed_owner_is_taken_over_at_once(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    open_db(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), KEY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "claimed"
        board = ClaimBoard(open_db(path))
        assert isinstance(board.try_claim(KEY), ClaimOwner)  # alive: it holds the claim
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    taken = board.try_claim(KEY)
    assert isinstance(taken, Claim) and taken.previous is not None
    assert taken.previous.pid == holder.pid and taken.previous.sample_url == "oss://bucket/held.wav"
