"""Facts about synthesis options (instruction, SSML, timestamps, bit rate, math reading) and the
:class:`Fact` record every catalog statement uses. Re-exported by :mod:`.catalog`."""

from __future__ import annotations

from dataclasses import dataclass

from ._system_voices import QWEN_AUDIO_VOICE_LIST_PAGE, SYSTEM_VOICES

_SDK = "dashscope SDK 2.0.2"
_CLONE_EXAMPLE = f"{_SDK} examples/01_atomic_capabilities/audio/direct_call/voice_clone.py"
RULES_DOC = "docs/protocol.md §2"
"""Where every region rule is written out with its sources."""
__all__ = [
    "BIT_RATE_FACT",
    "BIT_RATE_FORMATS",
    "BIT_RATE_RANGE",
    "DEFAULT_OPUS_BIT_RATE",
    "INSTRUCTION_FACT",
    "INSTRUCTION_MAX_LENGTH",
    "INSTRUCTION_MODELS",
    "MARKDOWN_FILTER_FACT",
    "MATH_FACT",
    "QWEN_AUDIO_HTTP_FACT",
    "QWEN_AUDIO_INSTRUCTION_FACT",
    "QWEN_AUDIO_PARAMS_FACT",
    "QWEN_VOICE_ENROLLMENT_FACT",
    "RULES_DOC",
    "SSML_FACT",
    "SSML_VOICES_FACT",
    "TIMESTAMPS_FACT",
    "WORD_FIELDS",
    "Fact",
    "voice_notices",
]


@dataclass(frozen=True)
class Fact:
    """A statement about the service with where it comes from and when that was read."""

    text: str
    source: str
    date: str

    def cite(self) -> str:
        """The fact as one line: ``text (source, date)``."""
        return f"{self.text} ({self.source}, {self.date})"


INSTRUCTION_MODELS: tuple[str, ...] = (
    "cosyvoice-v3.5-plus",
    "cosyvoice-v3.5-flash",
    "cosyvoice-v3-flash",
    "qwen-audio-3.0-tts-flash",
    "qwen-audio-3.0-tts-plus",
    "qwen-audio-3.1-tts-flash",
    "qwen-audio-3.1-tts-plus",
)
"""Models whose voices take the run-task ``instruction`` parameter (style/dialect prompt); for
Qwen-Audio-TTS it is a property of each voice (:attr:`SystemVoice.instruct`)."""
QWEN_AUDIO_INSTRUCTION_FACT = Fact(
    "Qwen-Audio-TTS takes `instruction` only for voices marked Instruct (every 3.0 voice read "
    "is); 3.1: passed when the model supports it (inferred); the 128-character limit is "
    "CosyVoice's, none is stated for Qwen-Audio-TTS",
    f"{QWEN_AUDIO_VOICE_LIST_PAGE} (2026-07-15); {_SDK} examples/.../tts_websocket.py",
    "2026-12",
)
INSTRUCTION_FACT = Fact(
    "run-task `instruction` is accepted by cosyvoice-v3.5-plus, cosyvoice-v3.5-flash and "
    "cosyvoice-v3-flash (cloned voices); at most 128 characters",
    "CosyVoice client events, alibabacloud.com/help/doc-detail/3032843.html; "
    f"{_SDK} tts_v2/speech_synthesizer.py (max length 128)",
    "2026-05",
)
INSTRUCTION_MAX_LENGTH = 128

BIT_RATE_FORMATS: tuple[str, ...] = ("opus", "mp3")
"""Formats for which ``bit_rate`` (kbps) is sent when asked for."""
BIT_RATE_RANGE = (6, 510)
DEFAULT_OPUS_BIT_RATE = 32
BIT_RATE_FACT = Fact(
    "bit_rate in kbps, 6-510, default 32 for opus; the SDK's WebSocket class sends it only for "
    "opus, the HTTP API lists it without a format restriction (mp3: unconfirmed, sent only when "
    "asked for)",
    f"{_SDK} tts_v2/speech_synthesizer.py (AudioFormat, Request.get_start_request); "
    "help.aliyun.com/zh/model-studio/cosyvoice-tts-python-sdk",
    "2026-11",
)
SSML_FACT = Fact(
    'with enable_ssml the task takes exactly one continue-task ("Text request limit violated, '
    'expected 1."); SSML tags do not count against the 20,000 characters of a message',
    "help.aliyun.com/zh/model-studio/cosyvoice-client-events; "
    "help.aliyun.com/zh/model-studio/cosyvoice-tts-python-sdk",
    "2026-10",
)
MARKDOWN_FILTER_FACT = Fact(
    "enable_markdown_filter (bool, default false) is documented for CosyVoice on the HTTP API "
    "and as an additional parameter of the SDK's SpeechSynthesizer; on the WebSocket inferred",
    f"help.aliyun.com/zh/model-studio/cosyvoice-tts-python-sdk; {_SDK} "
    "tts_v2/speech_synthesizer.py (docstring)",
    "2026-11",
)
SSML_VOICES_FACT = Fact(
    "SSML is for cosyvoice-v3-flash/-v3-plus with SSML-enabled voices, and for Qwen-Audio-TTS "
    "voices marked SSML (no 3.0 voice read is); a notice, not a refusal, where a list says no",
    "docs.qwencloud.com/api-reference/speech-synthesis/cosyvoice/websocket-api; "
    f"{QWEN_AUDIO_VOICE_LIST_PAGE} (2026-07-15)",
    "2026-12",
)
TIMESTAMPS_FACT = Fact(
    "word timestamps (word_timestamp_enabled) only for Qwen-Audio-TTS voices marked so (no 3.0 "
    "voice read is); the Node.js SDK page handles them for qwen-audio-3.1-tts-flash",
    f"{QWEN_AUDIO_VOICE_LIST_PAGE} (2026-07-15); "
    "alibabacloud.com/help/en/model-studio/qwen-audio-tts-nodejs-sdk (2026-11-11)",
    "2026-12",
)
QWEN_AUDIO_PARAMS_FACT = Fact(
    "Qwen-Audio-TTS run-task is CosyVoice's: format pcm/wav/mp3 (default)/opus; sample_rate "
    "8000/16000/22050 (default)/24000/44100/48000; volume 0-100 (50); rate, pitch 0.5-2.0; "
    "bit_rate 6-510 kbps (32) for mp3 or opus",
    "alibabacloud.com/help/en/model-studio/qwen-audio-tts-client-events (2026-09-28)",
    "2026-12",
)
QWEN_AUDIO_HTTP_FACT = Fact(
    "non-real-time Qwen-Audio-TTS (POST services/audio/tts/SpeechSynthesizer, SSE with "
    "X-DashScope-SSE: enable) is served in Singapore and China (Beijing); CosyVoice's in "
    "China (Beijing) only",
    "alibabacloud.com/help/en/model-studio/qwen-audio-tts-http-api (2026-10-21); "
    "alibabacloud.com/help/zh/model-studio/cosyvoice-tts-http-api (2026-10-15)",
    "2026-12",
)
MATH_FACT = Fact(
    "LaTeX formulas in $...$, $$...$$, \\(...\\) or \\[...\\] inside ordinary text are "
    "read aloud automatically (no parameter, no text type), Chinese only, by cosyvoice-v3-flash "
    "and -v3-plus (the zh Beijing page also names cosyvoice-v2); no page read mentions "
    "Qwen-Audio-TTS",
    "alibabacloud.com/help/en/model-studio/latex-capability-support-description (2026-03-15); "
    "docs.qwencloud.com/developer-guides/speech/latex-to-speech; "
    "help.aliyun.com/zh/model-studio/cosyvoice-websocket-api",
    "2026-12",
)
QWEN_VOICE_ENROLLMENT_FACT = Fact(
    "qwen-voice-enrollment (create/list/delete, preferred_name, audio.data) clones for "
    "Qwen3-TTS-VC and Qwen-Omni, another protocol; Qwen-Audio-TTS clones through "
    "voice-enrollment: not built here",
    "docs.qwencloud.com/api-reference/speech-synthesis/voice-cloning/qwen/create-voice; "
    f"alibabacloud.com/help/en/model-studio/qwen-tts-voice-cloning (2026-02-25); {_CLONE_EXAMPLE}",
    "2026-12",
)


def voice_notices(
    voice: str, *, ssml: bool = False, instruction: str | None = None, timestamps: bool = False
) -> list[str]:
    """One-line notices for options a system voice's list entry marks as unsupported (sent
    anyway: the service decides); nothing for a voice the list says nothing about."""
    info = SYSTEM_VOICES.get(voice)
    if info is None:
        return []
    asked = (("SSML", ssml, info.ssml), ("instruction", bool(instruction), info.instruct),
             ("word timestamps", timestamps, info.timestamps))  # fmt: skip
    return [
        f"notice: the voice list marks {voice} without {what}; sending it, the service decides "
        f"(sources: {RULES_DOC}, --json)"
        for what, wanted, supported in asked
        if wanted and supported is False
    ]


WORD_FIELDS: tuple[str, ...] = ("text", "begin_index", "end_index", "begin_time", "end_time")
"""The fields of a word timestamp (``phonemes`` too when present): CosyVoice client events
(help.aliyun.com/zh/model-studio/cosyvoice-client-events, 2026-10)."""
