"""WebSocket speech synthesis faces: stream one task, or speak a text of any length into a file.

:class:`AsyncSynthesizer` is the async face over the engine (:mod:`.stream` one task,
:mod:`.files` "speak to a file" over :mod:`.parts`); :class:`Synthesizer` is its sync face (the
stream and the long-text runner on a private event loop). The names that lived here before the
engine was split (``AsyncSpeechStream``, ``Endpoint``, ``SubmissionLimiter``, ``LoopThread``,
``run_sync``, ...) are re-exported from their new modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .. import catalog
from .._loop import LoopThread, run_sync
from ..audio.outfile import check_target
from ..checks import require_concurrency
from ..errors import InvalidRequestError
from ..models import SpeechResult
from . import text as textmod
from .connect import USER_AGENT, Connector, Endpoint, SubmissionLimiter, submission_limiter
from .files import speak_to_file
from .parts import COPY_BLOCK_BYTES, SPOOL_MEMORY_BYTES, ProgressCallback, make_parts
from .protocol import (
    EXTENSIONS_HELP,
    SynthesisOptions,
    TaskProtocol,
    check_for_model,
    extension_format,
    format_for_path,
    guard_model,
)
from .stream import AsyncSpeechStream, SpeechStream

if TYPE_CHECKING:
    from ..config import Settings

SynthesisResult = SpeechResult
"""The 0.1 name of :class:`~cosyvoice_clone.models.SpeechResult`."""


_C = TypeVar("_C", bound="_Connected")


class _Connected:
    """What both faces hold: the :class:`~.connect.Endpoint` (where and how to connect)."""

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
        connector: Connector | None = None,
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
            connector=connector,
        )

    @classmethod
    def from_settings(
        cls: type[_C],
        settings: Settings,
        *,
        open_timeout: float = 10.0,
        start_timeout: float = 10.0,
        event_timeout: float = 60.0,
        tasks_per_second: float | None = catalog.SYNTHESIS_TASKS_PER_SECOND_PER_MODEL,
        pacing_home: Path | None = None,
        connector: Connector | None = None,
    ) -> _C:
        """From resolved :class:`~cosyvoice_clone.config.Settings` (requires a key); the
        submission budget is shared through its home (the limit is the account's);
        ``connector``: where tasks get connections (a client's pool; default: one each)."""
        return cls(
            api_key=settings.require_key(),
            websocket_url=settings.websocket_url,
            workspace=settings.workspace,
            open_timeout=open_timeout,
            start_timeout=start_timeout,
            event_timeout=event_timeout,
            tasks_per_second=tasks_per_second,
            pacing_home=pacing_home if pacing_home is not None else settings.home,
            connector=connector,
        )


class AsyncSynthesizer(_Connected):
    """Speech synthesis over the DashScope WebSocket (asyncio).

    ``AsyncSynthesizer(api_key=..., websocket_url=...)`` or ``AsyncSynthesizer.from_settings(s)``.
    """

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
            limiter=self.endpoint.limiter(model),
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
                sample_rate=catalog.default_sample_rate(fmt),
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
        return await speak_to_file(
            self.endpoint, make_parts(text, concurrency, part_weight, options.ssml), out_path,
            model=model, voice=voice, options=options, concurrency=concurrency, retries=retries,
            on_progress=on_progress,
        )  # fmt: skip


# --------------------------------------------------------------------------- sync face


class Synthesizer(_Connected):
    """Sync speech synthesis: the same methods as :class:`AsyncSynthesizer`."""

    @property
    def _async(self) -> AsyncSynthesizer:
        """The async face over the same endpoint (it holds nothing else)."""
        inner = AsyncSynthesizer.__new__(AsyncSynthesizer)
        inner.endpoint = self.endpoint
        return inner

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


__all__ = [
    "COPY_BLOCK_BYTES",
    "SPOOL_MEMORY_BYTES",
    "USER_AGENT",
    "AsyncSpeechStream",
    "AsyncSynthesizer",
    "Endpoint",
    "LoopThread",
    "ProgressCallback",
    "SpeechStream",
    "SubmissionLimiter",
    "SynthesisResult",
    "Synthesizer",
    "run_sync",
    "submission_limiter",
]
