"""`prepare`: the skill's helper — validate a clone request and write its wire body.

Compatible with the skill's original ``prepare_cosyvoice_clone_request.py``: ``request.json``
holds the body to POST to ``/services/audio/tts/customization`` as it is
(``{"model": "voice-enrollment", "input": {"action": "create_voice", "target_model", "prefix",
"url", "language_hints": [first], ...}}``, language hint ``zh`` unless given; cosyvoice-v2 takes
none), and stdout is one line: ``{"ok": true, "request_path": "..."}``, plus
``"response_valid": true`` when ``--validate-response`` passes. An invalid response prints
``{"ok": false, "error": "missing output.voice_id"}`` and exits 1 (under the global ``--json``
the error is an object, ``{"code": "invalid_response", "message": ..., "hint": ...}``, like every
other failure's); an invalid request prints ``{"ok": false, "error": {...}}`` naming the field
and exits 2. Warnings go to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from .common import state

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..config import Settings
    from ..request import CloneRequest, CloneResponse


def _print_line(data: dict[str, Any]) -> None:
    """One JSON object on one line, as the skill's original helper prints it."""
    typer.echo(json.dumps(data, ensure_ascii=False))


def _fail(error: Any, exit_code: int) -> typer.Exit:
    _print_line({"ok": False, "error": error})
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
    target_model: Optional[str] = typer.Option(
        None, "--target-model", help="Target model (default cosyvoice-v3.5-plus)."
    ),
    prefix: Optional[str] = typer.Option(
        None, "--prefix", help="Voice name prefix: 1-10 letters/digits."
    ),
    voice_sample_url: Optional[str] = typer.Option(
        None, "--voice-sample-url", help="Public http(s) URL (or oss://) of the sample."
    ),
    language_hint: Optional[list[str]] = typer.Option(
        None, "--language-hint", help="Language of the sample (only the first counts; default zh)."
    ),
    max_prompt_audio_length: Optional[float] = typer.Option(
        None,
        "--max-prompt-audio-length",
        help="Seconds of the sample to use, 3-30 (v3.5-plus, v3.5-flash, v3-flash).",
    ),
    enable_preprocess: bool = typer.Option(
        False,
        "--enable-preprocess",
        help="Denoise/normalize the sample (v3.5-plus, v3.5-flash, v3-flash).",
    ),
    output: Optional[Path] = typer.Option(
        None,
        "--output",
        help="Where to write the request JSON (default <output-dir>/request.json).",
    ),
    validate_response: Optional[Path] = typer.Option(
        None,
        "--validate-response",
        help="Check a service response file for output.voice_id.",
    ),
    mkdir: bool = typer.Option(
        False, "--mkdir", help="Create a missing folder of --output (else refused)."
    ),
) -> None:
    """Validate a clone request and write the body to POST (the skill's helper).

    Nothing is sent to the service. Prints {"ok": true, "request_path": ...}. Example:

    \b
      cosyvoice-clone prepare --target-model cosyvoice-v3.5-plus \\
        --prefix myvoice --voice-sample-url https://example.com/voice.wav \\
        --language-hint zh
    """
    from ..client import record_clone

    def write(settings: Settings, response: CloneResponse | None) -> tuple[Path, Sequence[str]]:
        request = _request(
            prefix,
            voice_sample_url,
            target_model,
            language_hint,
            max_prompt_audio_length,
            enable_preprocess,
            settings.region,
        )
        path = request_target(output, mkdir) or settings.output_dir / "request.json"
        record_clone(
            settings.output_dir, request, response, request_path=path, extra={"source": "prepare"}
        )
        return path, request.warnings

    run_prepare(ctx, validate_response, prefix is not None or bool(voice_sample_url), write)


def request_target(output: Path | None, mkdir: bool) -> Path | None:
    """``--output`` checked as every output file is (a new or regular file; a missing folder
    is refused unless ``mkdir``, then created): nothing is written when it is refused."""
    if output is None:
        return None
    from ..audio.outfile import check_output_path

    check_output_path(output, "--output", mkdir=mkdir)
    path = output.expanduser()
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def run_prepare(
    ctx: typer.Context,
    validate_response: Path | None,
    build: bool,
    write: Callable[[Settings, CloneResponse | None], tuple[Path, Sequence[str]]],
) -> None:
    """The skill helpers' flow (`prepare`, `prepare-design`): validate the response file if
    given, build and write the request unless only a response is checked (``write`` returns
    the request path and its warnings), print the one-line answer; errors exit 1 or 2."""
    from ..errors import CosyVoiceCloneError
    from ..request import CloneResponse

    app_state = state(ctx)
    result: dict[str, Any] = {"ok": True}
    try:
        settings = app_state.settings()
        response: CloneResponse | None = None
        response_error: str | None = None
        if validate_response is not None:
            try:
                response = CloneResponse.from_wire(_read_response(validate_response))
            except ValueError as exc:
                response_error = str(exc)
        if validate_response is None or build:
            path, warnings = write(settings, response)
            for warning in warnings:
                app_state.warn(warning)
            result["request_path"] = str(path)
        if response_error is not None:
            raise _fail(_response_error(response_error, app_state.json), 1)
        if response is not None:
            result["response_valid"] = True
    except CosyVoiceCloneError as err:
        raise _fail(err.to_dict(), err.exit_code) from None
    _print_line(result)


def _response_error(message: str, structured: bool) -> Any:
    """An invalid response file: the seed helper's plain string (``"missing output.voice_id"``,
    its documented contract), or under the global ``--json`` an error object like every other
    failure's (``code`` ``invalid_response``, ``message``, ``hint``)."""
    if not structured:
        return message
    return {
        "code": "invalid_response",
        "message": message,
        "hint": "a create_voice answer carries output.voice_id; check that the file holds the "
        "service's response body",
    }


def _request(
    prefix: str | None,
    voice_sample_url: str | None,
    target_model: str | None,
    language_hint: list[str] | None,
    max_prompt_audio_length: float | None,
    enable_preprocess: bool,
    region: str,
) -> CloneRequest:
    """The validated request; the language hint defaults to ``zh`` as in the original helper."""
    from .. import catalog
    from ..request import normalize_clone_request

    model = catalog.TARGET_MODELS.get(target_model or catalog.DEFAULT_TARGET_MODEL)
    if not language_hint and model is not None and model.language_hints:
        language_hint = [catalog.DEFAULT_LANGUAGE_HINT]
    return normalize_clone_request(
        prefix=prefix,
        voice_sample_url=voice_sample_url,
        target_model=target_model,
        language_hints=language_hint,
        max_prompt_audio_length=max_prompt_audio_length,
        enable_preprocess=True if enable_preprocess else None,
        region=region,
    )


def register(app: typer.Typer) -> None:
    """Add `prepare` to ``app``."""
    app.command("prepare")(prepare)
