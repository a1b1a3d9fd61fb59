"""Voice design: the facts, limits and defaults of designing a voice from a description.
Re-exported by :mod:`.catalog`."""

from __future__ import annotations

from ._synthesis_facts import Fact

__all__ = [
    "DEFAULT_DESIGN_RESPONSE_FORMAT",
    "DEFAULT_DESIGN_SAMPLE_RATE",
    "DEFAULT_PREVIEW_TEXTS",
    "DESIGNED_VOICE_MARK",
    "DESIGN_API_PAGE",
    "DESIGN_API_PAGE_INTL",
    "DESIGN_LANGUAGES",
    "DESIGN_LIMITS_FACT",
    "DESIGN_MODELS",
    "DESIGN_REGIONS",
    "DESIGN_REGION_FACT",
    "DESIGN_RESPONSE_FORMATS",
    "DESIGN_SAMPLE_RATES",
    "DESIGN_SKILL",
    "PREVIEW_TEXT_MAX_CHARS",
    "VOICE_PROMPT_MAX_CHARS",
]

# --------------------------------------------------------------------------- voice design
#
# Voice design: the same customization endpoint and ``create_voice`` action make a voice from a
# text description (``voice_prompt``) instead of a sample and answer with a spoken preview
# (``preview_text``). Sources, read 2026-11 through the reference search tool:
# - DESIGN_API_PAGE (help.aliyun.com/en, workspace hosts): "CosyVoice Voice Design is available
#   only in the Beijing region" (Qwen voice design also in Singapore);
# - DESIGN_API_PAGE_INTL (alibabacloud.com/help/en, updated 2026-05-12): the CosyVoice example
#   body (model voice-enrollment, action create_voice, target_model cosyvoice-v3.5-plus,
#   voice_prompt, preview_text, prefix) on the Singapore URL, with "replace the URL for Beijing";
# - the sibling skill alicloud-ai-audio-cosyvoice-voice-design (cinience/alicloud-skills): target
#   models v3.5-plus/-flash, v3-plus/-flash; voice_prompt <= 500 characters, Chinese or English;
#   preview_text <= 200; language_hints zh or en matching the preview text; parameters
#   sample_rate (e.g. 24000) and response_format (e.g. wav); "-vd-" in designed voice ids; "in
#   Singapore, v3-plus and v3-flash do not support voice clone/design".
# Inferred (marked in docs/protocol.md): the preview's shape ``output.preview_audio`` = {data
# (base64), sample_rate, response_format} (SDK 2.0.2 v2/resources/audio/customization.py models a
# ``preview_audio`` dict on CosyVoice voices; its keys follow the Qwen voice-design page), the
# defaults 24000 Hz / wav, and the id layout ``{target_model}-vd-{prefix}-{32 hex}``.

DESIGN_API_PAGE = "https://help.aliyun.com/en/model-studio/voice-design-api-references"
DESIGN_API_PAGE_INTL = (
    "https://www.alibabacloud.com/help/en/model-studio/voice-design-api-references"
)
DESIGN_SKILL = "cinience/alicloud-skills skills/ai/audio/*cosyvoice-voice-design*/SKILL.md"

DESIGN_MODELS: tuple[str, ...] = (
    "cosyvoice-v3.5-plus",
    "cosyvoice-v3.5-flash",
    "cosyvoice-v3-plus",
    "cosyvoice-v3-flash",
)
"""Target models a designed voice can be bound to (cosyvoice-v2 cannot)."""

DESIGN_REGIONS: tuple[str, ...] = ("cn-beijing",)
"""Regions where CosyVoice voice design is offered."""

DESIGN_REGION_FACT = Fact(
    "CosyVoice voice design is offered only in China (Beijing) (v3.5-* exist only there; in "
    "Singapore v3-plus/v3-flash do not support clone/design)",
    f"{DESIGN_API_PAGE}; {DESIGN_SKILL}",
    "2026-11",
)
DESIGN_LIMITS_FACT = Fact(
    "voice_prompt at most 500 characters and preview_text at most 200, Chinese or English; "
    "language_hints zh or en, matching the preview text",
    f"{DESIGN_SKILL}; {DESIGN_API_PAGE_INTL}",
    "2026-11",
)

VOICE_PROMPT_MAX_CHARS = 500
PREVIEW_TEXT_MAX_CHARS = 200
DESIGN_LANGUAGES: tuple[str, ...] = ("zh", "en")
DESIGN_RESPONSE_FORMATS: tuple[str, ...] = ("pcm", "wav", "mp3", "opus")
DESIGN_SAMPLE_RATES: tuple[int, ...] = (8000, 16000, 22050, 24000, 44100, 48000)
"""Preview sample rates accepted here: the synthesis rates (the Qwen design page lists 8000,
16000, 24000, 48000; the CosyVoice page names 24000 as its example). Inferred."""
DEFAULT_DESIGN_SAMPLE_RATE = 24000
DEFAULT_DESIGN_RESPONSE_FORMAT = "wav"
DESIGNED_VOICE_MARK = "vd"
"""Designed voice ids read ``{target_model}-vd-{prefix}-{32 hex}`` (the "-vd-" marker: the skill;
the exact layout is inferred)."""
DEFAULT_PREVIEW_TEXTS = {
    "zh": "你好，这是为你设计的新声音，希望你喜欢。",
    "en": "Hello, this is the new voice designed for you. I hope you like it.",
}
"""The preview text used when none is given (ours, not the service's)."""
