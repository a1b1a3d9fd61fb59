"""One exception tree for everything cosyvoice-clone can fail at (every class lives here).

    CosyVoiceCloneError                      exit 1, the root
    ├── InvalidRequestError                  exit 2 / HTTP 400, nothing was sent
    │   │                                    (codes: ambiguous_voice ...)
    │   ├── ModelMismatchError               synthesis model != the voice's target model
    │   ├── UnknownVoiceError                HTTP 404: no such voice (code voice_deleted:
    │   │                                    the registry knows it was deleted)
    │   └── SampleUnreadableError            HTTP 422: a sample can't be read or decoded
    │                                        (code decoder_missing: this install can't decode it)
    ├── SampleRejectedError                  exit 2 / HTTP 422, the local check failed the sample
    ├── ConfigError                          exit 2, settings that can't work (unknown region ...)
    │   └── RegistryError                    HTTP 500: the registry is damaged, newer, locked
    ├── MissingCredentialsError              exit 3, no API key anywhere
    ├── TransportError                       exit 6 / HTTP 502, the service could not be reached
    │   ├── AmbiguousRequestError            a create failed without telling whether it ran
    │   ├── StateUnavailableError            the shared state (Redis) is unreachable: nothing
    │   │                                    was created (code state_unavailable)
    │   ├── SampleDownloadError              a sample URL could not be fetched (exit 5 when it
    │   │                                    timed out)
    │   └── OperationTimeoutError            exit 5 / HTTP 504, took longer than allowed
    │                                        (code voice_not_ready: a voice never became OK)
    ├── VoiceRejectedError                   HTTP 409, the voice ended UNDEPLOYED
    ├── VoiceDeployingError                  HTTP 409, the voice can't speak yet (DEPLOYING)
    ├── Interrupted                          exit 128+signal, stopped by SIGINT/SIGTERM
    ├── VoiceNotRecordedError                exit 1, a voice was created (its id) but a local
    │                                        write failed (registry, preview): disk full ...
    ├── SynthesisError                       HTTP 502, a synthesis task failed (task-failed)
    └── APIStatusError                       exit 1, the service answered with an error
        ├── AuthenticationError              exit 3, 401/403: key, region, access
        ├── NotFoundError                    HTTP 404, unknown voice id
        ├── QuotaExceededError               exit 4, voice slots used up
        ├── RateLimitError                   exit 4 / HTTP 429 throttling
        ├── BadSampleError                   HTTP 400, Audio.* / download / format errors
        └── ServerError                      HTTP 5xx (retryable)

``VoiceDeletedError``, ``AmbiguousVoiceError``, ``VoiceNotReadyError``, ``DecoderMissingError``
and ``SampleDownloadTimeout`` are names of the classes above (told apart by ``code``).

Every error renders as one line (``str(err)``) and as a stable dict (``err.to_dict()``).
What to do next is a :class:`NextStep` (a kind and named arguments) that each frontend words
itself; :func:`describe` is the default English wording. No error ever carries the API key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class StepKind(str, Enum):
    """What a user can do next about an error (each frontend words it: CLI flags, MCP tools,
    studio buttons)."""

    CHECK_SAMPLE = "check_sample"
    """See what is wrong with a sample and repair it (args: ``sample``)."""
    SKIP_CHECK = "skip_check"
    """Repair the sample or send it without the local check (args: ``sample``)."""
    CHECK_KEY = "check_key"
    """The key is refused: check it and the region it belongs to."""
    CHECK_ACCESS = "check_access"
    """The key has no access to the model or workspace here (region rules)."""
    CHECK_MODEL_ACCESS = "check_model_access"
    """No access to the target model, or it is not offered in this region."""
    ACTIVATE_MODEL = "activate_model"
    TOP_UP = "top_up"
    LIST_VOICES = "list_voices"
    """See which voices exist."""
    FREE_SLOTS = "free_slots"
    """Delete voices no longer needed (prune)."""
    SLOW_DOWN = "slow_down"
    """Lower the rate or concurrency, then try again."""
    USE_SUPPORTED_FORMAT = "use_supported_format"
    PUBLIC_URL = "public_url"
    """The service could not fetch the sample: a public URL, or a local file."""
    LONGER_SAMPLE = "longer_sample"
    NOT_SILENT = "not_silent"
    DECODABLE_SAMPLE = "decodable_sample"
    HIGHER_RATE = "higher_rate"
    CHECK_FIELD = "check_field"
    """The service refused a field; validate the request without sending it."""
    RETRY_LATER = "retry_later"
    SYNC_VOICES = "sync_voices"
    """Register a voice later by syncing the registry with the service (args: ``voice_id``)."""
    FULL_VOICE_ID = "full_voice_id"
    """A prefix named several voices: pass a full voice id (args: ``prefix``)."""
    PICK_MODEL = "pick_model"
    """Speak with a model the voice supports (args: ``model``)."""
    WAIT_FOR_VOICE = "wait_for_voice"
    """The voice is not OK yet: wait for it, or look at it later (args: ``voice_id``)."""
    CLONE_AGAIN = "clone_again"
    """The voice was rejected: clone again with a better sample (args: ``voice_id``)."""
    NARROW_PRUNE = "narrow_prune"
    """Prune needs a filter (prefix, age or status)."""
    USE_UPLOAD = "use_upload"
    """Send the sample another way: a public URL, or the upload transport."""


@dataclass(frozen=True)
class NextStep:
    """A structured next step: ``kind`` and its named arguments (``args``)."""

    kind: StepKind
    args: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, kind: StepKind, **args: str) -> NextStep:
        """``NextStep.of(StepKind.CHECK_SAMPLE, sample="a.wav")``."""
        return cls(kind, tuple(sorted(args.items())))

    def arg(self, name: str, default: str = "") -> str:
        """One named argument (``default`` when absent)."""
        return dict(self.args).get(name, default)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, **dict(self.args)}


_CHECK_WORDS = (
    "run `cosyvoice-clone check {sample}` to see what is wrong and `--fix OUT` to repair it"
)
_WORDING: dict[StepKind, str] = {
    StepKind.CHECK_SAMPLE: _CHECK_WORDS,
    StepKind.SKIP_CHECK: "repair it with `cosyvoice-clone check {sample} --fix OUT.wav`, or "
    "pass --skip-check to send it anyway",
    StepKind.CHECK_KEY: "check DASHSCOPE_API_KEY; keys are per region (a Beijing key fails on "
    "Singapore and vice versa): pick the region of your key with --region",
    StepKind.CHECK_ACCESS: "this key has no access to the model or workspace; the model may not "
    "be offered in this region (region rules: docs/protocol.md, `cosyvoice-clone doctor`)",
    StepKind.CHECK_MODEL_ACCESS: "this key has no access to the target model, or the model is "
    "not offered in this region (region rules: docs/protocol.md); try --region cn-beijing with "
    "a Beijing key",
    StepKind.ACTIVATE_MODEL: "the model is not activated for this account; activate it in the "
    "Model Studio console",
    StepKind.TOP_UP: "the account is in arrears; top it up in the console",
    StepKind.LIST_VOICES: "no such voice; `cosyvoice-clone voices list` shows the voices that "
    "exist",
    StepKind.FREE_SLOTS: "every voice slot is used; delete voices you no longer need with "
    "`cosyvoice-clone voices prune` or `voices delete ID`",
    StepKind.SLOW_DOWN: "slow down or lower --concurrency, then try again",
    StepKind.USE_SUPPORTED_FORMAT: "use a WAV (16-bit), MP3 or M4A sample; " + _CHECK_WORDS,
    StepKind.PUBLIC_URL: "the service could not download the sample: the URL must be public, or "
    "pass a local file to upload it",
    StepKind.LONGER_SAMPLE: "the sample needs at least 5 s of continuous clear speech (10–20 s "
    "is best); " + _CHECK_WORDS,
    StepKind.NOT_SILENT: "the sample is silent; " + _CHECK_WORDS,
    StepKind.DECODABLE_SAMPLE: "the sample could not be decoded; use WAV, MP3 or M4A; "
    + _CHECK_WORDS,
    StepKind.HIGHER_RATE: "the sample rate must be at least 16 kHz; " + _CHECK_WORDS,
    StepKind.CHECK_FIELD: "the service refused a field of the request (the message names it); "
    "if it names the target model or region, cloning for that model is not offered here (region "
    "rules: docs/protocol.md; --region cn-beijing clones every target model); "
    "`cosyvoice-clone prepare` validates a request without sending it",
    StepKind.RETRY_LATER: "a service-side failure; try again later",
    StepKind.SYNC_VOICES: "`cosyvoice-clone voices sync` registers it later",
    StepKind.FULL_VOICE_ID: "pass the full voice id (see `cosyvoice-clone voices list --prefix "
    "{prefix}`)",
    StepKind.PICK_MODEL: "use --model {model} (or leave --model out)",
    StepKind.WAIT_FOR_VOICE: "wait longer (--timeout) or check later with `cosyvoice-clone "
    "voices show {voice_id}`",
    StepKind.CLONE_AGAIN: "clone again with another sample (`cosyvoice-clone check SAMPLE` first)",
    StepKind.NARROW_PRUNE: "e.g. `cosyvoice-clone voices prune --older-than 30d --dry-run`",
    StepKind.USE_UPLOAD: "put the sample at a public http(s) URL, or use --sample-transport upload",
}
_DEFAULT_ARGS = {"sample": "SAMPLE", "prefix": "PREFIX", "model": "MODEL", "voice_id": "ID"}


def describe(step: NextStep) -> str:
    """The default English wording of a next step (the CLI's words)."""
    return _WORDING[step.kind].format_map({**_DEFAULT_ARGS, **dict(step.args)})


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
        next_step: NextStep | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.next_step = next_step
        self.hint = hint if hint is not None or next_step is None else describe(next_step)
        """Free text about what to do (the default wording of ``next_step`` when not given)."""
        if code is not None:
            self.code = code
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
            "next_step": None if self.next_step is None else self.next_step.to_dict(),
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
        next_step: NextStep | None = None,
        code: str | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, next_step=next_step, code=code)
        self.field = field
        self.value = value
        self.allowed = allowed
        self.source = source
        """The citation behind a refusal (the rule, its sources and date): in ``to_dict()``
        (``--json``), never in the one line."""

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["field"] = self.field
        data["source"] = self.source
        return data


class ModelMismatchError(InvalidRequestError):
    """A voice was asked to speak with a model other than the one it was enrolled for."""

    code = "model_mismatch"


class UnknownVoiceError(InvalidRequestError):
    """The name is neither a voice id nor a prefix the registry knows (nothing was sent)."""

    code = "unknown_voice"


class SampleUnreadableError(InvalidRequestError):
    """A local reference sample could not be read or decoded."""

    code = "sample_unreadable"


VoiceDeletedError = UnknownVoiceError
"""A voice the registry knows as deleted: an :class:`UnknownVoiceError` with code
``voice_deleted``."""
AmbiguousVoiceError = InvalidRequestError
"""A prefix that names several voices: an :class:`InvalidRequestError` with code
``ambiguous_voice``."""
DecoderMissingError = SampleUnreadableError
"""A sample this install cannot decode (no PyAV): code ``decoder_missing``."""


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


class StateUnavailableError(TransportError):
    """The shared state (``--state-url``: Redis) could not be reached; nothing was created."""

    code = "state_unavailable"
    exit_code = 6


class OperationTimeoutError(TransportError):
    """Something took longer than allowed."""

    code = "timeout"
    exit_code = 5


TimeoutError = OperationTimeoutError
"""Deprecated alias of :class:`OperationTimeoutError` (it shadowed the builtin)."""
VoiceNotReadyError = OperationTimeoutError
"""A voice did not become OK within the wait: code ``voice_not_ready``."""


class AmbiguousRequestError(TransportError):
    """A non-idempotent request failed without telling whether it ran (``cause``: its error)."""

    code = "ambiguous"

    def __init__(self, cause: CosyVoiceCloneError) -> None:
        super().__init__(
            cause.message,
            hint=cause.hint,
            http_status=cause.http_status,
            api_code=cause.api_code,
            request_id=cause.request_id,
            next_step=cause.next_step,
        )
        self.cause = cause


class SampleDownloadError(TransportError):
    """A sample URL could not be fetched (exit 6; exit 5, code ``timeout``, if it timed out)."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        hint: str | None = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(message, hint=hint, code="timeout" if timed_out else None)
        self.field = field
        self.value = value
        self.timed_out = timed_out
        if timed_out:
            self.exit_code = OperationTimeoutError.exit_code

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["field"] = self.field
        return data


SampleDownloadTimeout = SampleDownloadError
"""A sample download that timed out: a :class:`SampleDownloadError` with ``timed_out``."""


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


class VoiceNotRecordedError(CosyVoiceCloneError):
    """A voice exists (``voice_id``, ``result``) but a local write failed (disk full ...)."""

    code = "voice_not_recorded"

    def __init__(
        self,
        voice_id: str,
        reason: str,
        *,
        result: Any = None,
        done: str = "created",
        what: str = "could not be recorded locally",
    ) -> None:
        super().__init__(
            f"voice {voice_id} was {done} but {what}: {reason}",
            hint="free some disk space, then run the same command again: it finds the voice "
            "and records it (`cosyvoice-clone voices sync` also registers it); no new slot "
            "is used",
        )
        self.voice_id = voice_id
        self.reason = reason
        self.result = result

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["voice_id"] = self.voice_id
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


# api_code -> (class, next step). Codes not listed fall back on the HTTP status.
API_CODES: dict[str, tuple[type[APIStatusError], StepKind]] = {
    "InvalidApiKey": (AuthenticationError, StepKind.CHECK_KEY),
    "AccessDenied": (AuthenticationError, StepKind.CHECK_ACCESS),
    "AccessDenied.Unpurchased": (AuthenticationError, StepKind.ACTIVATE_MODEL),
    "Model.AccessDenied": (AuthenticationError, StepKind.CHECK_MODEL_ACCESS),
    "Arrearage": (APIStatusError, StepKind.TOP_UP),
    "BadRequest.ResourceNotExist": (NotFoundError, StepKind.LIST_VOICES),
    "Throttling.AllocationQuota": (QuotaExceededError, StepKind.FREE_SLOTS),
    "Throttling": (RateLimitError, StepKind.SLOW_DOWN),
    "Throttling.RateQuota": (RateLimitError, StepKind.SLOW_DOWN),
    "BadRequest.UnsupportedFileFormat": (BadSampleError, StepKind.USE_SUPPORTED_FORMAT),
    "BadRequest.InputDownloadFailed": (BadSampleError, StepKind.PUBLIC_URL),
    "InvalidParameter.DataInspection": (BadSampleError, StepKind.PUBLIC_URL),
    "Audio.AudioShortError": (BadSampleError, StepKind.LONGER_SAMPLE),
    "Audio.AudioSilentError": (BadSampleError, StepKind.NOT_SILENT),
    "Audio.DecoderError": (BadSampleError, StepKind.DECODABLE_SAMPLE),
    "Audio.AudioRateError": (BadSampleError, StepKind.HIGHER_RATE),
    "InvalidParameter": (APIStatusError, StepKind.CHECK_FIELD),
    "InternalError": (ServerError, StepKind.RETRY_LATER),
    "ServiceUnavailable": (ServerError, StepKind.RETRY_LATER),
}


def api_error(
    http_status: int | None,
    api_code: str | None,
    message: str | None,
    request_id: str | None = None,
) -> APIStatusError:
    """Turn an error answer of the service into the matching exception, with its hint."""
    cls: type[APIStatusError]
    step: StepKind | None
    if api_code in API_CODES:
        cls, step = API_CODES[api_code]
    elif api_code and api_code.startswith("Audio."):
        cls, step = BadSampleError, StepKind.CHECK_SAMPLE
    elif http_status in (401, 403):
        cls, step = API_CODES["InvalidApiKey"]
    elif http_status == 429:
        cls, step = API_CODES["Throttling"]
    elif http_status is not None and http_status >= 500:
        cls, step = API_CODES["InternalError"]
    else:
        cls, step = APIStatusError, None
    return cls(
        message or "the service returned an error",
        next_step=None if step is None else NextStep(step),
        http_status=http_status,
        api_code=api_code,
        request_id=request_id,
    )
