"""Regressions from QA of cloning and voice management, each asserted on what a user sees:
exit codes, output lines, files on disk, the registry file and the service's state."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from enrollment_helpers import REFERENCE, SECOND, Result

from cosyvoice_clone.client import CosyVoice

KEY = "sk-qafixes0123456789abcdef"


@pytest.fixture
def service(cosyvoice_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The fixture emulator (fast deploys, no rate limits); the CLI pointed at it by env."""
    cosyvoice_emulator.configure(api_keys={KEY}, rate_limits=False)
    cosyvoice_emulator.set_deploy_delay(0.1)
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", cosyvoice_emulator.http_base)
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    yield cosyvoice_emulator


def _service_ids(service: Any) -> list[str]:
    return sorted(v.voice_id for v in service.backend.list_voices(page_size=1000))


def _registry_row(home: Path, voice_id: str) -> dict[str, Any] | None:
    with sqlite3.connect(home / "registry.sqlite3") as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM voices WHERE voice_id = ?", (voice_id,)).fetchone()
    return dict(row) if row else None


def _clone(cli: Callable[..., Result], prefix: str, sample: Path = REFERENCE) -> dict[str, Any]:
    made = cli("--json", "clone", "--prefix", prefix, "--sample", str(sample), "--no-wait")
    assert made.code == 0, made.out + made.err
    data: dict[str, Any] = made.json
    return data


# 1 -- evidence is written after the voice exists: failing to write it never loses the voice


def test_unwritable_evidence_after_create_keeps_and_prints_the_voice(
    service: Any, cli: Callable[..., Result], isolated_env: Path
) -> None:
    out = isolated_env / "output"
    out.mkdir()
    (out / "voices").write_text("a regular file where the per-voice folders go\n")
    result = cli("clone", "--prefix", "ev1", "--sample", str(REFERENCE), "--no-wait")
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    assert "evidence could not be written" in result.err
    [voice_id] = _service_ids(service)
    assert f"cloned voice {voice_id}" in result.out
    assert voice_id in result.err  # the warning says the voice is registered
    row = _registry_row(isolated_env / "cc-home", voice_id)
    assert row is not None and row["origin"] == "created" and row["deleted_at"] is None


def test_api_clone_survives_an_output_dir_that_became_a_file(
    service: Any, isolated_env: Path
) -> None:
    out = isolated_env / "later-a-file"
    with CosyVoice(
        api_key=KEY,
        http_base=service.http_base,
        home=isolated_env / "h",
        output_dir=out,
        evidence=True,
    ) as client:
        out.write_text("not a directory\n")  # after the settings were resolved
        result = client.clone(prefix="ev2", sample=service.sample_url(), skip_check=True)
        assert result.evidence == {}
        assert any("evidence could not be written" in w for w in result.warnings)
        assert _service_ids(service) == [result.voice_id]
        assert client.registry.get(result.voice_id) is not None
    assert out.read_text() == "not a directory\n"


def test_cli_refuses_a_file_as_output_dir_before_creating_anything(
    service: Any, cli: Callable[..., Result], isolated_env: Path
) -> None:
    bad = isolated_env / "plain-file"
    bad.write_text("x")
    result = cli("--output-dir", str(bad), "clone", "--prefix", "ev3", "--sample", str(REFERENCE))
    assert result.code == 2 and "Traceback" not in result.err
    assert _service_ids(service) == []


# 3 -- the quota message: the service's limit and our count, never two "quotas"
# (asserted in test_enrollment_errors with a limit of 2)


# 4 -- `voices show` resolves registered prefixes and refuses impossible ids locally


def test_show_resolves_prefixes_and_refuses_impossible_ids_without_sending(
    service: Any, cli: Callable[..., Result]
) -> None:
    one = _clone(cli, "qa2")
    _clone(cli, "twin")
    cli("--json", "clone", "--prefix", "twin", "--sample", str(SECOND), "--no-wait", "--skip-check")
    twins = [v for v in _service_ids(service) if "-twin-" in v]
    assert len(twins) == 2

    shown = cli("--json", "voices", "show", "qa2")
    assert shown.code == 0, shown.err
    assert shown.json["voice_id"] == one["voice_id"]

    before = dict(service.backend.snapshot()["counters"])
    ambiguous = cli("voices", "show", "twin")
    assert ambiguous.code == 2
    assert all(voice_id in ambiguous.err for voice_id in twins)
    nope = cli("voices", "show", "nope")
    assert nope.code == 2
    assert "not a voice id" in nope.err and "Traceback" not in nope.err
    as_json = cli("--json", "voices", "show", "nope")
    assert as_json.code == 2 and as_json.json["error"]["code"] == "unknown_voice"
    assert service.backend.snapshot()["counters"] == before  # nothing was sent

    # A well-formed id still goes to the service (which decides).
    unknown = cli("voices", "show", "cosyvoice-v2-zz-0123456789abcdef0123456789abcdef")
    assert unknown.code == 1 and "ResourceNotExist" in unknown.err


# 5 -- delete names what it deletes; an already deleted voice says so


class _Terminal(io.StringIO):
    """A stdin that is a terminal, with the user's answers."""

    def isatty(self) -> bool:
        return True


def test_delete_prompt_lists_ids_and_gone_voices_say_so(
    service: Any,
    cli: Callable[..., Result],
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    voice_id = _clone(cli, "del1")["voice_id"]
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    declined = cli("voices", "delete", "del1")
    assert declined.code == 1
    assert voice_id in declined.err and "Delete this voice on the service?" in declined.err
    assert "nothing deleted" in declined.err
    assert _service_ids(service) == [voice_id]
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    accepted = cli("voices", "delete", voice_id)
    assert accepted.code == 0 and f"deleted {voice_id}" in accepted.out
    assert _service_ids(service) == []

    # Deleted behind the registry's back (another machine, the console): exit 1, it says so.
    other = _clone(cli, "del2")["voice_id"]
    service.backend.delete_voice(other)
    gone = cli("voices", "delete", other, "--yes")
    assert gone.code == 1
    assert "already gone from the service" in gone.err
    assert "the registry now marks it deleted" in gone.err
    row = _registry_row(isolated_env / "cc-home", other)
    assert row is not None and row["deleted_at"] and row["status"] == "DELETED"
    again = cli("voices", "delete", other, "--yes")
    assert again.code == 1 and "already deleted" in again.err
    never = cli("voices", "delete", "cosyvoice-v2-zz-0123456789abcdef0123456789abcdef", "--yes")
    assert never.code == 1 and "unknown to the service" in never.err


# 6 -- piped output is whole, the list has a header, times carry their zone


def test_piped_show_is_never_cut_list_has_header_and_zones_are_labelled(
    service: Any, cli: Callable[..., Result]
) -> None:
    made = _clone(cli, "pipe")
    shown = cli("voices", "show", "pipe")  # stdout is captured: not a terminal
    assert shown.code == 0, shown.err
    assert "…" not in shown.out
    lines = dict(line.split(None, 1) for line in shown.out.splitlines() if line.strip())
    assert lines["sample_url"] == made["sample_url"]
    assert lines["resource_link"].startswith("oss://") and len(lines["resource_link"]) > 80
    assert lines["gmt_create"].endswith(" +08:00")
    # One zone for every time shown (issue 17): the service's, Beijing time.
    stamps = {k: v for k, v in lines.items() if k.startswith("gmt_") or k.endswith("_at")}
    assert stamps and all(v.endswith(" +08:00") and "T" not in v for v in stamps.values())
    assert "UTC" not in shown.out

    listed = cli("voices", "list")
    header, *rows = listed.out.splitlines()
    assert header.split("\t")[:3] == ["voice_id", "status", "target_model"]
    assert "+08:00" in header
    assert rows and rows[0].split("\t")[0] == made["voice_id"]


# 7 -- a reused clone spent nothing; an adopted one says how it was found


def test_reuse_reports_no_usage_and_adoption_is_recorded(
    service: Any, cli: Callable[..., Result], isolated_env: Path
) -> None:
    first = _clone(cli, "re1")
    assert first["usage"] == {"count": 1} and first["request_id"]
    assert first["original_request_id"] is None
    again = _clone(cli, "re1")
    assert again["reused"] is True and again["voice_id"] == first["voice_id"]
    assert again["request_id"] is None
    assert again["usage"] == {"count": 0}
    assert again["original_request_id"] == first["request_id"]
    evidence = json.loads(Path(again["evidence"]["evidence"]).read_text())
    assert evidence["request_id"] is None and evidence["reused"] is True
    assert evidence["original_request_id"] == first["request_id"]
    # the voice's own creation record is kept as it was
    assert "voice_evidence" not in again["evidence"]
    creation = json.loads(Path(first["evidence"]["voice_evidence"]).read_text())
    assert creation["request_id"] == first["request_id"] and creation["reused"] is False

    service.set_faults(drop_after_commit=1.0)  # the create goes through, the answer is lost
    with CosyVoice(
        api_key=KEY,
        http_base=service.http_base,
        home=isolated_env / "cc-home",
        output_dir=isolated_env / "output",
        evidence=True,
    ) as client:
        adopted = client.clone(prefix="ad1", sample=service.sample_url(), skip_check=True)
    service.set_faults()
    assert adopted.adopted is True and adopted.request_id is None
    record = json.loads(Path(adopted.evidence["voice_evidence"]).read_text())
    assert record["adopted"] is True and record["voice_id"] == adopted.voice_id
    assert isinstance(record["reconcile_request_id"], str) and record["reconcile_request_id"]
    assert _service_ids(service).count(adopted.voice_id) == 1


# 8 -- long waits and retries say so on a non-terminal stderr (CI logs), never under --json


@pytest.mark.timeout(60)
def test_plain_notices_during_long_waits_and_retries(
    service: Any, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    service.set_deploy_delay(3.0)
    waited = cli("clone", "--prefix", "slow", "--sample", str(REFERENCE), "--skip-check")
    assert waited.code == 0, waited.err
    notices = [line for line in waited.err.splitlines() if line.startswith("waiting for voice")]
    assert notices, waited.err
    assert "cosyvoice-v3.5-plus-slow-" in notices[0] and ": DEPLOYING (" in notices[0]
    assert notices[0].endswith(" s)") and "\r" not in waited.err  # plain lines, no spinner
    service.set_deploy_delay(0.1)

    monkeypatch.setenv("COSYVOICE_CLONE_RETRY_ATTEMPTS", "4")  # 3 pauses of >= 1 s
    service.set_faults(http429=1.0)  # each answer asks to retry after 1 s
    retried = cli("voices", "list")
    assert retried.code == 4
    notes = [line for line in retried.err.splitlines() if line.startswith("listing voices: ")]
    assert notes and "HTTP 429" in notes[0] and "of 4" in notes[0], retried.err
    quiet = cli("--json", "voices", "list")
    service.set_faults()
    assert quiet.code == 4 and "retrying" not in quiet.err
