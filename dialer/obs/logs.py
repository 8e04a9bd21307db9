"""Structured JSON logs: one line per event on stdout, phone numbers masked, secrets removed.

``configure_logging()`` sets up structlog *and* the standard library's logging so that both
(SQLAlchemy, panoramisk, asyncio) leave through one handler, one JSON renderer and the same
privacy processors. Context bound with :func:`bind_call` (campaign, attempt, seat) is merged into
every line logged by the task that bound it, because ``merge_contextvars`` runs first.

Privacy rules, applied to every event whatever its source:

- phone numbers keep only their last 4 digits (``+********4567``): values of phone-like keys always,
  and any run of 9 or more digits (with spaces, dots, dashes or brackets between) inside text;
- values of secret-like keys (``secret``, ``password``, ``token``, ``api_key``, ...) become ``***``;
- passwords inside URLs (``postgresql://user:pw@host``) and ``Secret: ...`` / ``password=...``
  inside text become ``***``.

Example::

    configure_logging("info")
    log = structlog.get_logger("dialer.engine")
    with bound_call(campaign="demo", attempt=attempt_id, seat="seat-1"):
        log.info("call_connected", phone="+15551234567")
    # {"campaign": "demo", "attempt": "...", "seat": "seat-1", "phone": "+*******4567", ...}
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import IO, Any, Final

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

#: Keys whose values are phone numbers and are always masked.
PHONE_KEYS: Final = frozenset(
    {"phone", "phone_e164", "phone_raw", "number", "called", "called_number", "destination",
     "callee", "msisdn", "to_number", "from_number"}
)  # fmt: skip

#: Keys that are identifiers or times and must not be mistaken for phone numbers.
IDENTIFIER_KEYS: Final = frozenset(
    {"timestamp", "attempt", "attempt_id", "call_id", "channel_id", "lead", "lead_id",
     "campaign", "seat", "seat_id", "level", "logger", "config_hash", "pid"}
)  # fmt: skip

_SECRET_KEY = re.compile(
    r"(secret|passw(or)?d|passwd|token|api_?key|auth(orization)?|credential|private_?key)",
    re.IGNORECASE,
)
# A phone number inside text: 9-15 digits, optionally led by "+", separated by at most one of
# space . - ( ) between digits; not glued to letters, digits or dashes (UUIDs, hashes, dates).
_PHONE_IN_TEXT = re.compile(r"(?<![\w\-])\+?\(?\d(?:[ .\-()]?\d){8,14}(?![\w\-])")
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)[^@\s]*(?P<at>@)")
_SECRET_IN_TEXT = re.compile(
    r"(?P<key>\b(?:secret|password|passwd|pwd)\b\s*[:=]\s*)(?P<value>[^\s,;&\"']+)", re.IGNORECASE
)
MASK: Final = "***"


def mask_phone(value: str) -> str:
    """Keep the last 4 digits of a phone number, star the others, keep a leading ``+``.

    >>> mask_phone("+1 (555) 123-4567")
    '+*******4567'
    """
    digits = [c for c in value if c.isdigit()]
    if not digits:
        return value
    kept = "".join(digits[-4:])
    plus = "+" if value.lstrip().startswith("+") else ""
    return plus + "*" * (len(digits) - len(kept)) + kept


def scrub_text(text: str) -> str:
    """Mask phone numbers and remove passwords from free text (messages, AMI dumps, URLs)."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + m.group("at"), text)
    text = _SECRET_IN_TEXT.sub(lambda m: m.group("key") + MASK, text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


def _scrub_value(key: str, value: Any, depth: int = 0) -> Any:
    if _SECRET_KEY.search(key):
        return MASK if value not in (None, "") else value
    if key in IDENTIFIER_KEYS:
        return value
    if key in PHONE_KEYS and isinstance(value, str | int) and not isinstance(value, bool):
        return mask_phone(str(value))
    if isinstance(value, str):
        return scrub_text(value)
    if depth >= 4:
        return value
    if isinstance(value, Mapping):
        return {k: _scrub_value(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub_value(key, v, depth + 1) for v in value)
    return value


def scrub_event(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> MutableMapping[str, Any]:
    """structlog processor: apply the privacy rules to every key of the event."""
    return {key: _scrub_value(key, value) for key, value in event_dict.items()}


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(
    level: str | int = "info", *, stream: IO[str] | None = None, json: bool = True
) -> None:
    """Send structlog and stdlib logs, as JSON lines, to ``stream`` (default: stdout).

    Safe to call again (a reload, a test): it replaces the handler it installed before.
    ``json=False`` renders for a terminal instead (development only).
    """
    numeric_level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r} (allowed: debug, info, warning, error)")
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub_event,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(formatter)
    handler.set_name("dialer-json")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "dialer-json"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    # Chatty libraries: their INFO lines are per-statement / per-AMI-message noise.
    for name in ("sqlalchemy.engine", "panoramisk", "asyncio"):
        logging.getLogger(name).setLevel(max(numeric_level, logging.WARNING))

    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (shows as ``logger`` in every line)."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


@contextmanager
def bound_call(**context: str | int | None) -> Iterator[None]:
    """Bind ``campaign``/``attempt``/``seat`` (or any key) to every log line inside the block.

    Context variables are per asyncio task: bind inside the task that handles one call.
    """
    clean = {k: v for k, v in context.items() if v is not None}
    tokens = structlog.contextvars.bind_contextvars(**clean)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def bind_call(
    *, campaign: str | None = None, attempt: str | None = None, seat: str | None = None
) -> None:
    """Bind the call's identity for the rest of the current task (see :func:`bound_call`)."""
    clean = {k: v for k, v in {"campaign": campaign, "attempt": attempt, "seat": seat}.items() if v}
    structlog.contextvars.bind_contextvars(**clean)
