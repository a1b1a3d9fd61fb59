"""Region rules end to end (``--emulator``): refused locally, sent with a warning, or allowed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from enrollment_helpers import REFERENCE, Result

from cosyvoice_clone import catalog

pytestmark = pytest.mark.usefixtures("fast_emulator")

SG = ("--emulator", "--region", "ap-southeast-1")
PROTOCOL_DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_disputed_rule_is_sent_with_one_warning_and_a_refusal_is_one_line(
    cli: Callable[..., Result],
) -> None:
    # The emulator follows the conservative rule (no v3 cloning in Singapore); the client does
    # not refuse, since newer official pages say the service clones there.
    result = cli(
        *SG,
        "clone",
        "--prefix",
        "sgv3",
        "--sample",
        str(REFERENCE),
        "--target-model",
        "cosyvoice-v3-plus",
        "--no-wait",
    )
    assert result.code == 1, result.err
    lines = result.err.strip().splitlines()
    warnings = [line for line in lines if line.startswith("warning: region rule:")]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(warnings) == 1 and "cosyvoice-v3-plus in ap-southeast-1" in warnings[0]
    assert len(warnings[0]) < 200 and "3027318" not in warnings[0]  # one short line
    assert "docs/protocol.md" in warnings[0]  # ... pointing at the rule's sources, which are there
    assert "3027318" in PROTOCOL_DOC.read_text(encoding="utf-8")
    assert "3027318" in catalog.citation(catalog.clone_rule("cosyvoice-v3-plus", SG[2]))["source"]
    assert len(errors) == 1
    assert "ap-southeast-1" in errors[0] and "region rules" in errors[0]  # the hint


def test_what_every_source_agrees_on_is_refused_before_sending(cli: Callable[..., Result]) -> None:
    result = cli(*SG, "--json", "clone", "--prefix", "sgv35", "--sample", str(REFERENCE))
    assert result.code == 2
    error = result.json["error"]
    assert error["code"] == "invalid_request" and error["field"] == "target_model"
    assert "only in China (Beijing)" in error["source"]  # the citation, in --json only
    assert "cosyvoice-clone-design-api" in error["source"]
    assert "only in China (Beijing)" not in error["message"] + (error["hint"] or "")
    plain = cli(*SG, "clone", "--prefix", "sgv35", "--sample", str(REFERENCE))
    assert plain.code == 2
    (line,) = [line for line in plain.err.splitlines() if line.strip()]
    assert line.startswith("error: cosyvoice-v3.5-plus does not clone in ap-southeast-1")
    assert len(line) < 260 and "cosyvoice-v2" in line and "--json" in line
    listed = cli(*SG, "--json", "voices", "list")
    assert listed.json["voices"] == []


def test_local_samples_upload_in_singapore(cli: Callable[..., Result]) -> None:
    result = cli(
        *SG,
        "--json",
        "clone",
        "--prefix",
        "sgv2",
        "--sample",
        str(REFERENCE),
        "--target-model",
        "cosyvoice-v2",
    )
    assert result.code == 0, result.err
    assert result.json["sample_url"].startswith("oss://")
    assert result.json["status"] == "OK"
