"""A local sample as a data URI (``sample_transport``), against the emulator (issue 11).

The emulator records what it received: with ``data-uri`` the enrollment body carries the sample
and no upload policy was ever asked for.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from enrollment_helpers import Result

from cosyvoice_clone.client import CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import InvalidRequestError


def reference() -> bytes:
    return (resources.files("cosyvoice_clone") / "data" / "reference_en.wav").read_bytes()


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "voice.wav"
    path.write_bytes(reference())
    return path


def client_for(emulator: RunningEmulator, region: str = "cn-beijing") -> CosyVoice:
    return CosyVoice(api_key=emulator.api_key, http_base=emulator.http_base,
                     websocket_url=emulator.websocket_url, region=region)  # fmt: skip


def enrollment_inputs(emulator: RunningEmulator, action: str) -> list[dict[str, Any]]:
    entries = emulator.backend.recorded("enrollment").get("enrollment", [])
    return [e["body"]["input"] for e in entries if e["body"]["input"]["action"] == action]


def test_clone_and_update_with_a_data_uri_upload_nothing(
    cosyvoice_emulator: RunningEmulator, sample: Path, tmp_path: Path
) -> None:
    with client_for(cosyvoice_emulator) as client:
        result = client.clone(prefix="datauri", sample=sample, sample_transport="data-uri",
                              wait=True, timeout=30)  # fmt: skip
        assert result.status is not None and result.status.value == "OK"
        assert result.sample_url == f"data:audio/wav;base64,<{len(reference())} bytes>"
        other = tmp_path / "other.wav"
        other.write_bytes(reference())
        updated = client.voices.update(result.voice_id, other, sample_transport="data-uri")
        assert updated.voice_id == result.voice_id
        speech = client.speak("Hello.", tmp_path / "out.wav", voice="datauri")
        assert speech.bytes > 0
    [created] = enrollment_inputs(cosyvoice_emulator, "create_voice")
    prefix, _, payload = created["url"].partition(",")
    assert prefix == "data:audio/wav;base64" and base64.b64decode(payload) == reference()
    [update] = enrollment_inputs(cosyvoice_emulator, "update_voice")
    assert update["url"].startswith("data:audio/wav;base64,")
    assert not cosyvoice_emulator.backend.recorded("upload_policy")


def test_upload_stays_the_default_where_the_region_has_it(
    cosyvoice_emulator: RunningEmulator, sample: Path
) -> None:
    with client_for(cosyvoice_emulator) as client:
        client.clone(prefix="uploaded", sample=sample)
    [created] = enrollment_inputs(cosyvoice_emulator, "create_voice")
    assert created["url"].startswith("oss://")
    assert cosyvoice_emulator.backend.recorded("upload_policy")


def test_data_uri_is_the_default_without_the_upload_flow_with_one_notice(
    cli: Callable[..., Result], cosyvoice_emulator: RunningEmulator, sample: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    region = "us-east-1"  # no upload flow there (the emulator keeps Beijing's clone rules)
    for name, value in cosyvoice_emulator.env().items():
        monkeypatch.setenv(name, value)
    result = cli("--json", "--region", region, "clone", "--prefix", "hk", "--sample",
                 str(sample), "--target-model", "cosyvoice-v2", "--no-wait")  # fmt: skip
    assert result.code == 0, result.err
    notices = [w for w in result.json["warnings"] if "data URI" in w]
    assert len(notices) == 1 and region in notices[0]
    [created] = enrollment_inputs(cosyvoice_emulator, "create_voice")
    assert created["url"].startswith("data:audio/wav;base64,")
    assert not cosyvoice_emulator.backend.recorded("upload_policy")
    refused = cli("--region", region, "clone", "--prefix", "hk2", "--sample", str(sample),
                  "--target-model", "cosyvoice-v2", "--sample-transport", "upload")  # fmt: skip
    assert refused.code == 2 and "upload" in refused.err


def test_bad_transports_are_refused_before_anything_is_sent(
    cosyvoice_emulator: RunningEmulator, sample: Path, tmp_path: Path
) -> None:
    flac = tmp_path / "voice.flac"
    flac.write_bytes(reference())
    with client_for(cosyvoice_emulator) as client:
        with pytest.raises(InvalidRequestError, match="sample transport"):
            client.clone(prefix="bad", sample=sample, sample_transport="carrier-pigeon")
        with pytest.raises(InvalidRequestError, match="data URI"):
            client.clone(prefix="bad", sample=flac, sample_transport="data-uri",
                         skip_check=True)  # fmt: skip
    assert not cosyvoice_emulator.backend.recorded()
