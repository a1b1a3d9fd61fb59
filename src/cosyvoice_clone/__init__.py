"""cosyvoice-clone: clone voices with Alibaba Cloud CosyVoice and speak with them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .catalog import VoiceStatus
from .errors import (
    AmbiguousVoiceError,
    APIStatusError,
    AuthenticationError,
    BadSampleError,
    ConfigError,
    CosyVoiceCloneError,
    Interrupted,
    InvalidRequestError,
    MissingCredentialsError,
    ModelMismatchError,
    NextStep,
    NotFoundError,
    OperationTimeoutError,
    QuotaExceededError,
    RateLimitError,
    SampleDownloadError,
    SampleRejectedError,
    SampleUnreadableError,
    ServerError,
    StepKind,
    SynthesisError,
    TimeoutError,
    TransportError,
    UnknownVoiceError,
    VoiceDeletedError,
    VoiceDeployingError,
    VoiceNotReadyError,
    VoiceNotRecordedError,
    VoiceRejectedError,
)
from .models import (
    BatchItem,
    BatchReport,
    CloneResult,
    DeleteReport,
    DesignResult,
    LiveResult,
    PingResult,
    SpeakingVoice,
    SpeechResult,
    SyncReport,
    Voice,
)

if TYPE_CHECKING:
    from .audio import CheckReport
    from .client import AsyncCosyVoice, CosyVoice
    from .synthesis.protocol import SynthesisOptions

_LAZY = {
    "AsyncCosyVoice": "client",
    "CheckReport": "audio",
    "CosyVoice": "client",
    "SynthesisOptions": "synthesis.protocol",
}


def __getattr__(name: str) -> object:
    """Import the clients, the synthesis options and the audio check on first use (``import
    cosyvoice_clone`` stays light for the CLI)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APIStatusError",
    "AmbiguousVoiceError",
    "AsyncCosyVoice",
    "AuthenticationError",
    "BadSampleError",
    "BatchItem",
    "BatchReport",
    "CheckReport",
    "CloneResult",
    "ConfigError",
    "CosyVoice",
    "CosyVoiceCloneError",
    "DeleteReport",
    "DesignResult",
    "Interrupted",
    "InvalidRequestError",
    "LiveResult",
    "MissingCredentialsError",
    "ModelMismatchError",
    "NextStep",
    "NotFoundError",
    "OperationTimeoutError",
    "PingResult",
    "QuotaExceededError",
    "RateLimitError",
    "SampleDownloadError",
    "SampleRejectedError",
    "SampleUnreadableError",
    "ServerError",
    "SpeakingVoice",
    "SpeechResult",
    "StepKind",
    "SyncReport",
    "SynthesisError",
    "SynthesisOptions",
    "TimeoutError",
    "TransportError",
    "UnknownVoiceError",
    "Voice",
    "VoiceDeletedError",
    "VoiceDeployingError",
    "VoiceNotReadyError",
    "VoiceNotRecordedError",
    "VoiceRejectedError",
    "VoiceStatus",
    "__version__",
]
