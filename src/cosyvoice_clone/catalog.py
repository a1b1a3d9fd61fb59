"""One table of facts about the service: regions, endpoints, target models and their rules.

Every model/region rule of the skill lives here once. The client (request validation), the CLI
and the emulator all read these tables; change a rule here and every part follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

SKILL_NAME = "alicloud-ai-audio-cosyvoice-voice-clone"
ENROLLMENT_MODEL = "voice-enrollment"
DEFAULT_TARGET_MODEL = "cosyvoice-v3.5-plus"
DEFAULT_REGION = "cn-beijing"


@dataclass(frozen=True)
class Region:
    """A deployment region with its public endpoints."""

    name: str
    label: str
    http_base: str
    websocket_url: str
    supports_temporary_upload: bool


REGIONS: dict[str, Region] = {
    "cn-beijing": Region(
        name="cn-beijing",
        label="China mainland (Beijing)",
        http_base="https://dashscope.aliyuncs.com/api/v1",
        websocket_url="wss://dashscope.aliyuncs.com/api-ws/v1/inference",
        supports_temporary_upload=True,
    ),
    "ap-southeast-1": Region(
        name="ap-southeast-1",
        label="International (Singapore)",
        http_base="https://dashscope-intl.aliyuncs.com/api/v1",
        websocket_url="wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference",
        supports_temporary_upload=False,
    ),
}

class VoiceStatus(str, Enum):
    """A voice's status on the service (``query_voice``/``list_voice`` ``status``).

    Source: dashscope SDK 2.0.2 ``tts_v2/enrollment.py`` docstrings and the voice-clone API
    reference (help.aliyun.com/zh/model-studio/cosyvoice-clone-api, 2026-02).
    """

    DEPLOYING = "DEPLOYING"
    """Being processed or reviewed: cannot speak yet."""
    OK = "OK"
    """Ready to speak."""
    UNDEPLOYED = "UNDEPLOYED"
    """Rejected in review: can never speak."""

    def __str__(self) -> str:
        return self.value


_BASE_LANGUAGES = ("zh", "en", "fr", "de", "ja", "ko", "ru")
_EXTENDED_LANGUAGES = (*_BASE_LANGUAGES, "pt", "th", "id", "vi")


@dataclass(frozen=True)
class TargetModel:
    """A CosyVoice synthesis model that cloned voices can be bound to."""

    name: str
    clone_regions: tuple[str, ...]
    """Regions where voices can be cloned for this model."""
    language_hints: tuple[str, ...]
    """Accepted values for the first language hint; empty means hints are not supported."""
    max_prompt_audio_length: bool
    enable_preprocess: bool


TARGET_MODELS: dict[str, TargetModel] = {
    m.name: m
    for m in (
        TargetModel(
            "cosyvoice-v3.5-plus",
            clone_regions=("cn-beijing",),
            language_hints=_EXTENDED_LANGUAGES,
            max_prompt_audio_length=True,
            enable_preprocess=True,
        ),
        TargetModel(
            "cosyvoice-v3.5-flash",
            clone_regions=("cn-beijing",),
            language_hints=_EXTENDED_LANGUAGES,
            max_prompt_audio_length=True,
            enable_preprocess=True,
        ),
        TargetModel(
            "cosyvoice-v3-plus",
            clone_regions=("cn-beijing",),
            language_hints=_BASE_LANGUAGES,
            max_prompt_audio_length=False,
            enable_preprocess=False,
        ),
        TargetModel(
            "cosyvoice-v3-flash",
            clone_regions=("cn-beijing",),
            language_hints=_EXTENDED_LANGUAGES,
            max_prompt_audio_length=True,
            enable_preprocess=True,
        ),
        TargetModel(
            "cosyvoice-v2",
            clone_regions=("cn-beijing", "ap-southeast-1"),
            language_hints=(),
            max_prompt_audio_length=False,
            enable_preprocess=False,
        ),
    )
}

SYSTEM_VOICE_MODELS: tuple[str, ...] = ("cosyvoice-v1",)
"""Synthesis models that speak only the service's system voices (no cloning for them)."""


def synthesis_models() -> list[str]:
    """Every synthesis model `speak --model` accepts: the target models, then the others."""
    return [*TARGET_MODELS, *SYSTEM_VOICE_MODELS]


# Field limits of the enrollment request.
PREFIX_MAX_LENGTH = 10
MAX_PROMPT_AUDIO_LENGTH_RANGE = (3.0, 30.0)
DEFAULT_MAX_PROMPT_AUDIO_LENGTH = 10.0
DEFAULT_LANGUAGE_HINT = "zh"

# Service limits.
VOICE_QUOTA = 1000
ENROLLMENT_REQUESTS_PER_SECOND = 10.0
SYNTHESIS_TASKS_PER_SECOND_PER_MODEL = 3.0
MAX_CHARS_PER_MESSAGE = 20_000
MAX_CHARS_PER_TASK = 200_000
SYNTHESIS_IDLE_TIMEOUT_S = 23.0

# Synthesis parameters.
AUDIO_FORMATS = ("pcm", "wav", "mp3", "opus")
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
OPUS_SAMPLE_RATES = (8000, 16000, 24000, 48000)
DEFAULT_SAMPLE_RATE = 22050

# Reference-sample requirements (documented by the service).
SAMPLE_MAX_BYTES = 10 * 1024 * 1024
SAMPLE_MAX_SECONDS = 60.0
SAMPLE_MIN_SPEECH_SECONDS = 5.0
SAMPLE_RECOMMENDED_SECONDS = (10.0, 20.0)
SAMPLE_MIN_RATE = 16000
SAMPLE_MAX_PAUSE_SECONDS = 2.0


def region(name: str) -> Region:
    """The region called ``name``; raises ``KeyError`` for an unknown one."""
    return REGIONS[name]


def target_model(name: str) -> TargetModel:
    """The target model called ``name``; raises ``KeyError`` for an unknown one."""
    return TARGET_MODELS[name]


def clone_models_in(region_name: str) -> list[str]:
    """Target models that can be cloned for in a region."""
    return [m.name for m in TARGET_MODELS.values() if region_name in m.clone_regions]


def model_from_voice_id(voice_id: str) -> str | None:
    """Recover the target model from a voice id (``{model}-{prefix}-{hex}``), if known."""
    for name in sorted(TARGET_MODELS, key=len, reverse=True):
        if voice_id.startswith(name + "-"):
            return name
    return None


def cjk_weight(char: str) -> int:
    """How much one character counts against the synthesis text limits (CJK ideographs 2)."""
    code = ord(char)
    if (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2FA1F
        or 0xF900 <= code <= 0xFAFF
    ):
        return 2
    return 1


def text_weight(text: str) -> int:
    """The length of ``text`` as the service counts it (CJK ideographs count 2)."""
    return sum(cjk_weight(c) for c in text)
