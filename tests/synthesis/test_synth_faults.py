"""Failures: the model guard sends nothing; faults never leave a file that looks complete."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import soundfile as sf
from synthesis_helpers import make_voice

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import (
    AuthenticationError,
    InvalidRequestError,
    ModelMismatchError,
    SynthesisError,
    TransportError,
)
from cosyvoice_clone.synthesis import SynthesisOptions, Synthesizer, guard_model

TEXT = "A sentence that is long enough to be streamed in several frames. " * 3


def test_guard_refuses_a_mismatched_model_before_connecting(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    synth = Synthesizer(api_key="sk-unused-key-000", websocket_url=f"ws://127.0.0.1:{port}/ws")
    voice = "cosyvoice-v3.5-plus-myvoice-0123456789abcdef0123456789abcdef"
    with pytest.raises(ModelMismatchError) as caught:
        synth.speak("Hello.", tmp_path / "x.wav", voice=voice, model="cosyvoice-v2")
    assert "cosyvoice-v3.5-plus" in str(caught.value) and "cosyvoice-v2" in str(caught.value)
    assert caught.value.exit_code == 2
    with pytest.raises(ModelMismatchError):
        synth.stream("Hello.", voice=voice, model="cosyvoice-v3-flash")
    with pytest.raises(socket.timeout):
        listener.accept()  # nobody ever connected
    listener.close()
    assert not (tmp_path / "x.wav").exists()


def test_guard_uses_the_registry_binding_first() -> None:
    # A registry record knows better than the id (e.g. an id that doesn't carry the model).
    assert guard_model("custom-voice", None, target_model="cosyvoice-v2") == "cosyvoice-v2"
    with pytest.raises(ModelMismatchError):
        guard_model("custom-voice", "cosyvoice-v3-plus", target_model="cosyvoice-v2")
    with pytest.raises(InvalidRequestError):
        guard_model("longxiaochun", None)  # a system voice: the model must be given
    assert guard_model("longxiaochun", "cosyvoice-v1") == "cosyvoice-v1"


def test_service_side_binding_failure_is_a_synthesis_error(
    synth: Synthesizer, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    # A voice bound to v2 whose id we pretend not to know (no guard possible): the service's 418.
    voice = make_voice(cosyvoice_emulator, model="cosyvoice-v2", prefix="bound")
    with pytest.raises(SynthesisError) as caught:
        synth.speak("Hello.", tmp_path / "x.wav", voice=voice, model="cosyvoice-v3-plus",
                    target_model="cosyvoice-v3-plus")  # fmt: skip
    assert "418" in caught.value.message and caught.value.api_code == "InvalidParameter"
    assert caught.value.request_id and caught.value.hint
    assert list(tmp_path.glob("*x.wav*")) == []


def test_a_bad_key_is_refused_at_the_handshake(
    cosyvoice_emulator: RunningEmulator, voice: str, tmp_path: Path
) -> None:
    synth = Synthesizer(
        api_key="sk-wrong-key-12345678", websocket_url=cosyvoice_emulator.websocket_url
    )
    with pytest.raises(AuthenticationError) as caught:
        synth.speak("Hello.", tmp_path / "x.wav", voice=voice)
    assert caught.value.exit_code == 3
    assert "sk-wrong-key-12345678" not in str(caught.value)
    assert list(tmp_path.glob("*x.wav*")) == []


@pytest.mark.parametrize("kind", ["ws_drop", "task_failed"])
@pytest.mark.parametrize("parts", [1, 3])
def test_persistent_faults_leave_no_file(
    synth: Synthesizer, voice: str, cosyvoice_emulator: RunningEmulator, tmp_path: Path,
    kind: str, parts: int,
) -> None:  # fmt: skip
    cosyvoice_emulator.set_faults(**{kind: 1.0})
    out = tmp_path / "out" / "faulty.wav"
    expected = TransportError if kind == "ws_drop" else SynthesisError
    with pytest.raises(expected):
        synth.speak(TEXT, out, voice=voice, retries=1, part_weight=len(TEXT) // parts + 1,
                    options=SynthesisOptions(sample_rate=8000))  # fmt: skip
    assert list(out.parent.iterdir()) == []  # no file, no temporary leftovers


def test_a_failure_keeps_the_previous_file_intact(
    synth: Synthesizer, voice: str, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "keep.wav"
    first = synth.speak("The first version.", out, voice=voice)
    before = out.read_bytes()
    cosyvoice_emulator.set_faults(task_failed=1.0)
    with pytest.raises(SynthesisError):
        synth.speak(TEXT, out, voice=voice, retries=0)
    assert out.read_bytes() == before and sf.info(str(out)).duration == pytest.approx(
        first.duration, abs=1e-3
    )


@pytest.mark.parametrize("kind", ["ws_drop", "task_failed"])
def test_transient_faults_are_retried_into_a_complete_file(
    synth: Synthesizer, cosyvoice_emulator: RunningEmulator, tmp_path: Path, kind: str,
) -> None:  # fmt: skip
    # Seeded dice: the same draws every run (the first few include failures).
    cosyvoice_emulator.configure(seed=3)
    cosyvoice_emulator.backend.reset(config=False)
    voice = make_voice(cosyvoice_emulator)
    clean = synth.speak(TEXT * 2, tmp_path / "clean.wav", voice=voice, part_weight=70,
                        options=SynthesisOptions(sample_rate=8000))  # fmt: skip
    cosyvoice_emulator.set_faults(**{kind: 0.4})  # a part fails 9 times in a row: 0.4**9
    out = tmp_path / "retried.wav"
    result = synth.speak(TEXT * 2, out, voice=voice, part_weight=70, retries=8,
                         options=SynthesisOptions(sample_rate=8000))  # fmt: skip
    assert result.retries > 0
    assert out.read_bytes() == (tmp_path / "clean.wav").read_bytes()
    assert result.duration == pytest.approx(clean.duration)


def test_unwritable_outputs_are_clean_errors(synth: Synthesizer, voice: str,
                                             tmp_path: Path) -> None:  # fmt: skip
    with pytest.raises(InvalidRequestError) as caught:
        synth.speak("Hello.", tmp_path, voice=voice)  # a directory
    assert caught.value.exit_code == 2
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(InvalidRequestError):
        synth.speak("Hello.", blocker / "out.wav", voice=voice)
