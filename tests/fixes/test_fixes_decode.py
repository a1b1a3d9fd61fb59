"""Item 9 of issue 23: a corrupt MP3 is "not a valid MP3", with no decoder noise on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cosyvoice_clone import audio
from cosyvoice_clone.errors import SampleUnreadableError


def broken_mp3(path: Path) -> Path:
    """An ID3 header that claims a 0-byte tag, then bytes that hold no MPEG frame."""
    noise = bytes((i * 7919 + 13) % 251 for i in range(20_000))
    path.write_bytes(b"ID3\x03" + bytes(6) + noise)
    return path


def test_library_check_says_not_a_valid_mp3(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    sample = broken_mp3(tmp_path / "id3.mp3")
    with pytest.raises(SampleUnreadableError) as info:
        audio.check_sample(sample)
    assert "cannot decode id3.mp3: not a valid MP3 file" in str(info.value)
    assert info.value.api_code == "Audio.DecoderError"
    err = capfd.readouterr().err
    assert "mpg123" not in err and "Note:" not in err and "resync" not in err, err


def test_other_fd2_output_survives_the_quiet_decode(capfd: pytest.CaptureFixture[str]) -> None:
    from cosyvoice_clone.audio._stderr import quiet_decoder

    with quiet_decoder():
        os.write(2, b"Note: Trying to resync...\nprogress 50%\n")
    assert capfd.readouterr().err == "progress 50%\n"


def test_cli_check_one_line_in_a_real_process(tmp_path: Path) -> None:
    sample = broken_mp3(tmp_path / "id3.mp3")
    env = {**os.environ, "COSYVOICE_CLONE_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "cosyvoice_clone", "check", str(sample)],
        capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "not a valid MP3" in lines[0] and "regular file" not in lines[0]


async def test_mcp_check_sample_same_message(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("mcp")
    from mcp import Client

    from cosyvoice_clone.config import Settings
    from cosyvoice_clone.mcp import build_server

    sample = broken_mp3(tmp_path / "id3.mp3")
    settings = Settings.resolve(home=tmp_path / "home", output_dir=tmp_path / "out")
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("check_sample", {"source": str(sample)})
    assert result.is_error
    assert "not a valid MP3" in result.structured_content["error"]["message"]
    assert "mpg123" not in capfd.readouterr().err
