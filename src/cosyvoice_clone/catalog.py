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


# --------------------------------------------------------------------------- system voices
#
# The service's preset ("system") voices: each speaks with a fixed set of models only; a voice
# used with another model fails like an unknown one ("Engine return error code: 418").
# Sources (read 2026-10, through the reference search tool):
# - VOICE_LIST_PAGE: the CosyVoice voice list ("CosyVoice音色列表", Beijing region), table
#   "cosyvoice-v3-flash音色列表" (longanyang: 阳光大男孩, 20~30, 中文(普通话)、英文).
# - HTTP_API_PAGE: the CosyVoice HTTP API page (updated 2026-10-15): its curl examples speak
#   cosyvoice-v3-flash with longanyang.
# - V2_TABLE_PAGE: the CosyVoice-V2 voice table (name, voice value, type, 中文及中英文混合).
# - PYTHON_API_PAGE (2025-04-14): its example speaks cosyvoice-v1 with longxiaochun;
#   CLONE_API_PAGE (2025-04-25) names longxiaoxia as an official default voice.
# Inferred (marked per voice in ``note``): longanhuan and longhuhu_v3 on cosyvoice-v3-flash come
# from issue 18 (clients ran against the real service) and several public wrappers; the three
# v3-flash benchmark voices on cosyvoice-v3-plus come from those wrappers, not an official page.
# The model overview (help.aliyun.com/zh/model-studio/tts-model/) lists cosyvoice-v3.5-plus/-flash
# for custom voices (cloning and design) only: no system voices are known for them.

VOICE_LIST_PAGE = "https://help.aliyun.com/zh/model-studio/cosyvoice-voice-list"
HTTP_API_PAGE = "https://www.alibabacloud.com/help/zh/model-studio/cosyvoice-tts-http-api"
V2_TABLE_PAGE = (
    "https://help.aliyun.com/zh/isi/developer-reference/"
    "siso-text-to-speech-synthesis-for-cosyvoice-interface-description"
)
PYTHON_API_PAGE = "https://help.aliyun.com/zh/model-studio/developer-reference/cosyvoice-python-api"
CLONE_API_PAGE = "https://help.aliyun.com/model-studio/cosyvoice-clone-api"


@dataclass(frozen=True)
class SystemVoice:
    """A preset voice of the service: which models speak it, in which languages, and why we know."""

    name: str
    """The ``voice`` parameter value."""
    models: tuple[str, ...]
    """Synthesis models that speak this voice (any other model answers 418)."""
    languages: tuple[str, ...]
    label: str
    """The display name on the official list (e.g. 龙小淳)."""
    gender: str | None
    """``female``, ``male`` or ``child`` where the list says so."""
    style: str | None
    """The list's description of the voice, translated."""
    source: str
    source_date: str
    note: str | None = None
    """What is inferred rather than read on an official page."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        return {
            "name": self.name,
            "models": list(self.models),
            "languages": list(self.languages),
            "label": self.label,
            "gender": self.gender,
            "style": self.style,
            "source": self.source,
            "source_date": self.source_date,
            "note": self.note,
        }


_V3_BENCHMARK_NOTE = (
    "cosyvoice-v3-plus is inferred from public wrappers; the official page excerpt read shows the "
    "v3-flash table"
)


def _v2(name: str, label: str, gender: str, style: str) -> SystemVoice:
    return SystemVoice(
        name, ("cosyvoice-v2",), ("zh", "en"), label, gender, style, V2_TABLE_PAGE, "2026-10"
    )


SYSTEM_VOICES: dict[str, SystemVoice] = {
    v.name: v
    for v in (
        SystemVoice(
            "longanyang", ("cosyvoice-v3-flash", "cosyvoice-v3-plus"), ("zh", "en"), "龙安洋",
            "male", "sunny young man, 20-30", VOICE_LIST_PAGE, "2026-10", _V3_BENCHMARK_NOTE,
        ),
        SystemVoice(
            "longanhuan", ("cosyvoice-v3-flash", "cosyvoice-v3-plus"), ("zh", "en"), "龙安欢",
            "female", "cheerful, energetic young woman", VOICE_LIST_PAGE, "2026-10",
            "listed by issue 18 and public wrappers; " + _V3_BENCHMARK_NOTE,
        ),
        SystemVoice(
            "longhuhu_v3", ("cosyvoice-v3-flash", "cosyvoice-v3-plus"), ("zh", "en"), "龙呼呼",
            "child", "innocent little girl", VOICE_LIST_PAGE, "2026-10",
            "listed by issue 18 and public wrappers; " + _V3_BENCHMARK_NOTE,
        ),
        _v2("longcheng_v2", "龙橙", "male", "sunny male voice"),
        _v2("longhua_v2", "龙华", "child", "lively girl"),
        _v2("longshu_v2", "龙书", "male", "news anchor"),
        _v2("loongbella_v2", "Bella2.0", "female", "news anchor"),
        _v2("longwan_v2", "龙婉", "female", "Mandarin female voice"),
        _v2("longxiaochun_v2", "龙小淳", "female", "gentle elder sister"),
        _v2("longxiaoxia_v2", "龙小夏", "female", "gentle female voice"),
        SystemVoice(
            "longxiaochun", ("cosyvoice-v1",), ("zh", "en"), "龙小淳", "female", None,
            PYTHON_API_PAGE, "2025-04-14",
        ),
        SystemVoice(
            "longxiaoxia", ("cosyvoice-v1",), ("zh", "en"), "龙小夏", "female", None,
            CLONE_API_PAGE, "2025-04-25", "the page names it as a default voice, not its model",
        ),
    )
}  # fmt: skip


def system_voice(name: str) -> SystemVoice | None:
    """The system voice called ``name``, or ``None``."""
    return SYSTEM_VOICES.get(name)


def system_voices(model: str | None = None) -> list[SystemVoice]:
    """Every known system voice, or those that ``model`` speaks."""
    return [v for v in SYSTEM_VOICES.values() if model is None or model in v.models]
