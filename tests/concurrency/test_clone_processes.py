"""Identical clones from several processes sharing a home make one voice (issue 12)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from concurrency_helpers import Processes

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.registry import Registry

CLONE = (
    "clone",
    "--prefix",
    "race",
    "--target-model",
    "cosyvoice-v3.5-plus",
    "--no-wait",
    "--skip-check",
    "--language-hint",
    "en",
)


def creates(emulator: RunningEmulator) -> int:
    entries = emulator.backend.recorded("enrollment").get("enrollment", [])
    return sum(1 for e in entries if e["body"]["input"]["action"] == "create_voice")


def test_eight_processes_one_voice(
    cosyvoice_emulator: RunningEmulator, processes: Processes, sample: Path
) -> None:
    procs = [processes.start(*CLONE, "--sample", str(sample)) for _ in range(8)]
    results = [processes.finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0] * 8, [err for _, _, err in results]
    outputs = [out for _, out, _ in results]
    assert all(out["ok"] for out in outputs)
    voice_ids = {out["voice_id"] for out in outputs}
    assert len(voice_ids) == 1
    assert sorted(out["reused"] for out in outputs) == [False] + [True] * 7
    assert cosyvoice_emulator.backend.voice_count() == 1
    assert creates(cosyvoice_emulator) == 1
    with Registry(processes.home) as registry:
        assert [r.voice_id for r in registry.list(prefix="race")] == list(voice_ids)
        assert registry.claims.owner(registry.list()[0].dedupe_key or "") is None  # released


@pytest.mark.parametrize("transport", ["upload", "data-uri"])
def test_a_killed_creator_s_voice_is_adopted_by_the_next_process(
    cosyvoice_emulator: RunningEmulator, processes: Processes, sample: Path, transport: str
) -> None:
    clone = (*CLONE, "--sample", str(sample), "--sample-transport", transport)
    cosyvoice_emulator.configure(create_delay=30.0)  # the voice exists; the answer is held
    first = processes.start(*clone)
    try:
        while cosyvoice_emulator.backend.voice_count() == 0:
            assert first.poll() is None, first.communicate()
            time.sleep(0.02)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    cosyvoice_emulator.configure(create_delay=0.0)
    orphan = cosyvoice_emulator.backend.list_voices("race")[0].voice_id
    with Registry(processes.home) as registry:
        assert registry.list(prefix="race") == []  # the killed process never registered it

    code, out, err = processes.finish(processes.start(*clone))
    assert code == 0, err
    assert out["voice_id"] == orphan and out["adopted"] and not out["reused"]
    assert cosyvoice_emulator.backend.voice_count() == 1
    assert creates(cosyvoice_emulator) == 1
    code, out, err = processes.finish(processes.start(*clone))
    assert code == 0 and out["voice_id"] == orphan and out["reused"], err
