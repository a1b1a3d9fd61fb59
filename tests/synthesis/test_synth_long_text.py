"""Long texts: split within the limits, run concurrently, written in order into one valid file."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from cosyvoice_clone import catalog
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.emulator.speech import spoken_seconds
from cosyvoice_clone.synthesis import (
    AsyncSynthesizer,
    SubmissionLimiter,
    SynthesisOptions,
    Synthesizer,
    split_messages,
    split_text,
)

LATIN = "The quick brown fox jumps over the lazy dog, again and again. "
CJK = "我们今天在这里测试一段很长的中文文本。"


def mixed_text(chars: int) -> str:
    """About ``chars`` characters, mostly Latin with CJK sentences, with some paragraphs."""
    unit = LATIN * 4 + CJK + "\n"
    return (unit * (chars // len(unit) + 1))[:chars]


def test_200k_mixed_text_gives_one_valid_file(synth: Synthesizer, voice: str,
                                              tmp_path: Path) -> None:  # fmt: skip
    text = mixed_text(200_000)
    assert len(text) == 200_000 and catalog.text_weight(text) > catalog.MAX_CHARS_PER_TASK
    out = tmp_path / "book" / "long.wav"
    started = time.monotonic()
    seen: list[tuple[int, int]] = []
    result = synth.speak(
        text, out, voice=voice, concurrency=4,
        options=SynthesisOptions(format="wav", sample_rate=8000, rate=2.0),
        on_progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    elapsed = time.monotonic() - started
    info = sf.info(str(out))
    assert info.samplerate == 8000 and info.format == "WAV" and info.channels == 1
    assert result.parts > 1 and len(result.request_ids) == result.parts
    assert abs(info.duration - result.duration) < 1e-3
    # Every part is spoken: the duration is what the text takes (per-token rounding aside).
    expected = sum(spoken_seconds(p, 2.0) for p in split_text(text, _part_weight()))
    assert abs(info.duration / expected - 1) < 1e-3
    assert seen[-1][0] == seen[-1][1]  # progress reached the end
    assert sorted(p.name for p in out.parent.iterdir()) == ["long.wav"]
    assert elapsed < 60


def _part_weight() -> int:
    from cosyvoice_clone.synthesis.text import part_weight_for

    return part_weight_for(catalog.text_weight(mixed_text(200_000)), 4)


def test_parts_are_assembled_in_text_order(synth: Synthesizer, voice: str,
                                           tmp_path: Path) -> None:  # fmt: skip
    # Parts of very different lengths finish out of order; the file must keep the text order.
    sentences = ["One. ", "Two is a much longer sentence that takes a while to say. ", "三。 "]
    text = "".join(sentences * 4)
    parts = split_text(text, 60)
    out = tmp_path / "ordered.pcm"
    result = synth.speak(text, out, voice=voice, concurrency=6, part_weight=60,
                         options=SynthesisOptions(format="pcm", sample_rate=8000))  # fmt: skip
    assert result.parts == len(parts) > 4
    whole = np.frombuffer(out.read_bytes(), dtype="<i2")
    offset = 0
    for part in parts:
        alone = synth.synthesize(
            part, voice=voice, options=SynthesisOptions(format="pcm", sample_rate=8000)
        )
        chunk = np.frombuffer(alone, dtype="<i2")
        assert np.array_equal(whole[offset : offset + chunk.size], chunk)
        offset += chunk.size
    assert offset == whole.size


def test_multi_part_mp3_and_opus_are_single_valid_streams(synth: Synthesizer, voice: str,
                                                         tmp_path: Path) -> None:  # fmt: skip
    text = mixed_text(2_000)
    for fmt, rate in (("mp3", 24000), ("opus", 48000)):
        out = tmp_path / f"long.{fmt}"
        result = synth.speak(
            text,
            out,
            voice=voice,
            part_weight=700,
            options=SynthesisOptions(format=fmt, sample_rate=rate, rate=2.0),
        )
        assert result.parts > 1
        data, decoded_rate = sf.read(str(out))
        assert decoded_rate == rate
        assert abs(len(data) / rate - result.duration) < 0.3


def test_word_timestamps_are_offset_across_parts(synth: Synthesizer, voice: str,
                                                 tmp_path: Path) -> None:  # fmt: skip
    text = "First part here. " * 10 + "Second part there. " * 10
    result = synth.speak(text, tmp_path / "t.wav", voice=voice, part_weight=170,
                         options=SynthesisOptions(format="wav", sample_rate=16000,
                                                  word_timestamps=True))  # fmt: skip
    assert result.parts >= 2
    words = result.words
    assert [w.text for w in words] == ["First", "part", "here"] * 10 + [
        "Second",
        "part",
        "there",
    ] * 10
    assert all(b.begin_ms >= a.end_ms for a, b in itertools.pairwise(words))
    assert words[-1].end_ms <= result.duration * 1000 + 1


def test_concurrency_respects_three_submissions_per_second(
    paced_synth: Synthesizer, voice: str, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    # The emulator's limit is on: a single throttled submission would fail a part (no retries).
    text = "A short sentence to say. " * 8
    started = time.monotonic()
    result = paced_synth.speak(text, tmp_path / "paced.wav", voice=voice, part_weight=30,
                               concurrency=8, retries=0,
                               options=SynthesisOptions(sample_rate=8000))  # fmt: skip
    assert result.parts == 8
    assert time.monotonic() - started >= 2.0  # 8 submissions at 3/s need two more windows


def test_submission_limiter_spaces_reservations() -> None:
    now = [100.0]
    limiter = SubmissionLimiter(3, window=1.0, margin=0.0, clock=lambda: now[0])
    delays = [limiter.reserve() for _ in range(7)]
    assert delays == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0]
    now[0] += 5.0  # later, the window is free again
    assert [limiter.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]


def test_async_speak_runs_in_an_event_loop(async_synth: AsyncSynthesizer, voice: str,
                                           tmp_path: Path) -> None:  # fmt: skip
    async def main() -> list[float]:
        results = await asyncio.gather(
            *(
                async_synth.speak(f"Utterance number {i}. " * 3, tmp_path / f"{i}.wav", voice=voice)
                for i in range(3)
            )
        )
        return [r.duration for r in results]

    durations = asyncio.run(main())
    assert all(d > 1 for d in durations)
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == ["0.wav", "1.wav", "2.wav"]


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab c.!?。，你好\n")), min_size=1, max_size=400),
    limit=st.integers(min_value=5, max_value=120),
)
def test_split_text_keeps_every_character_within_limits(text: str, limit: int) -> None:
    parts = split_text(text, limit, limit)
    kept = "".join(parts)
    # Blank parts may be dropped; nothing else is lost or reordered.
    assert kept.replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
    assert all(catalog.text_weight(p) <= limit for p in parts)
    for message in split_messages(text, limit):
        assert catalog.text_weight(message) <= limit


def test_split_text_cuts_at_sentence_ends() -> None:
    text = "First sentence here. Second one! 第三句。Fourth?"
    assert split_text(text, 25) == ["First sentence here. ", "Second one! 第三句。", "Fourth?"]
