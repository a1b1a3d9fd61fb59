"""The emulator's speech engine: synthetic but honest speech, streamed in real containers.

Nothing here is a real TTS model; what matters is that the audio behaves like speech where a
client can observe it:

- deterministic: the same text, voice and parameters always give the same bytes;
- the duration follows the text (Latin characters at ``LATIN_CHARS_PER_SECOND``, CJK and other
  syllabic scripts at ``CJK_CHARS_PER_SECOND``, pauses at punctuation) and the ``rate``;
- the fundamental pitch is the voice's ``pitch_hz`` times the ``pitch`` parameter;
- the level follows ``volume`` (50 is nominal, 0 is silence, 100 is twice as loud);
- every format (``pcm``, ``wav``, ``mp3``, ``opus``) at every documented sample rate, encoded as
  one stream: a WAV header with placeholder sizes only at the start, one MP3 or Ogg/Opus stream
  that soundfile decodes;
- word timings (milliseconds from the start of the task) for word timestamps.

The text is planned into tokens (words, CJK characters, pauses), rendered block by block so that
memory stays bounded whatever the sentence length, and fed to an :class:`Encoder`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

from .. import catalog

LATIN_CHARS_PER_SECOND = 14.0
"""Speaking rate for Latin-script text (letters, digits, spaces) at ``rate`` 1.0."""
CJK_CHARS_PER_SECOND = 4.5
"""Speaking rate for CJK ideographs, kana and hangul at ``rate`` 1.0."""
DEFAULT_PITCH_HZ = 140.0
"""Fundamental frequency of a voice whose pitch is not known."""

PAUSES_S: dict[str, float] = {
    ",": 0.15, "，": 0.2, "、": 0.15, ";": 0.25, "；": 0.25, ":": 0.2, "：": 0.2,
    ".": 0.35, "。": 0.35, "!": 0.35, "！": 0.35, "?": 0.35, "？": 0.35, "\n": 0.4,
    "…": 0.35, "—": 0.15,
}  # fmt: skip

_SENTENCE_END = re.compile(r"(?:[。！？!?；;…\n]+|\.(?=\s|$))[\"'”’」』)）\]]*\s*")

WAV_PLACEHOLDER_SIZE = 0xFFFFFFFF
"""The RIFF and data sizes of a streamed WAV header: unknown, decoders read to the end."""


class FormatError(ValueError):
    """A format / sample rate combination the service does not offer."""


def resolve_format(fmt: str | None, sample_rate: int | None) -> tuple[str, int]:
    """Normalise ``format``/``sample_rate`` as the service does (``Default`` + 0 -> mp3 22050)."""
    name = (fmt or "Default").strip()
    rate = int(sample_rate or 0)
    if name.lower() == "default":
        name = "mp3"
    name = name.lower()
    if rate == 0:
        rate = catalog.DEFAULT_SAMPLE_RATE
    if name not in catalog.AUDIO_FORMATS:
        raise FormatError(f"unsupported format {fmt!r}; use one of {catalog.AUDIO_FORMATS}")
    allowed = catalog.OPUS_SAMPLE_RATES if name == "opus" else catalog.SAMPLE_RATES
    if rate not in allowed:
        raise FormatError(f"unsupported sample_rate {rate} for {name}; use one of {allowed}")
    return name, rate


# --------------------------------------------------------------------------- text planning


def is_syllabic(char: str) -> bool:
    """CJK ideographs, kana and hangul: one character is one syllable."""
    code = ord(char)
    return (
        catalog.cjk_weight(char) == 2
        or 0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0xAC00 <= code <= 0xD7AF  # hangul syllables
    )


@dataclass(frozen=True)
class Token:
    """One timed unit of a sentence: a word, a CJK character, or a pause."""

    text: str
    begin_index: int
    end_index: int
    seconds: float
    voiced: bool


def plan_sentence(text: str, rate: float = 1.0) -> list[Token]:
    """Split ``text`` into timed tokens; their durations add up to the sentence's duration."""
    tokens: list[Token] = []
    speed = max(rate, 0.1)
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if is_syllabic(ch):
            tokens.append(Token(ch, i, i + 1, 1.0 / CJK_CHARS_PER_SECOND / speed, True))
            i += 1
        elif ch.isalnum():
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "'’-") and not is_syllabic(text[j]):
                j += 1
            tokens.append(Token(text[i:j], i, j, (j - i) / LATIN_CHARS_PER_SECOND / speed, True))
            i = j
        elif ch in PAUSES_S:
            tokens.append(Token(ch, i, i + 1, PAUSES_S[ch] / speed, False))
            i += 1
        elif ch.isspace():
            tokens.append(Token(ch, i, i + 1, 1.0 / LATIN_CHARS_PER_SECOND / speed, False))
            i += 1
        else:  # other punctuation and symbols: a short gap
            tokens.append(Token(ch, i, i + 1, 0.05 / speed, False))
            i += 1
    return tokens


def estimate_seconds(text: str, rate: float = 1.0) -> float:
    """How long the engine speaks ``text`` (before encoder padding)."""
    return sum(t.seconds for t in plan_sentence(text, rate))


def spoken_seconds(text: str, rate: float = 1.0) -> float:
    """How long the emulator speaks ``text`` sent in one task (sentence by sentence, trimmed)."""
    sentences, rest = split_sentences(text)
    if rest.strip():
        sentences.append(rest)
    return sum(estimate_seconds(s.strip(), rate) for s in sentences if s.strip())


def split_sentences(text: str) -> tuple[list[str], str]:
    """Complete sentences at the start of ``text``, and the unfinished rest."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        # "3." at the very end of streamed text may continue ("3.14"): wait for more.
        if end == len(text) and text[match.start()] == "." and not match.group(0)[-1:].isspace():
            break
        piece = text[start:end]
        if piece.strip():
            sentences.append(piece)
        start = end
    return sentences, text[start:]


# --------------------------------------------------------------------------- rendering

_TABLE_SIZE = 2048


def _harmonic_table(weights: np.ndarray) -> np.ndarray:
    phase = np.arange(_TABLE_SIZE, dtype=np.float64) / _TABLE_SIZE * 2 * np.pi
    table = np.zeros(_TABLE_SIZE, dtype=np.float64)
    for k, w in enumerate(weights, start=1):
        table += w * np.sin(k * phase)
    peak = float(np.max(np.abs(table))) or 1.0
    return (table / peak).astype(np.float32)


@dataclass
class Voice:
    """What the engine needs to know about a voice."""

    pitch_hz: float = DEFAULT_PITCH_HZ


def _seed_of(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass
class SpeechEngine:
    """Renders planned sentences to int16 samples, block by block, with continuous phase."""

    sample_rate: int
    pitch_hz: float = DEFAULT_PITCH_HZ
    volume: int = 50
    rate: float = 1.0
    pitch: float = 1.0
    seed: int = 0
    block_seconds: float = 1.0
    _phase: float = field(default=0.0, init=False)
    _tables: list[np.ndarray] = field(default_factory=list, init=False)
    _salt: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._salt = _seed_of("voice", self.pitch_hz, self.seed) & 0xFFFFFFFF
        rng = np.random.default_rng(_seed_of("tables", self.pitch_hz, self.seed))
        # A few vowel-like spectra: harmonic weights falling off, with random formant bumps.
        for _ in range(6):
            k = np.arange(1, 13, dtype=np.float64)
            weights = (1.0 / k) * (1.0 + 1.5 * rng.random(k.size) * (k > 1))
            self._tables.append(_harmonic_table(weights))

    @property
    def f0(self) -> float:
        """Fundamental frequency in Hz."""
        return max(40.0, self.pitch_hz * self.pitch)

    @property
    def gain(self) -> float:
        """Peak amplitude (0..1) for the volume."""
        return 0.3 * max(0, min(100, self.volume)) / 50.0

    def render(
        self,
        text: str,
        tokens: list[Token] | None = None,
        first_block_seconds: float | None = None,
    ) -> Iterator[np.ndarray]:
        """Yield int16 blocks of at most ``block_seconds`` (the first one shorter if asked)."""
        sr = self.sample_rate
        tokens = plan_sentence(text, self.rate) if tokens is None else tokens
        block = max(1, int((first_block_seconds or self.block_seconds) * sr))
        full_block = max(1, int(self.block_seconds * sr))
        pending: list[np.ndarray] = []
        pending_len = 0
        total = sum(token_samples(t, sr) for t in tokens) or 1
        done = 0
        for token in tokens:
            n = token_samples(token, sr)
            for start in range(0, n, full_block):
                stop = min(n, start + full_block)
                part = self._render_token(token, start, stop, n, done, total)
                pending.append(part)
                pending_len += part.size
                if pending_len >= block:
                    joined = np.concatenate(pending)
                    while joined.size >= block:
                        yield joined[:block]
                        joined = joined[block:]
                        block = full_block
                    pending, pending_len = ([joined], joined.size) if joined.size else ([], 0)
            done += n
        if pending_len:
            yield np.concatenate(pending)

    def _render_token(
        self, token: Token, start: int, stop: int, n: int, done: int, total: int
    ) -> np.ndarray:
        sr = self.sample_rate
        count = stop - start
        if not token.voiced or self.gain == 0.0:
            return np.zeros(count, dtype=np.int16)
        rng_seed = zlib.crc32(f"{token.text}\x1f{self.seed}\x1f{done}".encode()) ^ self._salt
        t = np.arange(start, stop, dtype=np.float64)
        pos = (done + t) / total  # position in the sentence, for declination
        # Intonation: gentle declination over the sentence plus a per-word accent.
        accent = 0.06 * np.sin(np.pi * t / n) * (0.5 + (rng_seed & 0xFF) / 255.0)
        f0 = self.f0 * (1.04 - 0.08 * pos + accent)
        inc = f0 / sr
        phase = self._phase + np.cumsum(inc)
        self._phase = float(phase[-1] % 1.0)
        table = self._tables[rng_seed % len(self._tables)]
        idx = ((phase % 1.0) * _TABLE_SIZE).astype(np.int64) % _TABLE_SIZE
        wave = table[idx]
        # Syllable envelope: rises and falls every ~0.2 s, silent gaps at word edges.
        syll = max(1, round(n / max(1, round(token.seconds * self.rate / 0.2))))
        env = np.sin(np.pi * ((t % syll) / syll)) ** 0.6
        edge = np.minimum(1.0, np.minimum(t, n - 1 - t) / max(1.0, 0.01 * sr))
        out = wave * env * edge * self.gain
        return np.clip(out * 32767.0, -32768, 32767).astype(np.int16)


# --------------------------------------------------------------------------- containers


class _AppendSink(io.RawIOBase):
    """A write-only stream that keeps only bytes appended at the end (a network stream).

    Encoders that seek back at the end to patch a header (LAME's Info frame) cannot do that on
    a stream; the patch is dropped, as it would be on the wire.
    """

    def __init__(self) -> None:
        self._out = bytearray()
        self._size = 0
        self._pos = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def write(self, data: bytes) -> int:  # type: ignore[override]
        size = len(data)
        if self._pos == self._size:
            self._out += bytes(data)
            self._size += size
        elif self._pos + size > self._size:
            overlap = self._size - self._pos
            tail = bytes(data)[overlap:]
            self._out += tail
            self._size += len(tail)
        self._pos += size
        return size

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = offset
        elif whence == 1:
            self._pos += offset
        else:
            self._pos = self._size + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data


def wav_header(sample_rate: int, data_size: int = WAV_PLACEHOLDER_SIZE) -> bytes:
    """A 44-byte PCM 16-bit mono WAV header (placeholder sizes when streaming)."""
    riff = WAV_PLACEHOLDER_SIZE if data_size == WAV_PLACEHOLDER_SIZE else 36 + data_size
    return (
        b"RIFF" + struct.pack("<I", riff) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data" + struct.pack("<I", data_size)
    )  # fmt: skip


class Encoder:
    """Turns int16 sample blocks into the bytes of one streamed container.

    Thread-safe: ``encode`` may run in a worker thread while the task is cancelled and
    ``close`` is called from the event loop; a lock keeps libsndfile from being closed under a
    write (which would crash the process), and nothing is encoded after ``close``.
    """

    def __init__(self, fmt: str, sample_rate: int, bit_rate: int | None = None) -> None:
        self.format = fmt
        self.sample_rate = sample_rate
        self._started = False
        self._closed = False
        self._lock = threading.Lock()
        self._sink: _AppendSink | None = None
        self._file: sf.SoundFile | None = None
        if fmt in ("mp3", "opus"):
            self._sink = _AppendSink()
            if fmt == "mp3":
                self._file = sf.SoundFile(
                    self._sink, "w", samplerate=sample_rate, channels=1, format="MP3",
                    subtype="MPEG_LAYER_III", bitrate_mode="CONSTANT", compression_level=0.5,
                )  # fmt: skip
            else:
                level = 0.5
                if bit_rate:
                    # libsndfile maps compression 0..1 onto Opus bit rates high..low.
                    level = min(1.0, max(0.0, 1.0 - (bit_rate - 6) / (510 - 6)))
                self._file = sf.SoundFile(
                    self._sink, "w", samplerate=sample_rate, channels=1, format="OGG",
                    subtype="OPUS", compression_level=level,
                )  # fmt: skip

    @property
    def has_tail(self) -> bool:
        """Whether :meth:`finish` produces bytes that belong to the last audio (mp3, opus)."""
        return self.format in ("mp3", "opus")

    def encode(self, samples: np.ndarray) -> bytes:
        """Bytes to send for these samples (possibly empty while an encoder buffers)."""
        with self._lock:
            if self._closed:
                return b""
            if self._file is not None and self._sink is not None:
                self._file.write(samples)
                return self._sink.take()
            data = samples.astype("<i2", copy=False).tobytes()
            if self.format == "wav" and not self._started:
                self._started = True
                return wav_header(self.sample_rate) + data
            return data

    def finish(self) -> bytes:
        """The last bytes of the stream (encoder tail); the WAV header if nothing was sent."""
        with self._lock:
            if self._closed:
                return b""
            self._closed = True
            if self._file is not None and self._sink is not None:
                self._file.close()
                self._file = None
                return self._sink.take()
            if self.format == "wav" and not self._started:
                self._started = True
                return wav_header(self.sample_rate)
            return b""

    def close(self) -> None:
        """Release the encoder without producing the tail (a cancelled task)."""
        with self._lock:
            self._closed = True
            if self._file is not None:
                with contextlib.suppress(RuntimeError, sf.SoundFileError):
                    self._file.close()
                self._file = None


def token_samples(token: Token, sample_rate: int) -> int:
    """How many samples the engine renders for ``token``."""
    return max(1, round(token.seconds * sample_rate))


def word_timings(
    tokens: list[Token], sample_rate: int, offset_samples: int
) -> list[dict[str, object]]:
    """Word entries (``text``, indices, ``begin_time``/``end_time`` in ms from the task start)."""
    words: list[dict[str, object]] = []
    pos = offset_samples
    for token in tokens:
        n = token_samples(token, sample_rate)
        if token.voiced:
            words.append(
                {
                    "text": token.text,
                    "begin_index": token.begin_index,
                    "end_index": token.end_index,
                    "begin_time": round(pos * 1000 / sample_rate),
                    "end_time": round((pos + n) * 1000 / sample_rate),
                }
            )
        pos += n
    return words


def sentence_begin_output(text: str, index: int) -> dict[str, object]:
    """The ``output`` of a ``sentence-begin`` result (WebSocket and HTTP SSE alike)."""
    sentence = {"index": index, "words": []}
    return {"type": "sentence-begin", "original_text": text, "sentence": sentence}


def sentence_end_output(
    text: str,
    index: int,
    tokens: list[Token],
    sample_rate: int,
    begin: int,
    *,
    word_timestamps: bool,
) -> tuple[dict[str, object], int]:
    """The ``output`` of a ``sentence-end`` result for a sentence starting at sample ``begin``,
    and the sample where it ends. Words are listed only when ``word_timestamps`` is on."""
    words = word_timings(tokens, sample_rate, begin) if word_timestamps else []
    end = begin + sum(token_samples(t, sample_rate) for t in tokens)
    output: dict[str, object] = {
        "type": "sentence-end",
        "original_text": text,
        "sentence": {
            "index": index,
            "words": words,
            "begin_time": round(begin * 1000 / sample_rate),
            "end_time": round(end * 1000 / sample_rate),
        },
    }
    return output, end


def render_clip(
    text: str, fmt: str, sample_rate: int, *, pitch_hz: float, rate: float = 1.0
) -> bytes:
    """One finished file of ``text`` spoken by a voice (a design's preview): every sentence,
    encoded in ``fmt`` at ``sample_rate``; a WAV carries its true sizes."""
    engine = SpeechEngine(sample_rate=sample_rate, pitch_hz=pitch_hz, rate=rate)
    sentences, rest = split_sentences(text)
    pieces = [p.strip() for p in (*sentences, rest) if p.strip()]
    blocks = [block for piece in pieces for block in engine.render(piece)]
    samples = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)
    if fmt == "wav":
        data = samples.astype("<i2", copy=False).tobytes()
        return wav_header(sample_rate, len(data)) + data
    encoder = Encoder(fmt, sample_rate)
    return encoder.encode(samples) + encoder.finish()
