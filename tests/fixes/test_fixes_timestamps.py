"""Item 19 of issue 23: word indexes are offsets into the whole input, across sentences and
parts (the service restarts them at every sentence)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cosyvoice_clone import CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.synthesis.protocol import Word, align_words

VOICE = "longanyang"
MODEL = "cosyvoice-v3-flash"


def test_align_words_maps_restarting_indexes() -> None:
    text = "First one. Second one."
    words = [
        Word("First", 0, 1, 0, 5),
        Word("one", 1, 2, 6, 9),
        Word("Second", 2, 3, 0, 6),  # the service restarts at every sentence
        Word("one", 3, 4, 7, 10),
        Word("zzz", 4, 5, 0, 3),  # normalised away: not in the text
    ]
    aligned = align_words(text, words)
    assert [text[w.begin_index : w.end_index] for w in aligned[:4]] == [  # type: ignore[misc]
        "First", "one", "Second", "one"]  # fmt: skip
    assert aligned[3].begin_index == 18 and aligned[4].begin_index is None


def test_library_words_index_the_whole_text_across_parts(
    lib: Callable[..., CosyVoice], tmp_path: Path
) -> None:
    sentences = [f"Sentence number {i} says something here." for i in range(80)]  # > 2,000
    text = " ".join(sentences)
    with lib() as cv:
        result = cv.speak(text, tmp_path / "a.wav", voice=VOICE, model=MODEL,
                          word_timestamps=True, concurrency=3)  # fmt: skip
    assert result.parts > 1
    words = result.words
    assert len(words) > 300
    starts = [w.begin_index for w in words]
    assert all(s is not None for s in starts) and starts == sorted(starts)  # never restart
    for w in words:
        assert text[w.begin_index : w.end_index] == w.text, w  # type: ignore[misc]


def test_cli_timestamps_file_indexes_the_input(
    cli: Any, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    text = "First sentence here. Second one follows. Third is last."
    stamps = tmp_path / "a.json"
    res = cli("speak", "--voice", VOICE, "--model", MODEL, "--text", text,
              "--out", str(tmp_path / "a.wav"), "--timestamps", str(stamps))  # fmt: skip
    assert res.exit_code == 0, res.stderr
    words = json.loads(stamps.read_text(encoding="utf-8"))["words"]
    second = next(w for w in words if w["text"] == "Second")
    assert second["begin_index"] == text.index("Second")
    assert all(text[w["begin_index"] : w["end_index"]] == w["text"] for w in words)
