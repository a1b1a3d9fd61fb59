"""cosyvoice-clone: clone voices with Alibaba Cloud CosyVoice and speak with them."""

from __future__ import annotations

from .errors import (
    APIStatusError,
    AuthenticationError,
    BadSampleError,
    ConfigError,
    CosyVoiceCloneError,
    InvalidRequestError,
    MissingCredentialsError,
    ModelMismatchError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    SampleRejectedError,
    SampleUnreadableError,
    ServerError,
    SynthesisError,
    TimeoutError,
    TransportError,
    VoiceNotReadyError,
    VoiceRejectedError,
)

__version__ = "0.1.0"

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadSampleError",
    "ConfigError",
    "CosyVoiceCloneError",
    "InvalidRequestError",
    "MissingCredentialsError",
    "ModelMismatchError",
    "NotFoundError",
    "QuotaExceededError",
    "RateLimitError",
    "SampleRejectedError",
    "SampleUnreadableError",
    "ServerError",
    "SynthesisError",
    "TimeoutError",
    "TransportError",
    "VoiceNotReadyError",
    "VoiceRejectedError",
    "__version__",
]
