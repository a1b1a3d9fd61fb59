"""The one speak path: :func:`aspeak` (one text, one file) and :func:`aspeak_many` (a manifest).

Both resolve voices with :func:`cosyvoice_clone.voices.speakable_flow` (deleted, UNDEPLOYED,
DEPLOYING and model-mismatch refusals before anything is sent), check the output can be written,
and synthesize with :class:`~cosyvoice_clone.synthesis.AsyncSynthesizer`. ``CosyVoice.speak`` /
``AsyncCosyVoice.speak`` and ``speak_many`` are thin faces over them; the CLI's ``speak`` and
``batch`` and the MCP ``synthesize`` tool call those faces.

A manifest (CSV with a header, or JSONL) has the columns ``id``, ``voice``, ``text`` and
optionally ``out`` (default ``ID.wav``, or ``ID.FORMAT``), ``format``, ``sample_rate``,
``volume``, ``rate``, ``pitch``, ``seed``, ``instruction``, ``language_hint`` (CSV: separated by
``|``) and ``model``. One JSON line per item
goes to the results file; an item recorded as done with the same request whose output still
matches is skipped, so running it again after an interruption finishes the job.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import catalog
from ._loop import LoopThread
from .audio.outfile import probe_target
from .checks import require_concurrency
from .errors import CosyVoiceCloneError, InvalidRequestError
from .models import LiveResult, SpeechResult, Voice
from .session import check_output as check_output
from .session import make_folder as make_folder
from .synthesis.protocol import (
    SynthesisOptions,
    align_words,
    check_for_model,
    check_text,
    format_for_path,
)
from .voices import speakable_flow

if TYPE_CHECKING:
    from .session import Session as Client
    from .synthesis.client import ProgressCallback
    from .synthesis.live import AsyncLiveSpeech, LiveSpeech
    from .synthesis.streaming import SpeechChunks

OPTION_FIELDS = (
    "format",
    "sample_rate",
    "volume",
    "rate",
    "pitch",
    "seed",
    "instruction",
    "language_hints",
    "word_timestamps",
    "bit_rate",
    "ssml",
    "markdown_filter",
)


# --------------------------------------------------------------------------- one text

LARGE_TEXT_CHARACTERS = 100_000
"""Billed characters from which a frontend shows the cost before any work: a terminal asks,
anything else proceeds after saying the count (``speak --yes`` skips the question)."""


def large_text(text: str) -> int | None:
    """The billed characters of ``text`` (CJK ideographs count twice) when they reach
    :data:`LARGE_TEXT_CHARACTERS`, else ``None``."""
    weight = catalog.text_weight(text)
    return weight if weight >= LARGE_TEXT_CHARACTERS else None


def options_for(
    out: str | Path, options: SynthesisOptions | None = None, **fields: Any
) -> SynthesisOptions:
    """Validated options: ``options`` as given, or built from ``fields`` with the format taken
    from the extension of ``out`` (an unknown extension needs ``format=``)."""
    if options is not None:
        if fields:
            raise InvalidRequestError(
                "pass either options= or separate option fields, not both", field="options"
            )
        return options.validate()
    unknown = sorted(set(fields) - set(OPTION_FIELDS))
    if unknown:
        raise InvalidRequestError(
            f"unknown synthesis option {', '.join(unknown)}",
            field=unknown[0],
            hint="known options: " + ", ".join(OPTION_FIELDS),
        )
    values = {k: v for k, v in fields.items() if v is not None}
    values["format"] = format_for_path(str(out), values.get("format"))
    if "sample_rate" not in values:
        values["sample_rate"] = catalog.default_sample_rate(values["format"])
    if values.get("language_hints") is not None:
        hints = values["language_hints"]
        values["language_hints"] = (hints,) if isinstance(hints, str) else tuple(hints)
    return SynthesisOptions(**values).validate()


async def speakable(client: Client, voice: str, model: str | None) -> tuple[Voice, str]:
    """The voice if it can speak now, and the model to speak with (rules: :mod:`.voices`)."""
    from .http import AsyncHttpClient

    flow = speakable_flow(client, voice, model)
    http = client.http
    assert http is not None, "a session speaks through its face's HTTP driver"
    if isinstance(http, AsyncHttpClient):
        return await http.run(flow)
    return await asyncio.to_thread(http.run, flow)


async def aspeak(
    client: Client,
    text: str,
    out: str | Path,
    *,
    voice: str,
    model: str | None = None,
    options: SynthesisOptions | None = None,
    concurrency: int = 4,
    retries: int = 3,
    on_progress: ProgressCallback | None = None,
    mkdir: bool = False,
    timestamps: str | Path | None = None,
    **fields: Any,
) -> SpeechResult:
    """Speak ``text`` with a voice id or registry prefix into the file ``out``.

    Checked before anything is sent: the text, that ``out`` can be written (:func:`check_output`:
    a missing folder only with ``mkdir``, never a registered voice's sample), the options
    (``options=`` or the fields ``format``, ``sample_rate``, ``volume``, ``rate``, ``pitch``,
    ``seed``, ``instruction``, ``language_hints``, ``word_timestamps``, ``bit_rate``, ``ssml``,
    ``markdown_filter``) and the voice rules: a system voice of the catalog speaks with its
    model, no ``model`` needed (see :mod:`.voices`). ``SpeechResult.replaced`` tells whether an
    existing file was overwritten.
    """
    from .synthesis import AsyncSynthesizer

    if not isinstance(text, str) or not text.strip():
        raise InvalidRequestError("the text is empty", field="text")
    target = check_output(client, out, mkdir=mkdir)
    if timestamps is not None:
        if options is None:
            fields["word_timestamps"] = True
        elif not options.word_timestamps:
            options = dataclasses.replace(options, word_timestamps=True)
        stamps = probe_target(timestamps, option="--timestamps", mkdir=mkdir)
        if stamps.resolve() == target.resolve():
            raise InvalidRequestError(
                "--timestamps and --out name the same file", field="timestamps"
            )
        check_output(client, timestamps, option="--timestamps", mkdir=mkdir)
    opts = options_for(out, options, **fields)
    require_concurrency(concurrency, retries)
    chosen_voice, chosen_model = await speakable(client, voice, model)
    real = probe_target(out, mkdir=mkdir)
    check_for_model(chosen_model, text, opts)
    if mkdir:  # only once the voice may speak
        make_folder(real)
    existed = real.is_file()
    synth = AsyncSynthesizer.from_settings(client.settings, connector=client.connections())
    result = await synth.speak(
        text, out, voice=chosen_voice.voice_id, model=chosen_model,
        target_model=chosen_voice.target_model, options=opts, concurrency=concurrency,
        retries=retries, on_progress=on_progress,
    )  # fmt: skip
    result = dataclasses.replace(result, replaced=existed)
    if result.words and not opts.ssml:  # indexes into the whole text, not per sentence
        result = dataclasses.replace(result, words=align_words(text, result.words))
    if timestamps is None:
        return result
    try:
        written = write_timestamps(timestamps, result, mkdir=mkdir)
    except OSError as exc:
        raise CosyVoiceCloneError(
            f"wrote {result.path}, but writing --timestamps {timestamps} failed: "
            f"{exc.strerror or exc}",
            hint="check the free space and permissions of its directory",
        ) from None
    return dataclasses.replace(result, timestamps=written)


class AsyncAudioStream:
    """The encoded audio of one text, in order (``async for chunk in stream``).

    Opened by :func:`async_open_stream`, which has already waited for the first audio: a refusal or
    a failed first part is raised before any byte is handed out. ``request_ids`` and
    ``characters`` grow while it is read; ``aclose()`` cancels what is still running.
    """

    def __init__(self, chunks: SpeechChunks, first: bytes, rest: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._first: bytes | None = first
        self._rest = rest
        self.voice: str = chunks.voice
        self.model: str = chunks.model
        self.format: str = chunks.format
        self.sample_rate: int = chunks.sample_rate
        self.media_type: str = catalog.MIME_TYPES[chunks.format]

    @property
    def request_ids(self) -> list[str]:
        """Task ids so far (the first is the one to quote)."""
        return list(self._chunks.request_ids)

    @property
    def characters(self) -> int:
        """Characters billed so far."""
        return int(self._chunks.characters)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self._first is not None:
            first, self._first = self._first, None
            if first:
                return first
        return await self._rest.__anext__()

    async def aclose(self) -> None:
        """Stop: cancel the tasks still running on the service."""
        await self._chunks.aclose()

    async def __aenter__(self) -> AsyncAudioStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def async_open_stream(
    client: Client,
    text: str,
    *,
    voice: str,
    model: str | None,
    format: str,
    sample_rate: int | None,
    rate: float,
    volume: int,
    pitch: float,
    instruction: str | None,
    concurrency: int,
    retries: int,
) -> AsyncAudioStream:
    """Resolve the voice (the speaking rules), validate the format and options, start the
    synthesis of ``text`` (any length) and wait for its first audio."""
    from .synthesis import AsyncSynthesizer
    from .synthesis.streaming import check_stream_format, open_speech

    if not isinstance(text, str) or not text.strip():
        raise InvalidRequestError("the text is empty", field="text")
    check_text(text)  # before the voice is resolved: nothing is sent for a NUL
    fmt = check_stream_format(format)
    require_concurrency(concurrency, retries)
    chosen, chosen_model = await speakable(client, voice, model)
    chunks = open_speech(
        AsyncSynthesizer.from_settings(client.settings, connector=client.connections()),
        text,
        voice=chosen.voice_id,
        model=chosen_model,
        target_model=chosen.target_model,
        output_format=fmt,
        sample_rate=sample_rate or catalog.default_sample_rate(fmt),
        rate=rate,
        volume=volume,
        pitch=pitch,
        instruction=instruction,
        concurrency=concurrency,
        retries=retries,
    )
    audio = chunks.__aiter__()
    try:
        first = await audio.__anext__()
    except StopAsyncIteration:
        first = b""
    except BaseException:
        await chunks.aclose()
        raise
    return AsyncAudioStream(chunks, first, audio)


class AudioStream:
    """Sync face of :class:`AsyncAudioStream` (``with stream: for chunk in stream``), driven
    on a private event loop in a helper thread."""

    def __init__(self, loop: LoopThread, inner: AsyncAudioStream) -> None:
        self._loop = loop
        self._inner = inner
        self.voice = inner.voice
        self.model = inner.model
        self.format = inner.format
        self.sample_rate = inner.sample_rate
        self.media_type = inner.media_type

    @property
    def request_ids(self) -> list[str]:
        return self._inner.request_ids

    @property
    def characters(self) -> int:
        return self._inner.characters

    def __iter__(self) -> Iterator[bytes]:
        return self._loop.iterate(self._inner)

    def close(self) -> None:
        """Stop: cancel the tasks still running on the service, and the helper thread."""
        if self._loop.running:
            try:
                self._loop.call(self._inner.aclose())
            finally:
                self._loop.stop()

    def __enter__(self) -> AudioStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_stream(
    client: Client,
    text: str,
    *,
    voice: str,
    model: str | None,
    format: str,
    sample_rate: int | None,
    rate: float,
    volume: int,
    pitch: float,
    instruction: str | None,
    concurrency: int,
    retries: int,
) -> AudioStream:
    """:func:`async_open_stream` for sync code, driven on a private loop thread."""
    loop = LoopThread("cosyvoice-stream")
    try:
        inner = loop.call(
            async_open_stream(
                client, text, voice=voice, model=model, format=format, sample_rate=sample_rate,
                rate=rate, volume=volume, pitch=pitch, instruction=instruction,
                concurrency=concurrency, retries=retries,
            )
        )  # fmt: skip
    except BaseException:
        loop.stop()
        raise
    return AudioStream(loop, inner)


def async_open_live(
    client: Client,
    *,
    voice: str,
    model: str | None = None,
    format: str = "pcm",
    sample_rate: int | None = None,
    options: SynthesisOptions | None = None,
    max_message_weight: int = catalog.MAX_CHARS_PER_MESSAGE,
    max_task_weight: int = catalog.MAX_CHARS_PER_TASK,
    idle_timeout: float | None = None,
    **fields: Any,
) -> AsyncLiveSpeech:
    """A live speech session of either client (not open yet; see
    :mod:`cosyvoice_clone.synthesis.live`). Options are checked now (nothing is sent); the voice
    rules when the session opens, before it connects."""
    from .synthesis import AsyncSynthesizer
    from .synthesis.live import IDLE_FINISH_S, AsyncLiveSpeech
    from .synthesis.protocol import SynthesisOptions, check_language_hints
    from .synthesis.streaming import check_instruction

    if not voice:
        raise InvalidRequestError("no voice given", field="voice")
    if options is not None:
        if fields:
            raise InvalidRequestError(
                "pass either options= or separate option fields, not both", field="options"
            )
        opts = options.validate()
    else:
        if isinstance(fields.get("language_hints"), str):
            fields["language_hints"] = (fields["language_hints"],)
        elif fields.get("language_hints") is not None:
            fields["language_hints"] = tuple(fields["language_hints"])
        if sample_rate is None:
            sample_rate = catalog.default_sample_rate(format)
        try:
            opts = SynthesisOptions(format=format, sample_rate=sample_rate, **fields).validate()
        except TypeError as exc:
            raise InvalidRequestError(f"unknown synthesis option: {exc}", field="options") from None

    async def resolve() -> tuple[str, str, str | None]:
        chosen, chosen_model = await speakable(client, voice, model)
        check_language_hints(chosen_model, opts.language_hints)
        check_instruction(chosen_model, opts.instruction)
        return chosen.voice_id, chosen_model, chosen.target_model

    return AsyncLiveSpeech(
        AsyncSynthesizer.from_settings(client.settings, connector=client.connections()),
        resolve,
        options=opts,
        max_message_weight=max_message_weight,
        max_task_weight=max_task_weight,
        idle_timeout=IDLE_FINISH_S if idle_timeout is None else idle_timeout,
    )


live_session = async_open_live


LIVE_STREAM_DEFAULT_FORMAT = "wav"
"""Live audio to a stream without a format: WAV with a streaming header, which every player
reads."""


async def aspeak_live(
    client: Client,
    text: str | IO[bytes],
    *,
    voice: str,
    out: str | Path | None = None,
    to: IO[bytes] | None = None,
    play: bool = False,
    format: str | None = None,
    sample_rate: int | None = None,
    model: str | None = None,
    mkdir: bool = False,
    **fields: Any,
) -> LiveResult:
    """Speak live: ``text`` (a string, or a binary stream read as it arrives, sentence by
    sentence) into a file ``out`` (atomic: nothing under its name unless complete), a binary
    stream ``to`` (each chunk as it is made) and/or the speakers (``play``).

    Everything is checked before anything is sent: an output is needed; ``out``'s format
    comes from its extension unless ``format`` (and must agree); ``to`` defaults to
    :data:`LIVE_STREAM_DEFAULT_FORMAT`; the sample rate defaults to the format's; ``out`` is
    never a registered voice's reference sample and its folder exists (or ``mkdir``).
    """
    from .synthesis.live import speak_live, text_arriving, text_once
    from .synthesis.sinks import AudioSink, FileSink, StreamSink

    if out is None and to is None and not play:
        raise InvalidRequestError(
            "no output", field="out", hint="pass out=FILE, to=STREAM or play=True"
        )
    if out is not None:
        fmt = format_for_path(out, format)
    elif to is not None:
        fmt = (format or LIVE_STREAM_DEFAULT_FORMAT).lower()
        if fmt not in catalog.AUDIO_FORMATS:
            raise InvalidRequestError(
                f"unsupported format {format!r}",
                field="format",
                value=format,
                hint="use one of: " + ", ".join(catalog.AUDIO_FORMATS),
            )
    else:
        fmt = "pcm"
    rate = sample_rate or catalog.default_sample_rate(fmt)
    real = check_output(client, out, mkdir=mkdir) if out is not None else None
    session = async_open_live(
        client, voice=voice, model=model, format="pcm", sample_rate=rate, **fields
    )
    source = text_once(text) if isinstance(text, str) else text_arriving(text)
    sinks: list[AudioSink] = []
    try:
        if play:
            from .play import PlaySink

            sinks.append(PlaySink(rate))
        if to is not None:
            sinks.append(StreamSink(to, fmt, rate))
        if out is not None and real is not None:
            if mkdir:
                make_folder(real)
            sinks.append(FileSink(out, fmt, rate))
        result = await speak_live(session, source, sinks)
        return dataclasses.replace(result, format=fmt)  # what was written (the session: pcm)
    except BaseException:
        for sink in sinks:
            sink.discard()
        raise


"""The earlier name of :func:`async_open_live`."""


def open_live(
    client: Client,
    *,
    voice: str,
    model: str | None = None,
    format: str = "pcm",
    sample_rate: int | None = None,
    options: SynthesisOptions | None = None,
    max_message_weight: int = catalog.MAX_CHARS_PER_MESSAGE,
    max_task_weight: int = catalog.MAX_CHARS_PER_TASK,
    idle_timeout: float | None = None,
    **fields: Any,
) -> LiveSpeech:
    """:func:`async_open_live` for sync code (:class:`~.synthesis.live.LiveSpeech`)."""
    from .synthesis.live import LiveSpeech

    return LiveSpeech(
        async_open_live(
            client, voice=voice, model=model, format=format, sample_rate=sample_rate,
            options=options, max_message_weight=max_message_weight,
            max_task_weight=max_task_weight, idle_timeout=idle_timeout, **fields,
        )
    )  # fmt: skip


def speech_fields(
    format: str | None,
    sample_rate: int | None,
    volume: int | None,
    rate: float | None,
    pitch: float | None,
    seed: int | None,
    instruction: str | None,
    language_hints: Sequence[str] | str | None,
    word_timestamps: bool | None,
    bit_rate: int | None,
    ssml: bool | None,
    markdown_filter: bool | None,
) -> dict[str, Any]:
    """The synthesis option fields given (``None``: the default)."""
    given = {
        "format": format,
        "sample_rate": sample_rate,
        "volume": volume,
        "rate": rate,
        "pitch": pitch,
        "seed": seed,
        "instruction": instruction,
        "language_hints": language_hints,
        "word_timestamps": word_timestamps,
        "bit_rate": bit_rate,
        "ssml": ssml,
        "markdown_filter": markdown_filter,
    }
    return {k: v for k, v in given.items() if v is not None}


def _srt_time(ms: int) -> str:
    hours, rest = divmod(max(0, ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def write_timestamps(
    path: str | Path, result: SpeechResult, *, option: str = "--timestamps", mkdir: bool = False
) -> Path:
    """The word timings of ``result`` as SRT (``.srt``) or JSON (anything else), written
    atomically; returns the file written.

    Speak with ``word_timestamps=True`` to get timings. A symlink is followed (the link is
    kept); the temporary file has a unique name, so concurrent runs never share it.
    """
    import contextlib

    from .audio.outfile import check_target
    from .synthesis.output import partial_path, remove_stale_partials

    words = result.words
    meta = {
        "audio": str(result.path),
        "sample_rate": result.sample_rate,
        "duration": round(result.duration, 3),
    }
    path = check_target(path, option=option, mkdir=mkdir)
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
    return path


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


__all__ = [
    "AsyncAudioStream",
    "AudioStream",
    "aspeak",
    "async_open_live",
    "async_open_stream",
    "check_output",
    "large_text",
    "live_session",
    "make_folder",
    "open_live",
    "open_stream",
    "options_for",
    "read_utf8",
    "speakable",
    "speech_fields",
    "write_timestamps",
]
