"""Value types of campaigns.yaml: durations, clock-time windows, phone numbers, time zones.

Each parser takes what YAML gave (a number, a string, ...) and returns the typed value, or raises
``ValueError`` whose message says what was wrong and what is allowed: the loader shows it next to
the file, line and field.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from pydantic import BeforeValidator, PlainSerializer, PlainValidator

DURATION_HELP = "a number of seconds, or a number with ms, s, m, h or d: 90, 90s, 15m, 24h, 30d"
WINDOW_HELP = "HH:MM-HH:MM, start before end, end at most 24:00, e.g. 08:00-21:00"

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """A duration in seconds from ``90``, ``90s``, ``15m``, ``24h``, ``30d`` (or ``250ms``)."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r} (allowed: {DURATION_HELP})")
    if isinstance(value, int | float):
        if value < 0 or value != value:  # negative or NaN
            raise ValueError(f"duration must not be negative: {value!r} (allowed: {DURATION_HELP})")
        return float(value)
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise ValueError(f"not a duration: {value!r} (allowed: {DURATION_HELP})")


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration, e.g. ``30d``, ``15m``, ``2.5s``."""
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{Decimal(repr(seconds)):f}s"  # shortest exact digits, never an exponent


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written in YAML as ``90``, ``90s``, ``15m``, ``24h`` or ``30d``."""


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A daily window of local clock time, ``[start, end)`` in minutes since midnight."""

    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_minute < self.end_minute <= 24 * 60:
            raise ValueError(f"bad time window {self.start_minute}-{self.end_minute} minutes")

    def contains(self, local: time) -> bool:
        """Whether the local clock time falls inside the window (start included, end excluded)."""
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        return self.start_minute <= minute < self.end_minute

    def __str__(self) -> str:
        return f"{_hhmm(self.start_minute)}-{_hhmm(self.end_minute)}"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def _parse_clock(text: str, whole: str) -> int:
    match = _CLOCK_RE.match(text.strip())
    if not match:
        raise ValueError(
            f"not a clock time: {text.strip()!r} in {whole!r} (allowed: {WINDOW_HELP})"
        )
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
        raise ValueError(
            f"no such clock time: {text.strip()!r} in {whole!r} (allowed: {WINDOW_HELP})"
        )
    return hours * 60 + minutes


def parse_time_window(value: Any) -> TimeWindow:
    """A :class:`TimeWindow` from ``"08:00-21:00"``."""
    if isinstance(value, TimeWindow):
        return value
    if not isinstance(value, str) or value.count("-") != 1:
        raise ValueError(f"not a time window: {value!r} (allowed: {WINDOW_HELP})")
    start_text, end_text = value.split("-")
    start, end = _parse_clock(start_text, value), _parse_clock(end_text, value)
    if start == 24 * 60:
        raise ValueError(f"window cannot start at 24:00: {value!r} (allowed: {WINDOW_HELP})")
    if start >= end:
        raise ValueError(f"window start must be before its end: {value!r} (allowed: {WINDOW_HELP})")
    return TimeWindow(start, end)


def parse_optional_window(value: Any) -> TimeWindow | None:
    """A time window, or None for ``closed`` / ``null`` (no calling that day)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "closed"):
        return None
    try:
        return parse_time_window(value)
    except ValueError as exc:
        raise ValueError(f"{exc}; or 'closed'") from None


Window = Annotated[TimeWindow, PlainValidator(parse_time_window), PlainSerializer(str)]
OptionalWindow = Annotated[
    TimeWindow | None,
    PlainValidator(parse_optional_window),
    PlainSerializer(lambda w: "closed" if w is None else str(w)),
]

_E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")


def parse_e164(value: Any) -> str:
    """A phone number in E.164 form (``+12125550123``); other spellings are rejected."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"phone number {value} must be a quoted E.164 string like '+{value}'")
    if not isinstance(value, str) or not _E164_RE.match(value):
        raise ValueError(f"not an E.164 phone number: {value!r} (allowed: '+' then 7-15 digits)")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {value!r} ({exc})") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"not a possible phone number for its country: {value!r}")
    return value


E164 = Annotated[str, PlainValidator(parse_e164)]


def parse_time_zone(value: Any) -> str:
    """An IANA time-zone name known to ``zoneinfo`` (e.g. ``America/Chicago``)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a time zone: {value!r} (allowed: an IANA name like America/Chicago)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(value, sorted(available_timezones()), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown time zone: {value!r} (allowed: an IANA name like America/Chicago){hint}"
        ) from None
    return value


TimeZoneName = Annotated[str, PlainValidator(parse_time_zone)]
