"""Cloning under injected faults: none lost, none duplicated."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from enrollment_helpers import REFERENCE, Result

from cosyvoice_clone.client import AsyncCosyVoice
from cosyvoice_clone.http import RetryPolicy
from cosyvoice_clone.registry import Registry

FAULTS = {"http503": 0.3, "http429": 0.2, "drop_after_commit": 0.2}
# Half of all requests fail here; give each request room for a long unlucky streak.
PATIENT = RetryPolicy(max_attempts=25, initial_delay=0.02, max_delay=0.5, max_retry_after=0.5)


def test_thirty_clones_under_faults_leave_thirty_voices(
    cosyvoice_emulator: Any, isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = cosyvoice_emulator
    emulator.set_rate_limits(False)
    emulator.set_faults(**FAULTS)
    home = isolated_env / "faults-home"

    async def clone_all() -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
        async with AsyncCosyVoice(
            api_key=emulator.api_key,
            http_base=emulator.http_base,
            home=home,
            output_dir=isolated_env / "faults-out",
            retry=PATIENT,
            rate_limit=None,
        ) as client:
            results = await asyncio.gather(
                *(
                    client.clone(prefix=f"f{i}", sample=emulator.sample_url(), skip_check=True)
                    for i in range(30)
                ),
                return_exceptions=True,
            )
            return results, client.http_stats.to_dict(), client.enrollment_stats.to_dict()

    results, http_stats, enrollment_stats = asyncio.run(clone_all())
    emulator.set_faults()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []

    service = emulator.backend.list_voices(page_size=1000)
    service_ids = sorted(v.voice_id for v in service)
    with Registry(home) as registry:
        registry_ids = sorted(r.voice_id for r in registry.list())
    assert len(service_ids) == 30
    assert sorted({v.prefix for v in service}) == sorted(f"f{i}" for i in range(30))
    assert registry_ids == service_ids
    assert sorted(r.voice_id for r in results) == service_ids

    counters = emulator.backend.snapshot()["counters"]
    with capsys.disabled():
        print(
            f"\n[faults] http={http_stats} enrollment={enrollment_stats} "
            f"drops={counters.get('fault:drop_after_commit', 0)} "
            f"adopted={sum(r.adopted for r in results)}"
        )
    # The faults really fired, and every dropped create was adopted rather than repeated.
    assert http_stats["retries"] > 0
    assert enrollment_stats["reconciliations"] > 0
    assert enrollment_stats["adopted"] == counters.get("fault:drop_after_commit", 0)


def test_cli_clones_under_faults_via_env(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, fast_emulator: None
) -> None:
    monkeypatch.setenv(
        "COSYVOICE_CLONE_EMULATOR_FAULTS", "http503=0.3,http429=0.2,drop_after_commit=0.2"
    )
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_RATE_LIMITS", "0")
    monkeypatch.setenv("COSYVOICE_CLONE_RETRY_ATTEMPTS", "25")
    ids = []
    for i in range(2):
        made = cli(
            "--emulator",
            "--json",
            "clone",
            "--prefix",
            f"c{i}",
            "--sample",
            str(REFERENCE),
            "--no-wait",
            "--skip-check",
        )
        assert made.code == 0, made.out + made.err
        ids.append(made.json["voice_id"])
    monkeypatch.delenv("COSYVOICE_CLONE_EMULATOR_FAULTS")
    listed = cli("--emulator", "--json", "voices", "list")
    assert sorted(v["voice_id"] for v in listed.json["voices"]) == sorted(ids)
