"""The service's system (preset) voices the catalog knows, each with its source and date.
Re-exported by :mod:`.catalog`; kept apart so that the catalog of facts stays small."""

from __future__ import annotations

from dataclasses import dataclass

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
QWEN_AUDIO_VOICE_LIST_PAGE = (
    "https://www.alibabacloud.com/help/en/model-studio/qwen-audio-tts-voice-list"
)
"""The Qwen-Audio-TTS voice list (en and ja copies dated 2026-07-15, tc 2026-07-16): each model
speaks only its own voices; SSML, ``instruction`` and word timestamps only for voices marked so."""
QWEN_AUDIO_SDK_EXAMPLES = (
    "dashscope SDK 2.0.2 examples/01_atomic_capabilities/audio/direct_call/tts_websocket.py, "
    "tts_http.py; alibabacloud.com/help/en/model-studio/qwen-audio-tts-http-api (2026-10-21)"
)


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
    ssml: bool | None = None
    """Whether the voice list marks the voice as taking SSML (``None``: the list read says
    nothing; the service decides)."""
    instruct: bool | None = None
    """Whether the voice list marks the voice as taking ``instruction`` (``None``: not stated)."""
    timestamps: bool | None = None
    """Whether the voice list marks word timestamps as supported (``None``: not stated)."""
    regions: tuple[str, ...] = ()
    """Regions the voice list places the voice in (empty: not stated)."""

    @property
    def default_model(self) -> str:
        """The model used when none is asked for: the first of :attr:`models`.

        Each entry lists first the model an official voice table places the voice under; the
        others are inferred (see ``note``), so the documented one is the safe default.
        """
        return self.models[0]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        return {
            "name": self.name,
            "models": list(self.models),
            "default_model": self.default_model,
            "languages": list(self.languages),
            "label": self.label,
            "gender": self.gender,
            "style": self.style,
            "source": self.source,
            "source_date": self.source_date,
            "note": self.note,
            "ssml": self.ssml,
            "instruct": self.instruct,
            "timestamps": self.timestamps,
            "regions": list(self.regions),
        }


_V3_BENCHMARK_NOTE = (
    "cosyvoice-v3-plus is inferred from public wrappers; the official page excerpt read shows the "
    "v3-flash table"
)


def _v2(name: str, label: str, gender: str, style: str) -> SystemVoice:
    return SystemVoice(
        name, ("cosyvoice-v2",), ("zh", "en"), label, gender, style, V2_TABLE_PAGE, "2026-10"
    )


_QA3_PLUS = "qwen-audio-3.0-tts-plus"
_QA3_FLASH = "qwen-audio-3.0-tts-flash"
_QA_REGIONS = ("cn-beijing", "ap-southeast-1")
_QA_PLUS_NOTE = (
    "the tc copy lists it under qwen-audio-3.0-tts-plus; the ja copy heads one table for plus and "
    "flash: speaking it with flash is inferred (the service decides)"
)


def _qa3(
    name: str, models: tuple[str, ...], label: str, style: str, note: str | None
) -> SystemVoice:
    """A Qwen-Audio-TTS 3.0 voice as the voice list marks it: Chinese (Mandarin) and English,
    China (Beijing) and Singapore, SSML not supported, Instruct supported, timestamps not."""
    return SystemVoice(
        name, models, ("zh", "en"), label, None, style, QWEN_AUDIO_VOICE_LIST_PAGE, "2026-07-15",
        note, ssml=False, instruct=True, timestamps=False, regions=_QA_REGIONS,
    )  # fmt: skip


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
        _qa3("longanlingxin", (_QA3_PLUS, _QA3_FLASH), "龙安灵心", "warm, empathetic; 25",
             _QA_PLUS_NOTE),
        _qa3("longanlufeng", (_QA3_PLUS, _QA3_FLASH), "龙安鲁风", "bright, cheerful; 25",
             _QA_PLUS_NOTE),
        _qa3("longanfengyue", (_QA3_FLASH,), "龙安风悦", "natural, friendly; 30", None),
        _qa3("longanyuanfei", (_QA3_FLASH,), "龙安元妃", "haughty consort; 30", None),
        _qa3("longanlingxi", (_QA3_FLASH,), "龙安灵希", "cute, sweet; 25", None),
        _qa3("longanxiaoxin", (_QA3_FLASH,), "龙安小昕", "friendly, lively; 22", None),
        SystemVoice(
            "longanhuan_v3.6", (_QA3_FLASH,), ("zh", "en"), "龙安欢", None, "25",
            QWEN_AUDIO_VOICE_LIST_PAGE, "2026-07-15",
            "the row was cut off where read: languages, regions and SSML/Instruct/timestamp "
            "marks not read; also the SDK 2.0.2 examples' default voice for this model",
        ),
        SystemVoice(
            "longanhuan_v3.1", ("qwen-audio-3.1-tts-flash",), ("zh", "en"), "龙安欢", None, None,
            QWEN_AUDIO_SDK_EXAMPLES, "2026-11",
            "inferred: the default voice of the SDK examples and of the HTTP API page's example "
            "(on the Singapore host); the 3.1 voice tables were not read (languages inferred)",
            regions=_QA_REGIONS,
        ),
    )
}  # fmt: skip


def system_voice(name: str) -> SystemVoice | None:
    """The system voice called ``name``, or ``None``."""
    return SYSTEM_VOICES.get(name)


def system_voices(model: str | None = None) -> list[SystemVoice]:
    """Every known system voice, or those that ``model`` speaks."""
    return [v for v in SYSTEM_VOICES.values() if model is None or model in v.models]


# --------------------------------------------------------------------------- synthesis models
#
# Every model `speak --model` accepts, with its family and what the pages say it supports.
# Qwen-Audio-TTS shares CosyVoice's WebSocket protocol (run-task / continue-task / finish-task,
# the same SDK class) and its HTTP endpoint; sources in docs/protocol.md §3.

QWEN_AUDIO_WEBSOCKET_PAGE = "https://help.aliyun.com/en/model-studio/cosyvoice-websocket-api"
QWEN_AUDIO_EVENTS_PAGE = (
    "https://www.alibabacloud.com/help/en/model-studio/qwen-audio-tts-client-events"
)
QWEN_AUDIO_HTTP_PAGE = "https://www.alibabacloud.com/help/en/model-studio/qwen-audio-tts-http-api"
COSYVOICE_HTTP_PAGE = HTTP_API_PAGE
LATEX_PAGE = (
    "https://www.alibabacloud.com/help/en/model-studio/latex-capability-support-description"
)
ZH_WEBSOCKET_PAGE = "https://help.aliyun.com/zh/model-studio/cosyvoice-websocket-api"
QWENCLOUD_WEBSOCKET_PAGE = (
    "https://docs.qwencloud.com/api-reference/speech-synthesis/cosyvoice/websocket-api"
)


@dataclass(frozen=True)
class SynthesisModel:
    """A synthesis model: its family, where its non-real-time (HTTP) endpoint is documented,
    whether it reads LaTeX formulas aloud, and why we know."""

    name: str
    family: str
    """``cosyvoice`` or ``qwen-audio`` (one WebSocket protocol for both)."""
    http_regions: tuple[str, ...]
    """Regions whose HTTP synthesis endpoint is documented for this model's family."""
    math: bool | None
    """Formulas in ``$…$`` are read aloud (Chinese only; ``None``: no page says)."""
    source: str
    source_date: str
    note: str | None = None
    """What is inferred or unconfirmed."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        return {
            "name": self.name,
            "family": self.family,
            "http_regions": list(self.http_regions),
            "math": self.math,
            "source": self.source,
            "source_date": self.source_date,
            "note": self.note,
        }


_COSY_HTTP = ("cn-beijing",)
_QA_HTTP = ("ap-southeast-1", "cn-beijing")
_QA_SOURCE = f"{QWEN_AUDIO_WEBSOCKET_PAGE}; {QWEN_AUDIO_EVENTS_PAGE}; {QWEN_AUDIO_HTTP_PAGE}"
_MATH_SOURCE = f"{LATEX_PAGE} (2026-03-15); {QWENCLOUD_WEBSOCKET_PAGE}"


def _cosy(name: str, math: bool | None, note: str | None = None) -> SynthesisModel:
    source = f"{COSYVOICE_HTTP_PAGE} (2026-10-15)" + (f"; {_MATH_SOURCE}" if math else "")
    return SynthesisModel(name, "cosyvoice", _COSY_HTTP, math, source, "2026-12", note)


def _qa(name: str, note: str | None = None) -> SynthesisModel:
    return SynthesisModel(name, "qwen-audio", _QA_HTTP, None, _QA_SOURCE, "2026-12", note)


SYNTHESIS_MODELS: dict[str, SynthesisModel] = {
    m.name: m
    for m in (
        _cosy("cosyvoice-v3.5-plus", None),
        _cosy("cosyvoice-v3.5-flash", None),
        _cosy("cosyvoice-v3-plus", True),
        _cosy("cosyvoice-v3-flash", True),
        _cosy(
            "cosyvoice-v2", True, f"math: only the zh Beijing page says so ({ZH_WEBSOCKET_PAGE})"
        ),
        _cosy("cosyvoice-v1", None),
        _qa("qwen-audio-3.0-tts-flash"),
        _qa("qwen-audio-3.0-tts-plus"),
        _qa("qwen-audio-3.1-tts-flash", "voice tables not read; SDK 2.0.2 examples' default model"),
        _qa(
            "qwen-audio-3.1-tts-plus",
            "unconfirmed: named by the WebSocket page's model family only; no example or voice "
            "table read (the service decides)",
        ),
    )
}
"""Every synthesis model the catalog knows, by name."""
