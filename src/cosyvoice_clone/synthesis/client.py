"""WebSocket speech synthesis: stream one task, or speak a text of any length into one file.

:class:`AsyncSynthesizer` does the I/O with ``websockets``' asyncio client; :class:`Synthesizer`
is its sync face (a sync stream on ``websockets.sync``, the long-text runner on a private event
loop). Both share the sans-I/O :class:`~.protocol.TaskProtocol`.

Long texts (:meth:`AsyncSynthesizer.speak`): the text is cut at sentence boundaries into parts
(one task each, within 20,000 per message / 200,000 per task, CJK counting 2); up to
``concurrency`` tasks run at once, never more than 3 run-task submissions per second per model;
each part streams into a spool (memory up to 1 MB, then disk) and the parts are appended to the
output in order, so memory does not grow with the audio. A part that fails transiently (dropped
connection, timeout, InternalError, throttling) is retried from its start. The output is written
to a temporary file renamed into place only when everything succeeded.

Every wait has a timeout: connecting (``open_timeout``), task-started (``start_timeout``) and
each event or audio frame (``event_timeout``).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

from .. import catalog
from .._loop import LoopThread as LoopThread
from .._loop import run_sync as run_sync
from .._version import __version__
from ..audio.outfile import check_target
from ..checks import require_concurrency
from ..errors import (
    CosyVoiceCloneError,
    InvalidRequestError,
    OperationTimeoutError,
    TransportError,
    api_error,
)
from ..models import SpeechResult
from ..pacing import SharedBudget, bucket_path
from . import text as textmod
from .output import (
    AudioWriter,
    EncodedWriter,
    RawWriter,
    WavWriter,
    remove_stale_partials,
)
from .protocol import (
    EXTENSIONS_HELP,
    Event,
    SynthesisOptions,
    TaskProtocol,
    Word,
    check_for_model,
    extension_format,
    format_for_path,
    guard_model,
    is_transient,
)

logger = logging.getLogger("cosyvoice_clone.synthesis")

USER_AGENT = f"cosyvoice-clone/{__version__}"
SPOOL_MEMORY_BYTES = 1 << 20
"""A part keeps at most this much audio in memory before spilling to a temporary file."""
COPY_BLOCK_BYTES = 1 << 18

ProgressCallback = Callable[[int, int], None]
"""Called with (characters done, characters in total), weights as the service counts them;
half of each part counts when its audio is received, half when it is written to the file
(possibly from a worker thread)."""

T = TypeVar("T")


# --------------------------------------------------------------------------- pacing


class SubmissionLimiter(SharedBudget):
    """At most ``per_second`` task submissions in any ``window`` seconds (thread-safe).

    ``wait()`` takes a slot when one is free, stamped with the moment the task is really
    submitted; concurrent tasks of one process (and of several event loops) share the budget;
    with a ``path`` (see :func:`submission_limiter`) the processes sharing a home
    share it too. ``margin`` keeps us clear of the service's own one-second window. ``clock``
    (seconds) is injectable so tests can drive time by hand.
    """

    def __init__(
        self,
        per_second: float,
        window: float = 1.0,
        margin: float = 0.1,
        clock: Callable[[], float] | None = None,
        *,
        path: Path | None = None,
    ) -> None:
        super().__init__(
            max(1, int(per_second)),
            window + margin,
            path=path,
            clock=clock or (time.time if path is not None else time.monotonic),
        )


_LIMITERS: dict[tuple[str, str, float, str], SubmissionLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def submission_limiter(
    url: str, model: str, per_second: float | None, home: Path | None = None
) -> SubmissionLimiter | None:
    """The process-wide limiter for ``model`` at ``url`` (``None``: no pacing); with a ``home``,
    shared by every process using it (the limit is the account's)."""
    if per_second is None:
        return None
    path = None
    if home is not None:
        path = bucket_path(home, f"synthesis:{urlsplit(url).hostname or url}:{model}")
    with _LIMITERS_LOCK:
        key = (url, model, per_second, str(path))
        if key not in _LIMITERS:
            _LIMITERS[key] = SubmissionLimiter(per_second, path=path)
        return _LIMITERS[key]


# --------------------------------------------------------------------------- results


SynthesisResult = SpeechResult
"""The 0.1 name of :class:`~cosyvoice_clone.models.SpeechResult`."""


# --------------------------------------------------------------------------- connection


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect."""

    url: str
    api_key: str = field(repr=False)
    workspace: str | None = None
    open_timeout: float = 10.0
    start_timeout: float = 10.0
    event_timeout: float = 60.0
    tasks_per_second: float | None = catalog.SYNTHESIS_TASKS_PER_SECOND_PER_MODEL
    pacing_home: Path | None = None
    """Where the submission budget is shared with other processes (``None``: this one only)."""

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}", "X-DashScope-SDK-Client": USER_AGENT}
        if self.workspace:
            headers["X-DashScope-WorkSpace"] = self.workspace
        return headers

    @property
    def loopback(self) -> bool:
        host = urlsplit(self.url).hostname or ""
        return host in ("127.0.0.1", "localhost", "::1")


def _handshake_error(exc: Exception, endpoint: Endpoint) -> CosyVoiceCloneError:
    """Map a failed WebSocket handshake to our tree (in exactly one place)."""
    from websockets.exceptions import InvalidStatus, InvalidURI

    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        code = message = request_id = None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            body = json.loads(exc.response.body or b"{}")
            code, message = body.get("code"), body.get("message")
            request_id = body.get("request_id")
        return api_error(
            status,
            code,
            message or f"the synthesis endpoint refused the connection (HTTP {status})",
            request_id,
        )
    if isinstance(exc, InvalidURI):
        return InvalidRequestError(f"invalid WebSocket URL {endpoint.url!r}", field="url")
    if isinstance(exc, (asyncio.TimeoutError, builtins.TimeoutError)):
        return OperationTimeoutError(
            f"could not connect to {endpoint.url} within {endpoint.open_timeout:g} s",
            hint="check the network or the endpoint (cosyvoice-clone doctor)",
        )
    return TransportError(
        f"could not connect to {endpoint.url}: {type(exc).__name__}: {exc}",
        hint="check the network or the endpoint (cosyvoice-clone doctor)",
    )


def _closed_error(exc: Exception, task_id: str) -> TransportError:
    from websockets.exceptions import ConnectionClosed

    detail = ""
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        detail = f" (close code {rcvd.code})" if rcvd is not None else " (no close frame)"
    return TransportError(
        f"the connection closed before the synthesis task finished{detail}",
        hint="a network or service failure; try again",
        request_id=task_id,
    )


def _timeout_error(what: str, seconds: float, task_id: str) -> OperationTimeoutError:
    return OperationTimeoutError(
        f"no {what} from the service within {seconds:g} s", request_id=task_id
    )


# --------------------------------------------------------------------------- one task (async)


class AsyncSpeechStream:
    """The audio of one synthesis task, chunk by chunk, as it arrives.

    Use as ``async with synthesizer.stream(text, voice=...) as stream: async for chunk in
    stream``. After iteration: ``words``, ``characters``, ``task_id``, ``time_to_first_audio``.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        protocol: TaskProtocol,
        messages: list[str],
        *,
        limiter: SubmissionLimiter | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.protocol = protocol
        self.messages = messages
        self.limiter = limiter
        self.on_event = on_event
        self.words: list[Word] = []
        self.characters = 0
        self.request_uuid: str | None = None
        self.time_to_first_audio: float | None = None
        self._conn: Any = None
        self._started_at = time.monotonic()
        self._done = False

    @property
    def task_id(self) -> str:
        """The task id (the request id to quote to support)."""
        return self.protocol.task_id

    async def __aenter__(self) -> AsyncSpeechStream:
        await self._connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _connect(self) -> None:
        from websockets.asyncio.client import connect

        if self._conn is not None:
            return
        self._started_at = time.monotonic()
        try:
            self._conn = await connect(
                self.endpoint.url,
                additional_headers=self.endpoint.headers(),
                user_agent_header=USER_AGENT,
                open_timeout=self.endpoint.open_timeout,
                close_timeout=2,
                max_size=None,
                compression=None,
                proxy=None if self.endpoint.loopback else True,
            )
        except Exception as exc:
            raise _handshake_error(exc, self.endpoint) from None

    async def aclose(self) -> None:
        """Close the connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _recv(self, timeout: float, what: str) -> str | bytes:
        from websockets.exceptions import ConnectionClosed

        try:
            frame: str | bytes = await asyncio.wait_for(self._conn.recv(), timeout)
        except asyncio.TimeoutError:
            raise _timeout_error(what, timeout, self.task_id) from None
        except ConnectionClosed as exc:
            raise _closed_error(exc, self.task_id) from None
        return frame

    async def _send(self, message: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._conn.send(message)
        except ConnectionClosed as exc:
            raise _closed_error(exc, self.task_id) from None

    def _note(self, event: Event) -> None:
        if event.kind == "sentence-end":
            self.words.extend(event.words)
            if event.characters is not None:
                self.characters = event.characters
        elif event.kind == "finished":
            if event.characters is not None:
                self.characters = event.characters
            self.request_uuid = event.request_uuid
        if self.on_event is not None:
            self.on_event(event)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await self.start()
        for message in self.messages:
            await self.send_text(message)
        await self.end_input()
        async for chunk in self.receive():
            yield chunk

    async def start(self) -> None:
        """Connect, submit run-task (paced) and wait for task-started."""
        await self._connect()
        proto = self.protocol
        if self.limiter is not None:
            await self.limiter.wait()
        await self._send(proto.run_task())
        while not proto.started:
            frame = await self._recv(self.endpoint.start_timeout, "task-started")
            if isinstance(frame, str):
                proto.handle(frame)

    async def send_text(self, text: str) -> None:
        """One continue-task with ``text`` (after :meth:`start`; live input)."""
        await self._send(self.protocol.continue_task(text))

    async def flush(self) -> None:
        """Ask the service to speak the text it holds now, sentence end or not."""
        await self._send(self.protocol.flush_task())

    async def end_input(self, *, cancel: bool = False) -> None:
        """finish-task: no more text; the service speaks what it has, then task-finished
        (``cancel``: with the cancel directive, nothing more is spoken)."""
        await self._send(self.protocol.finish_task(cancel=cancel))

    async def receive(self, patient: Callable[[], bool] | None = None) -> AsyncIterator[bytes]:
        """The task's audio until task-finished (after :meth:`start`).

        ``patient()`` true at a timeout keeps waiting (live input: the service is silent while
        it waits for text).
        """
        proto = self.protocol
        while True:
            try:
                frame = await self._recv(self.endpoint.event_timeout, "audio or event")
            except OperationTimeoutError:
                if patient is not None and patient():
                    continue
                raise
            if isinstance(frame, bytes):
                if self.time_to_first_audio is None:
                    self.time_to_first_audio = time.monotonic() - self._started_at
                yield frame
                continue
            event = proto.handle(frame)
            if event is None:
                continue
            self._note(event)
            if event.kind == "finished":
                self._done = True
                return

    async def cancel(self, timeout: float = 10.0) -> bool:
        """Stop the task: the service answers task-finished at once and sends no more audio.

        Returns whether the service confirmed (the connection is closed either way).
        """
        if self._conn is None or self._done:
            return self._done
        confirmed = False
        with contextlib.suppress(CosyVoiceCloneError):
            await self._send(self.protocol.finish_task(cancel=True))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                frame = await self._recv(max(0.01, deadline - time.monotonic()), "task-finished")
                if isinstance(frame, str):
                    event = self.protocol.handle(frame)
                    if event is not None and event.kind == "finished":
                        confirmed = True
                        break
        self._done = True
        await self.aclose()
        return confirmed


# --------------------------------------------------------------------------- one task (sync)


class SpeechStream:
    """Sync face of :class:`AsyncSpeechStream` (``with ... as s: for chunk in s``).

    It drives the async stream on a private event loop in a helper thread, so the protocol
    exchange exists once.
    """

    def __init__(self, inner: AsyncSpeechStream) -> None:
        self._inner = inner
        self._loop = LoopThread("cosyvoice-stream")
        self._chunks: AsyncIterator[bytes] | None = None

    def _call(self, coro: Any) -> Any:
        return self._loop.call(coro)

    @property
    def task_id(self) -> str:
        """The task id (the request id to quote to support)."""
        return self._inner.task_id

    @property
    def words(self) -> list[Word]:
        """Word timings received so far (with ``word_timestamps``)."""
        return self._inner.words

    @property
    def characters(self) -> int:
        """Characters billed, as the service counted them."""
        return self._inner.characters

    @property
    def request_uuid(self) -> str | None:
        """The service's request id, once the task finished."""
        return self._inner.request_uuid

    @property
    def time_to_first_audio(self) -> float | None:
        """Seconds from connecting to the first audio frame."""
        return self._inner.time_to_first_audio

    def __enter__(self) -> SpeechStream:
        self._call(self._inner._connect())
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        self._chunks = self._inner.__aiter__()
        while True:
            try:
                chunk: bytes = self._call(self._chunks.__anext__())
            except StopAsyncIteration:
                return
            yield chunk

    def cancel(self, timeout: float = 10.0) -> bool:
        """Stop the task (finish-task with the cancel directive) and close.

        Returns whether the service confirmed with task-finished.
        """
        confirmed: bool = self._call(self._inner.cancel(timeout))
        self.close()
        return confirmed

    def close(self) -> None:
        """Close the connection and the helper loop."""
        if not self._loop.running:
            return
        chunks, self._chunks = self._chunks, None

        async def shutdown() -> None:
            if chunks is not None:
                with contextlib.suppress(Exception):
                    await chunks.aclose()  # type: ignore[attr-defined]
            await self._inner.aclose()

        with contextlib.suppress(Exception):
            self._loop.call(shutdown())
        self._loop.stop()


# --------------------------------------------------------------------------- long texts


class _Part:
    """One task of a long text and where its audio goes while it waits for its turn."""

    def __init__(self, index: int, text: str, ssml: bool = False) -> None:
        self.index = index
        self.text = text
        self.weight = catalog.text_weight(text)
        self.messages = textmod.split_messages(text, ssml=ssml)
        self.spool: IO[bytes] | None = None
        self.pcm_bytes = 0
        self.words: list[Word] = []
        self.task_id = ""
        self.characters = 0
        self.progress = 0
        self.first_audio: float | None = None
        self.attempts = 0
        self.done: asyncio.Future[None] | None = None

    def new_spool(self, directory: Path) -> IO[bytes]:
        self.close_spool()
        self.spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed in close_spool
            max_size=SPOOL_MEMORY_BYTES, mode="w+b", dir=str(directory)
        )
        self.pcm_bytes = 0
        self.words = []
        return self.spool

    def close_spool(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None


class _Progress:
    """Characters done: half for the audio received, half for the audio written to the file.

    A long text's parts arrive out of order and are written (for mp3/opus: encoded) in order,
    and encoding can be slower than receiving: counting only what was received would show
    100% while the file is still being written. When one task streams straight into the file,
    received is written.
    """

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total = total
        self.callback = callback
        self.received: dict[int, float] = {}
        self.written: dict[int, float] = {}
        self.reported = 0
        self.direct = False
        """Audio goes straight to the file (one task): written follows received."""
        self.lock = threading.Lock()

    def set(self, index: int, done: int) -> None:
        """Characters of part ``index`` received so far."""
        self._update(self.received, index, done, also_written=self.direct)

    def wrote(self, index: int, done: float) -> None:
        """Characters of part ``index`` written to the file so far."""
        self._update(self.written, index, done)

    def _update(
        self, table: dict[int, float], index: int, done: float, also_written: bool = False
    ) -> None:
        with self.lock:  # callbacks in order, never going back (a retried part may)
            table[index] = done
            if also_written:
                self.written[index] = done
            value = (sum(self.received.values()) + sum(self.written.values())) / 2
            self.reported = max(self.reported, min(self.total, int(value + 1e-6)))
            if self.callback is not None:
                self.callback(self.reported, self.total)


def _writer_for(path: Path, fmt: str, sample_rate: int, *, single: bool) -> AudioWriter:
    if single:
        return RawWriter(path, fix_wav=(fmt == "wav"))
    if fmt == "wav":
        return WavWriter(path, sample_rate)
    if fmt == "pcm":
        return RawWriter(path)
    return EncodedWriter(path, fmt, sample_rate)


def _backoff(attempt: int, error: Exception) -> float:
    throttled = getattr(error, "api_code", None) in ("Throttling", "Throttling.RateQuota")
    base = 1.0 if throttled else 0.3
    return float(min(8.0, base * (2**attempt)))


def _copy_spool(
    spool: IO[bytes], writer: AudioWriter, on_block: Callable[[int], None] | None = None
) -> None:
    # Under the writer's lock: a discard from the event loop waits for the copy to end.
    with writer.lock:
        if writer.closed or spool.closed:
            return
        spool.seek(0)
        copied = 0
        while True:
            block = spool.read(COPY_BLOCK_BYTES)
            if not block:
                return
            writer.write(block)
            copied += len(block)
            if on_block is not None:
                on_block(copied)


def _duration_of(path: Path, fmt: str, sample_rate: int, pcm_bytes: int) -> float:
    if fmt in ("wav", "pcm") or pcm_bytes:
        return pcm_bytes / 2 / sample_rate
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # the file is valid by construction; a decoder hiccup is not fatal
        return 0.0
    return float(info.frames) / float(info.samplerate)


class AsyncSynthesizer:
    """Speech synthesis over the DashScope WebSocket (asyncio).

    ``AsyncSynthesizer(api_key=..., websocket_url=...)`` or ``AsyncSynthesizer.from_settings(s)``.
    """

    def __init__(
        self,
        *,
        api_key: str,
        websocket_url: str,
        workspace: str | None = None,
        open_timeout: float = 10.0,
        start_timeout: float = 10.0,
        event_timeout: float = 60.0,
        tasks_per_second: float | None = catalog.SYNTHESIS_TASKS_PER_SECOND_PER_MODEL,
        pacing_home: Path | None = None,
    ) -> None:
        self.endpoint = Endpoint(
            url=websocket_url,
            api_key=api_key,
            workspace=workspace,
            open_timeout=open_timeout,
            start_timeout=start_timeout,
            event_timeout=event_timeout,
            tasks_per_second=tasks_per_second,
            pacing_home=pacing_home,
        )

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> AsyncSynthesizer:
        """From resolved :class:`~cosyvoice_clone.config.Settings` (requires a key)."""
        kwargs.setdefault("pacing_home", settings.home)  # the account's limit, shared by processes
        return cls(
            api_key=settings.require_key(),
            websocket_url=settings.websocket_url,
            workspace=settings.workspace,
            **kwargs,
        )

    def _prepare(
        self, text: str, voice: str, model: str | None, target_model: str | None,
        options: SynthesisOptions,
    ) -> str:  # fmt: skip
        options.validate()
        if not voice:
            raise InvalidRequestError("no voice given", field="voice")
        if not text or not text.strip():
            raise InvalidRequestError("there is no text to speak", field="text")
        chosen = guard_model(voice, model, target_model=target_model)
        check_for_model(chosen, text, options)
        return chosen

    def stream(
        self,
        text: str,
        *,
        voice: str,
        model: str | None = None,
        target_model: str | None = None,
        options: SynthesisOptions | None = None,
    ) -> AsyncSpeechStream:
        """Stream one task (text up to 200,000 characters, as the service counts them)."""
        options = options or SynthesisOptions()
        model = self._prepare(text, voice, model, target_model, options)
        if catalog.text_weight(text) > catalog.MAX_CHARS_PER_TASK:
            raise InvalidRequestError(
                f"the text is longer than one task allows ({catalog.MAX_CHARS_PER_TASK} "
                "characters, CJK counting 2)",
                field="text",
                hint="use speak(), which splits long texts",
            )
        protocol = TaskProtocol(model=model, voice=voice, options=options)
        return AsyncSpeechStream(
            self.endpoint,
            protocol,
            textmod.split_messages(text, ssml=options.ssml),
            limiter=submission_limiter(
                self.endpoint.url, model, self.endpoint.tasks_per_second, self.endpoint.pacing_home
            ),
        )

    async def synthesize(
        self,
        text: str,
        *,
        voice: str,
        model: str | None = None,
        target_model: str | None = None,
        options: SynthesisOptions | None = None,
    ) -> bytes:
        """The whole audio of a short text, in memory (the server's container as is)."""
        chunks: list[bytes] = []
        async with self.stream(
            text, voice=voice, model=model, target_model=target_model, options=options
        ) as stream:
            async for chunk in stream:
                chunks.append(chunk)
        return b"".join(chunks)

    async def speak(
        self,
        text: str,
        out: str | Path,
        *,
        voice: str,
        model: str | None = None,
        target_model: str | None = None,
        options: SynthesisOptions | None = None,
        concurrency: int = 4,
        retries: int = 3,
        part_weight: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> SpeechResult:
        """Speak ``text`` of any length into the file ``out`` (one valid file, or none).

        Without ``options`` the format follows the extension of ``out`` (an unknown one is
        refused); with them, a known extension must agree with ``options.format``. ``out`` must
        be a new or regular file (see :func:`~.output.check_target`).
        """
        if options is None:
            fmt = format_for_path(out)
            options = SynthesisOptions(
                format=fmt,
                sample_rate=24000 if fmt == "opus" else catalog.DEFAULT_SAMPLE_RATE,
            )
        model = self._prepare(text, voice, model, target_model, options)
        require_concurrency(concurrency, retries)
        if retries < 0:
            raise InvalidRequestError("retries must be >= 0", field="retries")
        out_path = Path(out)
        implied = extension_format(out_path)
        if implied is not None and implied != options.format:
            raise InvalidRequestError(
                f"{out_path.name} names a {implied} file but the format is {options.format}",
                field="format",
                hint=f"name the output for the format ({EXTENSIONS_HELP})",
            )
        check_target(out_path, mkdir=True)  # the low-level writer makes folders
        total = catalog.text_weight(text)
        weight = part_weight or textmod.part_weight_for(total, concurrency)
        pieces = textmod.split_text(text, weight, ssml=options.ssml)
        parts = [_Part(i, t, options.ssml) for i, t in enumerate(pieces)]
        run = _LongRun(
            self.endpoint, model, voice, options, parts, out_path,
            concurrency=concurrency, retries=retries,
            progress=_Progress(sum(p.weight for p in parts), on_progress),
        )  # fmt: skip
        return await run.run()


class _LongRun:
    """Runs the parts of one text and assembles them into one file."""

    def __init__(
        self,
        endpoint: Endpoint,
        model: str,
        voice: str,
        options: SynthesisOptions,
        parts: list[_Part],
        out: Path,
        *,
        concurrency: int,
        retries: int,
        progress: _Progress,
    ) -> None:
        self.endpoint = endpoint
        self.model = model
        self.voice = voice
        self.options = options
        self.parts = parts
        self.out = out
        self.concurrency = concurrency
        self.retries = retries
        self.progress = progress
        self.single = len(parts) == 1
        self.progress.direct = self.single
        self.wire_format = options.format if self.single else "pcm"
        self.limiter = submission_limiter(
            endpoint.url, model, endpoint.tasks_per_second, endpoint.pacing_home
        )
        self.started_at = time.monotonic()
        self.retried = 0

    def _stream(self, part: _Part) -> AsyncSpeechStream:
        protocol = TaskProtocol(
            model=self.model, voice=self.voice, options=self.options, wire_format=self.wire_format
        )
        part.task_id = protocol.task_id

        def on_event(event: Event) -> None:
            if event.kind == "sentence-end":
                part.progress += catalog.text_weight(event.text)
                self.progress.set(part.index, min(part.weight, part.progress))

        return AsyncSpeechStream(
            self.endpoint, protocol, part.messages, limiter=self.limiter, on_event=on_event
        )

    async def _attempt(self, part: _Part, sink: Callable[[bytes], None]) -> None:
        part.attempts += 1
        part.progress = 0
        self.progress.set(part.index, 0)
        async with self._stream(part) as stream:
            async for chunk in stream:
                if part.first_audio is None:
                    part.first_audio = time.monotonic()
                sink(chunk)
            part.words = list(stream.words)
            part.characters = stream.characters or part.weight
        self.progress.set(part.index, part.weight)

    async def _with_retries(self, part: _Part, begin: Callable[[], Callable[[bytes], None]],
                            undo: Callable[[], None]) -> None:  # fmt: skip
        for attempt in range(self.retries + 1):
            sink = begin()
            try:
                await self._attempt(part, sink)
                return
            except CosyVoiceCloneError as error:
                undo()
                if not is_transient(error) or attempt == self.retries:
                    raise
                self.retried += 1
                delay = _backoff(attempt, error)
                logger.info("part %d failed (%s); retrying in %.1f s", part.index, error, delay)
                await asyncio.sleep(delay)

    async def run(self) -> SpeechResult:
        fmt, sr = self.options.format, self.options.sample_rate
        real = check_target(self.out, mkdir=True)
        try:
            remove_stale_partials(real)
            writer = _writer_for(real, fmt, sr, single=self.single)
        except OSError as exc:
            raise InvalidRequestError(
                f"cannot write {self.out}: {exc.strerror or exc}", field="out"
            ) from None
        try:
            if self.single:
                await self._run_single(writer)
            else:
                await self._run_many(writer)
            await asyncio.to_thread(writer.commit)
        except BaseException as exc:
            writer.discard()
            for part in self.parts:
                part.close_spool()
            if isinstance(exc, OSError):
                raise CosyVoiceCloneError(
                    f"writing {self.out} failed: {exc.strerror or exc}",
                    hint="check the free space and permissions of the output directory",
                ) from None
            raise
        path = self.out
        pcm_bytes = path.stat().st_size if fmt == "pcm" else writer.pcm_bytes
        firsts = [p.first_audio for p in self.parts if p.first_audio is not None]
        words: list[Word] = []
        for part in self.parts:
            words.extend(part.words)
        return SpeechResult(
            path=path,
            format=fmt,
            sample_rate=sr,
            duration=_duration_of(path, fmt, sr, pcm_bytes),
            characters=sum(p.characters for p in self.parts),
            parts=len(self.parts),
            request_ids=tuple(p.task_id for p in self.parts),
            time_to_first_audio=(min(firsts) - self.started_at) if firsts else None,
            bytes=path.stat().st_size,
            words=tuple(words),
            retries=self.retried,
            model=self.model,
            voice=self.voice,
            text_characters=sum(p.weight for p in self.parts),
        )

    async def _run_single(self, writer: AudioWriter) -> None:
        part = self.parts[0]
        mark = writer.mark()

        def begin() -> Callable[[bytes], None]:
            return writer.write

        def undo() -> None:
            writer.rewind(mark)

        await self._with_retries(part, begin, undo)

    async def _run_many(self, writer: AudioWriter) -> None:
        loop = asyncio.get_running_loop()
        failure: asyncio.Future[None] = loop.create_future()  # the first part that gave up
        running = asyncio.Semaphore(self.concurrency)
        ahead = asyncio.Semaphore(self.concurrency * 2)  # bounded reorder buffer
        directory = self.out.parent
        for part in self.parts:
            part.done = loop.create_future()

        async def run_part(part: _Part) -> None:
            assert part.done is not None
            try:

                def begin() -> Callable[[bytes], None]:
                    spool = part.new_spool(directory)

                    def sink(chunk: bytes) -> None:
                        spool.write(chunk)
                        part.pcm_bytes += len(chunk)

                    return sink

                await self._with_retries(part, begin, part.close_spool)
                if not part.done.done():
                    part.done.set_result(None)
            except asyncio.CancelledError:
                # A cancelled future is never reported as "exception never retrieved".
                if not part.done.done():
                    part.done.cancel()
                raise
            except Exception as exc:
                if not part.done.done():
                    part.done.set_exception(exc)
                if not failure.done():
                    failure.set_exception(exc)
            finally:
                running.release()

        tasks: list[asyncio.Task[None]] = []

        async def launch() -> None:
            for part in self.parts:
                await ahead.acquire()
                await running.acquire()
                tasks.append(asyncio.create_task(run_part(part)))

        launcher = asyncio.create_task(launch())
        try:
            for part in self.parts:
                assert part.done is not None
                # Wait for this part, unless a later one has already failed for good.
                await asyncio.wait({part.done, failure}, return_when=asyncio.FIRST_COMPLETED)
                if not part.done.done():
                    await failure  # raises the failure
                await part.done
                offset_ms = writer.pcm_bytes / 2 / self.options.sample_rate * 1000
                for word in part.words:
                    word.begin_ms += round(offset_ms)
                    word.end_ms += round(offset_ms)
                spool = part.spool
                assert spool is not None

                def on_block(copied: int, part: _Part = part) -> None:
                    share = copied / part.pcm_bytes if part.pcm_bytes else 1.0
                    self.progress.wrote(part.index, part.weight * min(1.0, share))

                await asyncio.to_thread(_copy_spool, spool, writer, on_block)
                self.progress.wrote(part.index, part.weight)
                part.close_spool()
                ahead.release()
        finally:
            launcher.cancel()
            for task in tasks:
                task.cancel()
            try:
                # Waits for every part to end (connections closed), even if cancelled again.
                await asyncio.gather(launcher, *tasks, return_exceptions=True)
            finally:
                for future in [failure, *(p.done for p in self.parts if p.done is not None)]:
                    if future.done() and not future.cancelled():
                        future.exception()  # mark retrieved
                    elif not future.done():
                        future.cancel()


# --------------------------------------------------------------------------- sync face


class Synthesizer:
    """Sync speech synthesis: the same methods as :class:`AsyncSynthesizer`."""

    def __init__(
        self,
        *,
        api_key: str,
        websocket_url: str,
        workspace: str | None = None,
        open_timeout: float = 10.0,
        start_timeout: float = 10.0,
        event_timeout: float = 60.0,
        tasks_per_second: float | None = catalog.SYNTHESIS_TASKS_PER_SECOND_PER_MODEL,
        pacing_home: Path | None = None,
    ) -> None:
        self._async = AsyncSynthesizer(
            api_key=api_key,
            websocket_url=websocket_url,
            workspace=workspace,
            open_timeout=open_timeout,
            start_timeout=start_timeout,
            event_timeout=event_timeout,
            tasks_per_second=tasks_per_second,
            pacing_home=pacing_home,
        )
        self.endpoint = self._async.endpoint

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> Synthesizer:
        """From resolved :class:`~cosyvoice_clone.config.Settings` (requires a key)."""
        kwargs.setdefault("pacing_home", settings.home)  # the account's limit, shared by processes
        return cls(
            api_key=settings.require_key(),
            websocket_url=settings.websocket_url,
            workspace=settings.workspace,
            **kwargs,
        )

    def stream(
        self,
        text: str,
        *,
        voice: str,
        model: str | None = None,
        target_model: str | None = None,
        options: SynthesisOptions | None = None,
    ) -> SpeechStream:
        """Stream one task: ``with synth.stream(text, voice=v) as s: for chunk in s: ...``."""
        return SpeechStream(
            self._async.stream(
                text, voice=voice, model=model, target_model=target_model, options=options
            )
        )

    def synthesize(
        self,
        text: str,
        *,
        voice: str,
        model: str | None = None,
        target_model: str | None = None,
        options: SynthesisOptions | None = None,
    ) -> bytes:
        """The whole audio of a short text, in memory."""
        with self.stream(
            text, voice=voice, model=model, target_model=target_model, options=options
        ) as stream:
            return b"".join(stream)

    def speak(
        self,
        text: str,
        out: str | Path,
        *,
        voice: str,
        model: str | None = None,
        target_model: str | None = None,
        options: SynthesisOptions | None = None,
        concurrency: int = 4,
        retries: int = 3,
        part_weight: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> SpeechResult:
        """Speak ``text`` of any length into the file ``out`` (see the async method)."""
        result: SpeechResult = run_sync(
            lambda: self._async.speak(
                text,
                out,
                voice=voice,
                model=model,
                target_model=target_model,
                options=options,
                concurrency=concurrency,
                retries=retries,
                part_weight=part_weight,
                on_progress=on_progress,
            )
        )
        return result
