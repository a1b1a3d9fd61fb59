"""One table of facts about the service: regions, endpoints, target models and their rules.

Every model/region rule lives here once, with its source and the date the source was read
(``docs/protocol.md`` lists them all). The client (request validation), the CLI and the emulator
read these tables; change a rule here and every part follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta, timezone
from enum import Enum

from ._design_facts import *  # noqa: F403 (re-exported: its __all__)
from ._design_facts import DESIGN_MODELS, DESIGN_REGIONS, DESIGNED_VOICE_MARK
from ._synthesis_facts import *  # noqa: F403 (re-exported: its __all__)
from ._synthesis_facts import RULES_DOC, Fact
from ._system_voices import CLONE_API_PAGE as CLONE_API_PAGE
from ._system_voices import HTTP_API_PAGE as HTTP_API_PAGE
from ._system_voices import PYTHON_API_PAGE as PYTHON_API_PAGE
from ._system_voices import QWEN_AUDIO_VOICE_LIST_PAGE as QWEN_AUDIO_VOICE_LIST_PAGE
from ._system_voices import SYNTHESIS_MODELS as SYNTHESIS_MODELS
from ._system_voices import SYSTEM_VOICES as SYSTEM_VOICES
from ._system_voices import V2_TABLE_PAGE as V2_TABLE_PAGE
from ._system_voices import VOICE_LIST_PAGE as VOICE_LIST_PAGE
from ._system_voices import SynthesisModel as SynthesisModel
from ._system_voices import SystemVoice as SystemVoice
from ._system_voices import system_voice as system_voice
from ._system_voices import system_voices as _all_system_voices
from .errors import InvalidRequestError

SKILL_NAME = "alicloud-ai-audio-cosyvoice-voice-clone"
DESIGN_SKILL_NAME = "alicloud-ai-audio-cosyvoice-voice-design"
ENROLLMENT_MODEL = "voice-enrollment"
DEFAULT_TARGET_MODEL = "cosyvoice-v3.5-plus"
DEFAULT_REGION = "cn-beijing"


_SDK = "dashscope SDK 2.0.2"
_SDK_HOSTS = Fact(
    "the per-workspace host is https://{workspace}.{region}.maas.aliyuncs.com (HTTP /api/v1, "
    "WebSocket /api-ws/v1/inference) in six regions; without a workspace the region's shared "
    "host is used",
    f"{_SDK} dashscope/v2/_config.py, dashscope/common/env.py, dashscope/__init__.py",
    "2026-11",
)
_UPLOAD_BOTH = Fact(
    "the temporary file upload (oss:// URLs) is available in Singapore and China (Beijing)",
    "alibabacloud.com/help/es/model-studio/get-temporary-file-url (and pt-br)",
    "2026-10",
)
_NO_UPLOAD = Fact(
    "no source documents the temporary file upload here",
    "alibabacloud.com/help/es/model-studio/get-temporary-file-url",
    "2026-10",
)


@dataclass(frozen=True)
class Region:
    """A deployment region with its endpoints.

    ``http_base``/``websocket_url`` are the shared hosts used when no workspace is configured;
    with a workspace every region uses its per-workspace host (:meth:`workspace_endpoints`).
    """

    name: str
    label: str
    http_base: str
    websocket_url: str
    supports_temporary_upload: bool
    hosts_fact: Fact = _SDK_HOSTS
    upload_fact: Fact = _NO_UPLOAD

    def workspace_endpoints(self, workspace: str) -> tuple[str, str]:
        """The per-workspace HTTP base and WebSocket URL of this region."""
        host = WORKSPACE_HOST.format(workspace=workspace, region=self.name)
        return f"https://{host}/api/v1", f"wss://{host}/api-ws/v1/inference"


WORKSPACE_HOST = "{workspace}.{region}.maas.aliyuncs.com"
"""Per-workspace host (dashscope SDK 2.0.2 ``v2/_config.py`` WORKSPACE_GATEWAY_TEMPLATE)."""

WORKSPACE_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
"""What a workspace id may look like (it becomes a DNS label; SDK 2.0.2 ``common/env.py``)."""


def _shared(host: str) -> tuple[str, str]:
    return f"https://{host}/api/v1", f"wss://{host}/api-ws/v1/inference"


def _region(name: str, label: str, host: str, *, upload: bool = False) -> Region:
    http_base, websocket_url = _shared(host)
    return Region(
        name=name,
        label=label,
        http_base=http_base,
        websocket_url=websocket_url,
        supports_temporary_upload=upload,
        upload_fact=_UPLOAD_BOTH if upload else _NO_UPLOAD,
    )


# The six regions of SDK 2.0.2 (v2/_config.py VALID_REGIONS, LEGACY_GATEWAY_HOSTS), read 2026-11.
REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        _region("cn-beijing", "China mainland (Beijing)", "dashscope.aliyuncs.com", upload=True),
        _region(
            "ap-southeast-1",
            "International (Singapore)",
            "dashscope-intl.aliyuncs.com",
            upload=True,
        ),
        _region("us-east-1", "US (Virginia)", "dashscope-intl.aliyuncs.com"),
        _region("cn-hongkong", "China (Hong Kong)", "cn-hongkong.dashscope.aliyuncs.com"),
        _region("eu-central-1", "Germany (Frankfurt)", "dashscope-intl.aliyuncs.com"),
        _region("ap-northeast-1", "Japan (Tokyo)", "dashscope-intl.aliyuncs.com"),
    )
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


class CloneVerdict(str, Enum):
    """What the sources say about cloning for one target model in one region."""

    YES = "yes"
    """Documented: cloning works there."""
    NO = "no"
    """Every source agrees it does not: refused locally, nothing is sent."""
    DISPUTED = "disputed"
    """Sources disagree (or none covers it): the request is sent with a warning."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CloneRule:
    """Whether ``model`` can clone in ``region`` (``"*"``: every region not named elsewhere)."""

    model: str
    region: str
    verdict: CloneVerdict
    fact: Fact
    emulated: bool = False
    """The emulator's answer for a DISPUTED row (``True``: it clones); YES always clones, NO is
    never sent. One documented answer per row, so both outcomes of a disputed row are testable."""


_CLONE_API = "help.aliyun.com/en/model-studio/cosyvoice-clone-design-api"
_GUIDE = "alibabacloud.com/help/en/model-studio/voice-cloning-user-guide"
_GUIDE_2026 = "alibabacloud.com/help/doc-detail/2861519.html (2026-11-12)"
_SKILL = "skill SKILL.md (cinience/alicloud-skills)"
_SG_MODELS = "alibabacloud.com/help/en/model-studio/text-to-speech (2026-02-11)"
_OVERVIEW = "help.aliyun.com/en/model-studio/tts-model/"
_CLONE_EXAMPLE = f"{_SDK} examples/01_atomic_capabilities/audio/direct_call/voice_clone.py"
_BEIJING_ALL = Fact(
    "China (Beijing) clones for cosyvoice-v3.5-plus/-flash, v3-plus/-flash, v2 and v1",
    f"{_CLONE_API} (the Beijing list names cosyvoice-v1)",
    "2026-12",
)
_V35_ONLY_BEIJING = Fact(
    "cosyvoice-v3.5-plus and -flash exist only in China (Beijing); every source agrees",
    f"{_CLONE_API}; the skill alicloud-ai-audio-cosyvoice-voice-clone (SKILL.md)",
    "2026-10",
)
_V3_INTL = Fact(
    "the skill says v3-plus/v3-flash cannot clone on the international site; the newest "
    "cloning guide names the v3 series for Singapore (as quoted by issue 28, not re-read), the "
    "Singapore cloning example and the SDK example clone them, Singapore lists them as its "
    "synthesis models",
    f"{_SKILL} vs {_GUIDE}; alibabacloud.com/help/tc/doc-detail/3027318.html (2026-05); "
    f"{_CLONE_EXAMPLE}; {_SG_MODELS}",
    "2026-12",
)
_V2_INTL = Fact(
    "the skill and an older cloning guide (no per-model split) let cosyvoice-v2 clone in "
    "Singapore; the newest guide says Singapore clones the v3 series only (as quoted by issue "
    "28, not re-read) and Singapore lists no cosyvoice-v2 synthesis",
    f"{_SKILL}; help.aliyun.com/en/model-studio/voice-replica-1 vs {_GUIDE}; {_SG_MODELS}",
    "2026-12",
)
_QA_FLASH_BEIJING = Fact(
    "qwen-audio-3.0-tts-flash is the SDK example's default cloning target (voice-enrollment, "
    "create_voice) and the overview's cloning model",
    f"{_CLONE_EXAMPLE}; {_OVERVIEW} (first table)",
    "2026-12",
)
_QA_FLASH_INTL = Fact(
    "the cloning guide says Qwen-Audio-TTS/CosyVoice clone in Beijing and Singapore; no page "
    "read names the models cloning in Singapore",
    f"{_GUIDE_2026}; help.aliyun.com/en/model-studio/voice-cloning-user-guide",
    "2026-12",
)
_QA_PLUS = Fact(
    "the overview names qwen-audio-3.0-tts-flash for cloning in one table and "
    "qwen-audio-3.0-tts-plus in the next; no other page read names plus as a target",
    f"{_OVERVIEW}; {_CLONE_EXAMPLE}",
    "2026-12",
)
_UNDOCUMENTED = Fact(
    "no source documents CosyVoice cloning in this region (the SDK knows the region's hosts)",
    f"{_CLONE_API}; {_SDK} v2/_config.py",
    "2026-11",
)

CLONE_RULES: tuple[CloneRule, ...] = (
    *(
        CloneRule(m, "cn-beijing", CloneVerdict.YES, _BEIJING_ALL)
        for m in (
            "cosyvoice-v3.5-plus",
            "cosyvoice-v3.5-flash",
            "cosyvoice-v3-plus",
            "cosyvoice-v3-flash",
            "cosyvoice-v2",
            "cosyvoice-v1",
        )
    ),
    CloneRule("qwen-audio-3.0-tts-flash", "cn-beijing", CloneVerdict.YES, _QA_FLASH_BEIJING),
    CloneRule("qwen-audio-3.0-tts-flash", "ap-southeast-1", CloneVerdict.DISPUTED, _QA_FLASH_INTL),
    CloneRule("qwen-audio-3.0-tts-plus", "*", CloneVerdict.DISPUTED, _QA_PLUS),
    CloneRule("cosyvoice-v3.5-plus", "*", CloneVerdict.NO, _V35_ONLY_BEIJING),
    CloneRule("cosyvoice-v3.5-flash", "*", CloneVerdict.NO, _V35_ONLY_BEIJING),
    CloneRule("cosyvoice-v3-plus", "ap-southeast-1", CloneVerdict.DISPUTED, _V3_INTL),
    CloneRule("cosyvoice-v3-flash", "ap-southeast-1", CloneVerdict.DISPUTED, _V3_INTL),
    # the emulator keeps the skill's answer here (it cloned before issue 28): the service decides
    CloneRule("cosyvoice-v2", "ap-southeast-1", CloneVerdict.DISPUTED, _V2_INTL, emulated=True),
)
"""Where each target model can clone. Anything not listed is DISPUTED with ``_UNDOCUMENTED``."""


def clone_rule(model: str, region: str) -> CloneRule:
    """The rule that decides cloning for ``model`` in ``region`` (exact, then ``"*"``; the
    answer names ``region`` either way)."""
    for wanted in (region, "*"):
        for rule in CLONE_RULES:
            if rule.model == model and rule.region == wanted:
                return rule if wanted == region else replace(rule, region=region)
    return CloneRule(model, region, CloneVerdict.DISPUTED, _UNDOCUMENTED)


def region_refusal(model: str, region: str) -> str:
    """One short line refusing a clone every source rules out (the citation: :func:`citation`)."""
    there = clone_models_in(region) + disputed_clone_models_in(region)
    return (
        f"{model} does not clone in {region}; there use one of {', '.join(there) or 'none'} "
        f"(sources: {RULES_DOC}, --json)"
    )


def region_notice(rule: CloneRule) -> str:
    """One short line announcing a clone sent although the sources disagree."""
    return (
        f"region rule: cloning for {rule.model} in {rule.region} is disputed; sending it, the "
        f"service decides (sources: {RULES_DOC}, --json)"
    )


def citation(rule: CloneRule) -> dict[str, str]:
    """The rule's fact with its sources, for ``--json`` and the docs (not for the one line)."""
    return {
        "rule": f"{rule.model} in {rule.region}: {rule.verdict}",
        "text": rule.fact.text,
        "source": rule.fact.source,
        "date": rule.fact.date,
    }


# Voice design facts and limits: :mod:`._design_facts` (re-exported above).


def design_models_in(region_name: str) -> list[str]:
    """Target models that can be designed in a region (none outside :data:`DESIGN_REGIONS`)."""
    return list(DESIGN_MODELS) if region_name in DESIGN_REGIONS else []


def is_designed_voice_id(voice_id: str) -> bool:
    """Whether a voice id carries the designed-voice marker (``{model}-vd-...``)."""
    model = model_from_voice_id(voice_id)
    return model is not None and voice_id[len(model) :].startswith(f"-{DESIGNED_VOICE_MARK}-")


def foreign_letters(text: str) -> list[str]:
    """Letters of ``text`` that are neither Latin nor CJK (design texts are zh or en only)."""
    import unicodedata

    found: list[str] = []
    for char in text:
        if not unicodedata.category(char).startswith("L"):
            continue
        name = unicodedata.name(char, "")
        if name.startswith(("LATIN", "CJK")) or cjk_weight(char) == 2:
            continue
        if char not in found:
            found.append(char)
    return found


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains a CJK ideograph (a Chinese preview text)."""
    return any(cjk_weight(c) == 2 for c in text)


def _documented(model: str) -> tuple[str, ...]:
    return tuple(r for r in REGIONS if clone_rule(model, r).verdict is CloneVerdict.YES)


# Clone language hints: help.aliyun.com/zh/model-studio/cosyvoice-clone-api (2026-02) lists zh
# (with dialects), en, fr, de, ja, ko, ru for v3-plus/v3-flash; pt, th, id, vi for v3.5-* and
# v3-flash come from the skill (inferred for v3-flash); cosyvoice-v2 takes none.
_BASE_LANGUAGES = ("zh", "en", "fr", "de", "ja", "ko", "ru")
_EXTENDED_LANGUAGES = (*_BASE_LANGUAGES, "pt", "th", "id", "vi")


class UncheckedLanguages(tuple[str, ...]):
    """Language hints no page read lists for a model: every hint is passed on unchecked (the
    service decides). Empty when listed, but true and containing every code when tested."""

    def __bool__(self) -> bool:
        return True

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str)


UNCHECKED_LANGUAGES = UncheckedLanguages()


@dataclass(frozen=True)
class TargetModel:
    """A CosyVoice synthesis model that cloned voices can be bound to."""

    name: str
    clone_regions: tuple[str, ...]
    """Regions where cloning for this model is documented (see :func:`clone_rule`)."""
    language_hints: tuple[str, ...]
    """Accepted values for the first language hint; empty means hints are not supported."""
    max_prompt_audio_length: bool
    enable_preprocess: bool
    family: str = "cosyvoice"
    """``cosyvoice`` or ``qwen-audio``."""
    note: str | None = None
    """What is unconfirmed about this target (``None``: read on an official page)."""

    @property
    def languages_checked(self) -> bool:
        """Whether :attr:`language_hints` is a documented list (else hints pass unchecked)."""
        return not isinstance(self.language_hints, UncheckedLanguages)


TARGET_MODELS: dict[str, TargetModel] = {
    m.name: m
    for m in (
        TargetModel(
            "cosyvoice-v3.5-plus",
            clone_regions=_documented("cosyvoice-v3.5-plus"),
            language_hints=_EXTENDED_LANGUAGES,
            max_prompt_audio_length=True,
            enable_preprocess=True,
        ),
        TargetModel(
            "cosyvoice-v3.5-flash",
            clone_regions=_documented("cosyvoice-v3.5-flash"),
            language_hints=_EXTENDED_LANGUAGES,
            max_prompt_audio_length=True,
            enable_preprocess=True,
        ),
        TargetModel(
            "cosyvoice-v3-plus",
            clone_regions=_documented("cosyvoice-v3-plus"),
            language_hints=_BASE_LANGUAGES,
            max_prompt_audio_length=False,
            enable_preprocess=False,
        ),
        TargetModel(
            "cosyvoice-v3-flash",
            clone_regions=_documented("cosyvoice-v3-flash"),
            language_hints=_EXTENDED_LANGUAGES,
            max_prompt_audio_length=True,
            enable_preprocess=True,
        ),
        TargetModel(
            "cosyvoice-v2",
            clone_regions=_documented("cosyvoice-v2"),
            language_hints=(),
            max_prompt_audio_length=False,
            enable_preprocess=False,
        ),
        TargetModel(
            "cosyvoice-v1",
            clone_regions=_documented("cosyvoice-v1"),
            language_hints=UNCHECKED_LANGUAGES,
            max_prompt_audio_length=False,
            enable_preprocess=False,
            note="a Beijing clone target (cosyvoice-clone-design-api); its language hints and "
            "optional fields are not documented in what was read",
        ),
        TargetModel(
            "qwen-audio-3.0-tts-flash",
            clone_regions=_documented("qwen-audio-3.0-tts-flash"),
            language_hints=UNCHECKED_LANGUAGES,
            max_prompt_audio_length=False,
            enable_preprocess=False,
            family="qwen-audio",
            note="the SDK example sends only target_model, prefix and url; language hints "
            "pass unchecked; Singapore unconfirmed",
        ),
        TargetModel(
            "qwen-audio-3.0-tts-plus",
            clone_regions=_documented("qwen-audio-3.0-tts-plus"),
            language_hints=UNCHECKED_LANGUAGES,
            max_prompt_audio_length=False,
            enable_preprocess=False,
            family="qwen-audio",
            note="unconfirmed: the overview contradicts itself (the service decides)",
        ),
    )
}

SYSTEM_VOICE_MODELS: tuple[str, ...] = tuple(m for m in SYNTHESIS_MODELS if m not in TARGET_MODELS)
"""Synthesis models that speak only the service's system voices (no cloning for them known)."""


def synthesis_models() -> list[str]:
    """Every synthesis model `speak --model` accepts: the target models, then the others."""
    return [*TARGET_MODELS, *SYSTEM_VOICE_MODELS]


def synthesis_model(name: str) -> SynthesisModel:
    """The synthesis model called ``name``; raises ``KeyError`` for an unknown one."""
    return SYNTHESIS_MODELS[name]


def http_synthesis_regions(model: str) -> tuple[str, ...]:
    """Regions whose non-real-time (HTTP) synthesis serves ``model`` (by its family)."""
    info = SYNTHESIS_MODELS.get(model)
    return info.http_regions if info is not None else ()


def check_model(model: str) -> str:
    """``model`` if it is a known synthesis model; else an error listing them (nothing sent)."""
    known_models = synthesis_models()
    if model not in known_models:
        known = ", ".join(known_models)
        raise InvalidRequestError(
            f"unknown model {model!r}",
            field="model",
            value=model,
            allowed=known,
            hint=f"known models: {known} (or leave --model out: the voice's own model)",
        )
    return model


def system_voices(model: str | None = None) -> list[SystemVoice]:
    """Every known system voice, or those that ``model`` speaks (an unknown model is refused
    with the list of known ones)."""
    if model is not None:
        check_model(model)
    return _all_system_voices(model)


# Field limits of the enrollment request (cosyvoice-clone-design-api, 2026-10; the prefix rule
# "digits and letters, at most 10" also in SDK 2.0.2 tts_v2/enrollment.py).
PREFIX_MAX_LENGTH = 10
MAX_PROMPT_AUDIO_LENGTH_RANGE = (3.0, 30.0)
DEFAULT_MAX_PROMPT_AUDIO_LENGTH = 10.0
DEFAULT_LANGUAGE_HINT = "zh"

# Service limits (cosyvoice-clone-design-api and the CosyVoice WebSocket API pages, 2026-10;
# the 23 s idle close also in aliyun/alibabacloud-bailian-speech-demo docs/QA/cosyvoice.md).
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
OPUS_DEFAULT_SAMPLE_RATE = 24000
"""Opus has no 22.05 kHz mode: opus output defaults to 24 kHz (``OPUS_SAMPLE_RATES``)."""
TRANSCODED_FORMATS = ("flac", "aac")
"""Formats the service does not produce: transcoded from PCM by this package."""
STREAM_FORMATS = (*AUDIO_FORMATS, *TRANSCODED_FORMATS)
"""Every format a stream of speech can be encoded in."""
MIME_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
"""The media type of each output format."""


def default_sample_rate(fmt: str | None) -> int:
    """The sample rate a format gets when none is asked (opus: 24 kHz, else 22.05 kHz)."""
    return OPUS_DEFAULT_SAMPLE_RATE if fmt == "opus" else DEFAULT_SAMPLE_RATE


DEFAULT_WAIT_TIMEOUT = 300.0
"""Seconds a wait for a voice to become OK lasts unless told otherwise."""
SERVICE_TIMEZONE = timezone(timedelta(hours=8))
"""The service writes ``gmt_create``/``gmt_modified`` without a zone, in Beijing time (UTC+8)."""

# Reference-sample requirements (cosyvoice-clone-api "Audio requirements", 2026-02).
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
    """Target models whose cloning is documented in a region."""
    return [m.name for m in TARGET_MODELS.values() if region_name in m.clone_regions]


def disputed_clone_models_in(region_name: str) -> list[str]:
    """Target models whose cloning in a region is disputed or undocumented (sent with a warning)."""
    return [
        name
        for name in TARGET_MODELS
        if clone_rule(name, region_name).verdict is CloneVerdict.DISPUTED
    ]


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
# The preset voices and their sources live in :mod:`._system_voices` (imported above).


_HEX_TAIL = re.compile(r"-([0-9a-f]{32})$")
"""A voice id ends in ``-{32 hex}``."""


def split_voice_id(voice_id: str) -> tuple[str | None, str | None]:
    """``(target_model, prefix)`` read from ``{model}-{prefix}-{32 hex}`` (or a designed voice's
    ``{model}-vd-{prefix}-{32 hex}``), as far as known."""
    model = model_from_voice_id(voice_id)
    if model is None:
        return None, None
    rest = voice_id[len(model) + 1 :]
    match = _HEX_TAIL.search(rest)
    prefix = rest[: match.start()] if match else None
    mark = f"{DESIGNED_VOICE_MARK}-"
    if prefix and prefix.startswith(mark) and len(prefix) > len(mark):  # {model}-vd-{prefix}-hex
        prefix = prefix[len(mark) :]
    return model, prefix or None
