"""Door E: library calls. ``args`` is ``(face, kwargs of the constructor, method, kwargs)``:
``face`` ``sync`` or ``async``; ``method`` ``""`` for the constructor alone. ``expect`` is the
exception's class name (or a base class of it in ``cosyvoice_clone.errors``)."""

from __future__ import annotations

from tests.bad_inputs.sweep import Case

INV = "InvalidRequestError"

_CONSTRUCTOR = [
    ("api-key-int", {"api_key": 12345}),
    ("api-key-bytes", {"api_key": b"sk-qzSWEEPvxKwJ"}),
    ("home-int", {"home": 5}),
    ("output-dir-float", {"output_dir": 3.5}),
    ("http-base-int", {"http_base": 7}),
    ("websocket-url-list", {"websocket_url": [1]}),
    ("workspace-int", {"workspace": 1}),
    ("settings-int", {"settings": 5}),
    ("max-connections-str", {"max_connections": "a"}),
    ("rate-limit-negative", {"rate_limit": -5}),
]

_CALLS: list[tuple[str, str, dict[str, object], str, int | None]] = [
    (
        "design-timeout-0",
        "design",
        {"prefix": "k", "prompt": "A calm voice", "timeout": 0},
        INV,
        None,
    ),
    (
        "design-preview-format-mismatch",
        "design",
        {
            "prefix": "k",
            "prompt": "A calm voice",
            "wait": False,
            "preview_out": "{W}/p.mp3",
            "response_format": "wav",
        },
        INV,
        None,
    ),
    (
        "speak-nul",
        "speak",
        {"text": "hi\x00", "out": "{W}/o.wav", "voice": "longxiaochun_v2"},
        INV,
        None,
    ),
    (
        "speak-empty",
        "speak",
        {"text": "", "out": "{W}/o.wav", "voice": "longxiaochun_v2"},
        INV,
        None,
    ),
    (
        "speak-out-dir",
        "speak",
        {"text": "hi", "out": "{W}/adir", "voice": "longxiaochun_v2"},
        INV,
        None,
    ),
    (
        "speak-out-missing-folder",
        "speak",
        {"text": "hi", "out": "{W}/no/o.wav", "voice": "longxiaochun_v2"},
        INV,
        None,
    ),
    (
        "speak-volume-101",
        "speak",
        {"text": "hi", "out": "{W}/o.wav", "voice": "longxiaochun_v2", "volume": 101},
        INV,
        None,
    ),
    (
        "speak-unknown-voice",
        "speak",
        {"text": "hi", "out": "{W}/o.wav", "voice": "nosuch"},
        "UnknownVoiceError",
        None,
    ),
    ("clone-prefix-dash", "clone", {"prefix": "a-b", "sample": "{REF}"}, INV, None),
    (
        "clone-sample-missing",
        "clone",
        {"prefix": "abc", "sample": "{W}/nope.wav"},
        "CosyVoiceCloneError",
        None,
    ),
    (
        "clone-timeout-negative",
        "clone",
        {"prefix": "abc", "sample": "{REF}", "wait": True, "timeout": -1},
        INV,
        None,
    ),
    ("check-sample-dir", "check_sample", {"sample": "{W}/adir"}, "CosyVoiceCloneError", None),
    ("resolve-voice-empty", "resolve_voice", {"voice": ""}, "CosyVoiceCloneError", None),
]

_FUNCTIONS: list[tuple[str, str, dict[str, object], str, int | None]] = [
    (
        "audio-fix-sample-missing-folder",
        "audio.fix_sample",
        {"source": "{REF}", "out": "{W}/no/x.wav"},
        INV,
        None,
    ),
    (
        "audio-fix-sample-into-fifo",
        "audio.fix_sample",
        {"source": "{REF}", "out": "{W}/ff"},
        INV,
        None,
    ),
    (
        "audio-check-sample-empty",
        "audio.check_sample",
        {"source": "{W}/empty.wav"},
        "CosyVoiceCloneError",
        None,
    ),
]
"""Public functions of the library's modules (``face`` ``module``; ``method`` is
``MODULE.FUNCTION`` under ``cosyvoice_clone``)."""

LIBRARY_CASES: list[Case] = [
    *(
        Case(name, ("module", {}, function, kwargs), expect, xfail=item)
        for name, function, kwargs, expect, item in _FUNCTIONS
    ),
    *(
        Case(f"{face}-{name}", (face, kwargs, "", {}), INV)
        for face in ("sync", "async")
        for name, kwargs in _CONSTRUCTOR
    ),
    *(
        Case(f"{face}-{name}", (face, {}, method, kwargs), expect, xfail=item)
        for face in ("sync", "async")
        for name, method, kwargs, expect, item in _CALLS
    ),
]
