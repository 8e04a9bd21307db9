"""The campaign's ``wrapup`` section and robot-mode additions: defaults, durations, and errors
naming file, line and field."""

from __future__ import annotations

from dialer.config import load_config_text
from tests.config.test_loader import GOOD, only_problem


def test_wrapup_defaults_are_timed_five_seconds() -> None:
    wrapup = load_config_text(GOOD, "c.yaml").campaigns["demo"].wrapup
    assert (wrapup.mode, wrapup.timed_s, wrapup.max_s) == ("timed", 5.0, 300.0)


def test_wrapup_until_disposition_takes_durations() -> None:
    text = GOOD + "    wrapup:\n      mode: disposition\n      timed_s: 10s\n      max_s: 2m\n"
    wrapup = load_config_text(text, "c.yaml").campaigns["demo"].wrapup
    assert (wrapup.mode, wrapup.timed_s, wrapup.max_s) == ("disposition", 10.0, 120.0)


def test_bad_wrapup_mode_names_its_line_and_the_allowed_words() -> None:
    problem = only_problem(GOOD + "    wrapup:\n      mode: forever\n")
    assert (problem.file, problem.line, problem.field) == (
        "c.yaml",
        22,
        "campaigns.demo.wrapup.mode",
    )
    assert "'timed'" in problem.message and "'disposition'" in problem.message


def test_negative_or_zero_wrapup_times_are_errors() -> None:
    problem = only_problem(GOOD + "    wrapup:\n      timed_s: -1\n")
    assert (problem.line, problem.field) == (22, "campaigns.demo.wrapup.timed_s")
    problem = only_problem(GOOD + "    wrapup:\n      mode: disposition\n      max_s: 0\n")
    assert (problem.line, problem.field) == (23, "campaigns.demo.wrapup.max_s")


ROBOT = (
    GOOD.replace("dial_mode: predictive", "dial_mode: robot").replace("    seats: [seat-1]\n", "")
    + "    robot:\n      ivr_context: dialer-robot\n      handover_seat_group: handover\n"
).replace("caller_id_pools:", "seat_groups:\n  handover: [seat-1]\ncaller_id_pools:")


def test_robot_campaign_takes_its_hand_over_group_as_its_seats() -> None:
    text = ROBOT + "      message: beep\n      prompt: digits/1\n      wait_s: 4s\n"
    config = load_config_text(text, "c.yaml")
    robot = config.campaigns["demo"].robot
    assert robot is not None
    assert (robot.message, robot.prompt, robot.wait_s) == ("beep", "digits/1", 4.0)
    assert [s.id for s in config.campaign_seats("demo")] == ["seat-1"]


def test_robot_wait_out_of_range_names_its_line() -> None:
    problem = only_problem(ROBOT + "      wait_s: 2h\n")
    assert problem.field == "campaigns.demo.robot.wait_s"
    assert problem.line == len(ROBOT.splitlines()) + 1


def test_machines_to_the_ivr_need_a_robot_section() -> None:
    problem = only_problem(GOOD + "    amd:\n      on_machine: ivr\n")
    assert (problem.line, problem.field) == (22, "campaigns.demo.amd.on_machine")
    assert "robot section" in problem.message
    text = ROBOT + "    amd:\n      on_machine: ivr\n      on_notsure: hangup\n"
    amd = load_config_text(text, "c.yaml").campaigns["demo"].amd
    assert (amd.on_machine, amd.on_notsure) == ("ivr", "hangup")
