"""Issue 17: the progress of a long mp3/opus text follows the audio written, not only the
audio received (encoding is slower than the emulator: the bar used to sit at 100%)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosyvoice_clone.synthesis import Synthesizer


@pytest.mark.parametrize("fmt", ["opus", "mp3", "wav"])
def test_full_progress_means_the_audio_is_in_the_file(
    synth: Synthesizer, voice: str, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"long.{fmt}"
    seen: list[tuple[int, int, int]] = []

    def on_progress(done: int, total: int) -> None:
        written = sum(p.stat().st_size for p in tmp_path.glob(f".long.{fmt}.*.partial"))
        seen.append((done, total, written))

    text = "A sentence of a long story goes here, with a few more words. " * 120
    result = synth.speak(text, out, voice=voice, concurrency=4, on_progress=on_progress)
    assert result.parts > 1
    dones = [d for d, _, _ in seen]
    assert dones == sorted(dones) and dones[-1] == seen[-1][1] == result.text_characters
    first_full = next(w for d, t, w in seen if d == t)
    assert first_full >= 0.9 * out.stat().st_size  # not 100% with the file still mostly empty
    halfway = [w for d, t, w in seen if d >= t // 2]
    assert halfway[0] > 0  # half of the bar: some audio is already in the file
