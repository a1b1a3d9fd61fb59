"""Redis down mid-run: creating voices fails closed, speech goes on; a restart duplicates none."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import soundfile as sf
from state_helpers import Homes, RedisServer, creates

from cosyvoice_clone import CosyVoice
from cosyvoice_clone.config import Settings
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import StateUnavailableError

PASSWORD = "s3cretpw"
CLONE = ("--target-model", "cosyvoice-v3.5-plus", "--no-wait", "--skip-check")


def test_down_mid_run(
    cosyvoice_emulator: RunningEmulator,
    redis_server: RedisServer,
    tmp_path: Path,
    sample: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis_server.client().config_set("requirepass", PASSWORD)
    url = f"redis://:{PASSWORD}@127.0.0.1:{redis_server.port}/0"
    env = {**os.environ, **cosyvoice_emulator.env()}
    settings = Settings.resolve(environ=env, home=tmp_path / "h1", state_url=url)
    assert PASSWORD not in repr(settings)
    client = CosyVoice(settings=settings)
    first = client.clone(
        prefix="alive", sample=sample, target_model="cosyvoice-v3.5-plus", skip_check=True
    )
    cosyvoice_emulator.settle()
    voices, made = cosyvoice_emulator.backend.voice_count(), creates(cosyvoice_emulator)

    redis_server.stop()
    caplog.set_level(logging.WARNING, logger="cosyvoice_clone.state")
    with pytest.raises(StateUnavailableError) as info:
        client.clone(
            prefix="other", sample=sample, target_model="cosyvoice-v3.5-plus", skip_check=True
        )
    err = info.value
    assert err.exit_code == 6 and "\n" not in str(err) and PASSWORD not in str(err)
    assert "nothing was created" in str(err)
    assert cosyvoice_emulator.backend.voice_count() == voices
    assert creates(cosyvoice_emulator) == made

    for n in range(3):  # speech goes on, paced locally
        out = tmp_path / f"speech{n}.wav"
        client.speak(f"Still speaking, line {n}.", out, voice=first.voice_id)
        assert sf.info(str(out)).frames > 0
    warnings = [r for r in caplog.records if r.name == "cosyvoice_clone.state"]
    assert [r.getMessage() for r in warnings if "pacing locally" in r.getMessage()] == [
        warnings[0].getMessage()
    ]  # one warning for the outage, not one per call
    assert all(PASSWORD not in r.getMessage() for r in warnings)
    client.close()


def test_down_mid_run_cli_is_one_line_and_serve_speaks(
    cosyvoice_emulator: RunningEmulator, redis_server: RedisServer, tmp_path: Path, sample: Path
) -> None:
    from test_replicas_serve import speech, start_replica, stop

    homes = Homes(cosyvoice_emulator, tmp_path, redis_server.url)
    proc, base = start_replica(cosyvoice_emulator, tmp_path / "serve-home", redis_server.url)
    try:
        assert speech(base, "Before the outage.").status_code == 200
        redis_server.stop()
        response = speech(base, "During the outage.")
        assert response.status_code == 200 and response.content[:4] == b"RIFF"
    finally:
        err = stop(proc)
    assert "pacing locally" in err

    code, out, err = homes.run("h1", "clone", "--prefix", "down", "--sample", str(sample), *CLONE)
    assert code == 6
    assert out["error"]["code"] == "state_unavailable"
    assert err.strip().count("\n") == 0 and err.startswith("error: ")
    assert cosyvoice_emulator.backend.voice_count() == 0


def test_restart_no_duplicates(
    cosyvoice_emulator: RunningEmulator, durable_redis: RedisServer, tmp_path: Path, sample: Path
) -> None:
    homes = Homes(cosyvoice_emulator, tmp_path, durable_redis.url)
    clone_a = ("clone", "--prefix", "aaa", "--sample", str(sample), *CLONE)
    clone_b = ("clone", "--prefix", "bbb", "--sample", str(sample), *CLONE)
    code, first, err = homes.run("h1", *clone_a)
    assert code == 0 and not first["reused"], err

    durable_redis.stop()
    code, out, err = homes.run("h2", *clone_b)  # fails closed while Redis is down
    assert code == 6 and out["error"]["code"] == "state_unavailable", err
    durable_redis.start()  # the same port and AOF dir

    code, out, err = homes.run("h4", *clone_a)  # a new home: the index survived the restart
    assert code == 0 and out["reused"] and out["voice_id"] == first["voice_id"], err
    code, second, err = homes.run("h2", *clone_b)
    assert code == 0 and not second["reused"], err
    code, out, err = homes.run("h3", *clone_b)
    assert code == 0 and out["reused"] and out["voice_id"] == second["voice_id"], err
    assert cosyvoice_emulator.backend.voice_count() == 2
    assert creates(cosyvoice_emulator) == 2
