"""HTTP synthesis (section 4 of ``dashscope-protocol.md``), rendered by the same speech engine
as the WebSocket endpoint (``speech.py``).

``POST {base}/services/audio/tts/SpeechSynthesizer`` with
``{"model": M, "input": {"text", "voice", "format", "sample_rate", "volume", "rate", "pitch",
"seed", "word_timestamp_enabled"}}``:

- plain: ``{"request_id", "output": {"audio": {"url", "id", "expires_at", "data": ""},
  "finish_reason": "stop"}, "usage": {"characters": N}}``; the URL serves the whole file
  (a WAV with its real sizes) from the emulator's store for 24 h;
- with ``X-DashScope-SSE: enable``: server-sent events (``id``, ``event:result``,
  ``:HTTP_STATUS/200``, ``data:{...}``). Per sentence: ``output.type`` ``sentence-begin``
  (``original_text``), then ``sentence-synthesis`` chunks with base64 audio in
  ``output.audio.data``, then ``sentence-end`` (``sentence.words`` when
  ``word_timestamp_enabled``: word timestamps come only in SSE mode); the last frame has no
  ``type``, ``finish_reason: "stop"`` and the full audio URL (fetchable, as in plain mode).

Sources: the CosyVoice HTTP API page (alibabacloud.com/help/zh/model-studio/cosyvoice-tts-http-api,
updated 2026-10-15: base64 chunks in event order, the end frame's ``finish_reason`` ``stop`` with
the full audio URL, word timestamps only in SSE mode, the endpoint only in 华北2(北京)); the SDK
2.0.2 ``dashscope/audio/http_tts/http_speech_synthesizer.py`` (reads ``output.type``
``sentence-*``, ``output.sentence``, ``output.audio.data``; then ``finish_reason == "stop"`` with
``output.audio.url``/``id``/``expires_at``). Inferred: the ``sentence-begin``/``sentence-end``
frames mirror the WebSocket's result-generated payloads.

Refusals are JSON errors like the other endpoints: unknown voice, a voice of another model or one
not yet OK -> 400 ``InvalidParameter`` "[tts:]Engine return error code: 418"; text over 20,000
characters (CJK count 2) -> 400 ``InvalidParameter``; 3 requests/s per model -> 429; a region
the model's family is not served in (CosyVoice: cn-beijing only; Qwen-Audio-TTS: ap-southeast-1
and cn-beijing, ``catalog.http_synthesis_regions``) -> 400 ``InvalidParameter`` (the code and
message are inferred). Qwen-Audio-TTS models take the same body (their HTTP API page, 2026-10-21).
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .. import catalog
from .backend import Backend
from .exceptions import invalid_parameter, rate_limited
from .uploads import OSS_PATH
from .wire import read_json

OUTPUT_TTL_SECONDS = 24 * 3600
HTTP_SYNTHESIS_REGIONS = catalog.http_synthesis_regions("cosyvoice-v3-flash")
"""Regions whose HTTP synthesis endpoint the CosyVoice HTTP API page documents (2026-10-15);
each model's own regions: ``catalog.http_synthesis_regions`` (Qwen-Audio-TTS: Singapore and
Beijing, alibabacloud.com/help/en/model-studio/qwen-audio-tts-http-api, 2026-10-21)."""
_MAX_BODY = 256 * 1024


def _number(data: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_parameter(f"{name} must be a number in [{low}, {high}].")
    if not math.isfinite(value) or not low <= value <= high:
        raise invalid_parameter(f"{name} must be a number in [{low}, {high}].")
    return float(value)


class _Job:
    """A validated synthesis request, rendered block by block."""

    def __init__(self, backend: Backend, payload: Any) -> None:
        from .speech import FormatError, resolve_format

        if not isinstance(payload, dict):
            raise invalid_parameter("The request body must be a JSON object.")
        model = payload.get("model")
        if not isinstance(model, str) or model not in catalog.synthesis_models():
            raise invalid_parameter(f"Model not supported: {str(model)[:64]}.")
        served = catalog.http_synthesis_regions(model)
        if backend.config.region not in served:
            raise invalid_parameter(
                f"Non-real-time (HTTP) speech synthesis of {model} is not available in region "
                f"{backend.config.region}; it is served in {', '.join(served) or 'no region'}."
            )
        data = payload.get("input")
        if not isinstance(data, dict):
            raise invalid_parameter("Missing required parameter: input.")
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise invalid_parameter("Missing required parameter: input.text.")
        if catalog.text_weight(text) > catalog.MAX_CHARS_PER_MESSAGE:
            raise invalid_parameter(
                f"Text is longer than {catalog.MAX_CHARS_PER_MESSAGE} characters "
                "(CJK characters count 2)."
            )
        voice_id = data.get("voice")
        if not isinstance(voice_id, str) or not voice_id:
            raise invalid_parameter("Missing required parameter: input.voice.")
        try:
            self.format, self.sample_rate = resolve_format(
                data.get("format"), data.get("sample_rate")
            )
        except (FormatError, TypeError, ValueError) as exc:
            raise invalid_parameter(str(exc)) from None
        self.volume = int(_number(data, "volume", 50, 0, 100))
        self.rate = _number(data, "rate", 1.0, 0.5, 2.0)
        self.pitch = _number(data, "pitch", 1.0, 0.5, 2.0)
        self.seed = int(_number(data, "seed", 0, 0, 65535))
        self.word_timestamps = data.get("word_timestamp_enabled") is True
        self.pitch_hz, voice_rate = backend.speaking_voice(voice_id, model)
        self.rate *= voice_rate
        self.model = model
        self.text = text
        self.characters = catalog.text_weight(text)

    def frames(self) -> Iterator[dict[str, Any]]:
        """The ``output`` objects of the SSE stream, sentence by sentence, audio as bytes.

        Each ``sentence-synthesis`` output carries raw bytes under ``audio``; the encoder's tail
        goes inside the last sentence, before its ``sentence-end``.
        """
        from .speech import (
            Encoder,
            SpeechEngine,
            plan_sentence,
            sentence_begin_output,
            sentence_end_output,
            split_sentences,
        )

        engine = SpeechEngine(
            sample_rate=self.sample_rate,
            pitch_hz=self.pitch_hz,
            volume=self.volume,
            rate=self.rate,
            pitch=self.pitch,
            seed=self.seed,
        )
        encoder = Encoder(self.format, self.sample_rate)
        sentences, rest = split_sentences(self.text)
        spoken = [s.strip() for s in [*sentences, rest] if s.strip()]
        sr = self.sample_rate
        position = 0
        try:
            for index, text in enumerate(spoken):
                tokens = plan_sentence(text, self.rate)
                yield sentence_begin_output(text, index)
                chunks = [encoder.encode(block) for block in engine.render(text, tokens)]
                if index == len(spoken) - 1:
                    chunks.append(encoder.finish())
                for chunk in chunks:
                    if chunk:
                        yield {
                            "type": "sentence-synthesis",
                            "sentence": {"index": index, "words": []},
                            "audio": chunk,
                        }
                ending, position = sentence_end_output(
                    text, index, tokens, sr, position, word_timestamps=self.word_timestamps
                )
                yield ending
        finally:
            encoder.close()

    def audio_bytes(self) -> bytes:
        """Every audio byte of the stream, in order."""
        return b"".join(f["audio"] for f in self.frames() if "audio" in f)


def finished_file(fmt: str, sample_rate: int, data: bytes) -> bytes:
    """The stored file for streamed bytes ``data``: a WAV gets its real RIFF sizes."""
    if fmt == "wav":
        from .speech import wav_header

        data = wav_header(sample_rate, len(data) - 44) + data[44:]
    return data


def _sse(event_id: int, body: dict[str, Any]) -> bytes:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f"id:{event_id}\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n".encode()


def _store_output(request: Request, job: _Job, data: bytes, rid: str) -> dict[str, Any]:
    """Keep the finished file in the emulator's store; the ``output.audio`` object with its URL."""
    backend: Backend = request.app.state.backend
    key = f"tts-output/{uuid.uuid4().hex}.{job.format}"
    media = {"wav": "audio/wav", "mp3": "audio/mpeg", "opus": "audio/ogg"}.get(
        job.format, "application/octet-stream"
    )
    backend.store_upload(key, finished_file(job.format, job.sample_rate, data), media)
    signature = backend.object_signature(key)
    url = str(request.base_url).rstrip("/") + f"{OSS_PATH}/{key}?Signature={signature}"
    return {"url": url, "id": rid, "expires_at": int(time.time()) + OUTPUT_TTL_SECONDS, "data": ""}


async def synthesize(request: Request, rid: str) -> Response:
    """Handle one authorised request (auth, faults and error rendering are the caller's)."""
    backend: Backend = request.app.state.backend
    job = _Job(backend, await read_json(request, _MAX_BODY, "http_synthesis"))
    if not backend.allow_synthesis_task(job.model):
        raise rate_limited(1.0)
    usage = {"characters": job.characters}
    if request.headers.get("x-dashscope-sse", "").lower() == "enable":

        async def events() -> AsyncIterator[bytes]:
            number = 0
            audio = bytearray()
            async for output in iterate_in_threadpool(job.frames()):
                number += 1
                chunk = output.pop("audio", None)
                if chunk is not None:
                    audio += chunk
                    output["audio"] = {"data": base64.b64encode(chunk).decode(), "id": rid}
                output["finish_reason"] = "null"
                yield _sse(number, {"output": output, "usage": usage, "request_id": rid})
            final = await run_in_threadpool(_store_output, request, job, bytes(audio), rid)
            yield _sse(
                number + 1,
                {
                    "output": {"audio": final, "finish_reason": "stop"},
                    "usage": usage,
                    "request_id": rid,
                },
            )

        backend.count("http_synthesis:sse")
        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"x-request-id": rid}
        )
    data = await run_in_threadpool(job.audio_bytes)
    audio = await run_in_threadpool(_store_output, request, job, data, rid)
    backend.count("http_synthesis")
    output = {"audio": audio, "finish_reason": "stop"}
    return JSONResponse(
        {"request_id": rid, "output": output, "usage": usage}, headers={"x-request-id": rid}
    )
