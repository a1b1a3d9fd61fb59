"""`speak --stream`, `speak --out -` and `speak --play`: live speech on the command line.

Options only: the session, the sinks and the run are the library's
(:mod:`cosyvoice_clone.synthesis.live`). With ``--out -`` standard output carries nothing but
the audio, so ``--json`` is refused there (its contract is a JSON document on stdout; moving it
to stderr would silently break whoever parses stdout) and the human summary goes to stderr.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequestError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ..synthesis.live import AudioSink
    from .common import AppState

STDOUT_DEFAULT_FORMAT = "wav"
"""``--out -`` without ``--format``: WAV with a streaming header, which every player reads."""


@dataclass(frozen=True)
class LiveArgs:
    """The options of one live `speak`."""

    voice: str
    text: str | None
    text_file: Path | None
    out: Path | None
    stream: bool
    play: bool
    audio_format: str | None
    sample_rate: int | None
    model: str | None
    fields: dict[str, Any]
    mkdir: bool = False


def wants_live(out: Path | None, stream: bool, play: bool) -> bool:
    """Whether `speak` runs live (text as it arrives, audio as it is made)."""
    return stream or play or (out is not None and str(out) == "-")


def _source(args: LiveArgs) -> AsyncIterator[str]:
    from ..synthesis.live import text_arriving, text_once
    from .speak import read_text

    if not args.stream:
        return text_once(read_text(args.text, args.text_file))
    if args.text is not None or (args.text_file is not None and str(args.text_file) != "-"):
        raise InvalidRequestError(
            "--stream reads the text from standard input",
            field="stream",
            hint="pipe the text in (`llm ... | cosyvoice-clone speak --stream ...`), or leave "
            "--stream out to speak --text or --text-file",
        )
    return text_arriving(sys.stdin.buffer)


def run_live(app_state: AppState, args: LiveArgs) -> None:
    """Speak live into a file, standard output and/or the speakers; print the summary."""
    from .. import catalog
    from ..audio.outfile import check_target
    from ..client import live_session
    from ..speech import check_output, make_folder
    from ..synthesis.live import FileSink, PlaySink, StreamSink, speak_live
    from ..synthesis.protocol import format_for_path
    from ..synthesis.runner import Interrupted, run_interruptible
    from .ui import open_client

    to_stdout = args.out is not None and str(args.out) == "-"
    if to_stdout and app_state.json:
        raise InvalidRequestError(
            "--json cannot be used with --out -: standard output carries the audio",
            field="json",
            hint="leave --json out (the summary then goes to stderr), or write to a file",
        )
    if args.out is None and not args.play:
        raise InvalidRequestError(
            "no output", field="out", hint="pass --out FILE, --out - or --play"
        )
    if to_stdout:
        fmt = (args.audio_format or STDOUT_DEFAULT_FORMAT).lower()
        if fmt not in catalog.AUDIO_FORMATS:
            raise InvalidRequestError(
                f"unsupported format {fmt!r} for --out -",
                field="format",
                hint="use one of: " + ", ".join(catalog.AUDIO_FORMATS),
            )
    elif args.out is not None:
        fmt = format_for_path(args.out, args.audio_format)
        check_target(args.out, mkdir=args.mkdir)
    else:
        fmt = "pcm"
    rate = args.sample_rate or (24000 if fmt == "opus" else catalog.DEFAULT_SAMPLE_RATE)
    source = _source(args)
    sinks: list[AudioSink] = []
    if args.play:
        sinks.append(PlaySink(rate))
    if to_stdout:
        sinks.append(StreamSink(sys.stdout.buffer, fmt, rate))

    def interrupted(signum: int) -> Interrupted:
        kept = f"nothing was written to {args.out}" if args.out and not to_stdout else "stopped"
        return Interrupted(signum, hint=f"{kept}; the synthesis was cancelled")

    with open_client(app_state) as client:
        if args.out is not None and not to_stdout:
            # the rules of every output: never a registered voice's sample, folders on --mkdir
            real = check_output(client, args.out, mkdir=args.mkdir)
            if args.mkdir:
                make_folder(real)
            sinks.append(FileSink(args.out, fmt, rate))
        session = live_session(
            client._session, voice=args.voice, model=args.model, format="pcm", sample_rate=rate,
            **args.fields,
        )  # fmt: skip
        try:
            result = run_interruptible(lambda: speak_live(session, source, sinks), interrupted)
        except BaseException:
            for sink in sinks:
                sink.discard()
            raise
    data = {**result.to_dict(), "format": fmt, "out": None if args.out is None else str(args.out)}

    def human() -> None:
        console = app_state.err_console if to_stdout else app_state.console
        where = "standard output" if to_stdout else str(result.path or "the speakers")
        console.print(
            f"spoke {result.duration:.2f} s to {where} — {fmt} {rate} Hz, {result.characters} "
            f"characters billed of {result.text_characters} sent, {result.tasks} task(s)",
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


__all__ = ["LiveArgs", "run_live", "wants_live"]
