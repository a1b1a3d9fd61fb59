"""Speech synthesis with cloned voices over the DashScope WebSocket.

- :class:`Synthesizer` / :class:`AsyncSynthesizer`: ``stream()`` one task chunk by chunk,
  ``synthesize()`` a short text to bytes, ``speak()`` a text of any length into one file;
- :class:`SynthesisOptions`: format, sample rate, volume, rate, pitch, seed, instruction,
  language hints, word timestamps;
- :func:`guard_model`: refuse a model the voice is not bound to, before anything is sent;
- :func:`split_text`: cut a long text at sentence boundaries within the service's limits.
"""

from __future__ import annotations

from .client import (
    AsyncSpeechStream,
    AsyncSynthesizer,
    SpeechStream,
    SubmissionLimiter,
    SynthesisResult,
    Synthesizer,
    aspeak_for,
    speak_for,
)
from .output import fix_wav_header, stale_partials
from .protocol import SynthesisOptions, Word, format_for_path, guard_model
from .text import split_messages, split_text

__all__ = [
    "AsyncSpeechStream",
    "AsyncSynthesizer",
    "SpeechStream",
    "SubmissionLimiter",
    "SynthesisOptions",
    "SynthesisResult",
    "Synthesizer",
    "Word",
    "aspeak_for",
    "fix_wav_header",
    "format_for_path",
    "guard_model",
    "speak_for",
    "split_messages",
    "split_text",
    "stale_partials",
]
