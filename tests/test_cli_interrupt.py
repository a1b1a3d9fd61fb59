"""The CLI's SIGINT/SIGTERM handling around a sync-face call (``cli/interrupt.py``): the call's
cleanup runs, then one :class:`Interrupted` with the exit status 128 + signal."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from cosyvoice_clone.cli.interrupt import run_interruptible
from cosyvoice_clone.errors import Interrupted


def _signal_soon(signum: int, after: float = 0.2) -> None:
    threading.Timer(after, os.kill, (os.getpid(), signum)).start()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_inside_asyncio_run_cancels_every_task_and_runs_their_cleanup(
    tmp_path: Path, signum: int, code: int
) -> None:
    partial = tmp_path / "out.partial"
    cleaned: list[str] = []
    errors: list[object] = []

    async def worker(name: str) -> None:
        try:
            while True:  # busy inside the task most of the time (the signal lands there)
                time.sleep(0.02)
                await asyncio.sleep(0)
        finally:
            cleaned.append(name)

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        partial.write_bytes(b"half")
        workers = [asyncio.create_task(worker(name)) for name in "ab"]
        try:
            await asyncio.sleep(30)
        finally:  # as a part runner does: cancel the workers, never read their results
            for task in workers:
                task.cancel()
            partial.unlink()

    before = signal.getsignal(signal.SIGTERM)
    _signal_soon(signum)
    with pytest.raises(Interrupted) as caught:
        run_interruptible(
            lambda: asyncio.run(main()), lambda n: Interrupted(n, hint="nothing was written")
        )
    assert caught.value.exit_code == code
    assert str(caught.value) == (
        f"interrupted by {signal.Signals(signum).name} — nothing was written"
    )
    gc.collect()  # a task left with an unread exception would complain now
    assert not partial.exists() and sorted(cleaned) == ["a", "b"]
    assert errors == []  # no task left with an unread exception
    assert signal.getsignal(signal.SIGTERM) == before  # the previous handler is back


def test_a_signal_in_plain_sync_code_stops_it_where_it_is(tmp_path: Path) -> None:
    done: list[str] = []

    def call() -> str:
        try:
            time.sleep(5)
            return "finished"
        finally:
            done.append("cleanup")

    _signal_soon(signal.SIGTERM)
    started = time.monotonic()
    with pytest.raises(Interrupted) as caught:
        run_interruptible(call)
    assert time.monotonic() - started < 4
    assert caught.value.exit_code == 143 and caught.value.signal_name == "SIGTERM"
    assert done == ["cleanup"]


def test_without_a_signal_the_result_comes_back_and_other_errors_pass_through() -> None:
    before = signal.getsignal(signal.SIGINT)
    assert run_interruptible(lambda: 42) == 42

    def fail() -> None:
        raise KeyboardInterrupt  # not one of ours: passes through untouched

    with pytest.raises(KeyboardInterrupt):
        run_interruptible(fail)
    assert signal.getsignal(signal.SIGINT) == before
