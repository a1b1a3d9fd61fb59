"""No secret in any log line: every log record made in the process is redacted with the keys
the servers know (:func:`redact_logs`; answers are redacted by the middleware, :mod:`.security`)."""

from __future__ import annotations

import logging
from typing import Any

from ..config import redact

_LOG_SECRETS: set[str] = set()
_factory_installed = False


def redact_logs(*secrets_: str | None) -> None:
    """Redact ``secrets_`` (and anything key-shaped) from every log record made from now on in
    this process, its message, arguments and traceback included."""
    global _factory_installed
    _LOG_SECRETS.update(s for s in secrets_ if s)
    if _factory_installed:
        return
    _factory_installed = True
    previous = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler
            return record
        clean = redact(text, *_LOG_SECRETS)
        shown = repr(record.args)
        if clean != text or redact(shown, *_LOG_SECRETS) != shown:
            record.msg, record.args = clean, None  # else they stay (uvicorn's access log)
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(formatter.formatException(record.exc_info), *_LOG_SECRETS)
        return record

    logging.setLogRecordFactory(factory)
