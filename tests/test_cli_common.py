"""What every command shares: global options, unusable dirs, JSON shapes, usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "src/cosyvoice_clone/data/reference_en.wav"


def test_version_plain_and_json(cli) -> None:  # type: ignore[no-untyped-def]
    from cosyvoice_clone import __version__

    assert cli("--version").stdout.strip() == f"cosyvoice-clone {__version__}"
    assert cli("--json", "--version").json() == {"ok": True, "version": __version__}


def test_home_that_is_a_file_is_refused_before_anything_runs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = cli("--home", str(afile), "voices", "list")
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"error: --home {afile} is not a directory — pass another --home"
    )


def test_unusable_output_dir_is_refused_before_a_voice_is_made(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    afile = tmp_path / "afile"
    afile.write_text("x")
    home = tmp_path / "home"
    result = cli(
        "--json",
        "--emulator",
        "--home",
        str(home),
        "--output-dir",
        str(afile / "out"),
        "clone",
        "--prefix",
        "early",
        "--sample",
        "https://example.com/a.wav",
    )
    assert result.exit_code == 2
    error = result.json()["error"]
    assert error["code"] == "config" and "--output-dir" in error["message"]
    assert len(result.stderr.strip().splitlines()) == 1  # the one line is on stderr too
    assert not (home / "emulator.sqlite3").exists()  # the emulator never started: nothing sent


def test_output_dir_is_probed_not_created(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-probe-test-0001")
    out = tmp_path / "not" / "yet"
    result = cli("--output-dir", str(out), "doctor", "--offline")
    assert result.exit_code == 0
    assert not out.exists() and list(tmp_path.glob("**/.cosyvoice-clone-probe-*")) == []


def test_usage_error_json_shape(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--json", "prepare", "--bogus")
    assert result.exit_code == 2
    assert result.json()["ok"] is False
    assert result.json()["error"]["code"] == "usage"


def test_debug_shows_the_traceback_but_keeps_the_exit_status(
    cli,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("COSYVOICE_CLONE_DEBUG", "1")
    result = cli("prepare", "--prefix", "bad_prefix", "--voice-sample-url", "https://x/a.wav")
    assert result.exit_code == 2  # prepare reports its own JSON error
    result = cli("--region", "mars-1", "doctor", "--offline")
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: unknown region 'mars-1'")
