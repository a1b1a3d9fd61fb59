"""Honest progress: how long the bar sits at 100% before ``speak`` returns (mp3/opus/wav).

    python benchmarks/progress_tail.py [--chars 20000] [--formats opus,mp3,wav]

Runs the emulator in this process (as ``--emulator`` does: rate limits on, full speed) and
speaks one long text with ``AsyncSynthesizer.speak``; prints per format the wall time, when
the progress callback first reported the total, and the tail after it (goal: well under a
second: the bar follows the audio written, not only the audio received).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cosyvoice_clone.emulator.backend import Backend, EmulatorConfig
from cosyvoice_clone.emulator.server import start_server
from cosyvoice_clone.synthesis import AsyncSynthesizer
from long_text import MODEL, make_text


async def _one(emulator: object, voice: str, text: str, fmt: str, folder: Path) -> dict[str, float]:
    synth = AsyncSynthesizer(
        api_key=emulator.api_key,  # type: ignore[attr-defined]
        websocket_url=emulator.websocket_url,  # type: ignore[attr-defined]
    )
    full: list[float] = []
    started = time.monotonic()

    def on_progress(done: int, total: int) -> None:
        if done >= total and not full:
            full.append(time.monotonic() - started)

    result = await synth.speak(text, folder / f"long.{fmt}", voice=voice, model=MODEL,
                               on_progress=on_progress)  # fmt: skip
    wall = time.monotonic() - started
    at_full = full[0] if full else wall
    return {"wall": wall, "at_100": at_full, "tail": wall - at_full, "audio": result.duration}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=20_000)
    parser.add_argument("--formats", default="opus,mp3,wav")
    args = parser.parse_args()
    emulator = start_server(Backend(EmulatorConfig()))
    try:
        voice = emulator.backend.create_voice(
            target_model=MODEL,
            prefix="bench",
            url=emulator.sample_url(),
            sample=b"bench",
            pitch_hz=180.0,
        ).voice_id
        text = make_text(args.chars)
        with tempfile.TemporaryDirectory() as tmp:
            for fmt in args.formats.split(","):
                row = asyncio.run(_one(emulator, voice, text, fmt, Path(tmp)))
                print(
                    f"{fmt:5} audio {row['audio']:7.1f} s  wall {row['wall']:6.1f} s  "
                    f"100% at {row['at_100']:6.1f} s  tail {row['tail']:5.1f} s"
                )
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
