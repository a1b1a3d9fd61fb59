"""The package's public names, and the one exception tree they export."""

from __future__ import annotations

import inspect
import subprocess
import sys

import cosyvoice_clone
from cosyvoice_clone import errors


def test_public_names_are_pinned() -> None:
    assert sorted(cosyvoice_clone.__all__) == [
        "APIStatusError",
        "AmbiguousVoiceError",
        "AsyncCosyVoice",
        "AuthenticationError",
        "BadSampleError",
        "BatchItem",
        "BatchReport",
        "CheckReport",
        "CloneResult",
        "ConfigError",
        "CosyVoice",
        "CosyVoiceCloneError",
        "DeleteReport",
        "DesignResult",
        "Interrupted",
        "InvalidRequestError",
        "LiveResult",
        "MissingCredentialsError",
        "ModelMismatchError",
        "NextStep",
        "NotFoundError",
        "OperationTimeoutError",
        "PingResult",
        "QuotaExceededError",
        "RateLimitError",
        "SampleDownloadError",
        "SampleRejectedError",
        "SampleUnreadableError",
        "ServerError",
        "SpeakingVoice",
        "SpeechResult",
        "StepKind",
        "SyncReport",
        "SynthesisError",
        "SynthesisOptions",
        "TimeoutError",
        "TransportError",
        "UnknownVoiceError",
        "Voice",
        "VoiceDeletedError",
        "VoiceDeployingError",
        "VoiceNotReadyError",
        "VoiceNotRecordedError",
        "VoiceRejectedError",
        "VoiceStatus",
        "__version__",
    ]
    for name in cosyvoice_clone.__all__:
        assert getattr(cosyvoice_clone, name) is not None
    assert cosyvoice_clone.TimeoutError is errors.OperationTimeoutError  # the 0.1 name


def test_result_models_are_frozen_and_render_to_dicts() -> None:
    import dataclasses

    for model in (
        cosyvoice_clone.Voice,
        cosyvoice_clone.CloneResult,
        cosyvoice_clone.DesignResult,
        cosyvoice_clone.SpeechResult,
        cosyvoice_clone.SyncReport,
        cosyvoice_clone.DeleteReport,
        cosyvoice_clone.SynthesisOptions,
        cosyvoice_clone.BatchReport,
    ):
        assert dataclasses.is_dataclass(model) and model.__dataclass_params__.frozen, model
        assert callable(model.to_dict), model
    assert callable(cosyvoice_clone.CheckReport.to_dict)
    voice = cosyvoice_clone.Voice(
        "cosyvoice-v2-abc-" + "0" * 32, status=cosyvoice_clone.VoiceStatus.OK
    )
    assert voice.to_dict()["status"] == "OK" and not voice.deleted and not voice.registered


def test_every_error_class_is_in_the_tree_and_drawn_in_its_docstring() -> None:
    classes = [
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == errors.__name__
    ]
    assert len(classes) >= 20
    for cls in classes:
        assert issubclass(cls, errors.CosyVoiceCloneError)
        assert cls.__name__ in (errors.__doc__ or ""), f"{cls.__name__} missing from the tree"
        assert cls.__doc__ and "\n" not in cls.__doc__.strip(), cls
        assert cls.exit_code in (1, 2, 3, 4, 5, 6)


def test_error_renders_as_one_line_and_a_stable_dict() -> None:
    err = errors.api_error(400, "Audio.AudioShortError", "valid audio too short!", "req-9")
    assert isinstance(err, errors.BadSampleError)
    line = str(err)
    assert "\n" not in line and "check" in line and "req-9" in line
    assert set(err.to_dict()) == {
        "code", "message", "hint", "http_status", "api_code", "request_id", "next_step",
    }  # fmt: skip
    assert err.next_step == errors.NextStep(errors.StepKind.LONGER_SAMPLE)
    assert err.hint == errors.describe(err.next_step)
    assert err.to_dict()["next_step"] == {"kind": "longer_sample"}
    assert errors.api_error(503, None, None).exit_code == 1
    assert isinstance(errors.api_error(429, None, "slow"), errors.RateLimitError)
    assert errors.Interrupted(15).exit_code == 143


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, cosyvoice_clone, cosyvoice_clone.cli.main; "
        "heavy = {'httpx', 'numpy', 'soundfile', 'websockets', 'starlette', 'mcp', 'dashscope'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
