"""Streaming one task with our client: chunks as they arrive, cancel, timeouts, async and sync."""

from __future__ import annotations

import asyncio
import time

import pytest

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import TimeoutError
from cosyvoice_clone.synthesis import AsyncSynthesizer, SynthesisOptions, Synthesizer

LONG = "A sentence that takes a couple of seconds to say out loud. " * 6
PCM = SynthesisOptions(format="pcm", sample_rate=8000)


def test_chunks_arrive_while_the_service_is_still_speaking(
    synth: Synthesizer, voice: str, cosyvoice_emulator: RunningEmulator
) -> None:
    cosyvoice_emulator.configure(first_audio_latency=0.2, rtf=0.05)
    arrivals = []
    started = time.monotonic()
    with synth.stream(LONG, voice=voice, options=PCM) as stream:
        for chunk in stream:
            arrivals.append((time.monotonic() - started, len(chunk)))
    total_audio = sum(n for _, n in arrivals) / 2 / 8000
    assert len(arrivals) > 10
    assert arrivals[0][0] < 0.5  # the first audio long before the whole task is done
    assert arrivals[-1][0] > 0.2 + 0.05 * total_audio * 0.8
    assert stream.time_to_first_audio is not None and 0.2 <= stream.time_to_first_audio < 0.5
    assert stream.characters > 0 and len(stream.task_id) == 32


def test_sync_cancel_stops_the_audio(synth: Synthesizer, voice: str,
                                     cosyvoice_emulator: RunningEmulator) -> None:  # fmt: skip
    cosyvoice_emulator.set_rtf(1.0)  # real time: the whole text would take ~25 s
    with synth.stream(LONG, voice=voice, options=PCM) as stream:
        for _chunk in stream:
            break
        started = time.monotonic()
        assert stream.cancel(timeout=5)
        assert time.monotonic() - started < 2


def test_async_stream_and_cancel(async_synth: AsyncSynthesizer, voice: str,
                                 cosyvoice_emulator: RunningEmulator) -> None:  # fmt: skip
    async def main() -> tuple[int, float]:
        received = 0
        async with async_synth.stream(LONG, voice=voice, options=PCM) as stream:
            async for chunk in stream:
                received += len(chunk)
                if received > 16000:
                    break
            started = time.monotonic()
            # After finish-task too, the service stops at once and confirms with task-finished.
            assert await stream.cancel(timeout=5)
            return received, time.monotonic() - started

    cosyvoice_emulator.set_rtf(1.0)
    received, cancel_took = asyncio.run(main())
    assert received > 16000 and cancel_took < 2


def test_a_silent_service_times_out(voice: str, cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_rate_limits(False)
    cosyvoice_emulator.set_latency(5.0)  # first audio far later than we are willing to wait
    synth = Synthesizer(api_key=cosyvoice_emulator.api_key,
                        websocket_url=cosyvoice_emulator.websocket_url, event_timeout=0.5,
                        tasks_per_second=None)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        synth.synthesize("Hello.", voice=voice)
    assert caught.value.exit_code == 5 and time.monotonic() - started < 3


def test_an_unreachable_endpoint_is_a_transport_error(voice: str) -> None:
    from cosyvoice_clone.errors import TransportError

    synth = Synthesizer(api_key="sk-unused-key-000", websocket_url="ws://127.0.0.1:9/nothing",
                        open_timeout=2)  # fmt: skip
    with pytest.raises(TransportError) as caught:
        synth.synthesize("Hello.", voice=voice)
    assert caught.value.exit_code == 6
