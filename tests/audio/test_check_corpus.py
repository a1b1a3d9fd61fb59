"""The sample check on a generated corpus: verdicts, problem codes, service answers, --fix."""

from __future__ import annotations

import hashlib
import importlib
import io
from importlib import resources
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
import soxr

from cosyvoice_clone.audio import check_sample, service_rejection
from cosyvoice_clone.audio.loudness import loudness
from cosyvoice_clone.audio.repair import fix_sample
from cosyvoice_clone.errors import InvalidRequestError, SampleUnreadableError

Corpus = dict[str, Path]


def _speech() -> tuple[np.ndarray, int]:
    data = resources.files("cosyvoice_clone").joinpath("data/reference_en.wav").read_bytes()
    x, rate = sf.read(io.BytesIO(data), dtype="float32")
    return x, rate


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """Every kind of sample from the issue, written once per module."""
    root = tmp_path_factory.mktemp("corpus")
    x, rate = _speech()
    rng = np.random.default_rng(6)
    split = int(7.04 * rate)  # a pause between two words of the reference
    files: Corpus = {}

    def wav(name: str, y: np.ndarray, sr: int, **kw: str) -> None:
        files[name] = root / name
        sf.write(files[name], y, sr, **kw)

    wav("good.wav", x, rate)
    wav("short.wav", x[: 2 * rate], rate)
    wav("long70.wav", np.tile(x, 5)[: 70 * rate], rate)
    wav("silence.wav", np.zeros(10 * rate, dtype=np.float32), rate)
    wav("noise.wav", 0.05 * rng.standard_normal(10 * rate), rate)
    wav("rate8k.wav", soxr.resample(x, rate, 8000), 8000)
    wav("clipped.wav", np.clip(x * 6.0, -1.0, 1.0), rate)
    gap = np.zeros(4 * rate, dtype=np.float32)
    wav("pause4s.wav", np.concatenate([x[:split], gap, x[split:]]), rate)
    wav("stereo.wav", np.stack([x, 0.5 * x], axis=1), rate)
    x48 = soxr.resample(x, rate, 48000)
    big = np.tile(x48, 3)[: 44 * 48000]
    wav("big12mb.wav", np.stack([big, big], axis=1), 48000, subtype="PCM_24")
    wav("speech.mp3", x, rate, format="MP3")
    wav("speech.flac", x, rate)
    wav("speech.ogg", x, rate, format="OGG", subtype="VORBIS")
    wav("speech.opus", x48, 48000, format="OGG", subtype="OPUS")
    good = files["good.wav"].read_bytes()
    files["truncated.wav"] = root / "truncated.wav"
    files["truncated.wav"].write_bytes(good[:40])
    files["text.wav"] = root / "text.wav"
    files["text.wav"].write_text("this is a text file, not audio\n" * 40)
    return files


# name -> (verdict, problem codes other than info, service code)
EXPECTED: dict[str, tuple[str, set[str], str | None]] = {
    "good.wav": ("pass", set(), None),
    "short.wav": ("fail", {"speech_too_short"}, "Audio.AudioShortError"),
    "long70.wav": ("fail", {"too_long"}, None),
    "silence.wav": ("fail", {"silent"}, "Audio.AudioSilentError"),
    "noise.wav": ("fail", {"no_speech"}, "Audio.AudioShortError"),
    "rate8k.wav": ("fail", {"sample_rate_too_low"}, "Audio.AudioRateError"),
    "clipped.wav": ("warn", {"clipping", "too_loud", "dc_offset"}, None),
    "pause4s.wav": ("warn", {"long_pause"}, None),
    "stereo.wav": ("warn", {"multichannel"}, None),
    "big12mb.wav": (
        "fail",
        {"file_too_large", "multichannel", "wav_not_16bit", "duration_not_recommended"},
        None,
    ),
    "speech.mp3": ("pass", set(), None),
    "speech.flac": ("warn", {"format_not_documented"}, None),
    "speech.ogg": ("warn", {"format_not_documented"}, None),
    "speech.opus": ("warn", {"format_not_documented"}, None),
}
UNREADABLE = {
    "truncated.wav": "Audio.DecoderError",
    "text.wav": "BadRequest.UnsupportedFileFormat",
}
FIXABLE = [
    "good.wav",
    "long70.wav",
    "clipped.wav",
    "pause4s.wav",
    "stereo.wav",
    "big12mb.wav",
    "speech.mp3",
    "speech.flac",
    "rate8k.wav",
]
UNFIXABLE = ["short.wav", "silence.wav", "noise.wav"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdict_and_codes(corpus: Corpus, name: str) -> None:
    verdict, codes, service_code = EXPECTED[name]
    report = check_sample(corpus[name])
    got = {p.code for p in report.problems if p.severity != "info"}
    assert (report.verdict, got) == (verdict, codes), [p.message for p in report.problems]
    assert report.service_code == service_code
    for p in report.problems:
        assert p.message and p.severity in ("fail", "warn", "info")
    data = report.to_dict()
    assert data["verdict"] == verdict
    for item in data["problems"]:
        assert set(item) >= {"code", "severity", "message", "service_code"}
    # The emulator's answer comes from the same judgement.
    answer = service_rejection(corpus[name].read_bytes(), name)
    assert (answer[0] if answer else None) == service_code


def test_measurements_of_the_good_sample(corpus: Corpus) -> None:
    m = check_sample(corpus["good.wav"]).measurements
    assert m["format"] == "wav" and m["codec"] == "PCM_16" and m["bit_depth"] == 16
    assert m["sample_rate"] == 22050 and m["channels"] == 1
    assert m["duration_s"] == pytest.approx(15.345, abs=0.01)
    assert m["file_size"] == corpus["good.wav"].stat().st_size
    assert 12.0 < m["speech_s"] < 15.3
    assert m["longest_speech_s"] >= 10.0
    assert m["longest_pause_s"] < 1.0
    assert m["leading_silence_s"] < 0.5 and m["trailing_silence_s"] < 0.5
    assert m["snr_db"] > 40
    assert -1.0 < m["peak_dbfs"] <= 0.0
    assert 70 < m["pitch_hz"] < 200
    segments = m["speech_segments"]
    assert segments and all(a < b for a, b in segments)
    assert sum(b - a for a, b in segments) == pytest.approx(m["speech_s"], abs=0.05)


def test_pause_and_silence_measurements(corpus: Corpus) -> None:
    m = check_sample(corpus["pause4s.wav"]).measurements
    assert m["longest_pause_s"] == pytest.approx(4.3, abs=0.3)
    s = check_sample(corpus["silence.wav"]).measurements
    assert s["speech_s"] == 0 and s["peak_dbfs"] is None and s["loudness_lufs"] is None


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_files(corpus: Corpus, name: str) -> None:
    with pytest.raises(SampleUnreadableError) as info:
        check_sample(corpus[name])
    assert info.value.exit_code == 2
    assert info.value.api_code == UNREADABLE[name]
    answer = service_rejection(corpus[name].read_bytes(), name)
    assert answer is not None and answer[0] == UNREADABLE[name]


def test_loudness_agrees_with_pyloudnorm(corpus: Corpus) -> None:
    for name in ("good.wav", "noise.wav", "stereo.wav"):
        y, rate = sf.read(corpus[name], dtype="float64", always_2d=True)
        ours = loudness(y[:, 0], rate)
        ref = pyloudnorm.Meter(rate).integrated_loudness(y[:, 0])
        assert ours == pytest.approx(ref, abs=0.1)
        assert check_sample(corpus[name]).measurements["loudness_lufs"] == pytest.approx(
            ref, abs=0.1
        )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", FIXABLE)
def test_fix_makes_a_compliant_sample(corpus: Corpus, tmp_path: Path, name: str) -> None:
    before = _digest(corpus[name])
    out = tmp_path / "fixed.wav"
    result = fix_sample(corpus[name], out)
    assert result.written and out.is_file()
    assert _digest(corpus[name]) == before  # the input is untouched
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype, info.format) == (
        24000,
        1,
        "PCM_16",
        "WAV",
    )
    assert out.stat().st_size < 10 * 1024 * 1024
    assert 5.0 <= info.duration <= 20.0
    after = check_sample(out)
    assert after.verdict == ("warn" if name == "rate8k.wav" else "pass"), after.problems
    if name == "rate8k.wav":
        assert {p.code for p in after.problems if p.severity != "info"} == {"narrowband"}
    m = after.measurements
    assert m["peak_dbfs"] <= -0.9
    assert m["loudness_lufs"] == pytest.approx(-20.0, abs=2.5)
    assert m["longest_pause_s"] <= 2.0
    assert m["leading_silence_s"] <= 0.5 and m["trailing_silence_s"] <= 0.5
    assert abs(m["dc_offset"]) < 0.001
    # what the repair cannot undo stays a warning of the repaired sample (not re-measurable)
    inherited = {"rate8k.wav": "upsampled", "clipped.wav": "clipping"}.get(name)
    assert result.to_dict()["verdict"] == ("warn" if inherited else after.verdict)
    if inherited:
        assert result.after is not None
        assert inherited in {p.code for p in result.after.problems if p.severity == "warn"}
    if name in ("long70.wav", "good.wav", "pause4s.wav", "stereo.wav"):
        assert info.duration >= 10.0
    if name == "clipped.wav":
        assert "clipping" in result.unrepaired


@pytest.mark.parametrize("name", UNFIXABLE)
def test_fix_refuses_what_cannot_be_repaired(corpus: Corpus, tmp_path: Path, name: str) -> None:
    outdir = tmp_path / "out"
    outdir.mkdir()
    result = fix_sample(corpus[name], outdir / "fixed.wav")
    assert not result.written and result.reason
    assert list(outdir.iterdir()) == []  # nothing written, no temp file left


def test_fix_never_overwrites_the_input(corpus: Corpus, tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    src.write_bytes(corpus["stereo.wav"].read_bytes())
    before = _digest(src)
    link = tmp_path / "link.wav"
    link.symlink_to(src)
    for out in (src, tmp_path / "." / "in.wav", link):
        with pytest.raises(InvalidRequestError, match="overwrite"):
            fix_sample(src, out)
    assert _digest(src) == before


def test_bytes_sources_and_target_model(corpus: Corpus) -> None:
    data = corpus["good.wav"].read_bytes()
    assert check_sample(data).verdict == "pass"
    report = check_sample(data, "cosyvoice-v2")
    assert report.target_model == "cosyvoice-v2"
    assert all(p.code != "prompt_length" for p in report.problems)
    with pytest.raises(InvalidRequestError, match="unknown target model"):
        check_sample(data, "cosyvoice-v9")


def test_m4a_needs_the_extra_or_decodes(tmp_path: Path) -> None:
    fake = tmp_path / "voice.m4a"
    fake.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 64)
    try:
        import av  # noqa: F401
    except ImportError:
        with pytest.raises(SampleUnreadableError) as info:
            check_sample(fake)
        assert "pip install 'cosyvoice-clone[m4a]'" in str(info.value)
        assert info.value.exit_code == 2 and info.value.api_code is None
        # the service reads M4A: without PyAV the emulator must not invent a rejection
        assert service_rejection(fake.read_bytes(), "voice.m4a") is None
    else:  # with PyAV a broken M4A is a decoder error
        with pytest.raises(SampleUnreadableError) as info:
            check_sample(fake)
        assert info.value.api_code == "Audio.DecoderError"


def test_m4a_and_aac_decode_with_pyav(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    x, rate = _speech()
    for container, name in (("ipod", "voice.m4a"), ("adts", "voice.aac")):
        buf = io.BytesIO()
        with av.open(buf, "w", format=container) as out:
            stream = out.add_stream("aac", rate=rate)
            stream.layout = "mono"
            frame = av.AudioFrame.from_ndarray(x[None, :].copy(), format="fltp", layout="mono")
            frame.sample_rate = rate
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                out.mux(packet)
        path = tmp_path / name
        path.write_bytes(buf.getvalue())
        report = check_sample(path)
        m = report.measurements
        assert (m["format"], m["codec"], m["channels"]) == (name[-3:], "aac", 1)
        assert m["duration_s"] == pytest.approx(15.35, abs=0.2)
        assert report.verdict != "fail"
        assert service_rejection(path.read_bytes(), name) is None
        result = fix_sample(path, tmp_path / f"{name}.fixed.wav")
        assert result.written and result.after is not None and result.after.verdict == "pass"


def test_long_recordings_are_decoded_only_in_part(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decode_module = importlib.import_module("cosyvoice_clone.audio.decode")
    monkeypatch.setattr(decode_module, "MAX_DECODE_SECONDS", 30.0)
    report = check_sample(corpus["long70.wav"])
    m = report.measurements
    assert m["duration_s"] == pytest.approx(70.0, abs=0.01)
    assert m["analysed_s"] == pytest.approx(30.0, abs=0.01)
    assert m["trailing_silence_s"] < 1.0
    assert {p.code for p in report.problems if p.severity != "info"} == {"too_long"}
    result = fix_sample(corpus["long70.wav"], tmp_path / "fixed.wav")
    assert result.written and result.after is not None and result.after.verdict == "pass"


@pytest.mark.parametrize(("noise", "noisy"), [(0.0005, False), (0.006, True)])
def test_background_noise(tmp_path: Path, noise: float, noisy: bool) -> None:
    x, rate = _speech()
    rng = np.random.default_rng(7)
    path = tmp_path / "noisy.wav"
    sf.write(path, 0.3 * x + noise * rng.standard_normal(len(x)), rate)
    report = check_sample(path)
    m = report.measurements
    assert m["noise_floor_dbfs"] == pytest.approx(20 * np.log10(noise), abs=1.5)
    assert ("noisy" in {p.code for p in report.problems}) is noisy
    assert report.verdict == ("warn" if noisy else "pass")


def test_fix_cuts_gapless_speech_at_a_quiet_moment(tmp_path: Path) -> None:
    rate = 16000
    t = np.arange(30 * rate) / rate
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    envelope[(t > 16.9) & (t < 17.0)] = 0.02  # the one quiet moment between 10 and 20 s
    path = tmp_path / "gapless.wav"
    sf.write(path, 0.3 * ((t * 120) % 1 - 0.5) * envelope, rate)
    result = fix_sample(path, tmp_path / "fixed.wav")
    assert result.written and result.plan is not None
    assert len(result.plan.pieces) == 1
    assert result.plan.pieces[0][1] == pytest.approx(16.95, abs=0.1)
