"""Two batch jobs sharing a home share the account's 3 task submissions/s (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import soundfile as sf
from concurrency_helpers import Processes, max_in_window

from cosyvoice_clone.emulator.server import RunningEmulator

ITEMS = 12


def manifest(folder: Path, voice: str) -> Path:
    folder.mkdir()
    rows = [
        {"id": f"line{i:02d}", "voice": voice, "text": f"Short line number {i}."}
        for i in range(ITEMS)
    ]
    path = folder / "lines.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_two_batch_processes_stay_within_three_submissions_per_second(
    cosyvoice_emulator: RunningEmulator, processes: Processes, sample: Path, tmp_path: Path
) -> None:
    code, out, err = processes.finish(
        processes.start(
            "clone",
            "--prefix",
            "pace",
            "--sample",
            str(sample),
            "--skip-check",
            "--target-model",
            "cosyvoice-v3-flash",
            "--no-wait",
        )
    )
    assert code == 0, err
    cosyvoice_emulator.settle()
    cosyvoice_emulator.set_rate_limits(True)  # 3 task submissions/s per model, as the service
    jobs = [manifest(tmp_path / name, "pace") for name in ("job-a", "job-b")]

    procs = [processes.start("batch", str(job), "--concurrency", "4") for job in jobs]
    results = [processes.finish(p) for p in procs]

    for (code, out, err), job in zip(results, jobs, strict=True):
        assert code == 0, err
        assert "Throttling" not in json.dumps(out) + err
        assert "Throttling" not in (job.parent / "lines.jsonl.results.jsonl").read_text()
        for i in range(ITEMS):
            info = sf.info(job.parent / f"line{i:02d}.wav")
            assert info.frames > 0
    run_tasks = [
        entry["received_at"]
        for entry in cosyvoice_emulator.backend.recorded("websocket").get("websocket", [])
        if entry["message"]["header"]["action"] == "run-task"
    ]
    assert len(run_tasks) == 2 * ITEMS  # one submission per item: none was refused and retried
    assert max_in_window(run_tasks, 1.0) <= 3
