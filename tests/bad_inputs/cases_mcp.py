"""Door D: MCP tool arguments (in-process ``mcp.Client``); ``expect`` is the tool error's code.

``args`` is ``(tool, arguments)``.
"""

from __future__ import annotations

from tests.bad_inputs.sweep import Case

GOOD_ID = "cosyvoice-v3.5-plus-abc-0123456789abcdef0123456789abcdef"
SAY = {"voice": "longxiaochun_v2", "text": "Hello."}
BAD = "invalid_request"

MCP_CASES: list[Case] = [
    Case("unknown-tool", ("frobnicate", {}), "unknown_tool"),
    Case("unknown-argument", ("list_voices", {"prompt": "x"}), BAD),
    Case(
        "design-prompt-600",
        ("voice_design", {"prefix": "lng", "voice_prompt": "x" * 600}),
        BAD,
        expect_in="600 characters, at most 500",
    ),
    Case(
        "design-preview-201",
        (
            "voice_design",
            {"prefix": "lng", "voice_prompt": "A calm voice", "preview_text": "x" * 201},
        ),
        BAD,
        expect_in="201 characters, at most 200",
    ),
    Case(
        "design-prefix-empty", ("voice_design", {"prefix": "", "voice_prompt": "A calm voice"}), BAD
    ),
    Case(
        "design-sample-rate-string",
        ("voice_design", {"prefix": "k", "voice_prompt": "Calm", "sample_rate": "24000"}),
        BAD,
    ),
    Case(
        "design-wait-string",
        ("voice_design", {"prefix": "k", "voice_prompt": "Calm", "wait": "yes"}),
        BAD,
    ),
    Case(
        "design-model-v2",
        ("voice_design", {"prefix": "k", "voice_prompt": "Calm", "target_model": "cosyvoice-v2"}),
        BAD,
    ),
    Case(
        "clone-missing-sample",
        ("voice_clone", {"prefix": "abc", "voice_sample_url": "{W}/missing.wav"}),
        "sample_unreadable",
    ),
    Case(
        "clone-sample-dir",
        ("voice_clone", {"prefix": "abc", "voice_sample_url": "{W}/adir"}),
        "sample_unreadable",
    ),
    Case(
        "clone-sample-text",
        ("voice_clone", {"prefix": "abc", "voice_sample_url": "{W}/text.wav"}),
        "sample_unreadable",
    ),
    Case("clone-prefix-number", ("voice_clone", {"prefix": 5, "voice_sample_url": "{REF}"}), BAD),
    Case("clone-prefix-dash", ("voice_clone", {"prefix": "a-b", "voice_sample_url": "{REF}"}), BAD),
    Case("clone-no-sample", ("voice_clone", {"prefix": "abc"}), BAD),
    Case(
        "clone-model-unknown",
        ("voice_clone", {"prefix": "abc", "voice_sample_url": "{REF}", "target_model": "nosuch"}),
        BAD,
    ),
    Case(
        "clone-prompt-length-99",
        (
            "voice_clone",
            {"prefix": "abc", "voice_sample_url": "{REF}", "max_prompt_audio_length": 99},
        ),
        BAD,
    ),
    Case("check-sample-dir", ("check_sample", {"source": "{W}/adir"}), "sample_unreadable"),
    Case("check-sample-missing", ("check_sample", {"source": "{W}/nope.wav"}), "sample_unreadable"),
    Case(
        "check-sample-id3-garbage",
        ("check_sample", {"source": "{W}/id3.mp3"}),
        "sample_unreadable",
        expect_in="not a valid MP3",
    ),
    Case("synthesize-empty-text", ("synthesize", {**SAY, "text": ""}), BAD),
    Case(
        "synthesize-long-inline",
        ("synthesize", {**SAY, "text": "x" * 20001, "inline_audio": True}),
        BAD,
    ),
    Case(
        "synthesize-out-missing-folder",
        ("synthesize", {**SAY, "out": "{W}/no/dir/x.wav"}),
        BAD,
        expect_in="again with mkdir=true",
    ),
    Case(
        "synthesize-out-mkdir-string",
        ("synthesize", {**SAY, "out": "{W}/no/x.wav", "mkdir": "true"}),
        BAD,
    ),
    Case(
        "synthesize-out-format-mismatch",
        ("synthesize", {**SAY, "out": "{W}/x.mp3", "format": "wav"}),
        BAD,
    ),
    Case("synthesize-out-dir", ("synthesize", {**SAY, "out": "{W}/adir"}), BAD),
    Case("synthesize-out-fifo", ("synthesize", {**SAY, "out": "{W}/ff"}), BAD),
    Case("synthesize-unknown-voice", ("synthesize", {**SAY, "voice": "nosuch"}), "unknown_voice"),
    Case("synthesize-volume-huge", ("synthesize", {**SAY, "volume": 1e9}), BAD),
    Case(
        "synthesize-model-mismatch",
        ("synthesize", {**SAY, "voice": "{MINE}", "model": "cosyvoice-v2"}),
        "model_mismatch",
        setup="voice",
    ),
    Case(
        "get-voice-deleted-id",
        ("get_voice", {"voice": "{GONE}"}),
        "voice_deleted",
        setup="gone",
    ),
    Case(
        "get-voice-deleted-prefix",
        ("get_voice", {"voice": "gone"}),
        "voice_deleted",
        setup="gone",
    ),
    Case("get-voice-empty", ("get_voice", {"voice": ""}), BAD),
    Case("wait-timeout-negative", ("wait_voice", {"voice": GOOD_ID, "timeout": -1}), BAD),
    Case("wait-timeout-string", ("wait_voice", {"voice": GOOD_ID, "timeout": "x"}), BAD),
    Case(
        "delete-confirm-string",
        ("delete_voice", {"voice": GOOD_ID, "confirm": "true"}),
        "confirmation_required",
    ),
    Case("delete-no-confirm", ("delete_voice", {"voice": GOOD_ID}), "confirmation_required"),
    Case("list-prefix-number", ("list_voices", {"prefix": 7}), BAD),
    Case("list-system-model-unknown", ("list_system_voices", {"model": "nosuch"}), BAD),
    Case(
        "refused-key",
        ("list_voices", {}),
        "auth",
        env={"DASHSCOPE_API_KEY": "sk-FAKE-SWEEP-qzXvKwJpTbHm-not-real"[::-1]},
    ),
]
