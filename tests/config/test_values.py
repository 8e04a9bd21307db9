"""Durations and time windows as written in campaigns.yaml."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.config import TimeWindow, format_duration, parse_duration, parse_time_window


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        ("90", 90.0),
        ("90s", 90.0),
        ("15m", 900.0),
        ("24h", 86400.0),
        ("30d", 2592000.0),
        ("2.5s", 2.5),
        ("250ms", 0.25),
        (1.5, 1.5),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "5x", "-5", "5 minutes", "1h30m", True, None, -1, [1]])
def test_bad_durations_say_what_is_allowed(bad: object) -> None:
    with pytest.raises(ValueError, match=r"allowed: .*90s, 15m, 24h, 30d"):
        parse_duration(bad)


@given(st.integers(min_value=0, max_value=10**9) | st.floats(0, 1e6, allow_nan=False))
def test_duration_spelling_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(float(seconds))) == seconds


@given(st.integers(0, 24 * 60 - 1), st.integers(1, 24 * 60))
def test_windows_parse_back_from_their_spelling(start: int, end: int) -> None:
    if start >= end:
        with pytest.raises(ValueError, match="before its end"):
            parse_time_window(_spell(start, end))
        return
    window = TimeWindow(start, end)
    assert parse_time_window(str(window)) == window


def _spell(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def test_window_contains_start_not_end() -> None:
    window = parse_time_window("08:00-21:00")
    assert window.contains(time(8, 0))
    assert window.contains(time(20, 59, 59))
    assert not window.contains(time(21, 0))
    assert not window.contains(time(7, 59, 59))
    assert parse_time_window("00:00-24:00").contains(time(23, 59, 59, 999999))


@pytest.mark.parametrize("bad", ["24:00-24:00", "08:60-09:00", "9-17", "08:00", "a-b", 800])
def test_bad_windows(bad: object) -> None:
    with pytest.raises(ValueError, match="allowed: HH:MM-HH:MM"):
        parse_time_window(bad)
