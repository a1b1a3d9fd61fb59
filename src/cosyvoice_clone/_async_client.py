"""A face of the library: every method a few lines over the operations (:mod:`.cloning`,
:mod:`.voices`, :mod:`.speech`) on the client's own :class:`~.session.Session`.

``_async_client.py`` is written by hand; ``_sync_client.py`` is generated from it by
``scripts/unasync.py`` (its token substitutions are all that differ between the two faces).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

from . import catalog
from ._loop import AsyncKeyLocks, in_thread, run_async
from .batch import aspeak_many
from .catalog import SystemVoice
from .checks import check_client_arguments, require_timeout
from .cloning import (
    clone_flow,
    design_fields,
    design_flow,
    plan_clone,
    plan_design,
    plan_update,
    preview_target,
    update_flow,
    write_preview,
)
from .config import Settings
from .enrollment import EnrollmentStats, StatusCallback
from .errors import InvalidRequestError
from .http import NOT_GIVEN, AsyncHttpClient, HttpStats, NotGiven, RetryCallback, RetryPolicy
from .models import (
    BatchItem,
    BatchReport,
    CloneResult,
    DeleteReport,
    DesignResult,
    LiveResult,
    PingResult,
    SpeakingVoice,
    SpeechResult,
    SyncReport,
    Voice,
    VoiceStatus,
    parse_status,
)
from .registry import Registry
from .session import Session, http_settings
from .speech import aspeak, aspeak_live, async_open_live, async_open_stream, speech_fields
from .synthesis.connect import SYNTHESIS_CONNECTION_RENEW_S, ConnectionStats
from .voices import (
    delete_flow,
    delete_many_flow,
    list_flow,
    prune_plan_flow,
    resolve,
    show_flow,
    speakable_flow,
    sync_flow,
    system_voices,
)

if TYPE_CHECKING:
    from .audio import CheckReport, FixResult
    from .speech import AsyncAudioStream
    from .synthesis.live import AsyncLiveSpeech
    from .synthesis.protocol import SynthesisOptions


class AsyncCosyVoice:
    """Asynchronous client: clone voices, manage them, wait for them, speak."""

    def __init__(
        self,
        *,
        region: str | None = None,
        api_key: str | None = None,
        home: Path | str | None = None,
        output_dir: Path | str | None = None,
        http_base: str | None = None,
        websocket_url: str | None = None,
        workspace: str | None = None,
        settings: Settings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        rate_limit: float | NotGiven | None = NOT_GIVEN,
        timeout: httpx.Timeout | float | None = None,
        on_retry: RetryCallback | None = None,
        evidence: bool = False,
        max_connections: int = 20,
        warm: int = 0,
        renew_connections_after: float = SYNTHESIS_CONNECTION_RENEW_S,
    ) -> None:
        check_client_arguments(
            transport=transport, max_connections=max_connections, on_retry=on_retry
        )
        if isinstance(warm, bool) or not isinstance(warm, int) or warm < 0:
            raise InvalidRequestError(f"warm must be an integer >= 0, not {warm!r}", field="warm")
        if (
            isinstance(renew_connections_after, bool)
            or not isinstance(renew_connections_after, (int, float))
            or not renew_connections_after > 0
        ):
            raise InvalidRequestError(
                f"renew_connections_after must be a number of seconds > 0, not "
                f"{renew_connections_after!r}",
                field="renew_connections_after",
            )
        self._session = Session(
            region=region,
            api_key=api_key,
            home=home,
            output_dir=output_dir,
            http_base=http_base,
            websocket_url=websocket_url,
            workspace=workspace,
            settings=settings,
            evidence=evidence,
        )
        self._http = AsyncHttpClient(
            self._session.settings.http_base,
            self._session.api_key,
            transport=transport,
            max_connections=max_connections,
            **http_settings(self._session.settings, retry, rate_limit, timeout),
        )
        self._http.on_retry = on_retry
        self._session.http = self._http
        self.voices = AsyncVoices(self._session, self._http)
        self._locks = AsyncKeyLocks()
        self._session.warm_connections = warm
        self._session.renew_connections_after = float(renew_connections_after)
        self._session.start_warming()

    @property
    def settings(self) -> Settings:
        """The resolved settings (region, endpoints, home, output dir)."""
        return self._session.settings

    @property
    def region(self) -> str:
        return self._session.region

    @property
    def endpoint(self) -> str:
        """The endpoint id the registry files voices under."""
        return self._session.endpoint

    @property
    def registry(self) -> Registry:
        """The voice registry in the home dir (opened on first use)."""
        return self._session.registry

    @property
    def http_stats(self) -> HttpStats:
        """Requests, retries and failures of this client so far."""
        return self._http.stats

    @property
    def enrollment_stats(self) -> EnrollmentStats:
        """Create requests, reconciliations and adoptions of this client so far."""
        return self._session.enrollment.stats

    async def clone(
        self,
        *,
        prefix: str,
        sample: str | Path,
        target_model: str | None = None,
        language_hints: list[str] | str | None = None,
        max_prompt_audio_length: float | None = None,
        enable_preprocess: bool | None = None,
        wait: bool = False,
        timeout: float = catalog.DEFAULT_WAIT_TIMEOUT,
        force: bool = False,
        skip_check: bool = False,
        on_status: StatusCallback | None = None,
        sample_transport: str | None = None,
    ) -> CloneResult:
        """Clone a voice from a local file or a URL (see the module docstring)."""
        plan_args: dict[str, Any] = {
            "prefix": prefix,
            "sample": sample,
            "target_model": target_model,
            "language_hints": language_hints,
            "max_prompt_audio_length": max_prompt_audio_length,
            "enable_preprocess": enable_preprocess,
            "force": force,
            "skip_check": skip_check,
            "sample_transport": sample_transport,
        }
        require_timeout(timeout)  # checked even without wait: a bad value is a mistake
        plan = await in_thread(lambda: plan_clone(self._session, **plan_args))
        async with self._locks.lock(plan.key):
            if not force:  # another task may have cloned it meanwhile
                found = await in_thread(self._session.registry.find_reusable, plan.key)
                plan = replace(plan, reusable=found)
            return await self._http.run(
                clone_flow(self._session, plan, wait=wait, timeout=timeout, on_status=on_status)
            )

    async def design(
        self,
        *,
        prefix: str,
        prompt: str,
        preview_text: str | None = None,
        target_model: str | None = None,
        language: str | None = None,
        sample_rate: int | None = None,
        response_format: str | None = None,
        wait: bool = False,
        timeout: float = catalog.DEFAULT_WAIT_TIMEOUT,
        force: bool = False,
        on_status: StatusCallback | None = None,
        preview_out: str | Path | None = None,
        mkdir: bool = False,
    ) -> DesignResult:
        """Design a voice from a text description (voice design); returns it with its preview.

        Validated first (nothing is sent for bad input: prompt <= 500 and preview text <= 200
        characters, Chinese or English; v3.5-plus/-flash, v3-plus/-flash; cn-beijing only). An
        identical earlier design is returned again (``force=True`` makes a new one); an
        ambiguous failure is reconciled, never duplicated. ``preview_out``: also write the
        preview there (proven writable before a slot is spent; its extension picks the
        preview format unless ``response_format`` is given).
        """
        target, response_format = await in_thread(
            preview_target, self._session, preview_out, response_format, mkdir
        )
        fields = design_fields(
            prefix, prompt, preview_text, target_model, language, sample_rate, response_format
        )
        plan = await in_thread(lambda: plan_design(self._session, force=force, **fields))
        async with self._locks.lock(plan.key):
            if not force:
                found = await in_thread(self._session.registry.find_reusable, plan.key)
                plan = replace(plan, reusable=found)
            result = await self._http.run(
                design_flow(self._session, plan, wait=wait, timeout=timeout, on_status=on_status)
            )
        return await in_thread(write_preview, result, target, mkdir)

    async def wait(
        self,
        voice_id: str,
        *,
        timeout: float = catalog.DEFAULT_WAIT_TIMEOUT,
        on_status: StatusCallback | None = None,
    ) -> VoiceStatus | None:
        """Wait until a voice is OK; returns its status (raises on UNDEPLOYED or timeout)."""
        flow = self._session.wait_flow(voice_id, timeout, on_status)
        return parse_status(await self._http.run(flow))

    async def resolve_voice(self, voice: str, *, model: str | None = None) -> SpeakingVoice:
        """The voice id, registry prefix or system voice ``voice`` if it may speak now, with
        the model it speaks with (deleted, UNDEPLOYED, DEPLOYING, unknown or ambiguous
        names and models it cannot use are refused; nothing is synthesized)."""
        chosen, chosen_model = await self._http.run(speakable_flow(self._session, voice, model))
        return self._session.speaking(chosen, chosen_model)

    async def speak(
        self,
        text: str,
        out: str | Path,
        *,
        voice: str,
        model: str | None = None,
        options: SynthesisOptions | None = None,
        format: str | None = None,
        sample_rate: int | None = None,
        volume: int | None = None,
        rate: float | None = None,
        pitch: float | None = None,
        seed: int | None = None,
        instruction: str | None = None,
        language_hints: Sequence[str] | str | None = None,
        word_timestamps: bool | None = None,
        bit_rate: int | None = None,
        ssml: bool | None = None,
        markdown_filter: bool | None = None,
        timestamps: str | Path | None = None,
        mkdir: bool = False,
        concurrency: int = 4,
        retries: int = 3,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> SpeechResult:
        """Speak ``text`` with a voice id or registered prefix into one file.

        The voice must be able to speak (not deleted, not UNDEPLOYED, OK; a DEPLOYING one is
        asked once) with ``model`` (default: its own). Options: ``options=`` or the separate
        fields (the format defaults to the extension of ``out``). ``timestamps``: also write
        the word timings there (``.srt``, else JSON). ``mkdir``: create missing folders.
        """
        fields = speech_fields(
            format, sample_rate, volume, rate, pitch, seed, instruction, language_hints,
            word_timestamps, bit_rate, ssml, markdown_filter,
        )  # fmt: skip
        return await run_async(
            lambda: aspeak(
                self._session, text, out, voice=voice, model=model, options=options,
                concurrency=concurrency, retries=retries, on_progress=on_progress,
                mkdir=mkdir, timestamps=timestamps, **fields,
            )
        )  # fmt: skip

    async def stream_speech(
        self,
        text: str,
        *,
        voice: str,
        model: str | None = None,
        format: str = "mp3",
        sample_rate: int | None = None,
        rate: float = 1.0,
        volume: int = 50,
        pitch: float = 1.0,
        instruction: str | None = None,
        concurrency: int = 4,
        retries: int = 2,
    ) -> AsyncAudioStream:
        """The encoded audio of ``text`` (any length) as ordered chunks: iterate it, close it.

        Returns once the first audio arrived: refusals and a failed first part raise here,
        before any byte. ``format``: one of ``catalog.STREAM_FORMATS``; ``sample_rate``
        defaults to ``catalog.default_sample_rate(format)``.
        """
        return await async_open_stream(
            self._session, text, voice=voice, model=model, format=format, sample_rate=sample_rate,
            rate=rate, volume=volume, pitch=pitch, instruction=instruction,
            concurrency=concurrency, retries=retries,
        )  # fmt: skip

    def live(
        self,
        *,
        voice: str,
        model: str | None = None,
        format: str = "pcm",
        sample_rate: int | None = None,
        options: SynthesisOptions | None = None,
        volume: int | None = None,
        rate: float | None = None,
        pitch: float | None = None,
        seed: int | None = None,
        instruction: str | None = None,
        language_hints: Sequence[str] | str | None = None,
        word_timestamps: bool | None = None,
        max_message_weight: int = catalog.MAX_CHARS_PER_MESSAGE,
        max_task_weight: int = catalog.MAX_CHARS_PER_TASK,
        idle_timeout: float | None = None,
    ) -> AsyncLiveSpeech:
        """Live speech: ``async with cv.live(voice=v, format="pcm") as live: await
        live.send(token) ... async for chunk in live.audio(): ...`` (see
        :mod:`cosyvoice_clone.synthesis.live`). ``word_timestamps``: ``live.timed_audio()``
        also yields each sentence's word timings."""
        fields = speech_fields(
            None, None, volume, rate, pitch, seed, instruction, language_hints,
            word_timestamps, None, None, None,
        )  # fmt: skip
        return async_open_live(
            self._session, voice=voice, model=model, format=format, sample_rate=sample_rate,
            options=options, max_message_weight=max_message_weight,
            max_task_weight=max_task_weight, idle_timeout=idle_timeout, **fields,
        )  # fmt: skip

    async def speak_live(
        self,
        text: str | IO[bytes],
        *,
        voice: str,
        out: str | Path | None = None,
        to: IO[bytes] | None = None,
        play: bool = False,
        model: str | None = None,
        format: str | None = None,
        sample_rate: int | None = None,
        volume: int | None = None,
        rate: float | None = None,
        pitch: float | None = None,
        seed: int | None = None,
        instruction: str | None = None,
        language_hints: Sequence[str] | str | None = None,
        mkdir: bool = False,
    ) -> LiveResult:
        """Speak ``text`` live (a string, or a binary stream read as it arrives) into a file
        ``out`` (complete or absent), a binary stream ``to`` and/or the speakers (``play``);
        see :func:`cosyvoice_clone.speech.aspeak_live`."""
        fields = speech_fields(
            None, None, volume, rate, pitch, seed, instruction, language_hints,
            None, None, None, None,
        )  # fmt: skip
        return await run_async(
            lambda: aspeak_live(
                self._session, text, voice=voice, out=out, to=to, play=play, format=format,
                sample_rate=sample_rate, model=model, mkdir=mkdir, **fields,
            )
        )  # fmt: skip

    async def speak_many(
        self,
        manifest: str | Path,
        *,
        results: str | Path | None = None,
        concurrency: int = 4,
        retries: int = 3,
        format: str | None = None,
        sample_rate: int | None = None,
        model: str | None = None,
        force: bool = False,
        on_item: Callable[[BatchItem], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        mkdir: bool = False,
    ) -> BatchReport:
        """Speak every row of a CSV/JSONL manifest, resumably (see
        :func:`cosyvoice_clone.speech.aspeak_many`)."""
        return await run_async(
            lambda: aspeak_many(
                self._session, manifest, results=results, concurrency=concurrency, retries=retries,
                format=format, sample_rate=sample_rate, model=model, force=force,
                on_item=on_item, on_progress=on_progress, mkdir=mkdir,
            )
        )  # fmt: skip

    async def check_sample(
        self, sample: str | Path | bytes, *, target_model: str | None = None
    ) -> CheckReport:
        """The local check of a sample (path, http(s) URL or bytes) for ``target_model``."""
        from .audio import check_sample

        return await in_thread(check_sample, sample, target_model)

    async def fix_sample(
        self,
        sample: str | Path | bytes,
        out: str | Path,
        *,
        target_model: str | None = None,
        mkdir: bool = False,
    ) -> FixResult:
        """Repair a sample into ``out`` (nothing written when it would still fail; a missing
        folder is refused unless ``mkdir``)."""
        from .audio import fix_sample

        return await in_thread(lambda: fix_sample(sample, out, target_model, mkdir=mkdir))

    async def ping(self) -> PingResult:
        """Whether the service accepts the key at this endpoint (one free request)."""
        return await self._http.run(self._session.ping_flow())

    async def warm(self, connections: int | None = None) -> int:
        """Open synthesis connections now (default: ``warm`` or 1) so that the next sentences
        pay no handshake; they stay open, renewed every ``renew_connections_after`` seconds,
        until :meth:`aclose`. Returns how many are open.

        The async face keeps them on the calling event loop. The sync face runs each call on
        its own loop: there connections are reused within one call (the parts of a long text)
        and closed at its end, so ``warm()`` only checks that the endpoint answers.
        """
        return await run_async(lambda: self._session.warm_synthesis(connections))

    @property
    def connection_stats(self) -> ConnectionStats:
        """Synthesis connections opened, reused, renewed, discarded; idle and busy now."""
        stats: ConnectionStats = self._session.connections().stats
        return stats

    async def aclose(self) -> None:
        """Close the synthesis connections, the HTTP pool and the registry."""
        await run_async(self._session.close_connections)
        await self._http.aclose()
        await in_thread(self._session.close_registry)

    async def __aenter__(self) -> AsyncCosyVoice:
        await run_async(self._session.warmed)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncVoices:
    """Voice management on the service and in the registry (``AsyncCosyVoice.voices``)."""

    def __init__(self, session: Session, http: AsyncHttpClient) -> None:
        self._c = session
        self._http = http

    async def list(self, prefix: str | None = None) -> builtins.list[Voice]:
        """Every voice on the service (all pages), merged with what the registry knows."""
        return await self._http.run(list_flow(self._c, prefix))

    async def show(self, voice: str) -> Voice:
        """One voice (an id or a registered prefix), as the service describes it now."""
        return await self._http.run(show_flow(self._c, voice))

    async def update(
        self,
        voice: str,
        sample: str | Path,
        *,
        skip_check: bool = False,
        wait: bool = False,
        timeout: float = catalog.DEFAULT_WAIT_TIMEOUT,
        on_status: StatusCallback | None = None,
        sample_transport: str | None = None,
    ) -> Voice:
        """Give a voice (an id or a registered prefix) a new sample."""
        voice_id = self.lookup(voice)
        plan = await in_thread(plan_update, self._c, voice_id, sample, skip_check, sample_transport)
        return await self._http.run(
            update_flow(self._c, voice_id, plan, wait=wait, timeout=timeout, on_status=on_status)
        )

    async def delete(self, voice: str) -> Voice:
        """Delete a voice on the service and mark it deleted in the registry."""
        return await self._http.run(delete_flow(self._c, voice))

    async def delete_many(self, voices: Iterable[str]) -> DeleteReport:
        """Delete several voices; one failing does not stop the others."""
        return await self._http.run(delete_many_flow(self._c, voices))

    async def prune(
        self,
        *,
        prefix: str | None = None,
        older_than: str | float | timedelta | None = None,
        status: str | VoiceStatus | None = None,
    ) -> DeleteReport:
        """Delete every voice matching all the filters given (see :meth:`prune_candidates`)."""
        chosen = await self.prune_candidates(prefix=prefix, older_than=older_than, status=status)
        return await self.delete_many([v.voice_id for v in chosen])

    async def sync(self) -> SyncReport:
        """Reconcile the registry with the service."""
        return await self._http.run(sync_flow(self._c))

    async def prune_candidates(
        self,
        *,
        prefix: str | None = None,
        older_than: str | float | timedelta | None = None,
        status: str | VoiceStatus | None = None,
    ) -> builtins.list[Voice]:
        """The voices ``prune`` would delete (nothing is deleted)."""
        return await self._http.run(
            prune_plan_flow(self._c, prefix=prefix, older_than=older_than, status=status)
        )

    def resolve(self, voice: str) -> Voice:
        """A voice id or a unique registered prefix -> the :class:`Voice` (nothing sent)."""
        return resolve(self._c.registry, voice, endpoint=self._c.endpoint)

    def lookup(self, voice: str) -> str:
        """The voice id named by an id or a registered prefix (see :meth:`resolve`)."""
        return self.resolve(voice).voice_id

    async def system(self, model: str | None = None) -> builtins.list[SystemVoice]:
        """The service's system voices the catalog knows (those of ``model``); nothing sent."""
        return system_voices(model)


__all__ = ["AsyncCosyVoice", "AsyncVoices"]
