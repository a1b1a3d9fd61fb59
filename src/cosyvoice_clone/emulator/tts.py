"""The speech-synthesis WebSocket of the emulator (section 3 of ``dashscope-protocol.md``).

One connection runs tasks one after another. Per task::

    client                                   server
    run-task (model, voice, parameters)  ->  task-started   (or task-failed, then close)
    continue-task {text} ...             ->  result-generated sentence-begin
                                             result-generated sentence-synthesis + binary audio ...
                                             result-generated sentence-end (usage, words)
    finish-task {} / {directive: cancel} ->  ... task-finished

Rules enforced like the service: the key at the handshake (Bearer header or ``api_key``
query parameter), ``payload.input`` required, the voice bound to the model (a cloned voice of
this model, or a system voice the catalog lists for it; otherwise "Engine return error code:
418"), 20,000 characters per message and 200,000 per task (CJK counts 2, SSML tags not
counted), one continue-task with ``enable_ssml``, 23 s without a message fails the task,
3 task submissions/s per model, first-audio latency and real-time factor from the backend
config, and the ``ws_drop`` / ``task_failed`` faults mid-stream.
Every task-failed is followed by a close.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette import status
from starlette.websockets import WebSocket

from .. import catalog
from .exceptions import ApiError, TaskFailure, task_invalid
from .speech import (
    Encoder,
    FormatError,
    SpeechEngine,
    Token,
    plan_sentence,
    resolve_format,
    sentence_begin_output,
    sentence_end_output,
    split_sentences,
)
from .wire import bearer_key, wire_view

FIRST_BLOCK_S = 0.25
"""Duration of the first audio block of a task (small, so first audio comes early)."""
BLOCK_S = 1.0
"""Duration of the following audio blocks."""

_SSML_TAG = re.compile(r"<[^>]*>")


CLOSE_NORMAL = status.WS_1000_NORMAL_CLOSURE
"""After task-failed, after an idle connection, at shutdown: the service closes with 1000."""
CLOSE_BAD_FRAME = status.WS_1007_INVALID_FRAME_PAYLOAD_DATA
"""A frame that is not a JSON command (binary, or unparsable text)."""
CLOSE_POLICY = status.WS_1008_POLICY_VIOLATION
"""A refused key where the server cannot send an HTTP 401 denial response."""
CLOSE_ERROR = status.WS_1011_INTERNAL_ERROR
"""The emulator cannot serve the connection."""


_FLUSH = object()
_END = object()


@dataclass
class _Task:
    task_id: str
    model: str
    voice_pitch_hz: float
    format: str
    sample_rate: int
    bit_rate: int | None
    volume: int
    rate: float
    pitch: float
    seed: int
    ssml: bool
    word_timestamps: bool
    request_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    inbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    continues: int = 0
    received_chars: int = 0
    input_finished: bool = False
    done: bool = False
    runner: asyncio.Task[None] | None = None


def _number(params: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = params.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise task_invalid(f"Parameter '{name}' must be a number.")
    if not low <= float(value) <= high:
        raise task_invalid(f"Parameter '{name}' out of range [{low:g}, {high:g}].")
    return float(value)


def handshake_key(websocket: WebSocket) -> str | None:
    """The key of the handshake: ``Authorization: Bearer <key>``, else ``?api_key=<key>``.

    The official browser sample (aliyun/alibabacloud-bailian-speech-demo, its README: browsers
    cannot set WebSocket headers) connects to ``.../api-ws/v1/inference/?api_key=KEY``.
    """
    return bearer_key(websocket) or websocket.query_params.get("api_key") or None


async def inference_endpoint(websocket: WebSocket) -> None:
    """Serve one synthesis connection: run-task / continue-task / finish-task, many tasks."""
    backend = websocket.app.state.backend
    delay = float(backend.config.network_delay)
    if delay > 0:  # TCP + TLS + upgrade: the 101 reaches the client that many round trips on
        await asyncio.sleep(2 * delay * int(backend.config.handshake_round_trips))
    if not backend.authorized(handshake_key(websocket)):
        await _deny(websocket)
        return
    ws_id = backend.websocket_opened()  # counted before the 101 reaches the client
    try:
        await websocket.accept()
        connection = _Connection(websocket, backend, ws_id, delay)
        try:
            await connection.serve()
        finally:
            await connection.shutdown()
    finally:
        backend.websocket_closed(ws_id)


async def _deny(websocket: WebSocket) -> None:
    """Refuse the handshake: HTTP 401 with the service's error body where the server can."""
    from starlette.responses import JSONResponse

    body = {"request_id": str(uuid.uuid4()), "code": "InvalidApiKey"}
    body["message"] = "Invalid API-key provided."
    try:
        await websocket.send_denial_response(JSONResponse(body, status_code=401))
    except RuntimeError:  # the server has no denial-response extension: plain 403
        await websocket.close(code=CLOSE_POLICY)


class _Connection:
    """One synthesis connection; with a ``delay`` (one-way seconds) every message in and out
    travels through a queue that hands it on that much later, in order, without slowing the
    sender (the audio pace is unchanged: it just arrives later)."""

    def __init__(self, websocket: WebSocket, backend: Any, ws_id: int, delay: float) -> None:
        self.ws = websocket
        self.backend = backend
        self.ws_id = ws_id
        self.delay = delay
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.arrivals: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()
        self.links = [
            asyncio.create_task(self._later(queue, hand_on))
            for queue, hand_on in ((self.arrivals, self.inbox.put), (self.outbox, self._transmit))
            if delay > 0
        ]
        self.task: _Task | None = None
        self.closed = False
        self.send_lock = asyncio.Lock()
        self.aborted = False
        self.reader: asyncio.Task[None] | None = None
        self.handshake = wire_view(websocket)
        """Path, query and headers of the handshake (credentials removed), for recording."""

    # -- plumbing -------------------------------------------------------------------------------

    @staticmethod
    async def _later(queue: asyncio.Queue[tuple[float, Any]], hand_on: Any) -> None:
        while True:
            due, item = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            with contextlib.suppress(Exception):
                await hand_on(item)
            queue.task_done()

    async def _pass(self, queue: asyncio.Queue[tuple[float, Any]], hand_on: Any, item: Any) -> None:
        """Hand ``item`` on now, or through ``queue`` one delay later."""
        if self.delay > 0:
            queue.put_nowait((time.monotonic() + self.delay, item))
        else:
            await hand_on(item)

    async def _arrive(self, message: Any) -> None:
        await self._pass(self.arrivals, self.inbox.put, message)

    async def _read(self) -> None:
        try:
            while True:
                message = await self.ws.receive()
                await self._arrive(message)
                if message["type"] == "websocket.disconnect":
                    return
        except Exception:  # the socket is gone in a way Starlette reports as an error
            await self._arrive({"type": "websocket.disconnect"})

    async def _out(self, frames: tuple[Any, ...]) -> None:
        """Send ``frames`` (text, bytes, or ``("close", code)``) back to back."""
        await self._pass(self.outbox, self._transmit, frames)

    async def _transmit(self, frames: tuple[Any, ...]) -> None:
        if self.aborted:
            return
        async with self.send_lock:
            try:
                for frame in frames:
                    if isinstance(frame, str):
                        await self.ws.send_text(frame)
                    elif isinstance(frame, bytes):
                        await self.ws.send_bytes(frame)
                    else:
                        with contextlib.suppress(Exception):
                            await self.ws.close(code=frame[1])
            except Exception:
                self.closed = True

    async def _send_json(self, data: dict[str, Any], audio: bytes | None = None) -> None:
        if not self.closed:
            await self._out((json.dumps(data, ensure_ascii=False),) + ((audio,) if audio else ()))

    async def _send_audio(self, event: dict[str, Any], audio: bytes) -> None:
        """The sentence-synthesis event and its binary frame, back to back."""
        await self._send_json(event, audio)

    async def close(self, code: int = CLOSE_NORMAL) -> None:
        if not self.closed:
            self.closed = True
            await self._out((("close", code),))

    async def abort(self) -> None:
        """Drop the TCP connection without a close frame (the ``ws_drop`` fault); what is still
        on its way is lost, as on a dead link."""
        self.closed = True
        self.aborted = True
        receive = getattr(self.ws, "_receive", None)
        protocol = getattr(receive, "__self__", None)
        transport = getattr(protocol, "transport", None)
        if transport is not None and hasattr(transport, "abort"):
            transport.abort()
            return
        with contextlib.suppress(Exception):  # pragma: no cover - servers without a transport
            await self.ws.close(code=CLOSE_ERROR)

    async def fail(
        self, task_id: str, code: str, message: str, close_code: int = CLOSE_NORMAL
    ) -> None:
        """task-failed, then close."""
        await self._send_json(
            {
                "header": {
                    "task_id": task_id,
                    "event": "task-failed",
                    "error_code": code,
                    "error_message": message,
                    "attributes": {},
                },
                "payload": {},
            }
        )
        await self.close(close_code)

    def _header(self, task: _Task, event: str, **attributes: Any) -> dict[str, Any]:
        return {"task_id": task.task_id, "event": event, "attributes": attributes}

    # -- the loop -------------------------------------------------------------------------------

    async def serve(self) -> None:
        self.reader = asyncio.create_task(self._read())
        idle = float(getattr(self.backend.config, "idle_timeout", catalog.SYNTHESIS_IDLE_TIMEOUT_S))
        while not self.closed:
            task = self.task
            waiting_for_input = task is not None and not task.done and not task.input_finished
            timeout = idle if waiting_for_input else self.backend.config.connection_idle_timeout
            try:
                message = await asyncio.wait_for(self.inbox.get(), timeout)
            except asyncio.TimeoutError:
                task = self.task
                if task is not None and not task.done and not task.input_finished:
                    await self._abort_task(task)
                    await self.fail(
                        task.task_id, "InvalidParameter", f"request timeout after {idle:g} seconds."
                    )
                elif task is not None and not task.done:
                    continue  # still speaking after finish-task: not idle
                else:
                    await self.close(CLOSE_NORMAL)
                return
            if message["type"] == "websocket.disconnect":
                self.closed = True
                return
            text = message.get("text")
            if text is None:
                await self._garbage("binary frames are not accepted; send JSON text frames")
                return
            try:
                data = json.loads(text)
                header = data["header"]
                action = header["action"]
                if not isinstance(data, dict) or not isinstance(header, dict):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                await self._garbage("unable to parse the message as a JSON command")
                return
            self.backend.record("websocket", {**self.handshake, "message": data})
            raw_id = header.get("task_id")
            task_id = raw_id if isinstance(raw_id, str) else ""
            payload = data.get("payload")
            try:
                if action == "run-task":
                    await self._run_task(task_id, payload)
                elif action == "continue-task":
                    await self._continue_task(task_id, payload)
                elif action == "finish-task":
                    await self._finish_task(task_id, payload)
                else:
                    raise task_invalid(f"unknown action {action!r}")
            except TaskFailure as failure:
                if self.task is not None:
                    await self._abort_task(self.task)
                await self.fail(task_id, failure.code, failure.message)
                return

    async def _garbage(self, message: str) -> None:
        task_id = self.task.task_id if self.task is not None else ""
        if self.task is not None:
            await self._abort_task(self.task)
        await self.fail(task_id, "InvalidParameter", message, close_code=CLOSE_BAD_FRAME)

    async def shutdown(self) -> None:
        if self.task is not None:
            await self._abort_task(self.task)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        await self.close(CLOSE_NORMAL)
        if self.links:  # what is on its way still arrives, the close frame last
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.outbox.join(), self.delay + 1.0)
            for link in self.links:
                link.cancel()

    async def _abort_task(self, task: _Task) -> None:
        task.done = True
        runner = task.runner
        if runner is not None and not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner

    # -- actions --------------------------------------------------------------------------------

    async def _run_task(self, task_id: str, payload: Any) -> None:
        if self.task is not None and not self.task.done:
            await self._abort_task(self.task)  # a new run-task aborts the current one
        self.task = None
        if not task_id:
            raise task_invalid("Missing required header: task_id.")
        if not isinstance(payload, dict) or not isinstance(payload.get("input"), dict):
            raise task_invalid("task can not be null")
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            raise task_invalid("Missing required parameter: model.")
        params = payload.get("parameters")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise task_invalid("Parameter 'parameters' must be an object.")
        voice_id = params.get("voice")
        if not isinstance(voice_id, str) or not voice_id:
            raise task_invalid("Missing required parameter: voice.")
        try:
            fmt, sample_rate = resolve_format(params.get("format"), params.get("sample_rate"))
        except (FormatError, TypeError, ValueError) as exc:
            raise task_invalid(str(exc)) from None
        volume = int(_number(params, "volume", 50, 0, 100))
        rate = _number(params, "rate", 1.0, 0.5, 2.0)
        pitch = _number(params, "pitch", 1.0, 0.5, 2.0)
        seed = int(_number(params, "seed", 0, 0, 65535))
        bit_rate_value = params.get("bit_rate")
        bit_rate: int | None = None
        if fmt == "opus" and bit_rate_value is not None:
            bit_rate = int(_number(params, "bit_rate", 32, 6, 510_000))
            if bit_rate > 510:  # the SDK sends bits per second for some formats
                bit_rate //= 1000
            bit_rate = max(6, min(510, bit_rate))
        try:
            pitch_hz, voice_rate = self.backend.speaking_voice(voice_id, model)
        except ApiError as exc:
            raise task_invalid(exc.message) from None
        if not self.backend.allow_synthesis_task(model):
            raise TaskFailure(
                "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."
            )
        task = _Task(
            task_id=task_id,
            model=model,
            voice_pitch_hz=pitch_hz,
            format=fmt,
            sample_rate=sample_rate,
            bit_rate=bit_rate,
            volume=volume,
            rate=rate * voice_rate,
            pitch=pitch,
            seed=seed,
            ssml=bool(params.get("enable_ssml")),
            word_timestamps=bool(params.get("word_timestamp_enabled")),
        )
        if self.backend.stale_drop(self.ws_id):
            await self.abort()  # the service's idle close crossing our run-task
            return
        self.backend.websocket_task(self.ws_id)
        self.task = task
        await self._send_json({"header": self._header(task, "task-started"), "payload": {}})
        task.runner = asyncio.create_task(self._synthesize(task))
        text = payload["input"].get("text")
        if isinstance(text, str) and text:
            self._accept_text(task, text)

    def _current(self, task_id: str) -> _Task:
        task = self.task
        if task is None or task.task_id != task_id:
            raise task_invalid(f"task {task_id!r} is not running on this connection")
        if task.done or task.input_finished:
            raise task_invalid(f"task {task_id!r} is already finishing")
        return task

    def _accept_text(self, task: _Task, text: str) -> None:
        spoken = _SSML_TAG.sub("", text) if task.ssml else text
        weight = catalog.text_weight(spoken)
        if weight > catalog.MAX_CHARS_PER_MESSAGE:
            raise task_invalid(
                f"Text length exceeds the limit: {weight} > {catalog.MAX_CHARS_PER_MESSAGE} "
                "characters in one message."
            )
        if task.received_chars + weight > catalog.MAX_CHARS_PER_TASK:
            raise task_invalid(
                f"Text length exceeds the limit: more than {catalog.MAX_CHARS_PER_TASK} "
                "characters in one task."
            )
        task.received_chars += weight
        task.inbox.put_nowait(spoken)

    async def _continue_task(self, task_id: str, payload: Any) -> None:
        task = self._current(task_id)
        if not isinstance(payload, dict) or not isinstance(payload.get("input"), dict):
            raise task_invalid("task can not be null")
        data = payload["input"]
        if data.get("flush") is True:
            task.inbox.put_nowait(_FLUSH)
            return
        text = data.get("text")
        if not isinstance(text, str):
            raise task_invalid("Missing required parameter: input.text.")
        task.continues += 1
        if task.ssml and task.continues > 1:
            raise task_invalid("Text request limit violated, expected 1.")
        self._accept_text(task, text)

    async def _finish_task(self, task_id: str, payload: Any) -> None:
        data = payload.get("input") if isinstance(payload, dict) else None
        if isinstance(data, dict) and data.get("directive") == "cancel":
            task = self.task
            if task is None or task.task_id != task_id:
                raise task_invalid(f"task {task_id!r} is not running on this connection")
            if not task.done:  # also after finish-task: stop speaking now
                self.backend.count("synthesis:cancelled")
                await self._abort_task(task)
                await self._finished(task, characters=task.received_chars)
            return
        task = self._current(task_id)
        task.input_finished = True
        task.inbox.put_nowait(_END)

    async def _finished(self, task: _Task, characters: int) -> None:
        task.done = True
        await self._send_json(
            {
                "header": self._header(task, "task-finished", request_uuid=task.request_uuid),
                "payload": {
                    "output": {"sentence": {"words": []}},
                    "usage": {"characters": characters},
                },
            }
        )

    # -- speaking -------------------------------------------------------------------------------

    async def _synthesize(self, task: _Task) -> None:
        try:
            await _Speaker(self, task).run()
        except asyncio.CancelledError:
            raise
        except _Dropped:
            return
        except TaskFailure as failure:
            task.done = True
            await self.fail(task.task_id, failure.code, failure.message)
        except Exception as exc:  # an emulator bug must not hang the client
            task.done = True
            await self.fail(task.task_id, "InternalError", f"emulator error: {exc!r}")


class _Dropped(Exception):
    """The connection was dropped on purpose (fault)."""


class _Speaker:
    """Turns the text of one task into paced result-generated events and audio frames."""

    def __init__(self, connection: _Connection, task: _Task) -> None:
        self.conn = connection
        self.task = task
        config = connection.backend.config
        self.latency = float(getattr(config, "first_audio_latency", 0.0))
        self.rtf = float(getattr(config, "rtf", 0.0))
        self.engine = SpeechEngine(
            sample_rate=task.sample_rate,
            pitch_hz=task.voice_pitch_hz,
            volume=task.volume,
            rate=task.rate,
            pitch=task.pitch,
            seed=task.seed,
            block_seconds=BLOCK_S,
        )
        self.encoder = Encoder(task.format, task.sample_rate, task.bit_rate or 32)
        self.index = 0
        self.samples = 0
        self.characters = 0
        self.clock: float | None = None
        self.text_arrived: float | None = None
        self.first_frame_sent = False

    def _event(self, output: dict[str, Any], usage: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {"output": output}
        if usage:
            payload["usage"] = {"characters": self.characters}
        return {"header": self.conn._header(self.task, "result-generated"), "payload": payload}

    async def run(self) -> None:
        """Speak sentences as they complete; end with the encoder's tail inside the last one.

        mp3 and opus encoders hold back their last frames until the stream ends, so for them the
        ``sentence-end`` of the latest sentence waits until the next sentence begins or the
        input ends: the tail then goes out as that sentence's last ``sentence-synthesis``, and
        nothing but ``task-finished`` follows the last ``sentence-end`` (the documented order,
        CosyVoice WebSocket API: help.aliyun.com/zh/model-studio/cosyvoice-websocket-api).
        """
        task = self.task
        buffer = ""
        held: tuple[int, dict[str, Any]] | None = None
        try:
            while True:
                item = await task.inbox.get()
                if self.text_arrived is None:
                    self.text_arrived = time.monotonic()
                if item is _END or item is _FLUSH:
                    sentences, rest = split_sentences(buffer)
                    if rest.strip():
                        sentences.append(rest)
                    buffer = ""
                else:
                    sentences, buffer = split_sentences(buffer + item)
                for sentence in sentences:
                    if not sentence.strip():
                        continue
                    if held is not None:
                        await self.conn._send_json(held[1])
                    held = await self._speak(sentence)
                    if not self.encoder.has_tail:
                        await self.conn._send_json(held[1])
                        held = None
                if item is _END:
                    break
            tail = await asyncio.to_thread(self.encoder.finish)
            if held is not None:
                if tail:
                    await self._pace(0.0)
                    await self.conn._send_audio(self._synthesis_event(held[0]), tail)
                await self.conn._send_json(held[1])
            await self.conn._finished(task, characters=self.characters)
        finally:
            self.encoder.close()

    def _synthesis_event(self, index: int) -> dict[str, Any]:
        return self._event({"type": "sentence-synthesis", "sentence": {"index": index}})

    async def _pace(self, seconds: float) -> None:
        """Wait until a block of ``seconds`` of audio would be ready on the real service."""
        now = time.monotonic()
        if self.clock is None:  # the first audio: the latency counts from the first text
            self.clock = (self.text_arrived or now) + self.latency
        else:
            self.clock = max(self.clock, now) + self.rtf * seconds
        delay = self.clock - now
        if delay > 0:
            await asyncio.sleep(delay)

    def _render(self, blocks: Any) -> tuple[int, bytes] | None:
        block = next(blocks, None)
        if block is None:
            return None
        assert isinstance(block, np.ndarray)
        return int(block.size), self.encoder.encode(block)

    async def _speak(self, sentence: str) -> tuple[int, dict[str, Any]]:
        """Send the sentence's begin and audio; return its index and its ``sentence-end``."""
        text = sentence.strip()
        index = self.index
        self.index += 1
        tokens: list[Token] = plan_sentence(text, self.task.rate)
        begin = self.samples
        await self.conn._send_json(self._event(sentence_begin_output(text, index)))
        first = FIRST_BLOCK_S if not self.first_frame_sent else None
        blocks = self.engine.render(text, tokens, first_block_seconds=first)
        while True:
            result = await asyncio.to_thread(self._render, blocks)
            if result is None:
                break
            count, data = result
            self.samples += count
            await self._pace(count / self.task.sample_rate)
            if self.conn.closed:
                raise _Dropped()
            if not data:
                continue
            await self.conn._send_audio(self._synthesis_event(index), data)
            if not self.first_frame_sent:
                self.first_frame_sent = True
                await self._maybe_fault()
        self.characters += catalog.text_weight(text)
        output, _ = sentence_end_output(
            text, index, tokens, self.task.sample_rate, begin,
            word_timestamps=self.task.word_timestamps,
        )  # fmt: skip
        ending = self._event(output, usage=True)
        return index, ending

    async def _maybe_fault(self) -> None:
        backend = self.conn.backend
        if backend.fault("ws_drop"):
            await self.conn.abort()
            raise _Dropped()
        if backend.fault("task_failed"):
            raise TaskFailure("InternalError", "[tts:]Engine return error code: 500")
