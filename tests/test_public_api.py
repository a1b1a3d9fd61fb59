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
        "AsyncCosyVoice",
        "AuthenticationError",
        "BadSampleError",
        "CloneResult",
        "ConfigError",
        "CosyVoice",
        "CosyVoiceCloneError",
        "Interrupted",
        "InvalidRequestError",
        "MissingCredentialsError",
        "ModelMismatchError",
        "NotFoundError",
        "QuotaExceededError",
        "RateLimitError",
        "SampleRejectedError",
        "SampleUnreadableError",
        "ServerError",
        "SynthesisError",
        "TimeoutError",
        "TransportError",
        "VoiceDeployingError",
        "VoiceNotReadyError",
        "VoiceRejectedError",
        "__version__",
    ]
    for name in cosyvoice_clone.__all__:
        assert getattr(cosyvoice_clone, name) is not None


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
        "code", "message", "hint", "http_status", "api_code", "request_id",
    }  # fmt: skip
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
