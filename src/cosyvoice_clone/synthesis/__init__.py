"""Speech synthesis with cloned voices over the DashScope WebSocket.

- :class:`Synthesizer` / :class:`AsyncSynthesizer`: ``stream()`` one task chunk by chunk,
  ``synthesize()`` a short text to bytes, ``speak()`` a text of any length into one file;
- :class:`SynthesisOptions`: format, sample rate, volume, rate, pitch, seed, instruction,
  language hints, word timestamps;
- :func:`guard_model`: refuse a model the voice is not bound to, before anything is sent;
- :func:`split_text`: cut a long text at sentence boundaries within the service's limits;
- :func:`check_target`: refuse outputs that are not regular files (follows symlinks);
  :func:`remove_stale_partials`: temporary files of killed runs;
- :func:`run_interruptible`: run a coroutine so that SIGINT/SIGTERM cancel it cleanly and raise
  :class:`Interrupted` (exit 130/143).
"""

from __future__ import annotations

from ..audio.outfile import check_target
from ..audio.wav import fix_wav_header
from .client import (
    AsyncSpeechStream,
    AsyncSynthesizer,
    SpeechStream,
    SubmissionLimiter,
    SynthesisResult,
    Synthesizer,
)
from .protocol import (
    SynthesisOptions,
    Word,
    check_language_hints,
    check_model,
    format_for_path,
    guard_model,
)
from .runner import Interrupted, run_interruptible
from .sinks import remove_stale_partials, stale_partials
from .text import split_messages, split_text

__all__ = [
    "AsyncSpeechStream",
    "AsyncSynthesizer",
    "Interrupted",
    "SpeechStream",
    "SubmissionLimiter",
    "SynthesisOptions",
    "SynthesisResult",
    "Synthesizer",
    "Word",
    "check_language_hints",
    "check_model",
    "check_target",
    "fix_wav_header",
    "format_for_path",
    "guard_model",
    "remove_stale_partials",
    "run_interruptible",
    "split_messages",
    "split_text",
    "stale_partials",
]
