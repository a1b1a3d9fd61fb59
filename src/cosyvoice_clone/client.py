"""The Python API: :class:`CosyVoice` (sync) and :class:`AsyncCosyVoice` (async), same names.

    from cosyvoice_clone import CosyVoice

    with CosyVoice(region="cn-beijing") as cv:
        result = cv.clone(prefix="myvoice", sample="sample.wav", wait=True)
        print(result.voice_id, result.status, result.reused)
        for voice in cv.voices.list():
            print(voice.voice_id, voice.status)

``clone`` validates every field first (nothing is sent for bad input), checks a local sample
with :func:`cosyvoice_clone.audio.check_sample` and refuses a failing one before spending a slot,
returns an existing voice for an identical request (the registry's dedupe, unless
``force=True``), uploads local files (or sends them as a data URI: ``sample_transport``),
creates the voice without ever duplicating it after an ambiguous failure, registers it, writes
the evidence files and optionally waits until it is ``OK``. Evidence files (the request and
response, for support) are written only when asked: ``CosyVoice(evidence=True)`` writes them
under the output dir (the CLI does).

Everything without I/O lives in :mod:`.session`, :mod:`.cloning`, :mod:`.voices` and
:mod:`.speech` as flows (generators of HTTP steps) over a :class:`~.session.Session`; the async
face (:mod:`._async_client`, written by hand) and the sync face (:mod:`._sync_client`, generated
from it by ``scripts/unasync.py``) only drive them.
"""

from __future__ import annotations

from ._async_client import AsyncCosyVoice, AsyncVoices
from ._sync_client import CosyVoice, Voices
from .batch import large_manifest, results_path_for
from .consents import RECORDING_MAX_BYTES, Consent, ConsentStore, keep_upload
from .enrollment import StatusCallback
from .evidence import design_output_dir, record_clone, record_design, write_json
from .http import NOT_GIVEN, RetryNotice
from .models import CloneResult, DesignResult
from .session import DEFAULT_RATE_LIMIT
from .speech import (
    LIVE_STREAM_DEFAULT_FORMAT,
    AsyncAudioStream,
    AudioStream,
    large_text,
    live_session,
    read_utf8,
)
from .synthesis.live import AsyncLiveSpeech, LiveSpeech
from .voices import parse_age

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "LIVE_STREAM_DEFAULT_FORMAT",
    "NOT_GIVEN",
    "RECORDING_MAX_BYTES",
    "AsyncAudioStream",
    "AsyncCosyVoice",
    "AsyncLiveSpeech",
    "AsyncVoices",
    "AudioStream",
    "CloneResult",
    "Consent",
    "ConsentStore",
    "CosyVoice",
    "DesignResult",
    "LiveSpeech",
    "RetryNotice",
    "StatusCallback",
    "Voices",
    "design_output_dir",
    "keep_upload",
    "large_manifest",
    "large_text",
    "live_session",
    "parse_age",
    "read_utf8",
    "record_clone",
    "record_design",
    "results_path_for",
    "write_json",
]
