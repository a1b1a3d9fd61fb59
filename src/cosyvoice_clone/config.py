"""Settings: where the API key comes from, the region and its endpoints, the home and output dirs.

Key lookup order (the first that has a key wins):

1. the key passed explicitly (``api_key=``);
2. env ``DASHSCOPE_API_KEY``;
3. ``dashscope_api_key`` in ``~/.alibabacloud/credentials`` (INI), section ``[default]`` or the
   profile named by ``profile=`` / ``--profile`` / env ``ALIBABA_CLOUD_PROFILE``;
4. the file named by env ``DASHSCOPE_API_KEY_FILE_PATH``;
5. ``~/.dashscope/api_key``.

Endpoints, as the dashscope SDK 2.0.2 resolves them (``dashscope/v2/_config.py``,
``common/env.py``): an explicit URL (argument, ``DASHSCOPE_HTTP_BASE_URL``,
``DASHSCOPE_WEBSOCKET_BASE_URL``) wins; else with a workspace (``workspace=`` / ``--workspace``,
env ``DASHSCOPE_WORKSPACE_ID`` or ``DASHSCOPE_WORKSPACE``) the region's per-workspace host
``https://{workspace}.{region}.maas.aliyuncs.com``; else the region's shared host
(``dashscope.aliyuncs.com``, ``dashscope-intl.aliyuncs.com`` ...). The region comes from
``region=`` / ``--region``, env ``DASHSCOPE_REGION`` or ``DASHSCOPE_API_REGION``.

Use :func:`redact` on anything that may contain the key before it reaches output.
"""

from __future__ import annotations

import configparser
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import catalog
from .errors import ConfigError, MissingCredentialsError

ENV_API_KEY = "DASHSCOPE_API_KEY"
ENV_API_KEY_FILE = "DASHSCOPE_API_KEY_FILE_PATH"
ENV_PROFILE = "ALIBABA_CLOUD_PROFILE"
ENV_REGION = "DASHSCOPE_REGION"
ENV_SDK_REGION = "DASHSCOPE_API_REGION"
ENV_HTTP_BASE = "DASHSCOPE_HTTP_BASE_URL"
ENV_WEBSOCKET_BASE = "DASHSCOPE_WEBSOCKET_BASE_URL"
ENV_HOME = "COSYVOICE_CLONE_HOME"
ENV_OUTPUT_DIR = "COSYVOICE_CLONE_OUTPUT_DIR"
ENV_WORKSPACE = "DASHSCOPE_WORKSPACE_ID"
ENV_WORKSPACE_V2 = "DASHSCOPE_WORKSPACE"
ENV_STATE_URL = "COSYVOICE_CLONE_STATE_URL"
ENV_REDIS_PASSWORD = "REDIS_PASSWORD"
STATE_SCHEMES = ("redis", "rediss")

CREDENTIALS_FILE = Path("~/.alibabacloud/credentials")
DASHSCOPE_KEY_FILE = Path("~/.dashscope/api_key")


@dataclass(frozen=True)
class ApiKey:
    """An API key and where it was found. Its ``repr`` never shows the key."""

    value: str = field(repr=False)
    source: str

    @property
    def redacted(self) -> str:
        """The key with all but its first 3 and last 4 characters hidden."""
        return mask(self.value)


def mask(secret: str) -> str:
    """Show a secret as ``sk-…abcd`` (at most 7 characters of it, never a short one whole;
    nothing of one that is not printable ASCII)."""
    if key_problem(secret) is not None:
        return "[redacted key]"
    if len(secret) <= 12:
        return "*" * len(secret)
    return f"{secret[:3]}…{secret[-4:]}"


# ---- key validation and redaction (issue 22/23: owned by the "safety" engineer) -------------

_KEY_SHAPE = re.compile(r"(?<![A-Za-z0-9_\-])sk-[A-Za-z0-9_\-]{8,}")
_NOT_KEY_TEXT = re.compile(r"[^!-~]+")
_MIN_PIECE = 6
"""A bad key's printable pieces this long are redacted on their own too (a terminal shows the
part after a carriage return; a transport quotes the part before a line break)."""
_CHARACTER_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", " ": "a space"}


def key_problem(key: str) -> str | None:
    """What makes ``key`` unusable as an API key (``None``: printable ASCII, no whitespace);
    the answer names the character and its position, never the key."""
    for index, char in enumerate(key, 1):
        if not "!" <= char <= "~":
            name = _CHARACTER_NAMES.get(char)
            if name is None:
                kind = "a control character" if ord(char) < 32 or ord(char) == 127 else (
                    "a non-ASCII character")  # fmt: skip
                name = f"{kind} (U+{ord(char):04X})"
            return f"character {index} is {name}"
    return None


def _secret_forms(secret: str) -> list[str]:
    """How ``secret`` can appear in text: as is, escaped by ``repr`` (str or bytes) or JSON,
    and (for a key with characters a key never has) its printable pieces."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             repr(secret)[1:-1], repr(secret.encode("utf-8", "replace"))[2:-1]}  # fmt: skip
    if key_problem(secret) is not None:
        forms.update(p for p in _NOT_KEY_TEXT.split(secret) if len(p) >= _MIN_PIECE)
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(text: str, *secrets: str | None) -> str:
    """Replace every given secret (also escaped, or the pieces of a malformed one), and anything
    shaped like a DashScope key, with a mask: the one redaction step for all output."""
    for secret in secrets:
        if secret:
            shown = mask(secret)
            for form in _secret_forms(secret):
                text = text.replace(form, shown)
    return _KEY_SHAPE.sub(lambda m: mask(m.group(0)), text)


def _checked(value: str, source: str, described: str | None = None) -> ApiKey:
    """The key found at ``source``, refused (a credentials error naming the source, never the
    value) unless it is printable ASCII without whitespace inside."""
    problem = key_problem(value)
    if problem is not None:
        raise MissingCredentialsError(
            f"the DashScope API key from {described or source} is malformed: {problem}",
            hint="a key is printable ASCII without spaces or line breaks (sk-...); copy it "
            "again from the Model Studio console, on one line",
        )
    return ApiKey(value, source)


def _read_key_file(path: Path) -> str | None:
    try:
        value = path.expanduser().read_text(encoding="utf-8").strip()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:  # a binary or UTF-16 file: never echo its bytes
        raise MissingCredentialsError(
            f"the key file {path} is not UTF-8 text",
            hint="a key file holds the key on one line (sk-...), saved as plain text",
        ) from None
    return value or None


def _read_credentials(path: Path, profile: str, explicit_profile: bool) -> str | None:
    path = path.expanduser()
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot parse credentials file {path}: {type(exc).__name__}",
            hint="it must be an INI file with a [default] section and dashscope_api_key = ...",
        ) from None
    if not parser.has_section(profile):
        if explicit_profile:
            raise ConfigError(
                f"profile [{profile}] not found in {path}",
                hint="profiles there: " + (", ".join(parser.sections()) or "none"),
            )
        return None
    value = parser.get(profile, "dashscope_api_key", fallback="").strip()
    return value or None


def find_api_key(
    explicit: str | None = None,
    *,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ApiKey | None:
    """Look the API key up in the documented order; ``None`` when there is none."""
    env = os.environ if environ is None else environ
    if explicit:
        return _checked(explicit.strip(), "explicit", "the api_key argument")
    if env.get(ENV_API_KEY, "").strip():
        return _checked(env[ENV_API_KEY].strip(), f"env {ENV_API_KEY}")
    profile_name = profile or env.get(ENV_PROFILE) or "default"
    explicit_profile = bool(profile or env.get(ENV_PROFILE))
    value = _read_credentials(CREDENTIALS_FILE, profile_name, explicit_profile)
    if value:
        return _checked(value, f"{CREDENTIALS_FILE} [{profile_name}]")
    key_file = env.get(ENV_API_KEY_FILE)
    if key_file:
        if not Path(key_file).expanduser().is_file():
            raise ConfigError(
                f"{ENV_API_KEY_FILE} names {key_file}, which is not a file",
                hint=f"fix or unset {ENV_API_KEY_FILE}",
            )
        value = _read_key_file(Path(key_file))
        if value:
            return _checked(value, f"env {ENV_API_KEY_FILE} ({key_file})")
    value = _read_key_file(DASHSCOPE_KEY_FILE)
    if value:
        return _checked(value, str(DASHSCOPE_KEY_FILE))
    return None


MISSING_KEY_HINT = (
    f"set it with `export {ENV_API_KEY}=sk-...`, or put `dashscope_api_key = sk-...` under "
    f"[default] in {CREDENTIALS_FILE}; use --emulator to work offline"
)


def websocket_url_for(http_base: str) -> str:
    """The synthesis WebSocket URL that goes with an HTTP base URL (same host and scheme)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(http_base.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path
    path = path[: -len("/api/v1")] if path.endswith("/api/v1") else path
    return urlunsplit((scheme, parts.netloc, path + "/api-ws/v1/inference", "", ""))


_WORKSPACE_ID = re.compile(catalog.WORKSPACE_ID_PATTERN)


def _workspace(explicit: str | None, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The workspace id and where it came from; refuses one that can't be a host label."""
    for value, source in (
        (explicit, "explicit"),
        (env.get(ENV_WORKSPACE), f"env {ENV_WORKSPACE}"),
        (env.get(ENV_WORKSPACE_V2), f"env {ENV_WORKSPACE_V2}"),
    ):
        if value and value.strip():
            space = value.strip()
            if not _WORKSPACE_ID.fullmatch(space):
                raise ConfigError(
                    f"invalid workspace id {space!r} ({source})",
                    hint="a workspace id is 1-64 letters, digits, '_' or '-' (starting with a "
                    "letter or digit); copy it from the Model Studio console",
                )
            return space, source
    return None, None


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """The user dir for the registry and emulator state (``COSYVOICE_CLONE_HOME`` overrides)."""
    env = (os.environ if environ is None else environ).get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("cosyvoice-clone", appauthor=False)


def default_output_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where evidence goes: ``output/<skill>/`` under the current dir unless overridden."""
    env = (os.environ if environ is None else environ).get(ENV_OUTPUT_DIR)
    if env:
        return Path(env).expanduser()
    return Path("output") / catalog.SKILL_NAME


def _check_url(url: str, source: str, schemes: tuple[str, ...], example: str) -> None:
    """Refuse an endpoint that is not a URL, naming the setting it came from."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        ok = parts.scheme in schemes and bool(parts.hostname)
        ok = ok and parts.port != 0 and not any(c.isspace() or ord(c) < 32 for c in url.strip())
    except ValueError:  # also a port out of range (read by ``parts.port``)
        ok = False
    if ok:
        return
    where = source.removeprefix("env ").removeprefix("derived from env ")
    setting = f"{where}={url!r}" if where.startswith("DASHSCOPE_") else f"the endpoint {url!r}"
    raise ConfigError(
        f"{setting} is not a {' or '.join(s + '://' for s in schemes)} URL",
        hint=f"it looks like {example}; unset it to use the region's default endpoint",
    )


def redacted_url(url: str) -> str:
    """``url`` with its password (if any) shown as ``***``: the only form ever printed."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparsable URL>"
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def url_password(url: str | None) -> str | None:
    """The password inside ``url`` (to redact it), if any."""
    from urllib.parse import unquote, urlsplit

    if not url:
        return None
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def _state_url(explicit: str | None, env: Mapping[str, str]) -> str | None:
    """The shared-state URL (argument, else env), refused unless it is redis:// or rediss://."""
    from urllib.parse import urlsplit

    url = (explicit if explicit is not None else env.get(ENV_STATE_URL, "")).strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
        ok = parts.scheme in STATE_SCHEMES and bool(parts.hostname)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        ok = False
    if not ok:
        where = "--state-url" if explicit is not None else ENV_STATE_URL
        raise ConfigError(
            f"{where} {redacted_url(url)!r} is not a redis:// or rediss:// URL",
            hint="e.g. redis://127.0.0.1:6379/0 (a password: redis://:PASSWORD@HOST:6379/0 or "
            f"env {ENV_REDIS_PASSWORD})",
        )
    return url


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one client or CLI invocation."""

    region: str = catalog.DEFAULT_REGION
    api_key: ApiKey | None = None
    http_base: str = catalog.REGIONS[catalog.DEFAULT_REGION].http_base
    websocket_url: str = catalog.REGIONS[catalog.DEFAULT_REGION].websocket_url
    http_base_source: str = "region default"
    websocket_url_source: str = "region default"
    workspace: str | None = None
    workspace_source: str | None = None
    home: Path = field(default_factory=default_home)
    output_dir: Path = field(default_factory=default_output_dir)
    state_url: str | None = field(default=None, repr=False)
    """Where replicas share pacing, claims and the voice index (Redis); ``None``: files under
    ``home``. May hold a password: print it only through :func:`redacted_url`."""

    @classmethod
    def resolve(
        cls,
        *,
        region: str | None = None,
        api_key: str | None = None,
        profile: str | None = None,
        http_base: str | None = None,
        websocket_url: str | None = None,
        workspace: str | None = None,
        home: Path | str | None = None,
        output_dir: Path | str | None = None,
        environ: Mapping[str, str] | None = None,
        state_url: str | None = None,
    ) -> Settings:
        """Resolve settings from arguments, then the environment, then defaults."""
        env = os.environ if environ is None else environ
        region_name = (
            region or env.get(ENV_REGION) or env.get(ENV_SDK_REGION) or catalog.DEFAULT_REGION
        )
        if region_name not in catalog.REGIONS:
            raise ConfigError(
                f"unknown region {region_name!r}",
                hint="use one of: " + ", ".join(catalog.REGIONS),
            )
        reg = catalog.REGIONS[region_name]
        space, space_src = _workspace(workspace, env)
        default_http, default_ws, default_src = reg.http_base, reg.websocket_url, "region default"
        if space:
            default_http, default_ws = reg.workspace_endpoints(space)
            default_src = f"workspace host ({space_src})"
        http, http_src = default_http, default_src
        if http_base:
            http, http_src = http_base, "explicit"
        elif env.get(ENV_HTTP_BASE):
            http, http_src = env[ENV_HTTP_BASE], f"env {ENV_HTTP_BASE}"
        _check_url(http, http_src, ("http", "https"), reg.http_base)  # before deriving from it
        ws, ws_src = default_ws, default_src
        if websocket_url:
            ws, ws_src = websocket_url, "explicit"
        elif env.get(ENV_WEBSOCKET_BASE):
            ws, ws_src = env[ENV_WEBSOCKET_BASE], f"env {ENV_WEBSOCKET_BASE}"
        elif http_src != default_src:
            # Never pair a custom HTTP endpoint with the public WebSocket: derive it the way the
            # public hosts pair them (https://H/api/v1 <-> wss://H/api-ws/v1/inference).
            ws, ws_src = websocket_url_for(http), f"derived from {http_src}"
        _check_url(ws, ws_src, ("ws", "wss"), reg.websocket_url)
        home_path = Path(home).expanduser() if home else default_home(env)
        out_path = Path(output_dir).expanduser() if output_dir else default_output_dir(env)
        return cls(
            region=region_name,
            api_key=find_api_key(api_key, profile=profile, environ=env),
            http_base=http.rstrip("/"),
            websocket_url=ws,
            http_base_source=http_src,
            websocket_url_source=ws_src,
            workspace=space,
            workspace_source=space_src,
            home=home_path,
            output_dir=out_path,
            state_url=_state_url(state_url, env),
        )

    def require_key(self) -> str:
        """The API key, or a :class:`MissingCredentialsError` that says how to set one."""
        if self.api_key is None:
            raise MissingCredentialsError("no DashScope API key found", hint=MISSING_KEY_HINT)
        return self.api_key.value

    def with_endpoints(self, http_base: str, websocket_url: str, api_key: str) -> Settings:
        """A copy pointed at other endpoints with another key (used for the emulator)."""
        return replace(
            self,
            http_base=http_base.rstrip("/"),
            websocket_url=websocket_url,
            http_base_source="emulator",
            websocket_url_source="emulator",
            api_key=ApiKey(api_key, "emulator"),
        )
