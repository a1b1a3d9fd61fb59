"""`speak`: synthesize a text with a cloned voice into one audio file."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from ..errors import (
    CosyVoiceCloneError,
    InvalidRequestError,
    VoiceDeployingError,
    VoiceRejectedError,
)
from .common import AppState, state

if TYPE_CHECKING:
    from ..registry import VoiceRecord
    from ..synthesis import SynthesisOptions, Word

LONG_TEXT_WEIGHT = 2_000
"""Texts at least this long (as the service counts) get a progress bar on a terminal."""


def resolve_voice(app_state: AppState, name: str, model: str | None = None) -> VoiceRecord:
    """A voice id, or a prefix the registry resolves to exactly one voice, that can speak now.

    A name that is neither (a system voice such as ``longxiaochun``) is used as is when the
    model is given. A voice the registry knows is unusable is refused before anything is sent:
    deleted (exit 2), rejected in review (UNDEPLOYED, exit 1), or still DEPLOYING after asking
    the service once (a free query; exit 1).
    """
    from ..registry import STATUS_UNDEPLOYED, Registry, VoiceRecord, endpoint_id

    settings = app_state.settings()
    endpoint = endpoint_id(settings.http_base, settings.http_base_source)
    with Registry(settings.home) as registry:
        try:
            record = registry.resolve(name, endpoint=endpoint)
        except InvalidRequestError:
            if model is None or not name.strip():
                raise
            return VoiceRecord(voice_id=name.strip(), target_model=None)
    if record.deleted:
        raise _deleted(record.voice_id, record.deleted_at)
    if record.status == STATUS_UNDEPLOYED:
        raise VoiceRejectedError(
            f"voice {record.voice_id} was rejected by the service (UNDEPLOYED) and cannot speak",
            hint="clone again with another sample (`cosyvoice-clone check SAMPLE` first)",
        )
    if record.status == "DEPLOYING":
        record = _refresh_deploying(app_state, record)
    return record


def _deleted(voice_id: str, when: str | None) -> InvalidRequestError:
    return InvalidRequestError(
        f"voice {voice_id} was deleted"
        + (f" (the registry noted it on {when})" if when else "")
        + "; nothing was sent",
        field="voice",
        value=voice_id,
        hint="`cosyvoice-clone voices list` shows the voices that exist; `voices sync` "
        "refreshes the registry if you think it is back",
    )


def _refresh_deploying(app_state: AppState, record: VoiceRecord) -> VoiceRecord:
    """Ask the service once (free) whether a DEPLOYING voice is ready now."""
    from ..client import CosyVoice
    from ..errors import NotFoundError

    with CosyVoice(settings=app_state.settings()) as client:
        try:
            info = client.voices.show(record.voice_id)
        except NotFoundError:
            raise _deleted(record.voice_id, None) from None
        status = info.get("status")
        if status == "OK":
            return client.registry.get(record.voice_id) or record
    if status == "UNDEPLOYED":
        raise VoiceRejectedError(
            f"voice {record.voice_id} was rejected by the service (UNDEPLOYED) and cannot speak",
            hint="clone again with another sample (`cosyvoice-clone check SAMPLE` first)",
        )
    raise VoiceDeployingError(
        f"voice {record.voice_id} is still being deployed ({status or 'status unknown'}); "
        "it cannot speak yet, nothing was sent",
        hint="wait until it is OK: run the same `cosyvoice-clone clone ...` again without "
        "--no-wait (it reuses this voice and waits), or check `cosyvoice-clone voices show "
        f"{record.voice_id}`; deploying usually takes under a minute",
    )


def build_options(
    *,
    out: str,
    fmt: str | None,
    sample_rate: int | None,
    volume: int,
    rate: float,
    pitch: float,
    seed: int,
    instruction: str | None,
    language_hints: list[str] | None,
    word_timestamps: bool,
    bit_rate: int | None = None,
) -> SynthesisOptions:
    """Validated :class:`SynthesisOptions` from command-line values (format from ``out``)."""
    from .. import catalog
    from ..synthesis import SynthesisOptions, format_for_path

    audio_format = format_for_path(out, fmt)
    if sample_rate is None:
        sample_rate = 24000 if audio_format == "opus" else catalog.DEFAULT_SAMPLE_RATE
    return SynthesisOptions(
        format=audio_format,
        sample_rate=sample_rate,
        volume=volume,
        rate=rate,
        pitch=pitch,
        seed=seed,
        instruction=instruction or None,
        language_hints=tuple(language_hints) if language_hints else None,
        word_timestamps=word_timestamps,
        bit_rate=bit_rate,
    ).validate()


def read_text(text: str | None, text_file: Path | None) -> str:
    """The text from ``--text``, ``--text-file`` (``-`` is stdin) or piped stdin."""
    if text is not None and text_file is not None:
        raise InvalidRequestError("pass either --text or --text-file, not both", field="text")
    if text is not None:
        value = text
    elif text_file is not None:
        if str(text_file) == "-":
            value = sys.stdin.read()
        else:
            value = read_utf8(text_file, "text file", "text_file")
    elif not sys.stdin.isatty():
        value = sys.stdin.read()
    else:
        raise InvalidRequestError(
            "no text to speak",
            field="text",
            hint="pass --text 'Hello', --text-file FILE, or pipe the text on stdin",
        )
    if not value.strip():
        raise InvalidRequestError("the text is empty", field="text")
    return value


def read_utf8(path: Path, what: str, field: str) -> str:
    """The UTF-8 text of ``path`` (a BOM is dropped); one clear error line for every failure."""
    if path.is_dir():
        raise InvalidRequestError(f"{what} {path} is a directory, not a file", field=field)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidRequestError(f"{what} {path} does not exist", field=field) from None
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot read {what} {path}: {(exc.strerror or str(exc)).lower()}", field=field
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidRequestError(
            f"{what} {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})",
            field=field,
            hint="save it as UTF-8, e.g. `iconv -f GBK -t UTF-8 FILE > FILE.utf8`",
        ) from None


def _srt_time(ms: int) -> str:
    hours, rest = divmod(max(0, ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def write_timestamps(path: Path, words: list[Word], meta: dict[str, Any]) -> None:
    """Word timings as SRT (``.srt``) or JSON (anything else), written atomically.

    A symlink is followed (the link is kept); the temporary file has a unique name, so
    concurrent runs never share it.
    """
    import contextlib
    import json

    from ..synthesis.output import check_target, partial_path, remove_stale_partials

    path = check_target(path, option="--timestamps")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path)
    if path.suffix.lower() == ".srt":
        lines: list[str] = []
        for number, word in enumerate(words, start=1):
            lines += [
                str(number),
                f"{_srt_time(word.begin_ms)} --> {_srt_time(word.end_ms)}",
                word.text,
                "",
            ]
        content = "\n".join(lines)
    else:
        content = json.dumps(
            {**meta, "words": [w.to_dict() for w in words]}, ensure_ascii=False, indent=2
        )
    temp = partial_path(path)
    try:
        temp.write_text(content + "\n", encoding="utf-8")
        temp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


@contextmanager
def progress_bar(
    app_state: AppState, description: str, enabled: bool, unit: str = "chars"
) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (``unit`` done, ETA) when on a terminal; else a no-op."""
    if not enabled or app_state.json or not app_state.progress_enabled():
        yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=app_state.err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def speak(
    ctx: typer.Context,
    voice: str = typer.Option(
        ..., "--voice", help="Voice id, or a prefix the registry resolves to one voice."
    ),
    text: Optional[str] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None, "--text", help="The text to speak.", show_default=False
    ),
    text_file: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--text-file", help="Read the text from a UTF-8 file ('-' for stdin).",
        show_default=False,
    ),
    out: Path = typer.Option(
        ..., "--out", "-o",
        help="Output file: .wav, .mp3, .opus/.ogg (opus), .pcm/.raw (pcm); another name needs "
        "--format. Must be a new or regular file (a symlink is followed).",
    ),
    audio_format: Optional[str] = typer.Option(  # noqa: UP045
        None, "--format", help="pcm, wav, mp3 or opus (default: from the --out extension; must "
        "agree with it).", show_default=False,
    ),
    sample_rate: Optional[int] = typer.Option(  # noqa: UP045
        None, "--sample-rate",
        help="8000, 16000, 22050, 24000, 44100, 48000 (opus: 8/16/24/48 kHz). Default 22050 "
        "(opus 24000).", show_default=False,
    ),
    volume: int = typer.Option(50, "--volume", help="0–100."),
    rate: float = typer.Option(1.0, "--rate", help="Speaking rate 0.5–2.0."),
    pitch: float = typer.Option(1.0, "--pitch", help="Pitch 0.5–2.0."),
    seed: int = typer.Option(0, "--seed", help="0–65535; the same seed repeats the same audio."),
    instruction: Optional[str] = typer.Option(  # noqa: UP045
        None, "--instruction", help="Style or dialect instruction (up to 128 characters).",
        show_default=False,
    ),
    language_hint: Optional[list[str]] = typer.Option(  # noqa: UP045
        None, "--language-hint", help="Language of the text, e.g. zh, en (repeatable).",
        show_default=False,
    ),
    model: Optional[str] = typer.Option(  # noqa: UP045
        None, "--model", help="Synthesis model (default: the voice's target model).",
        show_default=False,
    ),
    concurrency: int = typer.Option(4, "--concurrency", help="Tasks at once for long texts."),
    retries: int = typer.Option(3, "--retries", help="Retries of a part that fails transiently."),
    timestamps: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--timestamps", help="Write word timings to FILE (.srt, else JSON).",
        show_default=False,
    ),
) -> None:
    """Speak a text with a cloned voice into one audio file.

    Long texts are split at sentence boundaries and synthesized in parallel (at most 3 new tasks
    per second per model), then written in order into one file; the file appears only when it is
    complete. The model must be the one the voice was enrolled for (checked before anything is
    sent), and the voice must be usable (a deleted or still deploying voice is refused up front).
    Ctrl-C or SIGTERM stops cleanly: no output, no temporary files (exit 130 / 143).
    Exit codes: 2 bad input or model mismatch, 3 key, 4 rate limit, 5 timeout, 6 network.
    Examples:

    \b
      cosyvoice-clone speak --voice myvoice --text 'Hello there.' --out hello.wav
      cosyvoice-clone speak --voice myvoice --text-file book.txt --out book.mp3 \\
        --timestamps book.srt
      echo '你好，世界。' | cosyvoice-clone --json speak --voice myvoice --out hi.opus
    """
    from .. import catalog
    from ..synthesis import AsyncSynthesizer, guard_model
    from ..synthesis.output import probe_target
    from ..synthesis.protocol import check_language_hints, check_model
    from ..synthesis.runner import Interrupted, run_interruptible

    app_state = state(ctx)
    content = read_text(text, text_file)
    real_out = probe_target(out)
    options = build_options(
        out=str(out), fmt=audio_format, sample_rate=sample_rate, volume=volume, rate=rate,
        pitch=pitch, seed=seed, instruction=instruction, language_hints=language_hint,
        word_timestamps=timestamps is not None,
    )  # fmt: skip
    if concurrency < 1:
        raise InvalidRequestError("--concurrency must be at least 1", field="concurrency")
    if model is not None:
        check_model(model)
    if timestamps is not None:
        real_timestamps = probe_target(timestamps, option="--timestamps")
        if real_timestamps.resolve() == real_out.resolve():
            raise InvalidRequestError(
                "--timestamps and --out name the same file", field="timestamps"
            )
    record = resolve_voice(app_state, voice, model)
    chosen = guard_model(record.voice_id, model, target_model=record.target_model)
    check_language_hints(chosen, options.language_hints)
    synthesizer = AsyncSynthesizer.from_settings(app_state.settings())
    weight = catalog.text_weight(content)

    def interrupted(signum: int) -> Interrupted:
        return Interrupted(
            signum,
            hint=f"nothing was written to {out} (temporary files removed)",
        )

    with progress_bar(app_state, "speaking", weight >= LONG_TEXT_WEIGHT,
                      unit="chars (CJK ×2)") as on_progress:  # fmt: skip
        result = run_interruptible(
            lambda: synthesizer.speak(
                content,
                out,
                voice=record.voice_id,
                model=chosen,
                target_model=record.target_model,
                options=options,
                concurrency=concurrency,
                retries=retries,
                on_progress=on_progress,
            ),
            interrupted,
        )
    data = result.to_dict()
    if timestamps is not None:
        try:
            write_timestamps(
                timestamps,
                result.words,
                {"audio": str(result.path), "sample_rate": result.sample_rate,
                 "duration": round(result.duration, 3)},
            )  # fmt: skip
        except OSError as exc:
            raise CosyVoiceCloneError(
                f"wrote {result.path}, but writing --timestamps {timestamps} failed: "
                f"{exc.strerror or exc}",
                hint="check the free space and permissions of its directory",
            ) from None
        data["timestamps"] = str(timestamps)

    def human() -> None:
        console = app_state.console
        console.print(
            f"wrote {result.path} — {result.duration:.2f} s, {result.format} "
            f"{result.sample_rate} Hz, {result.characters} characters billed of "
            f"{result.text_characters} in the text (CJK counts 2)"
            + (f", {result.parts} parts" if result.parts > 1 else "")
        )
        if result.time_to_first_audio is not None:
            console.print(f"  first audio after {result.time_to_first_audio:.2f} s")
        console.print(f"  request ids   {', '.join(result.request_ids)}")
        if timestamps is not None:
            console.print(f"  timestamps    {timestamps}")

    app_state.emit(data, human)


def register(app: typer.Typer) -> None:
    """Add `speak` to ``app``."""
    app.command("speak")(speak)


__all__ = ["build_options", "read_text", "register", "resolve_voice", "write_timestamps"]
