"""OpenAI's shapes: the speech request, the error body, the model list, SSE events.

Sources: the OpenAI API reference for ``POST /v1/audio/speech`` (``model``, ``input``, ``voice``
as a name or ``{"id": ...}``, ``instructions``, ``response_format`` mp3|opus|aac|flac|wav|pcm,
``speed``, ``stream_format`` audio|sse; pcm is 24 kHz 16-bit signed little-endian mono) and the
``openai`` Python package's types (``openai/types/audio/speech_create_params.py``,
``openai/types/audio/speech_audio_delta_event.py``, ``speech_audio_done_event.py``), 2026-06.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
"""OpenAI's speech models: each means "the voice's own target model"."""
OPENAI_SAMPLE_RATE = 24000
"""OpenAI's speech is 24 kHz in every format (its reference: "pcm: raw samples in 24kHz (16-bit
signed, low-endian)"); apps that play ``pcm`` assume it, so every format is asked at this rate."""
DEFAULT_FORMAT = "mp3"
STREAM_FORMATS = ("audio", "sse")
MAX_INPUT = 4096
"""OpenAI's limit on ``input``; ours is the library's (long texts are split), not this."""
OPENAI_SPEED_RANGE = (0.25, 4.0)
"""What OpenAI's ``speed`` accepts (its reference, and the ``openai`` package's doc)."""
SERVICE_RATE_RANGE = (0.5, 2.0)
"""CosyVoice's ``rate`` (checked by ``synthesis/protocol.py``): OpenAI speeds outside it are
clamped to it, and the answer says so (``X-CosyVoice-Speed-Clamped``)."""
NO_INSTRUCTION_MODELS = ("tts-1", "tts-1-hd")
"""OpenAI's models that ignore ``instructions`` (its reference: "Does not work with tts-1 or
tts-1-hd"): the server ignores them too, and says so (``X-CosyVoice-Instructions-Ignored``)."""
OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin",
                 "cedar", "fable", "onyx", "nova")  # fmt: skip
"""OpenAI's 13 voice names (``openai/types/audio/speech_create_params.py``, 3.60)."""


class APIError(Exception):
    """An error answer in OpenAI's shape (rendered by one handler)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def is_openai_model(name: str) -> bool:
    """``tts-1``, ``tts-1-hd``, ``gpt-4o-mini-tts`` and its dated snapshots."""
    return name in OPENAI_MODELS or name.startswith(("gpt-4o-mini-tts-", "gpt-4o-tts"))


@dataclass(frozen=True)
class SpeechRequest:
    """A parsed ``POST /v1/audio/speech`` body."""

    model: str
    input: str
    voice: str
    response_format: str
    speed: float
    instructions: str | None
    stream_format: str

    @property
    def cosyvoice_model(self) -> str | None:
        """The model to ask the library for (``None``: the voice's own)."""
        return None if is_openai_model(self.model) else self.model


def _string(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise APIError(400, f"missing required parameter '{name}'", param=name,
                           code="missing_required_parameter")  # fmt: skip
        return None
    if not isinstance(value, str):
        raise APIError(400, f"'{name}' must be a string", param=name, code="invalid_type")
    return value


def parse_speech(raw: bytes) -> SpeechRequest:
    """Parse and check the request body (its shape only: the library checks the values, an
    empty text or an unsupported format included, the same way for every door)."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise APIError(400, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object")
    model = _string(body, "model", required=True) or ""
    text = _string(body, "input", required=True) or ""
    voice_value = body.get("voice")
    if isinstance(voice_value, dict):
        voice_value = voice_value.get("id")
    if not isinstance(voice_value, str) or not voice_value.strip():
        code = "missing_required_parameter" if voice_value is None else "invalid_type"
        message = "'voice' must be a voice name or {\"id\": ...}"
        raise APIError(400, message, param="voice", code=code)
    fmt = _string(body, "response_format", required=False) or DEFAULT_FORMAT
    speed = body.get("speed", 1.0)
    if speed is None:
        speed = 1.0
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not math.isfinite(speed):
        raise APIError(400, "'speed' must be a number", param="speed", code="invalid_type")
    low, high = OPENAI_SPEED_RANGE
    if not low <= speed <= high:
        raise APIError(400, f"'speed' must be between {low} and {high}, not {speed}",
                       param="speed", code="invalid_value")  # fmt: skip
    stream_format = _string(body, "stream_format", required=False) or "audio"
    if stream_format not in STREAM_FORMATS:
        raise APIError(400, f"unsupported stream_format {stream_format!r}: use audio or sse",
                       param="stream_format", code="invalid_value")  # fmt: skip
    instructions = _string(body, "instructions", required=False)
    return SpeechRequest(model, text, voice_value.strip(), fmt, float(speed),
                         instructions or None, stream_format)  # fmt: skip


def model_object(name: str, created: int = 0) -> dict[str, Any]:
    """One model in OpenAI's shape (``GET /v1/models/{id}``)."""
    return {"id": name, "object": "model", "created": created, "owned_by": "cosyvoice-clone"}


def model_list(names: list[str], created: int = 0) -> dict[str, Any]:
    """``GET /v1/models`` in OpenAI's list shape; ``GET /v1/audio/models`` adds ``models``
    (what Open WebUI reads: a list of objects with ``id``)."""
    data = [model_object(name, created) for name in names]
    return {"object": "list", "data": data, "models": data}


def clamp_speed(speed: float) -> float:
    """OpenAI's ``speed`` within CosyVoice's rate range."""
    low, high = SERVICE_RATE_RANGE
    return min(max(speed, low), high)


def sse_event(data: dict[str, Any]) -> bytes:
    """One server-sent event carrying ``data`` as JSON."""
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"
