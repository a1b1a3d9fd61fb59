"""The emulated service's checks of enrollment requests, before anything is stored.

:func:`clone_request` and :func:`design_request` check the fields of ``create_voice`` (clone
rules per model and region, design rules), :func:`judge_sample` decodes and measures a sample like
the service does. Each raises :class:`~.exceptions.ApiError` with the service's code and message;
none of them touches the emulator's state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .. import catalog
from ..audio.files import format_size
from .exceptions import ApiError, invalid_parameter

PREFIX_RE = re.compile(rf"^[A-Za-z0-9]{{1,{catalog.PREFIX_MAX_LENGTH}}}$")
"""ASCII letters and digits only (clone API reference: \"仅允许数字和英文字母\", 2026-02)."""


def check_prefix(prefix: Any) -> str:
    """The ``prefix`` field, or ``InvalidParameter``."""
    if not isinstance(prefix, str) or not prefix:
        raise invalid_parameter("Missing required parameter: prefix.")
    if not PREFIX_RE.match(prefix):
        raise invalid_parameter(
            f"prefix must be 1-{catalog.PREFIX_MAX_LENGTH} ASCII letters or digits."
        )
    return prefix


def clone_request(
    region: str,
    target_model: Any,
    prefix: Any,
    language_hints: Any = None,
    max_prompt_audio_length: Any = None,
    enable_preprocess: Any = None,
) -> tuple[str, str, str | None]:
    """Validate the fields of ``create_voice`` (before the sample is fetched).

    Returns ``(target_model, prefix, language_hint)``; raises :class:`ApiError`.
    """
    if not isinstance(target_model, str) or not target_model:
        raise invalid_parameter("Missing required parameter: target_model.")
    model = catalog.TARGET_MODELS.get(target_model)
    if model is None:
        raise invalid_parameter(
            f"target_model {target_model!r} is not supported; supported: "
            + ", ".join(catalog.TARGET_MODELS)
        )
    # One documented answer per row: a YES row clones; a NO row is refused; a disputed row (the
    # client sends it with a notice: the real service decides) gets the row's ``emulated`` answer.
    rule = catalog.clone_rule(target_model, region)
    if not (rule.verdict is catalog.CloneVerdict.YES or rule.emulated):
        allowed = ", ".join(catalog.clone_models_in(region)) or "none"
        raise ApiError(
            400,
            "InvalidParameter",
            f"Voice cloning for {target_model} is not supported in region "
            f"{region}; models that can clone here: {allowed}.",
        )
    check_prefix(prefix)
    hint: str | None = None
    if language_hints is not None:
        if not isinstance(language_hints, list) or not all(
            isinstance(h, str) for h in language_hints
        ):
            raise invalid_parameter("language_hints must be a list of strings.")
        if language_hints and model.language_hints:
            hint = language_hints[0]
            if hint not in model.language_hints:
                raise invalid_parameter(
                    f"language_hints {hint!r} is not supported by {target_model}; "
                    f"supported: {', '.join(model.language_hints)}."
                )
    if max_prompt_audio_length is not None:
        low, high = catalog.MAX_PROMPT_AUDIO_LENGTH_RANGE
        if (
            isinstance(max_prompt_audio_length, bool)
            or not isinstance(max_prompt_audio_length, (int, float))
            or not low <= float(max_prompt_audio_length) <= high
        ):
            raise invalid_parameter(f"max_prompt_audio_length must be a number in [{low}, {high}].")
    if enable_preprocess is not None and not isinstance(enable_preprocess, bool):
        raise invalid_parameter("enable_preprocess must be a boolean.")
    return target_model, prefix, hint


@dataclass(frozen=True)
class DesignSpec:
    """The checked fields of a design request."""

    target_model: str
    prefix: str
    voice_prompt: str
    preview_text: str
    language_hint: str | None
    sample_rate: int
    response_format: str


def _design_text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid_parameter(f"Missing required parameter: {name}.")
    if len(value) > limit:
        raise invalid_parameter(f"{name} is too long: {len(value)} characters, at most {limit}.")
    if catalog.foreign_letters(value):
        raise invalid_parameter(f"{name} must be written in Chinese or English.")
    return value


def design_request(region: str, data: dict[str, Any], parameters: dict[str, Any]) -> DesignSpec:
    """Validate the fields of a design ``create_voice``; raises :class:`ApiError`.

    The documented rules (docs/protocol.md "Voice design"): target models v3.5-plus/-flash
    and v3-plus/-flash, Beijing only; ``voice_prompt`` <= 500 and ``preview_text`` <= 200
    characters, Chinese or English; ``language_hints`` zh or en; the preview's
    ``parameters.sample_rate`` / ``response_format``.
    """
    target_model = data.get("target_model")
    if not isinstance(target_model, str) or not target_model:
        raise invalid_parameter("Missing required parameter: target_model.")
    if target_model not in catalog.DESIGN_MODELS:
        raise invalid_parameter(
            f"target_model {target_model!r} does not support voice design; supported: "
            + ", ".join(catalog.DESIGN_MODELS)
        )
    if region not in catalog.DESIGN_REGIONS:
        raise invalid_parameter(
            f"Voice design for {target_model} is not supported in region "
            f"{region}; it is offered in " + ", ".join(catalog.DESIGN_REGIONS) + "."
        )
    if data.get("url"):
        raise invalid_parameter("url and voice_prompt cannot be used together.")
    prefix = check_prefix(data.get("prefix"))
    prompt = _design_text(data, "voice_prompt", catalog.VOICE_PROMPT_MAX_CHARS)
    preview = _design_text(data, "preview_text", catalog.PREVIEW_TEXT_MAX_CHARS)
    hints = data.get("language_hints")
    hint: str | None = None
    if hints is not None:
        if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
            raise invalid_parameter("language_hints must be a list of strings.")
        if hints:
            hint = hints[0]
            if hint not in catalog.DESIGN_LANGUAGES:
                raise invalid_parameter(
                    f"language_hints {hint!r} is not supported by voice design; "
                    f"supported: {', '.join(catalog.DESIGN_LANGUAGES)}."
                )
    rate = parameters.get("sample_rate", catalog.DEFAULT_DESIGN_SAMPLE_RATE)
    if isinstance(rate, bool) or rate not in catalog.DESIGN_SAMPLE_RATES:
        raise invalid_parameter(
            f"sample_rate {rate!r} is not supported; supported: "
            + ", ".join(map(str, catalog.DESIGN_SAMPLE_RATES))
        )
    fmt = parameters.get("response_format", catalog.DEFAULT_DESIGN_RESPONSE_FORMAT)
    if fmt not in catalog.DESIGN_RESPONSE_FORMATS:
        raise invalid_parameter(
            f"response_format {fmt!r} is not supported; supported: "
            + ", ".join(catalog.DESIGN_RESPONSE_FORMATS)
        )
    return DesignSpec(target_model, prefix, prompt, preview, hint, int(rate), str(fmt))


def judge_sample(data: bytes, filename: str | None = None) -> float | None:
    """Decode and measure a sample like the service does; return its pitch (Hz).

    Raises :class:`ApiError` with the documented ``Audio.*`` / format code if unusable.
    CPU-bound: call it from a worker thread.
    """
    from .. import audio

    if len(data) > catalog.SAMPLE_MAX_BYTES:
        raise ApiError(
            400,
            "BadRequest.InputDownloadFailed",
            f"The audio file is larger than {format_size(catalog.SAMPLE_MAX_BYTES)}.",
        )
    rejection = audio.service_rejection(data, filename)
    if rejection is not None:
        code, message = rejection
        raise ApiError(400, code, message)
    pitch = audio.voice_pitch_hz(data)
    return float(pitch) if pitch is not None else None
