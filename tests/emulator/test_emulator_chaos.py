"""Realism and chaos knobs: injected faults, rate limits, quota, review rejection, deploy delay."""

from __future__ import annotations

import time

import httpx
import pytest
from emulator_helpers import action, enroll

from cosyvoice_clone.emulator.backend import Backend, EmulatorConfig
from cosyvoice_clone.emulator.faults import FaultSpecError, format_faults, parse_faults
from cosyvoice_clone.emulator.server import RunningEmulator


def create(emulator: RunningEmulator, prefix: str = "chaos") -> httpx.Response:
    return action(
        emulator,
        "create_voice",
        target_model="cosyvoice-v2",
        prefix=prefix,
        url=emulator.sample_url(),
    )


def voice_ids(emulator: RunningEmulator) -> list[str]:
    listed = action(emulator, "list_voice", page_size=100).json()["output"]["voice_list"]
    return [v["voice_id"] for v in listed]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("http500", 500, "InternalError"),
        ("http503", 503, "ServiceUnavailable"),
        ("http429", 429, "Throttling.RateQuota"),
    ],
)
def test_http_faults(
    cosyvoice_emulator: RunningEmulator, kind: str, status: int, code: str
) -> None:
    cosyvoice_emulator.set_faults(**{kind: 1.0})
    response = create(cosyvoice_emulator)
    assert response.status_code == status
    assert response.json()["code"] == code
    if status == 429:
        assert int(response.headers["Retry-After"]) >= 1
    cosyvoice_emulator.set_faults()
    assert voice_ids(cosyvoice_emulator) == []  # a failed request stored nothing
    assert create(cosyvoice_emulator).status_code == 200


def test_drop_after_commit_stores_the_voice_but_sends_nothing(
    cosyvoice_emulator: RunningEmulator,
) -> None:
    cosyvoice_emulator.set_faults("drop_after_commit=1")
    with pytest.raises(httpx.RemoteProtocolError):  # the server closed without a response
        create(cosyvoice_emulator, "dropped")
    cosyvoice_emulator.set_faults()
    ids = voice_ids(cosyvoice_emulator)
    assert len(ids) == 1 and ids[0].startswith("cosyvoice-v2-dropped-")  # yet it was created
    assert cosyvoice_emulator.backend.counters["fault:drop_after_commit"] == 1


def test_fault_probability_is_honoured_and_seedable() -> None:
    def rolls(seed: int) -> list[bool]:
        backend = Backend(EmulatorConfig(faults={"http503": 0.3}, seed=seed))
        try:
            return [backend.fault("http503") for _ in range(2000)]
        finally:
            backend.close()

    first = rolls(7)
    assert first == rolls(7)
    assert 0.25 < sum(first) / len(first) < 0.35
    backend = Backend()
    assert not any(backend.fault("http503") for _ in range(100))
    backend.close()


def test_fault_spec_parsing() -> None:
    assert parse_faults("http503=0.2, drop_after_commit=0.1") == {
        "http503": 0.2,
        "drop_after_commit": 0.1,
    }
    assert parse_faults("ws_drop=1") == {"ws_drop": 1.0}
    assert parse_faults("") == {}
    assert format_faults({"http503": 0.2, "ws_drop": 0.0}) == "http503=0.2"
    for bad in (
        "http600=1",
        "http503=lots",
        "http503=1.5",
        "task_failed=-0.1",
        "ws_drop",
        "http503=",
    ):
        with pytest.raises(FaultSpecError):
            parse_faults(bad)


def test_enrollment_rate_limit(cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_rate_limits(True)
    statuses = []
    retry_after = []
    for _ in range(25):
        response = action(cosyvoice_emulator, "list_voice")
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json()["code"] == "Throttling.RateQuota"
            retry_after.append(int(response.headers["Retry-After"]))
    assert statuses.count(200) >= 10 and statuses.count(429) >= 1
    assert statuses[:10] == [200] * 10
    assert all(r >= 1 for r in retry_after)
    time.sleep(1.05)
    assert action(cosyvoice_emulator, "list_voice").status_code == 200


def test_synthesis_task_rate_limit_is_per_model(cosyvoice_emulator: RunningEmulator) -> None:
    backend = cosyvoice_emulator.backend
    assert all(backend.allow_synthesis_task("cosyvoice-v2") for _ in range(10))  # limits off
    cosyvoice_emulator.set_rate_limits(True)
    cosyvoice_emulator.backend.reset(config=False)
    assert [backend.allow_synthesis_task("cosyvoice-v2") for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert backend.allow_synthesis_task("cosyvoice-v3-flash")
    time.sleep(1.05)
    assert backend.allow_synthesis_task("cosyvoice-v2")


def test_review_rejection_ends_undeployed(cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_deploy_delay(0.3)
    cosyvoice_emulator.set_faults(review_reject=1.0)
    voice_id = create(cosyvoice_emulator).json()["output"]["voice_id"]
    status = action(cosyvoice_emulator, "query_voice", voice_id=voice_id).json()["output"]
    assert status["status"] == "DEPLOYING"
    time.sleep(0.35)
    status = action(cosyvoice_emulator, "query_voice", voice_id=voice_id).json()["output"]
    assert status["status"] == "UNDEPLOYED"


def test_quota_counts_every_voice(cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_quota(3)
    ids = [create(cosyvoice_emulator).json()["output"]["voice_id"] for _ in range(3)]
    refused = create(cosyvoice_emulator)
    assert refused.status_code == 400
    assert refused.json() | {"request_id": ""} == {
        "request_id": "",
        "code": "Throttling.AllocationQuota",
        "message": "Your current quota is 3",
    }
    action(cosyvoice_emulator, "delete_voice", voice_id=ids[0])
    assert create(cosyvoice_emulator).status_code == 200


def test_region_mode_refuses_upload_policy_where_undocumented(
    cosyvoice_emulator: RunningEmulator,
) -> None:
    cosyvoice_emulator.set_region("us-east-1")  # Beijing and Singapore document the upload
    response = httpx.get(
        cosyvoice_emulator.http_base + "/uploads",
        params={"action": "getPolicy", "model": "voice-enrollment"},
        headers={"Authorization": f"Bearer {cosyvoice_emulator.api_key}"},
    )
    assert response.status_code == 400 and response.json()["code"] == "InvalidParameter"


def test_fixture_resets_between_tests_part1(cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_faults(http500=1.0)
    cosyvoice_emulator.set_quota(0)
    cosyvoice_emulator.backend.store_upload("k/x.wav", b"data", "audio/wav")


def test_fixture_resets_between_tests_part2(cosyvoice_emulator: RunningEmulator) -> None:
    assert cosyvoice_emulator.backend.config.faults == {}
    assert cosyvoice_emulator.backend.config.quota == 1000
    assert cosyvoice_emulator.backend.upload("k/x.wav") is None
    payload = {"model": "voice-enrollment", "input": {"action": "list_voice"}}
    assert enroll(cosyvoice_emulator, payload).status_code == 200


def test_settle_ends_deployment_on_demand(cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_deploy_delay(3600)
    first = create(cosyvoice_emulator, "a").json()["output"]["voice_id"]
    second = create(cosyvoice_emulator, "b").json()["output"]["voice_id"]

    def status(voice_id: str) -> str:
        return str(
            action(cosyvoice_emulator, "query_voice", voice_id=voice_id).json()["output"]["status"]
        )

    assert status(first) == status(second) == "DEPLOYING"
    assert cosyvoice_emulator.settle(first) == 1
    assert (status(first), status(second)) == ("OK", "DEPLOYING")
    settled = httpx.post(
        f"{cosyvoice_emulator.admin_url}/settle", json={"status": "UNDEPLOYED"}
    ).json()
    assert settled == {"ok": True, "changed": 1}
    assert (status(first), status(second)) == ("OK", "UNDEPLOYED")
    bad = httpx.post(f"{cosyvoice_emulator.admin_url}/settle", json={"status": "MAYBE"})
    assert bad.status_code == 400
