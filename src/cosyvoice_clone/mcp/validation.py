"""Tool arguments checked against each tool's input schema before any library call.

The first problem is an :class:`~cosyvoice_clone.errors.InvalidRequestError` naming the field,
what was given and what is allowed (``jsonschema`` is imported on first validation).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidRequestError
from .schemas import TOOLS_BY_NAME, ToolSpec


def confirmation_required(voice_id: Any, value: Any) -> InvalidRequestError:
    """The refusal of a destructive call without ``confirm: true`` (code
    ``confirmation_required``)."""
    return InvalidRequestError(
        f"refusing to delete {voice_id} without confirmation (confirm must be true)",
        code="confirmation_required",
        field="confirm",
        value=value,
        allowed="true",
        hint="deleting cannot be undone: the voice is gone and its slot freed; call "
        "delete_voice again with confirm=true if that is what the user wants",
    )


ARGUMENT_ALIASES: dict[str, dict[str, str]] = {
    "get_voice": {"voice_id": "voice"},
    "wait_voice": {"voice_id": "voice"},
    "delete_voice": {"voice_id": "voice"},
    "check_sample": {"source": "sample"},
    "voice_clone": {"sample": "voice_sample_url"},
}
"""Other names each tool accepts (the names of earlier versions): a voice is ``voice`` and a
sample ``sample`` everywhere, as on the command line (``voice_clone`` keeps the skill's
``voice_sample_url``)."""


@functools.cache
def _validator(tool: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(TOOLS_BY_NAME[tool].input_schema)


def validate_arguments(spec: ToolSpec, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``arguments`` against the tool's input schema; the first problem is an error.

    Raises :class:`InvalidRequestError` naming the field, what was given and what is allowed.
    """
    args = dict(arguments or {})
    for old, new in ARGUMENT_ALIASES.get(spec.name, {}).items():
        if old in args:
            if new in args and args[new] != args[old]:
                raise InvalidRequestError(
                    f"pass either {new!r} or its old name {old!r}, not both", field=new
                )
            args[new] = args.pop(old)
    if spec.destructive and args.get("confirm") is not True:
        raise confirmation_required(args.get("voice", "the voice"), args.get("confirm"))
    # A text's length is the library's to check and word ("601 characters, at most 500
    # allowed", as on the CLI): the schema's maxLength only tells agents the limit.
    errors = sorted(
        (e for e in _validator(spec.name).iter_errors(args) if e.validator != "maxLength"),
        key=lambda e: ([str(p) for p in e.path], str(e.validator)),
    )
    if not errors:
        return args
    err = errors[0]
    path = [str(p) for p in err.absolute_path]
    props = spec.input_schema.get("properties", {})
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else None
        field_name = missing or "arguments"
        doc = props.get(field_name, {}).get("description", "")
        raise InvalidRequestError(
            f"missing required argument {field_name!r}" + (f": {doc}" if doc else ""),
            field=field_name,
            hint=f"{spec.name} requires: " + ", ".join(spec.input_schema.get("required", [])),
        )
    if err.validator == "additionalProperties":
        unknown = sorted(set(args) - set(props))
        name = unknown[0] if unknown else "arguments"
        raise InvalidRequestError(
            f"unknown argument {name!r}",
            field=name,
            hint=f"{spec.name} takes: " + ", ".join(props),
        )
    field_name = path[0] if path else "arguments"
    schema = props.get(field_name, {})
    allowed = _allowed(schema)
    value = json.dumps(err.instance, ensure_ascii=False)
    if len(value) > 80:
        value = value[:77] + "..."
    where = ".".join(path) if path else field_name
    raise InvalidRequestError(
        f"invalid {where} {value}: {allowed or err.message}",
        field=field_name,
        value=err.instance,
        allowed=allowed,
        hint=schema.get("description"),
    )


def _allowed(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return f"must be {schema['const']!r}"
    kind = schema.get("type")
    parts = []
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        inner = _allowed(schema["items"])
        parts.append("a list" + (f" of {inner}" if inner else ""))
    elif kind:
        parts.append(f"a {kind}" if isinstance(kind, str) else "/".join(kind))
    if "pattern" in schema:
        parts.append(f"matching {schema['pattern']}")
    hi = schema.get("maximum")
    if "minimum" in schema and hi is not None:
        parts.append(f"in [{schema['minimum']}, {hi}]")
    elif "exclusiveMinimum" in schema and hi is not None:
        parts.append(f"in ({schema['exclusiveMinimum']}, {hi}]")
    elif schema.get("minLength"):
        parts.append("not empty")
    return " ".join(parts)


__all__ = ["ARGUMENT_ALIASES", "confirmation_required", "validate_arguments"]
