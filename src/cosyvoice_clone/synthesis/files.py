"""Speak to a file: the parts of a text, run by :class:`~.parts.PartRunner`, into one file.

A one-part text streams the service's own container straight into the file (a WAV header is
fixed at the end); a text of several parts asks for PCM, each part is spooled (memory up to
1 MB, then disk) and the parts are appended to the output in order (wrapped in WAV, or encoded
to mp3/opus block by block), so memory does not grow with the audio. The output is written to
a temporary file renamed into place only when everything succeeded
(:class:`~.sinks.AudioWriter`); nothing is left under the final name otherwise.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from ..audio.outfile import check_target
from ..errors import CosyVoiceCloneError
from ..models import SpeechResult
from .connect import Endpoint
from .parts import (
    Part,
    PartOutput,
    PartRunner,
    Progress,
    ProgressCallback,
    SpoolOutput,
    WriterOutput,
)
from .protocol import SynthesisOptions, Word
from .sinks import AudioWriter, open_writer


async def speak_to_file(
    endpoint: Endpoint,
    parts: list[Part],
    out: Path,
    *,
    model: str,
    voice: str,
    options: SynthesisOptions,
    concurrency: int,
    retries: int,
    on_progress: ProgressCallback | None = None,
) -> SpeechResult:
    """Run ``parts`` into the file ``out`` (checked by the caller); return what was spoken."""
    fmt, sr = options.format, options.sample_rate
    single = len(parts) == 1
    runner = PartRunner(
        endpoint, parts, model=model, voice=voice, options=options,
        wire_format=fmt if single else "pcm", concurrency=concurrency, retries=retries,
        progress=Progress(sum(p.weight for p in parts), on_progress, direct=single),
    )  # fmt: skip
    started_at = time.monotonic()
    real = check_target(out, mkdir=True)
    writer = open_writer(real, fmt, sr, single=single)
    spools: list[SpoolOutput] = []
    try:
        if single:
            await runner.run_part(parts[0], WriterOutput(writer))
        else:
            spools = [SpoolOutput(real.parent) for _ in parts]
            await _in_order(runner, spools, writer)
        await asyncio.to_thread(writer.commit)
    except BaseException as exc:
        writer.discard()
        for spool in spools:
            spool.close()
        if isinstance(exc, OSError):
            raise CosyVoiceCloneError(
                f"writing {out} failed: {exc.strerror or exc}",
                hint="check the free space and permissions of the output directory",
            ) from None
        raise
    pcm_bytes = out.stat().st_size if fmt == "pcm" else writer.pcm_bytes
    firsts = [p.first_audio for p in parts if p.first_audio is not None]
    words: list[Word] = [word for part in parts for word in part.words]
    return SpeechResult(
        path=out,
        format=fmt,
        sample_rate=sr,
        duration=_duration_of(out, fmt, sr, pcm_bytes),
        characters=sum(p.characters for p in parts),
        parts=len(parts),
        request_ids=tuple(p.task_id for p in parts),
        time_to_first_audio=(min(firsts) - started_at) if firsts else None,
        bytes=out.stat().st_size,
        words=tuple(words),
        retries=runner.retried,
        model=model,
        voice=voice,
        text_characters=sum(p.weight for p in parts),
    )


async def _in_order(runner: PartRunner, spools: list[SpoolOutput], writer: AudioWriter) -> None:
    """Each part's spool appended to ``writer`` in text order, as soon as it is complete."""
    outputs: list[PartOutput] = list(spools)
    runner.start(outputs)
    sample_rate = runner.options.sample_rate
    progress = runner.progress
    try:
        for part, spool in zip(runner.parts, spools, strict=True):
            await runner.wait(part)
            offset_ms = round(writer.pcm_bytes / 2 / sample_rate * 1000)
            for word in part.words:
                word.begin_ms += offset_ms
                word.end_ms += offset_ms

            def on_block(copied: int, part: Part = part, spool: SpoolOutput = spool) -> None:
                share = copied / spool.pcm_bytes if spool.pcm_bytes else 1.0
                if progress is not None:
                    progress.wrote(part.index, part.weight * min(1.0, share))

            await asyncio.to_thread(spool.copy_to, writer, on_block)
            if progress is not None:
                progress.wrote(part.index, part.weight)
            spool.close()
            runner.release()
    finally:
        await runner.aclose()


def _duration_of(path: Path, fmt: str, sample_rate: int, pcm_bytes: int) -> float:
    if fmt in ("wav", "pcm") or pcm_bytes:
        return pcm_bytes / 2 / sample_rate
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # the file is valid by construction; a decoder hiccup is not fatal
        return 0.0
    return float(info.frames) / float(info.samplerate)


__all__ = ["speak_to_file"]
