"""The synthesis WebSocket protocol without I/O: options, messages, events, the model guard.

:class:`TaskProtocol` builds the run-task / continue-task / finish-task messages of one task and
turns the server's text frames into :class:`Event` objects (raising our errors for task-failed).
The async and sync drivers in :mod:`.client` only move frames.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import Any

from .. import catalog
from ..errors import (
    InvalidRequestError,
    ModelMismatchError,
    NextStep,
    StepKind,
    SynthesisError,
)

check_model = catalog.check_model
"""The catalog's refusal of an unknown synthesis model (here for the engine's callers)."""

TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "InternalError.Algo",
        "ServiceUnavailable",
        "Throttling",
        "Throttling.RateQuota",
        "Throttling.AllocationQuota.Concurrency",
        "RequestTimeOut",
    }
)
"""task-failed codes worth retrying: the service failed or asked us to slow down."""

FORMAT_EXTENSIONS = {".wav": "wav", ".mp3": "mp3", ".opus": "opus", ".ogg": "opus", ".pcm": "pcm",
                     ".raw": "pcm"}  # fmt: skip


@dataclass(frozen=True)
class SynthesisOptions:
    """Synthesis parameters (the service's names and ranges); validated before anything is sent."""

    format: str = "wav"
    sample_rate: int = catalog.DEFAULT_SAMPLE_RATE
    volume: int = 50
    rate: float = 1.0
    pitch: float = 1.0
    seed: int = 0
    instruction: str | None = None
    language_hints: tuple[str, ...] | None = None
    word_timestamps: bool = False
    bit_rate: int | None = None
    """kbps (6–510) for opus (default 32) and mp3 (sent only when given); see
    ``catalog.BIT_RATE_FACT``."""
    ssml: bool = False
    """The text is SSML (``enable_ssml``): sent as one continue-task, never split."""
    markdown_filter: bool = False
    """Ask the service to strip Markdown from the text (``enable_markdown_filter``)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Further run-task parameters passed through as is (``hot_fix``, ``enable_aigc_tag``)."""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of every option (``language_hints`` as a list)."""
        return {
            "format": self.format,
            "sample_rate": self.sample_rate,
            "volume": self.volume,
            "rate": self.rate,
            "pitch": self.pitch,
            "seed": self.seed,
            "instruction": self.instruction,
            "language_hints": list(self.language_hints) if self.language_hints else None,
            "word_timestamps": self.word_timestamps,
            "bit_rate": self.bit_rate,
            "ssml": self.ssml,
            "markdown_filter": self.markdown_filter,
            "extra": dict(self.extra),
        }

    def validate(self) -> SynthesisOptions:
        """Raise :class:`InvalidRequestError` for a value the service would refuse."""
        if self.format not in catalog.AUDIO_FORMATS:
            raise InvalidRequestError(
                f"unsupported format {self.format!r}",
                field="format",
                value=self.format,
                allowed=", ".join(catalog.AUDIO_FORMATS),
                hint="use one of: " + ", ".join(catalog.AUDIO_FORMATS),
            )
        rates = catalog.OPUS_SAMPLE_RATES if self.format == "opus" else catalog.SAMPLE_RATES
        if self.sample_rate not in rates:
            raise InvalidRequestError(
                f"sample rate {self.sample_rate} is not available for {self.format}",
                field="sample_rate",
                value=self.sample_rate,
                hint="use one of: " + ", ".join(str(r) for r in rates),
            )
        _check_range("volume", self.volume, 0, 100)
        _check_range("rate", self.rate, 0.5, 2.0)
        _check_range("pitch", self.pitch, 0.5, 2.0)
        _check_range("seed", self.seed, 0, 65535)
        if self.bit_rate is not None:
            if self.format not in catalog.BIT_RATE_FORMATS:
                raise InvalidRequestError(
                    f"a bit rate applies to {' and '.join(catalog.BIT_RATE_FORMATS)}, not "
                    f"{self.format}",
                    field="bit_rate",
                    value=self.bit_rate,
                    hint="leave --bit-rate out, or speak to an .mp3 or .opus file",
                )
            _check_range("bit_rate", self.bit_rate, *catalog.BIT_RATE_RANGE)
        return self

    def parameters(self, voice: str, *, wire_format: str | None = None) -> dict[str, Any]:
        """The run-task ``parameters`` object."""
        fmt = wire_format or self.format
        params: dict[str, Any] = {
            "voice": voice,
            "text_type": "PlainText",
            "format": fmt,
            "sample_rate": self.sample_rate,
            "volume": self.volume,
            "rate": self.rate,
            "pitch": self.pitch,
            "seed": self.seed,
        }
        if fmt == "opus":
            params["bit_rate"] = self.bit_rate or catalog.DEFAULT_OPUS_BIT_RATE
        elif fmt == "mp3" and self.bit_rate is not None:
            params["bit_rate"] = self.bit_rate
        if self.instruction:
            params["instruction"] = self.instruction
        if self.language_hints:
            params["language_hints"] = list(self.language_hints)
        if self.word_timestamps:
            params["word_timestamp_enabled"] = True
        if self.ssml:
            params["enable_ssml"] = True
        if self.markdown_filter:
            params["enable_markdown_filter"] = True
        params.update(self.extra)
        return params


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not low <= value <= high:
        raise InvalidRequestError(
            f"{name} must be between {low:g} and {high:g}, not {value!r}",
            field=name,
            value=value,
        )


EXTENSIONS_HELP = ".wav → wav, .mp3 → mp3, .opus/.ogg → opus, .pcm/.raw → pcm"


def extension_format(path: str | Path) -> str | None:
    """The audio format an output file name implies (``None``: no known audio extension)."""
    return FORMAT_EXTENSIONS.get(PurePath(str(path)).suffix.lower())


def format_for_path(path: str | Path, explicit: str | None = None) -> str:
    """The audio format of an output: ``explicit`` if given, else the file extension's.

    Refuses (``InvalidRequestError``, nothing sent) an unknown format, a name without a known
    audio extension when no format is given, and a format that contradicts the extension
    (``x.wav`` with ``mp3``): the bytes would not be what the name says.
    """
    name = PurePath(str(path)).name
    implied = extension_format(path)
    if explicit:
        fmt = explicit.lower()
        if fmt not in catalog.AUDIO_FORMATS:
            raise InvalidRequestError(
                f"unsupported format {explicit!r}",
                field="format",
                value=explicit,
                allowed=", ".join(catalog.AUDIO_FORMATS),
                hint="use one of: " + ", ".join(catalog.AUDIO_FORMATS),
            )
        if implied is not None and implied != fmt:
            raise InvalidRequestError(
                f"{name} names a {implied} file but the format is {fmt}",
                field="format",
                value=explicit,
                hint=f"name the output for the format ({EXTENSIONS_HELP}) or leave --format out",
            )
        return fmt
    if implied is None:
        raise InvalidRequestError(
            f"cannot tell the audio format of {name!r} from its extension",
            field="format",
            hint=f"use an audio extension ({EXTENSIONS_HELP}) or pass --format pcm|wav|mp3|opus",
        )
    return implied


def check_language_hints(model: str, hints: tuple[str, ...] | list[str] | None) -> None:
    """Refuse language hints the model does not accept (the catalog's table; nothing sent)."""
    if not hints:
        return
    info = catalog.TARGET_MODELS.get(model)
    if info is None:  # a model outside the catalog: nothing to check against
        return
    if not info.language_hints:
        raise InvalidRequestError(
            f"{model} does not take language hints",
            field="language_hints",
            hint="leave --language-hint out",
        )
    for hint in hints:
        if hint not in info.language_hints:
            allowed = ", ".join(info.language_hints)
            raise InvalidRequestError(
                f"unknown language hint {hint!r} for {model}",
                field="language_hints",
                value=hint,
                allowed=allowed,
                hint=f"use one of: {allowed}",
            )


def check_instruction(model: str, instruction: str | None) -> None:
    """Refuse an ``instruction`` for a model that does not take one, or longer than CosyVoice's
    limit for a cosyvoice model (Qwen-Audio-TTS states none; catalog; nothing sent)."""
    info = catalog.SYNTHESIS_MODELS.get(model)
    family = info.family if info is not None else "cosyvoice"
    limit = catalog.INSTRUCTION_MAX_LENGTH
    if instruction and family == "cosyvoice" and len(instruction) > limit:
        raise InvalidRequestError(
            f"the instruction is {len(instruction)} characters; {model} takes at most {limit}",
            field="instruction",
            value=instruction,
            hint=f"shorten --instruction to {limit} characters",
            source=catalog.INSTRUCTION_FACT.cite(),
        )
    if instruction and model not in catalog.INSTRUCTION_MODELS:
        allowed = ", ".join(catalog.INSTRUCTION_MODELS)
        raise InvalidRequestError(
            f"{model} does not take an instruction (models that do: {allowed})",
            field="instruction",
            value=instruction,
            allowed=allowed,
            hint="leave --instruction out, or use a voice of " + allowed,
        )


_ALLOWED_CONTROLS = frozenset("\t\n\r\f")
"""Control characters ordinary text files hold (tab, line ends, a form feed between pages)."""


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"character {index + 1} (line {line}, column {column})"


def check_text(text: str) -> None:
    """Refuse text holding a control character (NUL, BEL, ESC, DEL, C1 ...; tab, line ends and
    form feed are fine), naming the first one and where it is; nothing is sent.

    Refused rather than stripped: nothing is changed behind the user's back (what is billed
    and spoken is what was given), and a NUL usually means the input is not the text it
    seems (a UTF-16 or binary file read as UTF-8), which stripping would hide.
    """
    for index, char in enumerate(text):
        code = ord(char)
        if (code < 32 and char not in _ALLOWED_CONTROLS) or 0x7F <= code <= 0x9F:
            name = {0: "NUL", 7: "BEL", 8: "backspace", 27: "ESC", 127: "DEL"}.get(code)
            label = f"U+{code:04X}" + (f" ({name})" if name else "")
            raise InvalidRequestError(
                f"the text holds the control character {label} at {_where(text, index)}",
                field="text",
                hint="remove control characters from the text; a NUL usually means the file "
                "is not UTF-8 text (save it as UTF-8)",
            )


def check_ssml_markup(text: str) -> None:
    """Refuse SSML that is not one well-formed ``<speak>`` document (the parser's line and
    column in the message); a DOCTYPE (entities) is refused outright. Nothing is sent."""
    import xml.etree.ElementTree as ET

    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise InvalidRequestError(
            "the SSML text has a DOCTYPE or ENTITY declaration, which SSML does not take",
            field="text",
            hint="remove the <!DOCTYPE ...> part; start the text with <speak>",
        )
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        raise InvalidRequestError(
            f"the SSML text is not well-formed XML: {reason} at line {line}, column {column + 1}",
            field="text",
            hint='close every tag (<break time="1s"/> is self-closing) and escape & < > '
            "in the text; or leave --ssml out for plain text",
        ) from None
    if root.tag.rsplit("}", 1)[-1] != "speak":
        raise InvalidRequestError(
            f"the SSML text's root element is <{root.tag.rsplit('}', 1)[-1]}>, not <speak>",
            field="text",
            hint="wrap the text in <speak>...</speak>",
        )


def check_ssml(text: str) -> None:
    """Refuse SSML the service cannot take in its one continue-task (tags not counted), or
    that is not a well-formed ``<speak>`` document."""
    from .text import ssml_weight

    check_ssml_markup(text)

    weight = ssml_weight(text)
    if weight > catalog.MAX_CHARS_PER_MESSAGE:
        raise InvalidRequestError(
            f"the SSML text is {weight} characters (CJK counting 2, tags not counted); SSML "
            f"is sent in one message of at most {catalog.MAX_CHARS_PER_MESSAGE}",
            field="text",
            hint="split the document into several <speak> documents and speak each to its own "
            "file (SSML is never split here: a cut would break its markup)",
        )


def check_for_model(model: str, text: str, options: SynthesisOptions) -> None:
    """The checks that need the chosen model and the text: control characters, language hints,
    instruction, SSML."""
    check_text(text)
    check_language_hints(model, options.language_hints)
    check_instruction(model, options.instruction)
    if options.ssml:
        check_ssml(text)


def give_voice_notices(voice: str, options: SynthesisOptions) -> list[str]:
    """Warn (:class:`~cosyvoice_clone.request.VoiceNoticeWarning`, one short line each) about
    options the voice list marks ``voice`` without; never a refusal: the service decides."""
    import warnings

    from ..request import VoiceNoticeWarning

    facts = {"SSML": catalog.SSML_VOICES_FACT, "timestamps": catalog.TIMESTAMPS_FACT,
             "instruction": catalog.QWEN_AUDIO_INSTRUCTION_FACT}  # fmt: skip
    notices = catalog.voice_notices(voice, ssml=options.ssml, instruction=options.instruction,
                                    timestamps=options.word_timestamps)  # fmt: skip
    for notice in notices:
        cited = [fact.cite() for word, fact in facts.items() if f"without {word}" in notice or
                 f"without word {word}" in notice]  # fmt: skip
        source = "; ".join(cited) or None
        warnings.warn(VoiceNoticeWarning(notice, source=source), stacklevel=3)
    return notices


def guard_model(
    voice_id: str,
    model: str | None,
    *,
    target_model: str | None = None,
) -> str:
    """The model to synthesize with, refusing one the voice is not bound to (nothing sent).

    ``target_model`` is the voice's binding when the caller knows it (the registry); otherwise it
    is read from the voice id (``{model}-{prefix}-{hex}``). A ``model`` the catalog does not know
    is refused first, with the list of known ones.
    """
    bound = target_model or catalog.model_from_voice_id(voice_id)
    if model is not None:
        check_model(model)
    if model is None:
        if bound is None:
            raise InvalidRequestError(
                f"cannot tell which model voice {voice_id!r} belongs to",
                field="model",
                hint="pass the synthesis model with --model (e.g. cosyvoice-v3.5-plus)",
            )
        return bound
    if bound is not None and model != bound:
        raise ModelMismatchError(
            f"voice {voice_id} is bound to {bound} and cannot speak with {model}",
            field="model",
            value=model,
            hint=f"use --model {bound} (or leave --model out); a voice only works with the "
            "model it was enrolled for",
            next_step=NextStep.of(StepKind.PICK_MODEL, model=bound),
        )
    return model


@dataclass
class Word:
    """A word timing, in milliseconds from the start of the audio.

    ``begin_ms``/``end_ms`` are the service's ``begin_time``/``end_time`` moved to the start of
    the whole file. ``begin_index``/``end_index`` are character offsets into the whole input
    text, across sentences and parts, so that ``text[w.begin_index:w.end_index] == w.text``
    (:func:`align_words`; the service counts them from the start of each sentence); ``None``
    when the word could not be found in the text (the service normalised it). For SSML they
    are as the service sent them. ``phonemes`` are as sent (fields: ``catalog.WORD_FIELDS``).
    """

    text: str
    begin_ms: int
    end_ms: int
    begin_index: int | None = None
    end_index: int | None = None
    phonemes: list[Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "begin_ms": self.begin_ms,
            "end_ms": self.end_ms,
            "begin_index": self.begin_index,
            "end_index": self.end_index,
        }
        if self.phonemes is not None:
            data["phonemes"] = self.phonemes
        return data

    @classmethod
    def from_wire(cls, entry: dict[str, Any]) -> Word:
        """A ``sentence.words[]`` entry of a result-generated event."""
        phonemes = entry.get("phonemes")
        return cls(
            str(entry.get("text", "")),
            int(entry.get("begin_time", 0)),
            int(entry.get("end_time", 0)),
            _int_or_none(entry.get("begin_index")),
            _int_or_none(entry.get("end_index")),
            list(phonemes) if isinstance(phonemes, list) else None,
        )


@dataclass
class Event:
    """One server event of a task (audio arrives separately, as bytes)."""

    kind: str
    """``started``, ``sentence-begin``, ``sentence-synthesis``, ``sentence-end``, ``finished``."""
    text: str = ""
    characters: int | None = None
    words: list[Word] = field(default_factory=list)
    request_uuid: str | None = None


def synthesis_error(code: str | None, message: str, task_id: str) -> SynthesisError:
    """The error for a task-failed event, with a hint where we know one."""
    hint = None
    if message and "418" in message:
        hint = (
            "the voice does not exist, is not ready, or is bound to another model: check it with "
            "`cosyvoice-clone voices show VOICE` and speak with its target model"
        )
    elif code in TRANSIENT_CODES:
        hint = "a temporary failure of the service; try again (lower --concurrency if throttled)"
    err = SynthesisError(message or "the synthesis task failed", hint=hint, api_code=code,
                         request_id=task_id)  # fmt: skip
    return err


def is_transient(error: Exception) -> bool:
    """Whether a failed task is worth retrying."""
    from ..errors import TransportError

    if isinstance(error, TransportError):
        return True
    return isinstance(error, SynthesisError) and error.api_code in TRANSIENT_CODES


class TaskProtocol:
    """Messages and event parsing for one synthesis task."""

    def __init__(
        self,
        *,
        model: str,
        voice: str,
        options: SynthesisOptions,
        wire_format: str | None = None,
        task_id: str | None = None,
    ) -> None:
        self.model = model
        self.voice = voice
        self.options = options
        self.wire_format = wire_format or options.format
        self.task_id = task_id or uuid.uuid4().hex
        self.started = False
        self.finished = False

    def _header(self, action: str) -> dict[str, Any]:
        return {"action": action, "task_id": self.task_id, "streaming": "duplex"}

    def run_task(self) -> str:
        """The run-task message; first the voice list's notices for this voice (sent anyway)."""
        give_voice_notices(self.voice, self.options)
        return json.dumps(
            {
                "header": self._header("run-task"),
                "payload": {
                    "model": self.model,
                    "task_group": "audio",
                    "task": "tts",
                    "function": "SpeechSynthesizer",
                    "input": {},
                    "parameters": self.options.parameters(self.voice, wire_format=self.wire_format),
                },
            },
            ensure_ascii=False,
        )

    def continue_task(self, text: str) -> str:
        return json.dumps(
            {"header": self._header("continue-task"), "payload": {"input": {"text": text}}},
            ensure_ascii=False,
        )

    def flush_task(self) -> str:
        """continue-task ``{"flush": true}``: speak the held text now (SDK
        ``tts_v2/speech_synthesizer.py`` ``get_flush_request`` / ``streaming_flush``, 2.0.2)."""
        return json.dumps(
            {"header": self._header("continue-task"), "payload": {"input": {"flush": True}}}
        )

    def finish_task(self, *, cancel: bool = False) -> str:
        data: dict[str, Any] = {"directive": "cancel"} if cancel else {}
        return json.dumps({"header": self._header("finish-task"), "payload": {"input": data}})

    def handle(self, frame: str, on_unknown: Callable[[str], None] | None = None) -> Event | None:
        """Parse a text frame; raise :class:`SynthesisError` for task-failed."""
        try:
            data = json.loads(frame)
            header = data["header"]
            event = header["event"]
        except (ValueError, KeyError, TypeError):
            raise SynthesisError(
                "the service sent a frame that is not a JSON event", request_id=self.task_id
            ) from None
        if header.get("task_id") not in (None, "", self.task_id):
            return None  # an event of another (aborted) task
        payload = data.get("payload") or {}
        if event == "task-started":
            self.started = True
            return Event("started")
        if event == "task-failed":
            self.finished = True
            raise synthesis_error(
                header.get("error_code"), str(header.get("error_message") or ""), self.task_id
            )
        if event == "task-finished":
            self.finished = True
            usage = payload.get("usage") or {}
            attrs = header.get("attributes") or {}
            return Event(
                "finished",
                characters=_int_or_none(usage.get("characters")),
                request_uuid=attrs.get("request_uuid"),
            )
        if event == "result-generated":
            output = payload.get("output") or {}
            kind = str(output.get("type") or "")
            sentence = output.get("sentence") or {}
            entries = sentence.get("words") or []
            words = [Word.from_wire(w) for w in entries if isinstance(w, dict)]
            usage = payload.get("usage") or {}
            return Event(
                kind,
                text=str(output.get("original_text") or ""),
                characters=_int_or_none(usage.get("characters")),
                words=words,
            )
        if on_unknown is not None:
            on_unknown(event)
        return None


_ALIGN_WINDOW = 200
"""How far past the previous word a word is looked for (the service skips punctuation and
spaces, never whole sentences)."""


def align_words(text: str, words: Sequence[Word]) -> tuple[Word, ...]:
    """``words`` with ``begin_index``/``end_index`` as offsets into the whole ``text``.

    The service numbers characters from the start of each sentence (every sentence restarts
    at 0), and a long text is spoken in parts; the words come in text order, so each is found
    in ``text`` after the previous one. A word not found near there keeps no index (``None``)
    and the search goes on from the same place.
    """
    aligned: list[Word] = []
    cursor = 0
    for word in words:
        found = (
            text.find(word.text, cursor, cursor + _ALIGN_WINDOW + len(word.text))
            if (word.text)
            else -1
        )
        if found < 0:
            aligned.append(replace(word, begin_index=None, end_index=None))
            continue
        end = found + len(word.text)
        aligned.append(replace(word, begin_index=found, end_index=end))
        cursor = end
    return tuple(aligned)


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
