"""Door A: command-line flags and files (exit 2: refused, nothing sent)."""

from __future__ import annotations

import dataclasses

from tests.bad_inputs.sweep import Case

V2 = ("--voice", "longxiaochun_v2")
OUT = ("--out", "o.wav")
SPEAK = ("speak", *V2, *OUT)
PREP = ("prepare", "--prefix", "abc", "--voice-sample-url", "https://example.com/v.wav")
PREP_D = ("prepare-design", "--prefix", "abc", "--voice-prompt", "A calm voice")
DESIGN = ("design", "--prefix", "kid", "--prompt", "A cheerful child, fast", "--no-wait")
CLONE = ("clone", "--prefix", "abc", "--no-wait")

CLI_CASES: list[Case] = [
    # speak: texts
    Case("speak-empty-text", (*SPEAK, "--text", "")),
    Case("speak-blank-text", (*SPEAK, "--text", "   ")),
    Case("speak-nul-text", (*SPEAK, "--text", "hi\x00x")),
    Case("speak-bell-text", (*SPEAK, "--text", "a\x07b")),
    Case("speak-ssml-unclosed", (*SPEAK, "--ssml", "--text", '<speak>hi <break time="1s">')),
    Case("speak-ssml-no-root", (*SPEAK, "--ssml", "--text", "no root")),
    Case("speak-ssml-too-long", (*SPEAK, "--ssml", "--text", "<speak>" + "字" * 20001)),
    Case("speak-text-and-file", (*SPEAK, "--text", "hi", "--text-file", "hello.txt")),
    Case("speak-text-file-missing", (*SPEAK, "--text-file", "missing.txt")),
    Case("speak-text-file-dir", (*SPEAK, "--text-file", "adir")),
    Case("speak-text-file-utf16", (*SPEAK, "--text-file", "utf16.txt")),
    Case("speak-text-file-nul", (*SPEAK, "--text-file", "nul.txt")),
    # speak: outputs
    Case("speak-out-unknown-ext", ("speak", *V2, "--text", "hi", "--out", "a.xyz")),
    Case("speak-out-dir", ("speak", *V2, "--text", "hi", "--out", "adir")),
    Case("speak-out-fifo", ("speak", *V2, "--text", "hi", "--out", "ff")),
    Case(
        "speak-out-missing-folder",
        ("speak", *V2, "--text", "hi", "--out", "no/a.wav"),
        expect_in="--mkdir",
    ),
    Case("speak-no-out", ("speak", *V2, "--text", "hi")),
    Case(
        "speak-out-format-mismatch",
        ("speak", *V2, "--text", "hi", "--out", "a.wav", "--format", "mp3"),
    ),
    Case(
        "speak-out-registered-sample",
        ("speak", *V2, "--text", "hi", "--out", "{REF}"),
        setup="voice",
    ),
    Case(
        "speak-timestamps-registered-sample",
        (*SPEAK, "--text", "hi", "--timestamps", "{REF}"),
        setup="voice",
    ),
    Case("speak-timestamps-dir", (*SPEAK, "--text", "hi", "--timestamps", "adir")),
    # speak: options
    Case("speak-format-flac", (*SPEAK, "--text", "hi", "--format", "flac")),
    Case("speak-sample-rate-7", (*SPEAK, "--text", "hi", "--sample-rate", "7")),
    Case("speak-sample-rate-word", (*SPEAK, "--text", "hi", "--sample-rate", "abc")),
    Case("speak-volume-101", (*SPEAK, "--text", "hi", "--volume", "101")),
    Case("speak-volume-negative", (*SPEAK, "--text", "hi", "--volume", "-1")),
    Case("speak-rate-0", (*SPEAK, "--text", "hi", "--rate", "0")),
    Case("speak-rate-inf", (*SPEAK, "--text", "hi", "--rate", "inf")),
    Case("speak-pitch-nan", (*SPEAK, "--text", "hi", "--pitch", "nan")),
    Case("speak-concurrency-0", (*SPEAK, "--text", "hi", "--concurrency", "0")),
    Case("speak-unknown-option", (*SPEAK, "--text", "hi", "--loud")),
    # speak: voices and models
    Case("speak-voice-empty", ("speak", "--voice", "", *OUT, "--text", "hi")),
    Case("speak-voice-unknown", ("speak", "--voice", "nosuch", *OUT, "--text", "hi")),
    Case(
        "speak-voice-deleted-id",
        ("speak", "--voice", "{GONE}", *OUT, "--text", "hi"),
        setup="gone",
        expect_in="deleted",
    ),
    Case(
        "speak-voice-deleted-prefix",
        ("speak", "--voice", "gone", *OUT, "--text", "hi"),
        setup="gone",
        expect_in="deleted",
    ),
    Case("speak-model-unknown", (*SPEAK, "--text", "hi", "--model", "nosuch")),
    Case(
        "speak-model-mismatch",
        ("speak", "--voice", "{MINE}", *OUT, "--text", "hi", "--model", "cosyvoice-v2"),
        setup="voice",
    ),
    Case("speak-instruction-v2", (*SPEAK, "--text", "hi", "--instruction", "whisper")),
    Case("speak-language-hint-xx", (*SPEAK, "--text", "hi", "--language-hint", "xx")),
    # clone
    Case("clone-prefix-empty", ("clone", "--prefix", "", "--sample", "{REF}")),
    Case("clone-prefix-long", ("clone", "--prefix", "abcdefghijk", "--sample", "{REF}")),
    Case("clone-prefix-dash", ("clone", "--prefix", "ab-c", "--sample", "{REF}")),
    Case("clone-prefix-accent", ("clone", "--prefix", "é", "--sample", "{REF}")),
    Case("clone-sample-missing", (*CLONE, "--sample", "missing.wav")),
    Case("clone-sample-dir", (*CLONE, "--sample", "adir")),
    Case("clone-sample-fifo", (*CLONE, "--sample", "ff")),
    Case("clone-sample-empty", (*CLONE, "--sample", "empty.wav")),
    Case("clone-sample-text", (*CLONE, "--sample", "text.wav")),
    Case("clone-sample-id3-garbage", (*CLONE, "--sample", "id3.mp3"), expect_in="MP3"),
    Case("clone-sample-bad-ipv6-url", (*CLONE, "--sample", "http://[::1/x")),
    Case("clone-target-model-unknown", (*CLONE, "--sample", "{REF}", "--target-model", "nosuch")),
    Case("clone-language-hint-xx", (*CLONE, "--sample", "{REF}", "--language-hint", "xx")),
    Case("clone-prompt-length-0", (*CLONE, "--sample", "{REF}", "--max-prompt-audio-length", "0")),
    Case(
        "clone-prompt-length-v2",
        (
            *CLONE,
            "--sample",
            "{REF}",
            "--target-model",
            "cosyvoice-v2",
            "--max-prompt-audio-length",
            "10",
        ),
    ),
    Case(
        "clone-timeout-negative",
        ("clone", "--prefix", "abc", "--sample", "{REF}", "--timeout", "-5"),
    ),
    Case("clone-transport-unknown", (*CLONE, "--sample", "{REF}", "--sample-transport", "ftp")),
    # design
    Case("design-prompt-empty", ("design", "--prefix", "kid", "--prompt", "")),
    Case(
        "design-prompt-501",
        ("design", "--prefix", "kid", "--prompt", "x" * 501),
        expect_in="at most 500",
    ),
    Case("design-preview-text-201", (*DESIGN, "--preview-text", "x" * 201)),
    Case(
        "design-timeout-0",
        ("design", "--prefix", "kid", "--prompt", "A cheerful child", "--timeout", "0"),
    ),
    Case(
        "design-timeout-nan",
        ("design", "--prefix", "kid", "--prompt", "A cheerful child", "--timeout", "nan"),
    ),
    Case(
        "design-preview-mp3-format-wav",
        (*DESIGN, "--preview-out", "p.mp3", "--format", "wav"),
    ),
    Case("design-preview-out-dir", (*DESIGN, "--preview-out", "adir")),
    Case("design-preview-out-missing-folder", (*DESIGN, "--preview-out", "no/p.wav")),
    Case("design-language-fr", (*DESIGN, "--language", "fr")),
    Case("design-model-v2", (*DESIGN, "--target-model", "cosyvoice-v2")),
    Case("design-sample-rate-7", (*DESIGN, "--sample-rate", "7")),
    # check
    Case("check-missing", ("check", "missing.wav")),
    Case("check-dir", ("check", "adir")),
    Case("check-empty", ("check", "empty.wav")),
    Case("check-id3-garbage", ("check", "id3.mp3"), expect_in="not a valid MP3"),
    Case("check-fix-missing-folder", ("check", "{REF}", "--fix", "no/x.wav"), expect_in="--mkdir"),
    Case(
        "check-plot-missing-folder", ("check", "{REF}", "--plot", "no/p.png"), expect_in="--mkdir"
    ),
    Case("check-fix-dir", ("check", "{REF}", "--fix", "adir")),
    Case("check-fix-fifo", ("check", "{REF}", "--fix", "ff")),
    Case("check-target-model-unknown", ("check", "{REF}", "--target-model", "nosuch")),
    # prepare / prepare-design (the skill helpers)
    Case("prepare-output-dir", (*PREP, "--output", "adir")),
    Case("prepare-output-missing-folder", (*PREP, "--output", "no/x.json"), expect_in="--mkdir"),
    Case("prepare-output-fifo", (*PREP, "--output", "ff")),
    Case("prepare-output-proc", (*PREP, "--output", "/proc/nope.json")),
    Case(
        "prepare-prefix-bad",
        ("prepare", "--prefix", "a b", "--voice-sample-url", "https://example.com/v.wav"),
    ),
    Case("prepare-url-scheme", ("prepare", "--prefix", "abc", "--voice-sample-url", "ftp://x/y")),
    Case("prepare-validate-missing-file", ("prepare", "--validate-response", "nope.json")),
    Case("prepare-validate-not-json", ("prepare", "--validate-response", "hello.txt")),
    Case(
        "prepare-validate-no-voice-id",
        ("--json", "prepare", "--validate-response", "r.json"),
        expect=1,
        files={"r.json": '{"output": {}}'},
        expect_in='"code": "invalid_response"',
    ),
    Case("prepare-design-output-dir", (*PREP_D, "--output", "adir")),
    Case("prepare-design-output-missing", (*PREP_D, "--output", "no/x.json")),
    Case(
        "prepare-design-prompt-long",
        ("prepare-design", "--prefix", "abc", "--voice-prompt", "x" * 501),
    ),
    # voices
    Case("voices-show-unknown", ("voices", "show", "nosuch")),
    Case(
        "voices-show-deleted-prefix",
        ("voices", "show", "gone"),
        setup="gone",
        expect_in="deleted",
    ),
    Case("voices-delete-unknown", ("voices", "delete", "nosuch", "--yes")),
    Case(
        "voices-update-timeout-0",
        ("voices", "update", "{MINE}", "--sample", "{REF}", "--timeout", "0"),
        setup="voice",
    ),
    Case("unknown-command", ("frobnicate",)),
    Case("region-mars", ("--region", "mars", "voices", "list")),
]


JSON_TWINS: list[Case] = [
    dataclasses.replace(case, id=f"{case.id}--json", args=("--json", *case.args), json_error=True)
    for case in CLI_CASES
    if case.expect == 2 and case.args[0] in ("speak", "clone", "design", "check", "voices")
]
"""The same refusals under the global ``--json``: the error object on stdout."""
