"""`speak`: synthesize a text with a cloned voice into one audio file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from .. import catalog
from ..errors import Interrupted, InvalidRequestError
from .common import AppState, state
from .inputs import live_text, read_text
from .interrupt import run_interruptible
from .ui import confirm_cost, open_client, progress_bar

if TYPE_CHECKING:
    pass

LONG_TEXT_WEIGHT = 2_000
"""Texts at least this long (as the service counts) get a progress bar on a terminal."""


def speak(
    ctx: typer.Context,
    voice: str = typer.Option(
        ...,
        "--voice",
        help="Voice id, a prefix the registry resolves to one voice, or a "
        "system voice (`voices list --system`; its model is used without --model).",
    ),
    text: Optional[str] = typer.Option(
        None, "--text", help="The text to speak.", show_default=False
    ),
    text_file: Optional[Path] = typer.Option(
        None,
        "--text-file",
        help="Read the text from a UTF-8 file ('-' for stdin).",
        show_default=False,
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        "-o",
        help="Output file: .wav, .mp3, .opus/.ogg (opus), .pcm/.raw (pcm); another name needs "
        "--format. Must be a new or regular file (a symlink is followed). '-': standard output, "
        "as the audio is made (wav with a streaming header unless --format).",
        show_default=False,
    ),
    stream: bool = typer.Option(
        False,
        "--stream",
        help="Read standard input as it arrives and speak it live (sentence by sentence).",
    ),
    play: bool = typer.Option(
        False,
        "--play",
        help="Play through the default audio device as the audio is made (extra 'play').",
    ),
    audio_format: Optional[str] = typer.Option(
        None,
        "--format",
        help="pcm, wav, mp3 or opus (default: from the --out extension; must agree with it).",
        show_default=False,
    ),
    sample_rate: Optional[int] = typer.Option(
        None,
        "--sample-rate",
        help="8000, 16000, 22050, 24000, 44100, 48000 (opus: 8/16/24/48 kHz). Default "
        f"{catalog.default_sample_rate('wav')} (opus {catalog.default_sample_rate('opus')}).",
        show_default=False,
    ),
    volume: int = typer.Option(50, "--volume", help="0–100."),
    rate: float = typer.Option(1.0, "--rate", help="Speaking rate 0.5–2.0."),
    pitch: float = typer.Option(1.0, "--pitch", help="Pitch 0.5–2.0."),
    seed: int = typer.Option(0, "--seed", help="0–65535; the same seed repeats the same audio."),
    instruction: Optional[str] = typer.Option(
        None,
        "--instruction",
        help="Style or dialect instruction (CosyVoice models: up to 128 characters).",
        show_default=False,
    ),
    language_hint: Optional[list[str]] = typer.Option(
        None,
        "--language-hint",
        help="Language of the text, e.g. zh, en (repeatable).",
        show_default=False,
    ),
    model: Optional[str] = typer.Option(
        None,
        "--model",
        help="Synthesis model (default: the voice's target model).",
        show_default=False,
    ),
    bit_rate: Optional[int] = typer.Option(
        None,
        "--bit-rate",
        help="kbps for opus (6–510, default 32) or mp3.",
        show_default=False,
    ),
    ssml: bool = typer.Option(
        False,
        "--ssml",
        help="The text is SSML (<speak>…</speak>): sent whole in one message, "
        "never split (at most 20,000 characters without the tags).",
    ),
    markdown_filter: bool = typer.Option(
        False,
        "--markdown-filter",
        help="Ask the service to strip Markdown from the text.",
    ),
    concurrency: int = typer.Option(4, "--concurrency", help="Tasks at once for long texts."),
    retries: int = typer.Option(3, "--retries", help="Retries of a part that fails transiently."),
    timestamps: Optional[Path] = typer.Option(
        None,
        "--timestamps",
        help="Write word timings to FILE (.srt, else JSON).",
        show_default=False,
    ),
    mkdir: bool = typer.Option(
        False, "--mkdir", help="Create missing folders of --out and --timestamps."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Don't ask before a text of 100,000+ billed characters."
    ),
) -> None:
    """Speak a text with a cloned voice into one audio file.

    Long texts are split at sentence boundaries and synthesized in parallel (at most 3 new tasks
    per second per model), then written in order into one file; the file appears only when it is
    complete. The model must be the one the voice was enrolled for (checked before anything is
    sent), and the voice must be usable (a deleted or still deploying voice is refused up front).
    An existing --out is replaced (the summary says "replaced"), but never the reference sample
    of a registered voice; a missing folder is refused unless --mkdir.
    A text of 100,000 billed characters or more (CJK characters count twice) is announced
    before anything is sent; on a terminal you are asked first (--yes skips the question).
    Ctrl-C or SIGTERM stops cleanly: no output, no temporary files (exit 130 / 143).
    Exit codes: 2 bad input or model mismatch, 3 key, 4 rate limit, 5 timeout, 6 network.
    Examples:

    \b
      cosyvoice-clone speak --voice myvoice --text 'Hello there.' --out hello.wav
      cosyvoice-clone speak --voice myvoice --text-file book.txt --out book.mp3 \\
        --timestamps book.srt
      echo '你好，世界。' | cosyvoice-clone --json speak --voice myvoice --out hi.opus
      llm 'tell a story' | cosyvoice-clone speak --voice myvoice --stream --out - | ffplay -
      llm 'tell a story' | cosyvoice-clone speak --voice myvoice --stream --play

    Live (--stream, --out -, --play): the text is sent sentence by sentence as it arrives and
    the audio is written as it comes; a file (--out FILE) still appears only when complete.
    """
    app_state = state(ctx)
    if wants_live(out, stream, play):
        if timestamps is not None:
            raise InvalidRequestError(
                "--timestamps is not available with --stream, --out - or --play",
                field="timestamps",
            )
        _speak_live(
            app_state, voice=voice, text=text, text_file=text_file, out=out, stream=stream,
            play=play, audio_format=audio_format, sample_rate=sample_rate, model=model,
            mkdir=mkdir,
            fields={"volume": volume, "rate": rate, "pitch": pitch, "seed": seed,
                    "instruction": instruction or None, "language_hints": language_hint},
        )  # fmt: skip
        return
    from ..audio.outfile import check_target
    from ..client import large_text

    if out is None:
        raise InvalidRequestError(
            "no output", field="out", hint="pass --out FILE, --out - (stdout) or --play"
        )
    content = read_text(text, text_file)
    check_target(out, mkdir=mkdir)  # the library probes it once the voice may speak
    weight = catalog.text_weight(content)
    confirm_cost(app_state, large_text(content), yes, "the text")

    def interrupted(signum: int) -> Interrupted:
        return Interrupted(
            signum,
            hint=f"nothing was written to {out} (temporary files removed)",
        )

    with (
        open_client(app_state) as client,
        progress_bar(app_state, "speaking", weight >= LONG_TEXT_WEIGHT,
                     unit="chars (CJK ×2)") as on_progress,
    ):  # fmt: skip
        result = run_interruptible(
            lambda: client.speak(
                content, out, voice=voice, model=model, format=audio_format,
                sample_rate=sample_rate, volume=volume, rate=rate, pitch=pitch, seed=seed,
                instruction=instruction or None, language_hints=language_hint,
                bit_rate=bit_rate, ssml=ssml, markdown_filter=markdown_filter,
                timestamps=timestamps, mkdir=mkdir, concurrency=concurrency, retries=retries,
                on_progress=on_progress,
            ),
            interrupted,
        )  # fmt: skip
    data = result.to_dict()
    if timestamps is not None:
        data["timestamps"] = str(timestamps)  # as given (the library's may be the link's target)

    def human() -> None:
        console = app_state.console
        doubled = result.text_characters != len(content)
        console.print(
            f"{'replaced' if result.replaced else 'wrote'} {result.path} — "
            f"{result.duration:.2f} s, {result.format} {result.sample_rate} Hz, "
            f"{result.characters} characters billed"
            + (f" ({len(content)} in the text; CJK characters count twice)" if doubled else "")
            + (f", {result.parts} parts" if result.parts > 1 else "")
        )
        if result.time_to_first_audio is not None:
            console.print(f"  first audio after {result.time_to_first_audio:.2f} s")
        console.print(f"  request ids   {', '.join(result.request_ids)}")
        if timestamps is not None:
            console.print(f"  timestamps    {timestamps}")

    app_state.emit(data, human)


# --------------------------------------------------------------------------- live
# `speak --stream`, `speak --out -` and `speak --play`: the session, the sinks, the output
# checks and the run are the library's (`CosyVoice.speak_live`). With ``--out -`` standard
# output carries nothing but the audio, so ``--json`` is refused there (its contract is a JSON
# document on stdout; moving it to stderr would silently break whoever parses stdout) and the
# human summary goes to stderr.


def wants_live(out: Path | None, stream: bool, play: bool) -> bool:
    """Whether `speak` runs live (text as it arrives, audio as it is made)."""
    return stream or play or (out is not None and str(out) == "-")


def _speak_live(
    app_state: AppState,
    *,
    voice: str,
    text: str | None,
    text_file: Path | None,
    out: Path | None,
    stream: bool,
    play: bool,
    audio_format: str | None,
    sample_rate: int | None,
    model: str | None,
    mkdir: bool,
    fields: dict[str, Any],
) -> None:
    """Speak live into a file, standard output and/or the speakers; print the summary."""
    from ..audio.outfile import check_target
    from ..client import LIVE_STREAM_DEFAULT_FORMAT

    to_stdout = out is not None and str(out) == "-"
    if to_stdout and app_state.json:
        raise InvalidRequestError(
            "--json cannot be used with --out -: standard output carries the audio",
            field="json",
            hint="leave --json out (the summary then goes to stderr), or write to a file",
        )
    if out is None and not play:
        raise InvalidRequestError(
            "no output", field="out", hint="pass --out FILE, --out - or --play"
        )
    if to_stdout:
        fmt = (audio_format or LIVE_STREAM_DEFAULT_FORMAT).lower()
        if fmt not in catalog.AUDIO_FORMATS:
            raise InvalidRequestError(
                f"unsupported format {fmt!r} for --out -",
                field="format",
                hint="use one of: " + ", ".join(catalog.AUDIO_FORMATS),
            )
    elif out is not None:
        check_target(out, mkdir=mkdir)
    source = live_text(text, text_file, stream)
    file_out = None if to_stdout else out

    def interrupted(signum: int) -> Interrupted:
        kept = f"nothing was written to {out}" if file_out is not None else "stopped"
        return Interrupted(signum, hint=f"{kept}; the synthesis was cancelled")

    with open_client(app_state) as client:
        result = run_interruptible(
            lambda: client.speak_live(
                source, voice=voice, out=file_out, to=sys.stdout.buffer if to_stdout else None,
                play=play, format=audio_format, sample_rate=sample_rate, model=model,
                mkdir=mkdir, **fields,
            ),
            interrupted,
        )  # fmt: skip
    fmt = result.format
    data = {**result.to_dict(), "format": fmt, "out": None if out is None else str(out)}

    def human() -> None:
        console = app_state.err_console if to_stdout else app_state.console
        where = "standard output" if to_stdout else str(result.path or "the speakers")
        console.print(
            f"spoke {result.duration:.2f} s to {where} — {fmt} {result.sample_rate} Hz, "
            f"{result.characters} characters billed of {result.text_characters} sent, "
            f"{result.tasks} task(s)",
            markup=False,
        )
        if result.time_to_first_audio is not None:
            console.print(
                f"  first audio {result.time_to_first_audio:.2f} s after the first text",
                markup=False,
            )

    if to_stdout:
        human()
    else:
        app_state.emit(data, human)


def register(app: typer.Typer) -> None:
    """Add `speak` to ``app``."""
    app.command("speak")(speak)


__all__ = ["read_text", "register", "wants_live"]
