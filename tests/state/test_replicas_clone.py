"""Clone processes with one home each (as on several machines) share one account through Redis."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import soundfile as sf
from state_helpers import Homes, RedisServer, creates

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


def test_six_homes_one_voice(
    cosyvoice_emulator: RunningEmulator, redis_server: RedisServer, tmp_path: Path, sample: Path
) -> None:
    homes = Homes(cosyvoice_emulator, tmp_path, redis_server.url)
    procs = [homes.start(f"h{i}", *CLONE, "--sample", str(sample)) for i in range(6)]
    results = [homes.finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0] * 6, [err for _, _, err in results]
    outputs = [out for _, out, _ in results]
    assert len({out["voice_id"] for out in outputs}) == 1
    assert sorted(out["reused"] for out in outputs) == [False] + [True] * 5
    assert cosyvoice_emulator.backend.voice_count() == 1
    assert creates(cosyvoice_emulator) == 1
    voice_id = outputs[0]["voice_id"]
    for i in range(6):  # every home's registry caches the shared record
        with Registry(homes.home(f"h{i}")) as registry:
            record = registry.get(voice_id)
            assert record is not None and record.prefix == "race"


def test_six_homes_without_redis_make_six_voices(
    cosyvoice_emulator: RunningEmulator, tmp_path: Path, sample: Path
) -> None:
    """The control: the same run with no shared state duplicates (what the issue measured)."""
    homes = Homes(cosyvoice_emulator, tmp_path, None)
    procs = [homes.start(f"h{i}", *CLONE, "--sample", str(sample)) for i in range(6)]
    results = [homes.finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0] * 6, [err for _, _, err in results]
    assert len({out["voice_id"] for _, out, _ in results}) == 6
    assert cosyvoice_emulator.backend.voice_count() == 6


def test_killed_creator_adopted_on_another_home(
    cosyvoice_emulator: RunningEmulator, redis_server: RedisServer, tmp_path: Path, sample: Path
) -> None:
    homes = Homes(cosyvoice_emulator, tmp_path, redis_server.url)
    clone = (*CLONE, "--sample", str(sample))
    cosyvoice_emulator.configure(create_delay=30.0)  # the voice exists; the answer is held
    first = homes.start("h1", *clone)
    try:
        while cosyvoice_emulator.backend.voice_count() == 0:
            assert first.poll() is None, first.communicate()
            time.sleep(0.02)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    cosyvoice_emulator.configure(create_delay=0.0)
    orphan = cosyvoice_emulator.backend.list_voices("race")[0].voice_id

    code, out, err = homes.run("h2", *clone)
    assert code == 0, err
    assert out["voice_id"] == orphan and out["adopted"] and not out["reused"]
    assert cosyvoice_emulator.backend.voice_count() == 1
    assert creates(cosyvoice_emulator) == 1
    code, out, err = homes.run("h3", *clone)  # a third home finds it in the shared index
    assert code == 0 and out["voice_id"] == orphan and out["reused"], err
    assert creates(cosyvoice_emulator) == 1


def test_clone_on_one_speaks_by_prefix_on_another(
    cosyvoice_emulator: RunningEmulator, redis_server: RedisServer, tmp_path: Path, sample: Path
) -> None:
    homes = Homes(cosyvoice_emulator, tmp_path, redis_server.url)
    clone = (*CLONE[:2], "shared", *CLONE[3:], "--sample", str(sample))
    code, out, err = homes.run("h1", *clone)
    assert code == 0, err
    voice_id = out["voice_id"]
    cosyvoice_emulator.settle()
    with Registry(homes.home("h2")) as registry:
        assert registry.list() == []  # h2 never saw it
    wav = tmp_path / "o.wav"
    code, out, err = homes.run(
        "h2", "speak", "--voice", "shared", "--text", "hi", "--out", str(wav)
    )
    assert code == 0, err
    assert sf.info(str(wav)).frames > 0
    with Registry(homes.home("h2")) as registry:
        record = registry.get(voice_id)
        assert record is not None and record.origin == "created"


DESIGN = (
    "design",
    "--prefix",
    "host",
    "--prompt",
    "A warm, calm male narrator in his forties with a low voice.",
    "--preview-text",
    "Hello and welcome to the show.",
    "--no-wait",
)


def test_three_homes_one_design(
    cosyvoice_emulator: RunningEmulator, redis_server: RedisServer, tmp_path: Path
) -> None:
    homes = Homes(cosyvoice_emulator, tmp_path, redis_server.url)
    cosyvoice_emulator.configure(create_delay=2.0)  # every process plans before one is done
    procs = [homes.start(f"h{i}", *DESIGN) for i in range(3)]
    results = [homes.finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0] * 3, [err for _, _, err in results]
    outputs = [out for _, out, _ in results]
    assert len({out["voice_id"] for out in outputs}) == 1
    assert sorted(out["reused"] for out in outputs) == [False, True, True]
    assert cosyvoice_emulator.backend.voice_count() == 1
    assert creates(cosyvoice_emulator) == 1


def test_a_delete_on_one_replica_is_seen_by_the_others(
    cosyvoice_emulator: RunningEmulator, redis_server: RedisServer, tmp_path: Path, sample: Path
) -> None:
    homes = Homes(cosyvoice_emulator, tmp_path, redis_server.url)
    clone = (*CLONE, "--sample", str(sample))
    code, first, err = homes.run("h1", *clone)
    assert code == 0, err
    code, _, err = homes.run("h2", "voices", "delete", first["voice_id"], "--yes")
    assert code == 0, err
    assert cosyvoice_emulator.backend.voice_count() == 0
    code, again, err = homes.run("h3", *clone)  # not reused: the shared record says deleted
    assert code == 0 and not again["reused"] and again["voice_id"] != first["voice_id"], err
    code, out, err = homes.run("h1", *clone)  # h1's cache said alive: it learns the new one
    assert code == 0 and out["voice_id"] == again["voice_id"], err
    assert cosyvoice_emulator.backend.voice_count() == 1
