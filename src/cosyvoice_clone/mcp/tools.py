"""The operations behind the MCP tools: dict arguments in, the library's ``to_dict()`` out.

Every rule (voice resolution, speaking rules, output checks) is the library's; this module only
maps arguments to library calls, results to payloads and errors to agent-facing hints.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import catalog
from ..errors import CosyVoiceCloneError, InvalidRequestError
from .hints import mcp_hint
from .schemas import INLINE_MAX_WEIGHT
from .validation import confirmation_required

INLINE_AUDIO_KEY = "__inline_audio__"
"""Result key carrying (mime type, bytes) for the server to turn into an audio content block."""

if TYPE_CHECKING:
    from ..client import AsyncCosyVoice
    from ..config import Settings

logger = logging.getLogger("cosyvoice_clone.mcp")


def error_payload(err: BaseException, secrets: tuple[str | None, ...] = ()) -> dict[str, Any]:
    """``{"ok": false, "error": {code, message, hint, http_status, api_code, request_id, ...}}``.

    Any exception becomes this shape; the hint is worded for MCP users (:mod:`.hints`); every
    string in it is redacted.
    """
    from ..config import redact

    if isinstance(err, CosyVoiceCloneError):
        data = err.to_dict()
        data["hint"] = mcp_hint(err)
    else:
        data = {
            "code": "internal",
            "message": f"{type(err).__name__}: {err}",
            "hint": "an unexpected failure in the server; the server keeps running, try again "
            "or report it with the server's stderr",
            "http_status": None,
            "api_code": None,
            "request_id": None,
        }
    clean = {k: redact(v, *secrets) if isinstance(v, str) else v for k, v in data.items()}
    return {"ok": False, "error": clean}


def _json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


# -- the operations -------------------------------------------------------------------------


def _finite(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


class Progress:
    """Progress of one tool call, reported to the client as MCP progress notifications.

    The client modules call back synchronously (from the event loop or a worker thread);
    :meth:`report` schedules the notification on the server's loop, at most one every
    :attr:`interval` seconds (plus the final one), always increasing. It is a no-op for a
    client that did not ask for progress.
    """

    interval = 0.5

    def __init__(self, send: Callable[[float, float | None, str | None], Awaitable[None]]) -> None:
        import asyncio

        self._send = send
        self._loop = asyncio.get_running_loop()
        self._tasks: set[Any] = set()
        self._last_sent = 0.0
        self._last_value = -math.inf

    def report(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Report ``progress`` (of ``total``), with a short message; thread-safe."""
        now = time.monotonic()
        final = total is not None and progress >= total
        if progress <= self._last_value or (not final and now - self._last_sent < self.interval):
            return
        self._last_value, self._last_sent = progress, now
        self._loop.call_soon_threadsafe(self._spawn, progress, total, message)

    def _spawn(self, progress: float, total: float | None, message: str | None) -> None:
        task = self._loop.create_task(self._safe_send(progress, total, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 1.0) -> None:
        """Let the notifications already reported go out (before the call's result does)."""
        import asyncio

        await asyncio.sleep(0)  # run the _spawn callbacks already queued
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _safe_send(self, progress: float, total: float | None, message: str | None) -> None:
        try:
            await self._send(progress, total, message)
        except Exception as exc:  # a lost notification must never fail the call
            logger.debug("progress notification not sent: %s", exc)


ToolHandler = Callable[[dict[str, Any], "Progress | None"], Awaitable[dict[str, Any]]]


def _status_reporter(
    progress: Progress | None, timeout: float
) -> Callable[[str, str | None, float], None] | None:
    """An ``on_status(voice_id, status, elapsed)`` callback feeding ``progress``."""
    if progress is None:
        return None

    def on_status(voice_id: str, status: str | None, elapsed: float) -> None:
        progress.report(
            round(min(elapsed, timeout), 3),
            timeout,
            f"voice {voice_id} is {status or 'unknown'} after {elapsed:.1f} s",
        )

    return on_status


def _check_out(path: Path, mkdir: bool) -> None:
    """The library's output rule for ``out``, its advice in tool words (``mkdir=true``)."""
    from ..audio.outfile import check_target

    try:
        check_target(path, option="out", mkdir=mkdir)
    except InvalidRequestError as err:
        if err.hint and "--mkdir" in err.hint:
            err.hint = err.hint.replace("pass --mkdir", "call synthesize again with mkdir=true")
        raise


def _text_reporter(progress: Progress | None) -> Callable[[int, int], None] | None:
    """An ``on_progress(done, total)`` callback (characters spoken) feeding ``progress``."""
    if progress is None:
        return None

    def on_progress(done: int, total: int) -> None:
        progress.report(float(done), float(total), f"{done}/{total} characters spoken")

    return on_progress


class VoiceTools:
    """The operations behind the tools: dict arguments in, JSON-able dicts out.

    Errors are raised from :mod:`cosyvoice_clone.errors`; the server turns them into tool
    errors. Service operations go through one lazily created
    :class:`cosyvoice_clone.client.AsyncCosyVoice` (the same client as the CLI's).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: AsyncCosyVoice | None = None

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """What must never appear in output: the API key in use."""
        key = self.settings.api_key
        return (key.value,) if key is not None else ()

    def client(self) -> AsyncCosyVoice:
        """The async client (created on first use; raises if there is no API key)."""
        if self._client is None:
            from ..client import AsyncCosyVoice

            # Like the CLI, the server keeps the evidence files (request, response) for support.
            self._client = AsyncCosyVoice(settings=self.settings, evidence=True)
        return self._client

    async def aclose(self) -> None:
        """Close the client if one was created."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def handler(self, name: str) -> ToolHandler:
        """The coroutine function implementing tool ``name``: ``(args, progress)``."""
        handler: ToolHandler = getattr(self, name)
        return handler

    # -- tools --------------------------------------------------------------------------------

    async def voice_clone(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``voice_clone``: validate, check a local sample, dedupe, upload, create, wait."""
        result = await self.client().clone(
            prefix=args["prefix"],
            sample=str(args["voice_sample_url"]).strip(),
            target_model=args.get("target_model"),
            language_hints=args.get("language_hints"),
            max_prompt_audio_length=args.get("max_prompt_audio_length"),
            enable_preprocess=args.get("enable_preprocess"),
            wait=bool(args.get("wait", True)),
            timeout=catalog.DEFAULT_WAIT_TIMEOUT,
            force=bool(args.get("force", False)),
            on_status=_status_reporter(progress, catalog.DEFAULT_WAIT_TIMEOUT),
        )
        data = result.to_dict()
        data.pop("ok", None)
        data.pop("check", None)  # the full preflight report: call check_sample to see it
        return data

    async def voice_design(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``voice_design``: validate, dedupe, create, keep the preview, wait."""
        result = await self.client().design(
            prefix=args["prefix"],
            prompt=args["voice_prompt"],
            preview_text=args.get("preview_text"),
            target_model=args.get("target_model"),
            language=args.get("language_hints"),
            sample_rate=args.get("sample_rate"),
            response_format=args.get("response_format"),
            wait=bool(args.get("wait", True)),
            timeout=catalog.DEFAULT_WAIT_TIMEOUT,
            force=bool(args.get("force", False)),
            on_status=_status_reporter(progress, catalog.DEFAULT_WAIT_TIMEOUT),
        )
        data = result.to_dict()
        data.pop("ok", None)
        return data

    async def check_sample(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``check_sample`` (local, nothing is sent to the service)."""
        import anyio.to_thread

        from ..audio import check_sample

        source = str(args["sample"]).strip()
        target = args.get("target_model")
        report = await anyio.to_thread.run_sync(lambda: check_sample(source, target))
        return dict(report.to_dict())

    async def list_voices(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``list_voices``."""
        voices = await self.client().voices.list(prefix=args.get("prefix"))
        return {"voices": [v.to_dict() for v in voices], "count": len(voices)}

    async def list_system_voices(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``list_system_voices`` (the catalog; nothing is sent)."""
        voices = catalog.system_voices(args.get("model"))
        return {"voices": [v.to_dict() for v in voices], "count": len(voices)}

    async def get_voice(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``get_voice``."""
        return (await self.client().voices.show(args["voice"])).to_dict()

    async def wait_voice(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``wait_voice``: poll until OK, then return the voice."""
        timeout = float(args.get("timeout", catalog.DEFAULT_WAIT_TIMEOUT))
        client = self.client()
        voice_id = client.voices.lookup(args["voice"])
        started = time.monotonic()
        await client.wait(voice_id, timeout=timeout, on_status=_status_reporter(progress, timeout))
        waited = time.monotonic() - started
        data = (await client.voices.show(voice_id)).to_dict()
        data["waited_s"] = round(waited, 3)
        return data

    async def delete_voice(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``delete_voice`` (refused unless ``confirm`` is true)."""
        if args.get("confirm") is not True:
            raise confirmation_required(args["voice"], args.get("confirm"))
        data = (await self.client().voices.delete(args["voice"])).to_dict()
        return {"voice_id": data["voice_id"], "deleted": data["deleted"], "request_id": None}

    async def synthesize(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``synthesize``: the library's speak (voice rules, model guard, output check)."""
        inline = bool(args.get("inline_audio"))
        if inline and catalog.text_weight(str(args["text"])) > INLINE_MAX_WEIGHT:
            raise InvalidRequestError(
                f"inline_audio is for short texts (up to {INLINE_MAX_WEIGHT} characters)",
                field="inline_audio",
                hint="leave inline_audio out and read the file at `path`, or split the text",
            )
        fmt = args.get("format")
        out = args.get("out")
        path = Path(out).expanduser() if out else self._default_out(args, fmt)
        if not path.is_absolute():
            path = Path.cwd() / path
        fields: dict[str, Any] = {"format": fmt}  # None: the library takes `out`'s extension
        for name in ("sample_rate", "volume", "rate", "pitch", "instruction"):
            if args.get(name) is not None:
                fields[name] = args[name]
        if args.get("language_hint"):
            fields["language_hints"] = (args["language_hint"],)
        # `out` names a user's folder: made only when asked; the default folder is ours
        mkdir = args.get("mkdir") is True if out else True
        if out:
            _check_out(path, mkdir)
        result = await self.client().speak(
            args["text"],
            path,
            voice=args["voice"],
            model=args.get("model"),
            on_progress=_text_reporter(progress),
            mkdir=mkdir,
            **fields,
        )
        data = result.to_dict()  # the fields of `speak --json`
        payload: dict[str, Any] = {**data, "path": str(Path(data["path"]).resolve())}
        if inline:
            audio = Path(payload["path"]).read_bytes()
            mime = catalog.MIME_TYPES.get(payload["format"], "application/octet-stream")
            payload["inline_audio"] = {"mime_type": mime, "bytes": len(audio)}
            payload[INLINE_AUDIO_KEY] = (mime, audio)
        return payload

    def _default_out(self, args: Mapping[str, Any], fmt: str | None) -> Path:
        """A new file under ``<output dir>/speech/`` named after the voice, time and text."""
        import hashlib

        digest = hashlib.sha256(str(args.get("text")).encode("utf-8")).hexdigest()[:8]
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = str(args.get("voice") or "voice")
        voice = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:80]
        base = Path(self.settings.output_dir).expanduser() / "speech"
        return base / f"{voice}-{stamp}-{digest}.{fmt or 'wav'}"


__all__ = ["Progress", "ToolHandler", "VoiceTools", "error_payload"]
