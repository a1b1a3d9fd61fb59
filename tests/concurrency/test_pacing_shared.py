"""The shared pacing budget: slots on an injected clock, shared through a file by processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from concurrency_helpers import max_in_window

from cosyvoice_clone.pacing import HORIZON, SharedBudget, bucket_path, shared_budget


def test_slots_keep_at_most_limit_in_any_window(tmp_path: Path) -> None:
    now = [100.0]
    budget = SharedBudget(3, 1.05, path=tmp_path / "b.bucket", clock=lambda: now[0])
    assert [round(budget.reserve(), 6) for _ in range(7)] == [0, 0, 0, 1.05, 1.05, 1.05, 2.1]
    now[0] += 10.0
    assert budget.reserve() == 0.0


def test_one_per_window_is_an_interval(tmp_path: Path) -> None:
    now = [5.0]
    budget = SharedBudget(1, 0.25, path=tmp_path / "e.bucket", clock=lambda: now[0])
    assert [budget.reserve() for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]


def test_push_back_delays_every_user_of_the_file(tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "p.bucket"
    one = SharedBudget(3, 1.0, path=path, clock=lambda: now[0])
    other = SharedBudget(3, 1.0, path=path, clock=lambda: now[0])
    one.push_back(2.0)  # a 429 told one process to wait
    assert other.reserve() == 2.0


def test_two_handles_on_one_file_share_the_slots(tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "s.bucket"
    one = SharedBudget(3, 1.0, path=path, clock=lambda: now[0])
    other = SharedBudget(3, 1.0, path=path, clock=lambda: now[0])
    waits = [one.reserve(), other.reserve(), one.reserve(), other.reserve()]
    assert waits == [0.0, 0.0, 0.0, 1.0]
    assert one.shared and path.stat().st_mode & 0o777 == 0o600


def test_without_a_file_the_budget_is_per_process(tmp_path: Path) -> None:
    now = [0.0]
    budget = SharedBudget(2, 1.0, clock=lambda: now[0])
    assert not budget.shared and budget.path is None
    assert [budget.reserve() for _ in range(3)] == [0.0, 0.0, 1.0]
    assert shared_budget(None, "x", limit=2, window=1.0) is shared_budget(
        None, "x", limit=2, window=1.0
    )


def test_garbage_or_far_future_state_is_reset(tmp_path: Path) -> None:
    now = [10 * HORIZON]
    path = tmp_path / "g.bucket"
    path.write_bytes(b"not a bucket at all")
    budget = SharedBudget(1, 1.0, path=path, clock=lambda: now[0])
    assert budget.reserve() == 0.0
    budget.push_back(HORIZON)  # capped at the horizon: still sane
    assert budget.reserve() == HORIZON
    now[0] -= 2 * HORIZON  # the clock jumped back: the old slots are garbage
    assert budget.reserve() == 0.0


def test_bucket_files_are_readable_and_distinct(tmp_path: Path) -> None:
    a = bucket_path(tmp_path, "synthesis:ws://127.0.0.1:1/api-ws/v1/inference:cosyvoice-v3")
    b = bucket_path(tmp_path, "synthesis:ws://127.0.0.1:2/api-ws/v1/inference:cosyvoice-v3")
    assert a != b and a.parent == tmp_path / "pacing" and a.name.startswith("synthesis_ws_127")


def _reserve_many(path: str, count: int, queue: multiprocessing.Queue[list[float]]) -> None:
    import time

    budget = SharedBudget(3, 1.05, path=Path(path))  # the window the client uses (with margin)
    slots = []
    for _ in range(count):
        now = time.time()  # a little before the budget reads its clock: slots look earlier
        slots.append(now + budget.reserve())
    queue.put(slots)


def test_processes_sharing_a_file_never_overbook_a_window(tmp_path: Path) -> None:
    """Four processes reserve six slots each at once: the union keeps 3 per second."""
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[float]] = ctx.Queue()
    path = str(tmp_path / "m.bucket")
    procs = [ctx.Process(target=_reserve_many, args=(path, 6, queue)) for _ in range(4)]
    for proc in procs:
        proc.start()
    slots = [t for _ in procs for t in queue.get(timeout=60)]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert len(slots) == 24
    assert max_in_window(slots, 1.0) <= 3


def test_take_stamps_the_slot_when_it_is_used(tmp_path: Path) -> None:
    now = [0.0]
    budget = SharedBudget(3, 1.1, path=tmp_path / "t.bucket", clock=lambda: now[0])
    assert [budget.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.take() == 1.1  # nothing was taken: a late waker is not owed a slot
    now[0] = 1.5  # it woke up late
    assert budget.take() == 0.0
    assert [budget.take(), budget.take()] == [0.0, 0.0]
    assert budget.take() == 1.1  # the window counts from 1.5, when the slot was really used
