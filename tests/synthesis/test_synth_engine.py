"""The engine's one connection seam: every task of every composition connects through
``synthesis.connect.CONNECTOR`` and gives its connection back, also when cancelled."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.synthesis import AsyncSynthesizer, SynthesisOptions, Synthesizer, connect
from cosyvoice_clone.synthesis.streaming import open_speech

TEXT = " ".join(f"Sentence number {i} of the engine test." for i in range(12))
SRC = Path(__file__).resolve().parents[2] / "src" / "cosyvoice_clone"


class CountingConnector(connect.Connector):
    """The real connector, counting what it opened and what came back."""

    def __init__(self) -> None:
        self.acquired = 0
        self.released = 0

    async def acquire(self, endpoint: connect.Endpoint) -> Any:
        conn = await super().acquire(endpoint)
        self.acquired += 1
        return conn

    async def release(self, conn: Any) -> None:
        self.released += 1
        await super().release(conn)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingConnector:
    connector = CountingConnector()
    monkeypatch.setattr(connect, "CONNECTOR", connector)
    return connector


def test_speak_to_a_file_connects_once_per_part_through_the_connector(
    synth: Synthesizer, voice: str, tmp_path: Path, counting: CountingConnector
) -> None:
    out = tmp_path / "long.wav"
    result = synth.speak(TEXT, out, voice=voice, part_weight=120)
    assert result.parts > 2
    assert counting.acquired == result.parts == len(set(result.request_ids))
    assert counting.released == counting.acquired
    assert out.stat().st_size > 44


def test_a_stream_left_early_gives_every_connection_back(
    cosyvoice_emulator: RunningEmulator, voice: str, counting: CountingConnector
) -> None:
    cosyvoice_emulator.set_rate_limits(False)
    synth = AsyncSynthesizer(
        api_key=cosyvoice_emulator.api_key,
        websocket_url=cosyvoice_emulator.websocket_url,
        tasks_per_second=None,
    )

    async def main() -> tuple[int, int]:
        chunks = open_speech(
            synth, TEXT, voice=voice, output_format="pcm", part_weight=120, concurrency=3
        )
        first = b""
        async for chunk in chunks:
            first = chunk
            break  # the client went away after the first chunk
        await chunks.aclose()
        return len(first), len(chunks.request_ids)

    first, started = asyncio.run(main())
    assert first > 0
    assert started >= 1
    assert 1 <= counting.acquired <= started  # a part cancelled while connecting opened none
    assert counting.released == counting.acquired


def test_one_task_stream_releases_its_connection(
    synth: Synthesizer, voice: str, counting: CountingConnector
) -> None:
    audio = synth.synthesize(
        "One short task.", voice=voice, options=SynthesisOptions(format="pcm", sample_rate=8000)
    )
    assert len(audio) > 0
    assert (counting.acquired, counting.released) == (1, 1)


def test_only_the_connector_opens_websocket_connections() -> None:
    opener = re.compile(r"websockets\.(asyncio|sync)\.client|websockets\.connect\b")
    found = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "emulator" not in path.parts and opener.search(path.read_text(encoding="utf-8"))
    )
    assert found == ["synthesis/connect.py"]
