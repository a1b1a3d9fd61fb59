"""Judge a measured sample against the documented requirements and the target model.

A verdict (``pass``, ``warn``, ``fail``) and a list of problems, each with a stable ``code``,
a ``severity``, a message a person understands and the service error it would cause. The same
judgement answers :func:`service_rejection`, which the emulator uses for its ``Audio.*`` errors.

Problem codes (stable; ``service_code`` in brackets, ``*`` = ``check --fix`` repairs it):

    fail  sample_rate_too_low [Audio.AudioRateError]   below 16 kHz
    fail  silent [Audio.AudioSilentError]              first channel peak below -60 dBFS
    fail  no_speech [Audio.AudioShortError]            noise or tones, no speech
    fail  speech_too_short [Audio.AudioShortError]     under 5 s of continuous speech
    fail  too_long*                                    over 60 s
    fail  file_too_large*                              over 10 MiB (the service's "10 MB")
    warn  format_not_documented*, wav_not_16bit*       not WAV 16-bit / MP3 / M4A
    warn  multichannel*                                only the first channel is used
    warn  duration_not_recommended(*)                  outside 10-20 s
    warn  long_pause*, edge_silence*                   pauses over 2 s, silence at the ends
    warn  too_quiet*, too_loud*, dc_offset*            levels
    warn  noisy, clipping, narrowband                  recording quality (not repairable)
    warn  upsampled                                    ``--fix`` output made from under 16 kHz
    info  prompt_length                                the model uses only part as prompt

"Continuous speech" is speech whose pauses are at most 2 s (the service's rule): the
measurement ``longest_speech_s`` bridges such pauses, so it can exceed ``speech_s`` (the total
of speech without any pause); ``longest_segment_s`` is the longest run without a pause.

Unreadable samples raise :class:`~cosyvoice_clone.errors.SampleUnreadableError` whose
``api_code`` is ``BadRequest.UnsupportedFileFormat`` or ``Audio.DecoderError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import catalog
from ..errors import InvalidRequestError, SampleUnreadableError
from .decode import (
    DECODER_ERROR,
    UNSUPPORTED_FORMAT,
    decode,
    read_source,
)
from .files import format_size
from .report import RATE, SHORT, SILENT, CheckReport, Problem
from .thresholds import THRESHOLDS, Thresholds

if TYPE_CHECKING:
    from .measure import Analysis

SERVICE_MESSAGES: dict[str, str] = {
    UNSUPPORTED_FORMAT: "File format unsupported.",
    DECODER_ERROR: "Decoder audio file failed.",
    SHORT: "valid audio too short!",
    SILENT: "silent audio error.",
    RATE: "File sample rate unsupported.",
}
"""The documented answers of the service, by code (dashscope-protocol.md, Errors)."""


def _fmt_s(value: float) -> str:
    return f"{value:.1f} s"


def judge(
    analysis: Analysis,
    target_model: str | None = None,
    th: Thresholds = THRESHOLDS,
) -> list[Problem]:
    """The problems of a measured sample, most severe first."""
    model = resolve_model(target_model)
    m = analysis.values
    problems: list[Problem] = []
    add = problems.append
    duration = float(m["duration_s"] or 0.0)
    rate = int(m["sample_rate"])
    peak = m["peak_dbfs"]
    lo_rec, hi_rec = th.recommended_seconds

    # Format and container.
    if m["format"] not in th.documented_formats:
        add(
            Problem(
                "format_not_documented",
                "warn",
                f"{str(m['format']).upper()} is not a documented sample format "
                "(WAV 16-bit, MP3, M4A); the service may refuse it",
                fixable=True,
            )
        )
    elif m["format"] == "wav" and m["bit_depth"] != th.documented_wav_bits:
        add(
            Problem(
                "wav_not_16bit",
                "warn",
                f"WAV is {m['codec']}; the service documents 16-bit PCM WAV",
                fixable=True,
            )
        )
    if m["file_size"] > th.max_bytes:
        add(
            Problem(
                "file_too_large",
                "fail",
                f"file is {format_size(m['file_size'])} ({m['file_size']:,} bytes); the "
                f"service accepts at most {format_size(th.max_bytes)} ({th.max_bytes:,} bytes)",
                fixable=True,
            )
        )
    if m["channels"] > 1:
        add(
            Problem(
                "multichannel",
                "warn",
                f"{m['channels']} channels: the service uses only the first one",
                fixable=True,
            )
        )

    # What the service refuses outright.
    silent = peak is None or peak < th.silent_peak_dbfs
    if rate < th.min_sample_rate:
        add(
            Problem(
                "sample_rate_too_low",
                "fail",
                f"sample rate {rate} Hz is below the required {th.min_sample_rate} Hz; "
                "re-record at 16 kHz or more (upsampling does not bring back the lost detail)",
                service_code=RATE,
            )
        )
    if silent:
        add(
            Problem(
                "silent",
                "fail",
                "the first channel is silent" if m["channels"] > 1 else "the sample is silent",
                service_code=SILENT,
            )
        )
    elif float(m["speech_s"]) < th.no_speech_s:
        add(
            Problem(
                "no_speech",
                "fail",
                "no speech found (only noise or tones); record a person speaking",
                service_code=SHORT,
            )
        )
    elif float(m["longest_speech_s"]) < th.min_continuous_speech_s:
        add(
            Problem(
                "speech_too_short",
                "fail",
                "the longest stretch of speech (pauses up to "
                f"{th.max_pause_s:g} s included) is {_fmt_s(m['longest_speech_s'])}; "
                f"at least {th.min_continuous_speech_s:g} s is needed (10–20 s is best)",
                service_code=SHORT,
            )
        )
    if duration > th.max_seconds:
        add(
            Problem(
                "too_long",
                "fail",
                f"{_fmt_s(duration)} long; the service accepts at most {th.max_seconds:g} s "
                "(`--fix` picks the best 10–20 s)",
                fixable=True,
            )
        )
    elif th.min_continuous_speech_s <= duration < lo_rec or hi_rec < duration <= th.max_seconds:
        add(
            Problem(
                "duration_not_recommended",
                "warn",
                f"{_fmt_s(duration)} long; {lo_rec:g}–{hi_rec:g} s is recommended",
                fixable=duration > hi_rec,
            )
        )

    # Quality.
    if not silent and float(m["speech_s"]) >= th.no_speech_s:
        if float(m["longest_pause_s"]) > th.max_pause_s:
            add(
                Problem(
                    "long_pause",
                    "warn",
                    f"a pause of {_fmt_s(m['longest_pause_s'])}; pauses should be at most "
                    f"{th.max_pause_s:g} s",
                    fixable=True,
                )
            )
        edge = max(float(m["leading_silence_s"]), float(m["trailing_silence_s"]))
        if edge > th.edge_silence_warn_s:
            add(
                Problem(
                    "edge_silence",
                    "warn",
                    f"{m['leading_silence_s']:.1f} s of silence before and "
                    f"{m['trailing_silence_s']:.1f} s after the speech",
                    fixable=True,
                )
            )
        snr = m["snr_db"]
        if snr is not None and snr < th.snr_warn_db:
            tip = (
                " (or clone with --enable-preprocess to let the service denoise)"
                if model.enable_preprocess
                else ""
            )
            add(
                Problem(
                    "noisy",
                    "warn",
                    f"background noise: speech is only {snr:.0f} dB above the noise floor "
                    f"(aim for {th.snr_warn_db:g} dB or more); record in a quieter place{tip}",
                )
            )
        loud = m["loudness_lufs"]
        if loud is not None and loud < th.loudness_low_lufs:
            add(
                Problem(
                    "too_quiet",
                    "warn",
                    f"very quiet ({loud:.1f} LUFS); aim for about {th.fix_loudness_lufs:g} LUFS",
                    fixable=True,
                )
            )
        elif loud is not None and loud > th.loudness_high_lufs:
            add(
                Problem(
                    "too_loud",
                    "warn",
                    f"very loud ({loud:.1f} LUFS); aim for about {th.fix_loudness_lufs:g} LUFS",
                    fixable=True,
                )
            )
        bw = m["bandwidth_hz"]
        if rate >= th.min_sample_rate and bw is not None and bw < th.narrowband_hz:
            add(
                Problem(
                    "narrowband",
                    "warn",
                    f"nothing above {bw / 1000:.1f} kHz: this sounds like telephone-quality audio "
                    "resampled up; the clone will sound muffled",
                )
            )
    if float(m["clipped_ratio"]) >= th.clipped_ratio_warn:
        add(
            Problem(
                "clipping",
                "warn",
                f"{float(m['clipped_ratio']) * 100:.2f}% of the samples are clipped (distorted); "
                "record with less gain",
            )
        )
    if abs(float(m["dc_offset"])) >= th.dc_offset_warn:
        add(
            Problem(
                "dc_offset",
                "warn",
                f"DC offset of {float(m['dc_offset']):+.3f}; `--fix` removes it",
                fixable=True,
            )
        )
    if (
        model.max_prompt_audio_length
        and float(m["longest_speech_s"]) > catalog.DEFAULT_MAX_PROMPT_AUDIO_LENGTH
        and duration > catalog.DEFAULT_MAX_PROMPT_AUDIO_LENGTH
    ):
        add(
            Problem(
                "prompt_length",
                "info",
                f"{model.name} uses at most max_prompt_audio_length "
                f"({catalog.DEFAULT_MAX_PROMPT_AUDIO_LENGTH:g} s by default, up to "
                f"{catalog.MAX_PROMPT_AUDIO_LENGTH_RANGE[1]:g} s) of the sample as the voice "
                "prompt",
            )
        )
    order = {"fail": 0, "warn": 1, "info": 2}
    return sorted(problems, key=lambda p: order[p.severity])


def resolve_model(target_model: str | None) -> catalog.TargetModel:
    """The catalog entry of ``target_model`` (default model when ``None``)."""
    name = target_model or catalog.DEFAULT_TARGET_MODEL
    try:
        return catalog.target_model(name)
    except KeyError:
        raise InvalidRequestError(
            f"unknown target model {name!r}",
            field="target_model",
            value=name,
            allowed=", ".join(catalog.TARGET_MODELS),
            hint="choose one of " + ", ".join(catalog.TARGET_MODELS),
        ) from None


def check_analysis(
    analysis: Analysis, target_model: str | None = None, source: str | None = None
) -> CheckReport:
    """Judge an existing :class:`Analysis`."""
    model = resolve_model(target_model)
    problems = judge(analysis, model.name)
    return CheckReport.of(problems, analysis.measurements(), model.name, source, analysis)


def check_sample(
    source: str | Path | bytes, target_model: str | None = None, *, pitch: bool = True
) -> CheckReport:
    """Check a sample (path, http(s) URL or bytes) before cloning with it.

    Raises :class:`~cosyvoice_clone.errors.SampleUnreadableError` (exit 2) when it cannot be
    read or decoded, and :class:`~cosyvoice_clone.errors.InvalidRequestError` for an unknown
    target model.
    """
    from .measure import analyse

    resolve_model(target_model)
    data, name, size = read_source(source)
    decoded = decode(data, name, size)
    label = None if isinstance(source, (bytes, bytearray, memoryview)) else str(source)
    return check_analysis(analyse(decoded, pitch=pitch), target_model, label)


def service_rejection(data: bytes, filename: str | None = None) -> tuple[str, str] | None:
    """What the service would answer for this sample: ``None``, or ``(api_code, message)``."""
    from .measure import analyse

    try:
        decoded = decode(bytes(data), filename, len(data))
    except SampleUnreadableError as err:
        if err.code == "decoder_missing":
            return None  # M4A/AAC without PyAV: the service reads it, we cannot judge it here
        failed = err.api_code or DECODER_ERROR
        return failed, SERVICE_MESSAGES.get(failed, SERVICE_MESSAGES[DECODER_ERROR])
    code = check_analysis(analyse(decoded, pitch=False)).service_code
    return (code, SERVICE_MESSAGES[code]) if code else None


def voice_pitch_hz(data: bytes) -> float | None:
    """Median fundamental frequency (Hz) of the voiced speech in a sample; ``None`` if none."""
    from .measure import analyse

    try:
        decoded = decode(bytes(data), None, len(data))
    except SampleUnreadableError:
        return None
    value = analyse(decoded).values.get("pitch_hz")
    return float(value) if value is not None else None
