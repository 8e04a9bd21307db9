"""The campaign's ``preview`` section: defaults, durations, and errors naming file, line, field."""

from __future__ import annotations

from dialer.config import load_config_text
from tests.config.test_loader import GOOD, only_problem

PREVIEW = GOOD.replace("dial_mode: predictive", "dial_mode: preview")


def test_preview_defaults() -> None:
    preview = load_config_text(PREVIEW, "c.yaml").campaigns["demo"].preview
    assert (preview.offer_timeout_s, preview.on_timeout, preview.skip_retry_s) == (
        60.0,
        "skip",
        3600.0,
    )


def test_preview_section_takes_durations() -> None:
    text = PREVIEW + "    preview:\n      offer_timeout_s: 2m\n      on_timeout: dial\n"
    text += "      skip_retry_s: 30s\n"
    preview = load_config_text(text, "c.yaml").campaigns["demo"].preview
    assert (preview.offer_timeout_s, preview.on_timeout, preview.skip_retry_s) == (
        120.0,
        "dial",
        30.0,
    )


def test_bad_on_timeout_names_its_line() -> None:
    text = PREVIEW + "    preview:\n      offer_timeout_s: 30\n      on_timeout: ring\n"
    problem = only_problem(text)
    assert (problem.file, problem.line, problem.field) == (
        "c.yaml",
        23,
        "campaigns.demo.preview.on_timeout",
    )
    assert "'dial'" in problem.message and "'skip'" in problem.message


def test_zero_offer_timeout_and_unknown_key_are_errors() -> None:
    problem = only_problem(PREVIEW + "    preview:\n      offer_timeout_s: 0\n")
    assert (problem.line, problem.field) == (22, "campaigns.demo.preview.offer_timeout_s")
    problem = only_problem(PREVIEW + "    preview:\n      ofer_timeout_s: 10\n")
    assert (problem.line, problem.field) == (22, "campaigns.demo.preview.ofer_timeout_s")
