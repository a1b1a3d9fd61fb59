"""One exception tree for everything cosyvoice-clone can fail at.

    CosyVoiceCloneError                      exit 1, the root
    ├── InvalidRequestError                  exit 2, nothing was sent (bad field, bad option)
    │   ├── ModelMismatchError               synthesis model != the voice's target model
    │   ├── UnknownVoiceError                neither a voice id nor a registered prefix
    │   ├── AmbiguousVoiceError              a prefix that names several voices
    │   ├── VoiceDeletedError                the registry knows the voice is deleted
    │   └── SampleUnreadableError            a local sample can't be read or decoded
    ├── SampleRejectedError                  exit 2, the local check failed the sample
    ├── ConfigError                          exit 2, settings that can't work (unknown region ...)
    │   └── RegistryError                    the registry file is damaged, newer, or stays locked
    ├── MissingCredentialsError              exit 3, no API key anywhere
    ├── TransportError                       exit 6, the service could not be reached
    │   └── OperationTimeoutError            exit 5, something took longer than allowed
    │       └── VoiceNotReadyError           a voice never became OK in time
    ├── VoiceRejectedError                   exit 1, the voice ended UNDEPLOYED
    ├── VoiceDeployingError                  exit 1, the voice can't speak yet (DEPLOYING)
    ├── Interrupted                          exit 128+signal, stopped by SIGINT/SIGTERM
    ├── SynthesisError                       exit 1, a synthesis task failed (task-failed)
    └── APIStatusError                       exit 1, the service answered with an error
        ├── AuthenticationError              exit 3, 401/403: key, region, access
        ├── NotFoundError                    exit 1, unknown voice id
        ├── QuotaExceededError               exit 4, voice slots used up
        ├── RateLimitError                   exit 4, 429 throttling
        ├── BadSampleError                   exit 1, Audio.* / download / format errors
        └── ServerError                      exit 1, 5xx (retryable)

Every error renders as one line (``str(err)``) and as a stable dict (``err.to_dict()``) that the
CLI prints under ``--json``. Messages say what to do next. No error ever carries the API key.
"""

from __future__ import annotations

from typing import Any


class CosyVoiceCloneError(Exception):
    """Base of every error raised by cosyvoice-clone."""

    code = "error"
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        http_status: int | None = None,
        api_code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.http_status = http_status
        self.api_code = api_code
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.api_code and self.api_code not in self.message:
            parts[0] = f"{self.api_code}: {self.message}"
        if self.hint:
            parts.append(self.hint)
        line = " — ".join(parts)
        if self.request_id:
            line += f" (request_id {self.request_id})"
        return line

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of this error."""
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "http_status": self.http_status,
            "api_code": self.api_code,
            "request_id": self.request_id,
        }


class InvalidRequestError(CosyVoiceCloneError):
    """Invalid input: a field or option is wrong; nothing was sent to the service."""

    code = "invalid_request"
    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        allowed: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.field = field
        self.value = value
        self.allowed = allowed

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["field"] = self.field
        return data


class ModelMismatchError(InvalidRequestError):
    """A voice was asked to speak with a model other than the one it was enrolled for."""

    code = "model_mismatch"


class UnknownVoiceError(InvalidRequestError):
    """The name is neither a voice id nor a prefix the registry knows (nothing was sent)."""

    code = "unknown_voice"


class AmbiguousVoiceError(InvalidRequestError):
    """The prefix matches several registered voices: pass the full voice id."""

    code = "ambiguous_voice"


class VoiceDeletedError(InvalidRequestError):
    """The voice was deleted (the registry recorded it): it cannot speak or be updated."""

    code = "voice_deleted"


class SampleUnreadableError(InvalidRequestError):
    """A local reference sample could not be read or decoded."""

    code = "sample_unreadable"


class SampleRejectedError(CosyVoiceCloneError):
    """The local preflight check failed a sample; cloning it would waste a slot."""

    code = "sample_rejected"
    exit_code = 2  # invalid input: nothing was sent


class ConfigError(CosyVoiceCloneError):
    """Settings that cannot work: unknown region, unreadable credentials file ..."""

    code = "config"
    exit_code = 2


class RegistryError(ConfigError):
    """The registry file is damaged, from a newer version, or kept locked (left untouched)."""

    code = "registry"


class MissingCredentialsError(CosyVoiceCloneError):
    """No API key was found anywhere in the lookup order."""

    code = "missing_credentials"
    exit_code = 3


class TransportError(CosyVoiceCloneError):
    """The service could not be reached (after retries)."""

    code = "network"
    exit_code = 6


class OperationTimeoutError(TransportError):
    """Something took longer than allowed."""

    code = "timeout"
    exit_code = 5


TimeoutError = OperationTimeoutError
"""Deprecated alias of :class:`OperationTimeoutError` (it shadowed the builtin)."""


class VoiceNotReadyError(OperationTimeoutError):
    """A voice did not become OK within the wait."""

    code = "voice_not_ready"


class VoiceRejectedError(CosyVoiceCloneError):
    """The voice ended UNDEPLOYED: the service rejected the sample in review."""

    code = "voice_rejected"


class VoiceDeployingError(CosyVoiceCloneError):
    """The voice exists but is still being deployed (status DEPLOYING): it cannot speak yet."""

    code = "voice_deploying"


class Interrupted(CosyVoiceCloneError):
    """The command was stopped by a signal; its cleanup ran (exit 128 + signal number)."""

    code = "interrupted"

    def __init__(self, signum: int, message: str | None = None, *, hint: str | None = None) -> None:
        import signal

        name = signal.Signals(signum).name
        super().__init__(message or f"interrupted by {name}", hint=hint)
        self.signum = signum
        self.signal_name = name
        self.exit_code = 128 + signum

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["signal"] = self.signal_name
        return data


class SynthesisError(CosyVoiceCloneError):
    """A synthesis task failed (the service sent task-failed or broke the stream)."""

    code = "synthesis_failed"


class APIStatusError(CosyVoiceCloneError):
    """The service answered with an error status."""

    code = "api_error"


class AuthenticationError(APIStatusError):
    """The API key was refused, or it has no access to the model (401/403)."""

    code = "auth"
    exit_code = 3


class NotFoundError(APIStatusError):
    """The voice (or other resource) does not exist."""

    code = "not_found"


class QuotaExceededError(APIStatusError):
    """All voice slots of the account are used."""

    code = "quota_exceeded"
    exit_code = 4


class RateLimitError(APIStatusError):
    """Requests came too fast (429) and retries did not get through."""

    code = "rate_limited"
    exit_code = 4


class BadSampleError(APIStatusError):
    """The service could not use the reference sample."""

    code = "bad_sample"


class ServerError(APIStatusError):
    """The service failed on its side (5xx)."""

    code = "server_error"


_CHECK_HINT = "run `cosyvoice-clone check SAMPLE` to see what is wrong and `--fix OUT` to repair it"

# api_code -> (class, hint). Codes not listed fall back on the HTTP status.
API_CODES: dict[str, tuple[type[APIStatusError], str]] = {
    "InvalidApiKey": (
        AuthenticationError,
        "check DASHSCOPE_API_KEY; keys are per region (a Beijing key fails on Singapore and "
        "vice versa): pick the region of your key with --region",
    ),
    "AccessDenied": (
        AuthenticationError,
        "this key has no access to the model or workspace; the model may not be offered in "
        "this region (region rules: docs/protocol.md, `cosyvoice-clone doctor`)",
    ),
    "AccessDenied.Unpurchased": (
        AuthenticationError,
        "the model is not activated for this account; activate it in the Model Studio console",
    ),
    "Model.AccessDenied": (
        AuthenticationError,
        "this key has no access to the target model, or the model is not offered in this "
        "region (region rules: docs/protocol.md); try --region cn-beijing with a Beijing key",
    ),
    "Arrearage": (APIStatusError, "the account is in arrears; top it up in the console"),
    "BadRequest.ResourceNotExist": (
        NotFoundError,
        "no such voice; `cosyvoice-clone voices list` shows the voices that exist",
    ),
    "Throttling.AllocationQuota": (
        QuotaExceededError,
        "every voice slot is used; delete voices you no longer need with "
        "`cosyvoice-clone voices prune` or `voices delete ID`",
    ),
    "Throttling": (RateLimitError, "slow down or lower --concurrency, then try again"),
    "Throttling.RateQuota": (RateLimitError, "slow down or lower --concurrency, then try again"),
    "BadRequest.UnsupportedFileFormat": (
        BadSampleError,
        "use a WAV (16-bit), MP3 or M4A sample; " + _CHECK_HINT,
    ),
    "BadRequest.InputDownloadFailed": (
        BadSampleError,
        "the service could not download the sample: the URL must be public, or pass a local "
        "file to upload it",
    ),
    "InvalidParameter.DataInspection": (
        BadSampleError,
        "the service could not download or inspect the sample; use a public URL or a local file",
    ),
    "Audio.AudioShortError": (
        BadSampleError,
        "the sample needs at least 5 s of continuous clear speech (10–20 s is best); "
        + _CHECK_HINT,
    ),
    "Audio.AudioSilentError": (BadSampleError, "the sample is silent; " + _CHECK_HINT),
    "Audio.DecoderError": (
        BadSampleError,
        "the sample could not be decoded; use WAV, MP3 or M4A; " + _CHECK_HINT,
    ),
    "Audio.AudioRateError": (
        BadSampleError,
        "the sample rate must be at least 16 kHz; " + _CHECK_HINT,
    ),
    "InvalidParameter": (
        APIStatusError,
        "the service refused a field of the request (the message names it); if it names the "
        "target model or region, cloning for that model is not offered here (region rules: "
        "docs/protocol.md; --region cn-beijing clones every target model); "
        "`cosyvoice-clone prepare` validates a request without sending it",
    ),
    "InternalError": (ServerError, "a service-side failure; try again later"),
    "ServiceUnavailable": (ServerError, "the service is unavailable; try again later"),
}


def api_error(
    http_status: int | None,
    api_code: str | None,
    message: str | None,
    request_id: str | None = None,
) -> APIStatusError:
    """Turn an error answer of the service into the matching exception, with its hint."""
    cls: type[APIStatusError]
    hint: str | None
    if api_code in API_CODES:
        cls, hint = API_CODES[api_code]
    elif api_code and api_code.startswith("Audio."):
        cls, hint = BadSampleError, _CHECK_HINT
    elif http_status in (401, 403):
        cls, hint = API_CODES["InvalidApiKey"]
    elif http_status == 429:
        cls, hint = API_CODES["Throttling"]
    elif http_status is not None and http_status >= 500:
        cls, hint = API_CODES["InternalError"]
    else:
        cls, hint = APIStatusError, None
    return cls(
        message or "the service returned an error",
        hint=hint,
        http_status=http_status,
        api_code=api_code,
        request_id=request_id,
    )
