"""Speech synthesis with cloned voices over the DashScope WebSocket: the one engine.

Module map (each concept once):

- :mod:`.protocol`: sans-I/O task protocol, options, events, the model guard;
- :mod:`.connect`: the endpoint, the one place connections open (:data:`~.connect.CONNECTOR`,
  ``acquire``/``release``: the seam for connection reuse), the shared submission limiter;
- :mod:`.stream`: one task over one connection (:class:`AsyncSpeechStream`, sync
  :class:`SpeechStream`);
- :mod:`.text`: splitting into parts and messages, the live :class:`~.text.TextChunker`;
- :mod:`.parts`: the one long-text runner (:class:`~.parts.PartRunner`: concurrent, paced,
  retried under one policy, delivered in order into a :class:`~.parts.PartOutput`);
- :mod:`.encode`: PCM to wav/mp3/opus/flac/aac; :mod:`.sinks`: the atomic file writers, the
  file and stream sinks (the speakers: :mod:`cosyvoice_clone.play`);
- compositions: :mod:`.files` (speak to a file: :meth:`AsyncSynthesizer.speak`),
  :mod:`.streaming` (stream to an iterator: :func:`~.streaming.open_speech`), :mod:`.live`
  (live text in: :class:`~.live.AsyncLiveSpeech`, :func:`~.live.speak_live`);
- faces: :class:`Synthesizer` / :class:`AsyncSynthesizer` (:mod:`.client`): ``stream()`` one
  task, ``synthesize()`` a short text to bytes, ``speak()`` a text of any length into one file.

:mod:`.output` is a re-export of :mod:`.sinks` kept for callers.
"""

from __future__ import annotations

from ..audio.outfile import check_target
from ..audio.wav import fix_wav_header
from ..errors import Interrupted
from .client import AsyncSynthesizer, SynthesisResult, Synthesizer
from .connect import SubmissionLimiter
from .protocol import (
    SynthesisOptions,
    Word,
    check_language_hints,
    check_model,
    format_for_path,
    guard_model,
)
from .sinks import remove_stale_partials, stale_partials
from .stream import AsyncSpeechStream, SpeechStream
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
    "split_messages",
    "split_text",
    "stale_partials",
]
