"""The pacing script on a real redis-server: the same budgets as the files, shared by homes."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from state_helpers import RedisServer, max_in_window

from cosyvoice_clone.pacing import SharedBudget, bucket_path, shared_budget
from cosyvoice_clone.state import namespace, open_state

ACCOUNT = "sk-test-account"


def test_reserve_spaces_enrollment_slots_by_a_ninth_of_a_second(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    home = tmp_path / "h1"
    open_state(redis_server.url, home=home, account=ACCOUNT)
    budget = shared_budget(home, "enrollment:example", limit=1, window=1 / 9)
    bounds = []  # each slot lies between (before the call + wait) and (after it + wait)
    for _ in range(10):
        before = time.time()
        wait = budget.reserve()
        bounds.append((before + wait, time.time() + wait))
    for (low, high), (next_low, next_high) in itertools.pairwise(bounds):
        assert next_low - high - 0.002 <= 1 / 9 <= next_high - low + 0.002, bounds
    keys = redis_server.client().keys(f"cvc:{namespace(ACCOUNT)}:pace:*")
    assert keys and not bucket_path(home, "enrollment:example").exists()  # Redis, not the file


def test_push_back_and_script_flush(redis_server: RedisServer, tmp_path: Path) -> None:
    home = tmp_path / "h1"
    open_state(redis_server.url, home=home, account=ACCOUNT)
    budget = shared_budget(home, "enrollment:push", limit=1, window=1 / 9)
    assert budget.reserve() < 0.2
    pushed = time.time()
    budget.push_back(2.0)
    first = budget.reserve()
    assert 2.0 - (time.time() - pushed) - 0.002 <= first <= 2.0
    redis_server.client().script_flush()  # what a restart does: the script is loaded again
    second = budget.reserve()
    assert first + 1 / 9 - (time.time() - pushed) - 0.002 <= second <= first + 1 / 9 + 0.002


def test_take_never_more_than_three_in_a_second_across_homes(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    budgets: list[SharedBudget] = []
    for i in range(3):  # three replicas: one home each, one Redis
        home = tmp_path / f"h{i}"
        open_state(redis_server.url, home=home, account=ACCOUNT)
        budgets.append(SharedBudget(3, 1.1, path=bucket_path(home, "synthesis:host:model")))
    times: list[float] = []
    lock = threading.Lock()

    def worker(budget: SharedBudget) -> None:
        for _ in range(2):
            while (delay := budget.take()) > 0:
                time.sleep(delay)
            with lock:
                times.append(time.time())

    threads = [threading.Thread(target=worker, args=(budgets[i % 3],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(times) == 12
    assert max_in_window(times, 1.0) <= 3
    assert max(times) - min(times) >= 3 * 1.1 - 0.05  # 12 slots at 3 per 1.1 s


def test_another_account_has_its_own_budget(redis_server: RedisServer, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    open_state(redis_server.url, home=first, account="sk-one")
    open_state(redis_server.url, home=second, account="sk-two")
    a = shared_budget(first, "enrollment:acct", limit=1, window=1.0)
    b = shared_budget(second, "enrollment:acct", limit=1, window=1.0)
    assert a.reserve() < 0.01 and b.reserve() < 0.01  # two accounts never share slots
    assert all("sk-one" not in k for k in redis_server.client().keys("*"))
