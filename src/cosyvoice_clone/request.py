"""The skill's normalized ``cosyvoice.voice_clone`` request and response.

``normalize_clone_request(...)`` validates and normalizes every field against the rules in
:mod:`cosyvoice_clone.catalog` and returns a :class:`CloneRequest`, which renders the wire
payload (``to_payload()``) and the normalized request JSON (``to_dict()``). Every violation is an
:class:`~cosyvoice_clone.errors.InvalidRequestError` naming the field, the bad value and what is
allowed. Options can be validated before the sample URL is known (a local file that still has to
be uploaded) with :func:`normalize_clone_options` and completed with ``CloneOptions.with_sample``.
"""

from __future__ import annotations

import math
import re
import warnings as _warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import catalog
from .errors import InvalidRequestError

_PREFIX = re.compile(rf"[A-Za-z0-9]{{1,{catalog.PREFIX_MAX_LENGTH}}}")
_SAMPLE_URL_SCHEMES = ("http://", "https://", "oss://", "data:audio/")
"""A sample is a URL, an ``oss://`` temporary upload or a Base64 data URI (protocol section 6)."""


def _invalid(
    field_name: str, value: Any, allowed: str, hint: str | None = None
) -> InvalidRequestError:
    return InvalidRequestError(
        f"invalid {field_name} {value!r}: {allowed}",
        field=field_name,
        value=value,
        allowed=allowed,
        hint=hint,
    )


def _required(field_name: str, allowed: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"missing {field_name}: {allowed}", field=field_name, value=None, allowed=allowed
    )


@dataclass(frozen=True)
class CloneOptions:
    """Validated clone fields other than the sample URL."""

    prefix: str
    target_model: str = catalog.DEFAULT_TARGET_MODEL
    language_hints: tuple[str, ...] = ()
    max_prompt_audio_length: float | None = None
    enable_preprocess: bool | None = None
    region: str = catalog.DEFAULT_REGION
    model: str = catalog.ENROLLMENT_MODEL
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def with_sample(self, voice_sample_url: str) -> CloneRequest:
        """The full request for this sample URL (validated)."""
        return CloneRequest(**asdict(self), voice_sample_url=_sample_url(voice_sample_url))

    def fingerprint(self) -> dict[str, Any]:
        """The fields that make two clone requests the same (for dedupe), sample aside."""
        return {
            "region": self.region,
            "target_model": self.target_model,
            "prefix": self.prefix,
            "language_hints": list(self.language_hints),
            "max_prompt_audio_length": self.max_prompt_audio_length,
            "enable_preprocess": self.enable_preprocess,
        }


@dataclass(frozen=True)
class CloneRequest(CloneOptions):
    """A validated, normalized clone request."""

    voice_sample_url: str = ""

    @property
    def uses_temporary_upload(self) -> bool:
        """Whether the sample is an ``oss://`` temporary upload (needs the resolve header)."""
        return self.voice_sample_url.startswith("oss://")

    def to_payload(self) -> dict[str, Any]:
        """The wire body of ``POST /services/audio/tts/customization``."""
        body: dict[str, Any] = {
            "action": "create_voice",
            "target_model": self.target_model,
            "prefix": self.prefix,
            "url": self.voice_sample_url,
        }
        if self.language_hints:
            body["language_hints"] = [self.language_hints[0]]
        if self.max_prompt_audio_length is not None:
            body["max_prompt_audio_length"] = self.max_prompt_audio_length
        if self.enable_preprocess is not None:
            body["enable_preprocess"] = self.enable_preprocess
        return {"model": self.model, "input": body}

    def to_dict(self) -> dict[str, Any]:
        """The normalized ``cosyvoice.voice_clone`` request (the skill's shape)."""
        data: dict[str, Any] = {
            "model": self.model,
            "target_model": self.target_model,
            "prefix": self.prefix,
            "voice_sample_url": self.voice_sample_url,
        }
        if self.language_hints:
            data["language_hints"] = list(self.language_hints)
        if self.max_prompt_audio_length is not None:
            data["max_prompt_audio_length"] = self.max_prompt_audio_length
        if self.enable_preprocess is not None:
            data["enable_preprocess"] = self.enable_preprocess
        return data


def _sample_url(value: Any) -> str:
    if value is None or value == "":
        raise _required("voice_sample_url", "the public http(s) URL of the sample (or oss://)")
    if not isinstance(value, str) or not value.strip():
        raise _invalid(
            "voice_sample_url", value, "a public http(s) URL of the sample, or an oss:// URL"
        )
    url = value.strip()
    if not url.lower().startswith(_SAMPLE_URL_SCHEMES) or len(url) <= len("oss://"):
        raise _invalid(
            "voice_sample_url",
            value,
            "must start with http://, https://, oss:// or data:audio/",
            hint="for a local file use `cosyvoice-clone clone --sample PATH`, which uploads it",
        )
    return url


def _prefix(value: Any) -> str:
    if value is None or value == "":
        raise _required("prefix", f"1–{catalog.PREFIX_MAX_LENGTH} ASCII letters or digits")
    if not isinstance(value, str) or not _PREFIX.fullmatch(value):
        raise _invalid(
            "prefix",
            value,
            f"1–{catalog.PREFIX_MAX_LENGTH} ASCII letters or digits (lowercase recommended)",
        )
    return value


def _target_model(value: Any, region: str, warnings: list[str]) -> str:
    if value is None:
        value = catalog.DEFAULT_TARGET_MODEL
    if value not in catalog.TARGET_MODELS:
        raise _invalid("target_model", value, "one of " + ", ".join(catalog.TARGET_MODELS))
    rule = catalog.clone_rule(value, region)
    if rule.verdict is catalog.CloneVerdict.NO:
        models = catalog.clone_models_in(region) + catalog.disputed_clone_models_in(region)
        raise InvalidRequestError(
            catalog.region_refusal(value, region),
            field="target_model",
            value=value,
            allowed="one of " + (", ".join(models) or "none"),
            source=citation_line(rule),
        )
    if rule.verdict is catalog.CloneVerdict.DISPUTED:
        message = region_warning(rule)
        warnings.append(message)
        _warnings.warn(RegionRuleWarning(message, source=citation_line(rule)), stacklevel=4)
    return str(value)


class NoticeWarning(UserWarning):
    """Something is sent although a source says the service may not take it: the service
    decides (never a local refusal). ``source`` is the citation (for ``--json`` and the docs);
    the message is one short line."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class RegionRuleWarning(NoticeWarning):
    """A clone is sent although official sources disagree on whether its region allows it.

    Emitted through :mod:`warnings` (once per message under the default filter) when the request
    is validated, and also listed in the request's and the result's ``warnings``.
    """


class VoiceNoticeWarning(NoticeWarning):
    """A system voice is asked for an option (SSML, instruction, word timestamps) its voice
    list marks it without; the request is sent anyway (emitted through :mod:`warnings` before
    the run-task is sent)."""


def region_warning(rule: catalog.CloneRule) -> str:
    """The one short line for a clone the sources do not agree on (sent anyway); the rule's
    citation is :func:`citation_line`."""
    return catalog.region_notice(rule)


def citation_line(rule: catalog.CloneRule) -> str:
    """The rule's citation as one string (``rule: text (sources, date)``), for ``--json``."""
    cited = catalog.citation(rule)
    return f"{cited['rule']}: {cited['text']} ({cited['source']}, {cited['date']})"


def _language_hints(value: Any, model: catalog.TargetModel, warnings: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise _invalid("language_hints", value, "a list of language codes such as ['zh']")
    hints = [v.strip().lower() for v in value if v.strip()]
    if not hints:
        return ()
    if len(hints) > 1:
        warnings.append(
            f"language_hints: only the first item counts; keeping {hints[0]!r}, "
            f"dropping {hints[1:]!r}"
        )
    first = hints[0]
    if not model.language_hints:
        warnings.append(
            f"language_hints: {model.name} does not take language hints; dropping {first!r}"
        )
        return ()
    if first not in model.language_hints:
        raise _invalid(
            "language_hints",
            first,
            f"{model.name} accepts " + ", ".join(model.language_hints),
        )
    return (first,)


def _max_prompt_audio_length(value: Any, model: catalog.TargetModel) -> float | None:
    if value is None:
        return None
    lo, hi = catalog.MAX_PROMPT_AUDIO_LENGTH_RANGE
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _invalid(
            "max_prompt_audio_length", value, f"a number of seconds in [{lo}, {hi}]"
        ) from None
    if isinstance(value, bool) or not math.isfinite(number) or not lo <= number <= hi:
        raise _invalid("max_prompt_audio_length", value, f"a number of seconds in [{lo}, {hi}]")
    if not model.max_prompt_audio_length:
        raise _invalid(
            "max_prompt_audio_length",
            value,
            "only for " + ", ".join(supporting("max_prompt_audio_length")),
            hint=f"{model.name} does not take it; drop the option or change --target-model",
        )
    return number


def _enable_preprocess(value: Any, model: catalog.TargetModel) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _invalid("enable_preprocess", value, "true or false")
    if not model.enable_preprocess:
        raise _invalid(
            "enable_preprocess",
            value,
            "only for " + ", ".join(supporting("enable_preprocess")),
            hint=f"{model.name} does not take it; drop the option or change --target-model",
        )
    return value


def supporting(feature: str) -> list[str]:
    """Target models that accept an optional field (``max_prompt_audio_length`` ...)."""
    return [m.name for m in catalog.TARGET_MODELS.values() if getattr(m, feature)]


def normalize_clone_options(
    *,
    prefix: Any,
    target_model: Any = None,
    language_hints: Any = None,
    max_prompt_audio_length: Any = None,
    enable_preprocess: Any = None,
    region: str = catalog.DEFAULT_REGION,
    model: Any = None,
) -> CloneOptions:
    """Validate and normalize every clone field except the sample URL."""
    if model not in (None, "", catalog.ENROLLMENT_MODEL):
        raise _invalid("model", model, f"fixed to {catalog.ENROLLMENT_MODEL!r}")
    if region not in catalog.REGIONS:
        raise _invalid("region", region, "one of " + ", ".join(catalog.REGIONS))
    warnings: list[str] = []
    name = _target_model(target_model, region, warnings)
    spec = catalog.TARGET_MODELS[name]
    return CloneOptions(
        prefix=_prefix(prefix),
        target_model=name,
        language_hints=_language_hints(language_hints, spec, warnings),
        max_prompt_audio_length=_max_prompt_audio_length(max_prompt_audio_length, spec),
        enable_preprocess=_enable_preprocess(enable_preprocess, spec),
        region=region,
        warnings=tuple(warnings),
    )


def normalize_clone_request(
    *,
    prefix: Any,
    voice_sample_url: Any,
    target_model: Any = None,
    language_hints: Any = None,
    max_prompt_audio_length: Any = None,
    enable_preprocess: Any = None,
    region: str = catalog.DEFAULT_REGION,
    model: Any = None,
) -> CloneRequest:
    """Validate and normalize a whole clone request (the skill's normalized interface)."""
    options = normalize_clone_options(
        prefix=prefix,
        target_model=target_model,
        language_hints=language_hints,
        max_prompt_audio_length=max_prompt_audio_length,
        enable_preprocess=enable_preprocess,
        region=region,
        model=model,
    )
    return options.with_sample(voice_sample_url)


_REQUEST_FIELDS = (
    "model",
    "target_model",
    "prefix",
    "voice_sample_url",
    "language_hints",
    "max_prompt_audio_length",
    "enable_preprocess",
)


def clone_request_from_dict(
    data: Mapping[str, Any], *, region: str = catalog.DEFAULT_REGION
) -> CloneRequest:
    """Validate a normalized request given as a mapping (unknown keys are refused)."""
    unknown = sorted(set(data) - set(_REQUEST_FIELDS))
    if unknown:
        raise _invalid(
            unknown[0], data[unknown[0]], "known fields are " + ", ".join(_REQUEST_FIELDS)
        )
    return normalize_clone_request(region=region, **{k: data.get(k) for k in _REQUEST_FIELDS})


# ------------------------------------------------------------------------------ voice design


@dataclass(frozen=True)
class DesignRequest:
    """A validated voice-design request: a voice from a text description, plus a preview.

    Same endpoint and ``create_voice`` action as a clone, with ``voice_prompt`` and
    ``preview_text`` instead of ``url`` and the preview's format in ``parameters``
    (see docs/protocol.md "Voice design").
    """

    prefix: str
    voice_prompt: str
    preview_text: str
    target_model: str = catalog.DEFAULT_TARGET_MODEL
    language_hints: tuple[str, ...] = ()
    sample_rate: int = catalog.DEFAULT_DESIGN_SAMPLE_RATE
    response_format: str = catalog.DEFAULT_DESIGN_RESPONSE_FORMAT
    region: str = catalog.DEFAULT_REGION
    model: str = catalog.ENROLLMENT_MODEL
    warnings: tuple[str, ...] = field(default=(), compare=False)

    uses_temporary_upload = False
    """A design sends no sample (so never the OSS resolve header)."""

    @property
    def voice_id_stem(self) -> str:
        """How the ids of voices made by this request begin (``{model}-vd-{prefix}-``)."""
        return f"{self.target_model}-{catalog.DESIGNED_VOICE_MARK}-{self.prefix}-"

    def fingerprint(self) -> dict[str, Any]:
        """The fields that make two design requests the same (for dedupe)."""
        return {
            "kind": "design",
            "region": self.region,
            "target_model": self.target_model,
            "prefix": self.prefix,
            "voice_prompt": self.voice_prompt,
            "preview_text": self.preview_text,
            "language_hints": list(self.language_hints),
            "sample_rate": self.sample_rate,
            "response_format": self.response_format,
        }

    def to_payload(self) -> dict[str, Any]:
        """The wire body of ``POST /services/audio/tts/customization``."""
        body: dict[str, Any] = {
            "action": "create_voice",
            "target_model": self.target_model,
            "voice_prompt": self.voice_prompt,
            "preview_text": self.preview_text,
            "prefix": self.prefix,
        }
        if self.language_hints:
            body["language_hints"] = [self.language_hints[0]]
        return {
            "model": self.model,
            "input": body,
            "parameters": {
                "sample_rate": self.sample_rate,
                "response_format": self.response_format,
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """The normalized ``cosyvoice.voice_design`` request (the design skill's shape)."""
        data: dict[str, Any] = {
            "model": self.model,
            "target_model": self.target_model,
            "prefix": self.prefix,
            "voice_prompt": self.voice_prompt,
            "preview_text": self.preview_text,
            "sample_rate": self.sample_rate,
            "response_format": self.response_format,
        }
        if self.language_hints:
            data["language_hints"] = list(self.language_hints)
        return data


def _design_text(field_name: str, value: Any, limit: int, required: bool = True) -> str:
    allowed = f"Chinese or English text of at most {limit} characters"
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _required(field_name, allowed)
        return ""
    if not isinstance(value, str):
        raise _invalid(field_name, value, allowed)
    text = value.strip()
    if len(text) > limit:
        raise InvalidRequestError(
            f"invalid {field_name}: {len(text)} characters, at most {limit} allowed",
            field=field_name,
            value=text[:40] + "…",
            allowed=allowed,
            hint=f"shorten it ({catalog.DESIGN_LIMITS_FACT.cite()})",
        )
    foreign = catalog.foreign_letters(text)
    if foreign:
        raise InvalidRequestError(
            f"invalid {field_name}: only Chinese or English, found {''.join(foreign[:8])!r}",
            field=field_name,
            value=text[:40],
            allowed=allowed,
            hint="describe the voice (and write the preview) in Chinese or English",
        )
    return text


def _design_target_model(value: Any, region: str) -> str:
    if value is None:
        value = catalog.DEFAULT_TARGET_MODEL
    if value not in catalog.DESIGN_MODELS:
        raise _invalid(
            "target_model",
            value,
            "voice design supports " + ", ".join(catalog.DESIGN_MODELS),
        )
    if region not in catalog.DESIGN_REGIONS:
        raise _invalid(
            "target_model",
            value,
            f"voice design is not available in {region}; it is offered in "
            + ", ".join(catalog.DESIGN_REGIONS),
            hint=f"{catalog.DESIGN_REGION_FACT.cite()}; use --region cn-beijing with a Beijing key",
        )
    return str(value)


def _design_language(value: Any, preview_text: str, warnings: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise _invalid("language_hints", value, "a list with zh or en")
    hints = [v.strip().lower() for v in value if v.strip()]
    if not hints:
        return ()
    if len(hints) > 1:
        warnings.append(f"language_hints: only the first item counts; keeping {hints[0]!r}")
    first = hints[0]
    if first not in catalog.DESIGN_LANGUAGES:
        raise _invalid("language_hints", first, "voice design accepts zh or en")
    written = "zh" if catalog.has_cjk(preview_text) else "en"
    if first != written:
        warnings.append(
            f"language_hints: {first!r} but the preview text looks like {written!r}; the hint "
            "should match the preview text"
        )
    return (first,)


def normalize_design_request(
    *,
    prefix: Any,
    voice_prompt: Any,
    preview_text: Any = None,
    target_model: Any = None,
    language_hints: Any = None,
    sample_rate: Any = None,
    response_format: Any = None,
    region: str = catalog.DEFAULT_REGION,
    model: Any = None,
) -> DesignRequest:
    """Validate and normalize a voice-design request; raises :class:`InvalidRequestError`.

    Without ``preview_text`` a short sentence in the hint's language (else the prompt's) is used;
    without ``language_hints`` the hint follows the preview text (CJK -> zh, else en).
    """
    if model not in (None, "", catalog.ENROLLMENT_MODEL):
        raise _invalid("model", model, f"fixed to {catalog.ENROLLMENT_MODEL!r}")
    if region not in catalog.REGIONS:
        raise _invalid("region", region, "one of " + ", ".join(catalog.REGIONS))
    name = _design_target_model(target_model, region)
    checked_prefix = _prefix(prefix)
    prompt = _design_text("voice_prompt", voice_prompt, catalog.VOICE_PROMPT_MAX_CHARS)
    preview = _design_text(
        "preview_text", preview_text, catalog.PREVIEW_TEXT_MAX_CHARS, required=False
    )
    warnings: list[str] = []
    hints = _design_language(language_hints, preview or prompt, warnings)
    if not preview:
        language = hints[0] if hints else ("zh" if catalog.has_cjk(prompt) else "en")
        preview = catalog.DEFAULT_PREVIEW_TEXTS[language]
    if not hints:
        hints = ("zh" if catalog.has_cjk(preview) else "en",)
    rate = catalog.DEFAULT_DESIGN_SAMPLE_RATE if sample_rate is None else sample_rate
    if isinstance(rate, bool) or rate not in catalog.DESIGN_SAMPLE_RATES:
        raise _invalid(
            "sample_rate", sample_rate, "one of " + ", ".join(map(str, catalog.DESIGN_SAMPLE_RATES))
        )
    fmt = response_format or catalog.DEFAULT_DESIGN_RESPONSE_FORMAT
    if not isinstance(fmt, str) or fmt.lower() not in catalog.DESIGN_RESPONSE_FORMATS:
        raise _invalid(
            "response_format",
            response_format,
            "one of " + ", ".join(catalog.DESIGN_RESPONSE_FORMATS),
        )
    return DesignRequest(
        prefix=checked_prefix,
        voice_prompt=prompt,
        preview_text=preview,
        target_model=name,
        language_hints=hints,
        sample_rate=int(rate),
        response_format=fmt.lower(),
        region=region,
        warnings=tuple(warnings),
    )


@dataclass(frozen=True)
class PreviewAudio:
    """The preview a design answers with: decoded bytes and their format."""

    data: bytes
    sample_rate: int | None
    response_format: str | None

    @classmethod
    def from_wire(cls, value: Any) -> PreviewAudio | None:
        """Parse ``output.preview_audio`` (``{data: base64, sample_rate, response_format}``)."""
        import base64
        import binascii

        if not isinstance(value, Mapping) or not isinstance(value.get("data"), str):
            return None
        try:
            data = base64.b64decode(value["data"], validate=True)
        except (binascii.Error, ValueError):
            return None
        rate = value.get("sample_rate")
        fmt = value.get("response_format")
        return cls(
            data=data,
            sample_rate=int(rate) if isinstance(rate, (int, str)) and str(rate).isdigit() else None,
            response_format=fmt if isinstance(fmt, str) else None,
        )


@dataclass(frozen=True)
class CloneResponse:
    """The normalized response: ``voice_id``, ``request_id``, ``usage.count``."""

    voice_id: str
    request_id: str | None = None
    usage_count: int | None = None

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> CloneResponse:
        """Parse a service (or normalized) response; raises ``ValueError`` naming what's missing."""
        output = body.get("output")
        voice_id = output.get("voice_id") if isinstance(output, Mapping) else body.get("voice_id")
        if not isinstance(voice_id, str) or not voice_id:
            raise ValueError("missing output.voice_id")
        usage = body.get("usage")
        count = usage.get("count") if isinstance(usage, Mapping) else None
        request_id = body.get("request_id")
        return cls(
            voice_id=voice_id,
            request_id=request_id if isinstance(request_id, str) else None,
            usage_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The normalized response of the skill."""
        data: dict[str, Any] = {"voice_id": self.voice_id, "request_id": self.request_id}
        if self.usage_count is not None:
            data["usage"] = {"count": self.usage_count}
        return data


__all__ = [
    "CloneOptions",
    "CloneRequest",
    "CloneResponse",
    "DesignRequest",
    "NoticeWarning",
    "PreviewAudio",
    "RegionRuleWarning",
    "VoiceNoticeWarning",
    "citation_line",
    "clone_request_from_dict",
    "normalize_clone_options",
    "normalize_clone_request",
    "normalize_design_request",
    "region_warning",
    "supporting",
]
