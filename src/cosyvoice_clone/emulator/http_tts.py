"""Non-streaming HTTP synthesis (section 4 of ``dashscope-protocol.md``), rendered by the same
speech engine as the WebSocket endpoint (``speech.py``).

``POST {base}/services/audio/tts/SpeechSynthesizer`` with
``{"model": M, "input": {"text", "voice", "format", "sample_rate", "volume", "rate", "pitch",
"seed"}}``:

- plain: ``{"request_id", "output": {"audio": {"url", "id", "expires_at", "data": ""},
  "finish_reason": "stop"}, "usage": {"characters": N}}``; the URL serves the whole file
  (a WAV with its real sizes) from the emulator's store for 24 h;
- with ``X-DashScope-SSE: enable``: server-sent events (``id``, ``event:result``,
  ``:HTTP_STATUS/200``, ``data:{...}``), each carrying base64 audio in ``output.audio.data``,
  the last one with ``finish_reason: "stop"`` and no audio.

Refusals are JSON errors like the other endpoints: unknown voice, a voice of another model or one
not yet OK -> 400 ``InvalidParameter`` "[tts:]Engine return error code: 418"; text over 20,000
characters (CJK count 2) -> 400 ``InvalidParameter``; 3 requests/s per model -> 429.
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
from .backend import Backend, invalid_parameter, rate_limited
from .uploads import OSS_PATH, read_capped

OUTPUT_TTL_SECONDS = 24 * 3600
ENGINE_418 = "[tts:]Engine return error code: 418"
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
        from .speech import DEFAULT_PITCH_HZ, FormatError, resolve_format

        if not isinstance(payload, dict):
            raise invalid_parameter("The request body must be a JSON object.")
        model = payload.get("model")
        if not isinstance(model, str) or model not in catalog.TARGET_MODELS:
            raise invalid_parameter(f"Model not supported: {str(model)[:64]}.")
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
        voice = backend.voice(voice_id)
        if voice is None or voice.target_model != model or voice.status != "OK":
            raise invalid_parameter(ENGINE_418)
        self.model = model
        self.text = text
        self.pitch_hz = float(voice.pitch_hz or DEFAULT_PITCH_HZ)
        self.characters = catalog.text_weight(text)

    def blocks(self) -> Iterator[bytes]:
        """Encoded bytes, one chunk per rendered block (streamed containers)."""
        from .speech import Encoder, SpeechEngine, split_sentences

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
        if rest.strip():
            sentences.append(rest)
        try:
            for sentence in sentences:
                if not sentence.strip():
                    continue
                for block in engine.render(sentence.strip()):
                    chunk = encoder.encode(block)
                    if chunk:
                        yield chunk
            tail = encoder.finish()
            if tail:
                yield tail
        finally:
            encoder.close()

    def file_bytes(self) -> bytes:
        """The whole file; a WAV gets its real RIFF sizes."""
        data = b"".join(self.blocks())
        if self.format == "wav":
            from .speech import wav_header

            data = wav_header(self.sample_rate, len(data) - 44) + data[44:]
        return data


def _sse(event_id: int, body: dict[str, Any]) -> bytes:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f"id:{event_id}\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n".encode()


async def synthesize(request: Request, rid: str) -> Response:
    """Handle one authorised request (auth, faults and error rendering are the caller's)."""
    backend: Backend = request.app.state.backend
    body = await read_capped(request, _MAX_BODY)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise invalid_parameter("The request body is not valid JSON.") from None
    job = _Job(backend, payload)
    if not backend.allow_synthesis_task(job.model):
        raise rate_limited(1.0)
    usage = {"characters": job.characters}
    if request.headers.get("x-dashscope-sse", "").lower() == "enable":

        async def events() -> AsyncIterator[bytes]:
            number = 0
            async for chunk in iterate_in_threadpool(job.blocks()):
                number += 1
                audio = {"data": base64.b64encode(chunk).decode(), "id": rid}
                yield _sse(number, {"output": {"audio": audio, "finish_reason": "null"},
                                    "usage": usage, "request_id": rid})
            yield _sse(number + 1, {"output": {"audio": {"data": "", "id": rid},
                                               "finish_reason": "stop"},
                                    "usage": usage, "request_id": rid})

        backend.count("http_synthesis:sse")
        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"x-request-id": rid}
        )
    data = await run_in_threadpool(job.file_bytes)
    key = f"tts-output/{uuid.uuid4().hex}.{job.format}"
    media = {"wav": "audio/wav", "mp3": "audio/mpeg", "opus": "audio/ogg"}.get(
        job.format, "application/octet-stream"
    )
    backend.store_upload(key, data, media)
    backend.count("http_synthesis")
    signature = backend.object_signature(key)
    url = str(request.base_url).rstrip("/") + f"{OSS_PATH}/{key}?Signature={signature}"
    output = {
        "audio": {
            "url": url,
            "id": rid,
            "expires_at": int(time.time()) + OUTPUT_TTL_SECONDS,
            "data": "",
        },
        "finish_reason": "stop",
    }
    return JSONResponse(
        {"request_id": rid, "output": output, "usage": usage}, headers={"x-request-id": rid}
    )

