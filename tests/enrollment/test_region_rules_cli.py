"""Region rules end to end (``--emulator``): refused locally, sent with a warning, or allowed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from enrollment_helpers import REFERENCE, Result

pytestmark = pytest.mark.usefixtures("fast_emulator")

SG = ("--emulator", "--region", "ap-southeast-1")


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
    assert len(warnings) == 1 and "3027318" in warnings[0]  # names the rule and its source
    assert len(errors) == 1
    assert "ap-southeast-1" in errors[0] and "region rules" in errors[0]  # the hint


def test_what_every_source_agrees_on_is_refused_before_sending(cli: Callable[..., Result]) -> None:
    result = cli(*SG, "--json", "clone", "--prefix", "sgv35", "--sample", str(REFERENCE))
    assert result.code == 2
    error = result.json["error"]
    assert error["code"] == "invalid_request" and error["field"] == "target_model"
    assert "only in China (Beijing)" in error["hint"]
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
