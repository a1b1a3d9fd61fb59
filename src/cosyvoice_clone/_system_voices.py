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
