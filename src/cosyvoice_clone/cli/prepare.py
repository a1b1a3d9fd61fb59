"""`prepare`: the skill's helper — validate a clone request and write its normalized JSON.

Output is always one JSON document on stdout (the skill's contract):
``{"ok": true, "request_path": "..."}``, with ``"response_valid": true`` when a response file
was validated; failures print ``{"ok": false, "error": ...}`` and exit non-zero (2 for an
invalid request, 1 for an invalid response).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from .common import print_json, state


def _fail(error: Any, exit_code: int) -> typer.Exit:
    print_json({"ok": False, "error": error})
    return typer.Exit(exit_code)


def _read_response(path: Path) -> dict[str, Any]:
    from ..errors import InvalidRequestError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidRequestError(f"response file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"cannot read response file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"response file {path} is not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise InvalidRequestError(f"response file {path} must hold a JSON object")
    return data


def prepare(
    ctx: typer.Context,
    target_model: Optional[str] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None, "--target-model", help="Target model (default cosyvoice-v3.5-plus)."
    ),
    prefix: Optional[str] = typer.Option(  # noqa: UP045
        None, "--prefix", help="Voice name prefix: 1-10 letters/digits."
    ),
    voice_sample_url: Optional[str] = typer.Option(  # noqa: UP045
        None, "--voice-sample-url", help="Public http(s) URL (or oss://) of the sample."
    ),
    language_hint: Optional[list[str]] = typer.Option(  # noqa: UP045
        None, "--language-hint", help="Language of the sample (only the first counts)."
    ),
    max_prompt_audio_length: Optional[float] = typer.Option(  # noqa: UP045
        None,
        "--max-prompt-audio-length",
        help="Seconds of the sample to use, 3-30 (v3.5-plus, v3.5-flash, v3-flash).",
    ),
    enable_preprocess: bool = typer.Option(
        False,
        "--enable-preprocess",
        help="Denoise/normalize the sample (v3.5-plus, v3.5-flash, v3-flash).",
    ),
    output: Optional[Path] = typer.Option(  # noqa: UP045
        None,
        "--output",
        help="Where to write the request JSON (default <output-dir>/request.json).",
    ),
    validate_response: Optional[Path] = typer.Option(  # noqa: UP045
        None,
        "--validate-response",
        help="Check a service response file for output.voice_id.",
    ),
) -> None:
    """Validate a clone request and write its normalized JSON (the skill's helper).

    Nothing is sent to the service. Example:

    \b
      cosyvoice-clone prepare --target-model cosyvoice-v3.5-plus \\
        --prefix myvoice --voice-sample-url https://example.com/voice.wav \\
        --language-hint zh
    """
    from ..errors import CosyVoiceCloneError
    from ..evidence import record_clone
    from ..request import CloneResponse, normalize_clone_request

    app_state = state(ctx)
    result: dict[str, Any] = {"ok": True}
    try:
        settings = app_state.settings()
        response: CloneResponse | None = None
        if validate_response is not None:
            try:
                response = CloneResponse.from_wire(_read_response(validate_response))
            except ValueError as exc:
                raise _fail(str(exc), 1) from None
        only_validating = validate_response is not None and prefix is None and not voice_sample_url
        if not only_validating:
            request = normalize_clone_request(
                prefix=prefix,
                voice_sample_url=voice_sample_url,
                target_model=target_model,
                language_hints=language_hint,
                max_prompt_audio_length=max_prompt_audio_length,
                enable_preprocess=True if enable_preprocess else None,
                region=settings.region,
            )
            for warning in request.warnings:
                app_state.warn(warning)
            paths = record_clone(
                settings.output_dir,
                request,
                response,
                request_path=output or settings.output_dir / "request.json",
                extra={"source": "prepare"},
            )
            result["request_path"] = str(paths["request"])
            result["request"] = request.to_dict()
            result["payload"] = request.to_payload()
            if request.warnings:
                result["warnings"] = list(request.warnings)
        if response is not None:
            result["response_valid"] = True
            result["response"] = response.to_dict()
    except CosyVoiceCloneError as err:
        raise _fail(err.to_dict(), err.exit_code) from None
    print_json(result)


def register(app: typer.Typer) -> None:
    """Add `prepare` to ``app``."""
    app.command("prepare")(prepare)
