"""campaigns.yaml loading: the shipped example loads, broken files name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.config import ConfigError, ConfigProblem, load_config, load_config_text

REPO = Path(__file__).resolve().parents[2]

# A minimal valid file; the tests below break it one way at a time. Line numbers matter.
GOOD = """\
asterisk:
  - name: sandbox
    username: dialer
    secret_env: DIALER_AMI_SECRET
seats:
  seat-1: {endpoint: Local/seat-1@sim-seats}
caller_id_pools:
  pool:
    numbers: ["+12125550100", "+13125550101"]
campaigns:
  demo:
    dial_mode: predictive
    seats: [seat-1]
    caller_id: {pool: pool}
    abandon:
      cap: 0.03
      window_s: 30d
    calling_hours:
      window: "08:00-21:00"
    min_ring_s: 15
"""


def replace_line(text: str, line: int, new: str) -> str:
    """``text`` with 1-based ``line`` replaced (new may hold several lines)."""
    lines = text.splitlines()
    assert lines[line - 1].strip(), "test bug: replacing an empty line"
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def problems_of(text: str, source: str = "c.yaml") -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, source)
    return caught.value.problems


def only_problem(text: str) -> ConfigProblem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_minimal_file_loads_with_defaults() -> None:
    config = load_config_text(GOOD, "c.yaml")
    demo = config.campaigns["demo"]
    assert demo.name == "demo"
    assert demo.abandon.cap == 0.03
    assert demo.abandon.window_s == 30 * 86400
    assert demo.abandon.rule_72h is True
    assert demo.pacing.connect_window_s == 2.0
    assert str(demo.calling_hours.window) == "08:00-21:00"
    assert config.http.host == "127.0.0.1"
    assert config.campaign_seats("demo")[0].endpoint == "Local/seat-1@sim-seats"
    assert config.caller_id_pool("demo").numbers == ["+12125550100", "+13125550101"]


def test_shipped_example_loads() -> None:
    config = load_config(
        REPO / "campaigns.yaml", require_secrets=True, env={"DIALER_AMI_SECRET": "s3cret"}
    )
    demo = config.campaigns["demo"]
    assert demo.dial_mode == "predictive"
    seats = config.campaign_seats("demo")
    assert 3 <= len(seats) <= 5
    assert all(s.endpoint == f"Local/{s.id}@sim-seats" for s in seats)
    assert demo.amd.enabled
    assert [s.name for s in demo.servers] == ["sandbox"]
    assert (config.asterisk[0].host, config.asterisk[0].port) == ("127.0.0.1", 5038)
    assert config.asterisk[0].secret is None  # given through the environment only
    assert config.campaigns["renewals"].dial_mode == "progressive"
    assert config.campaigns["renewals"].abandon.cap == pytest.approx(0.03)
    assert config.campaigns["renewals"].abandon.window_s == 86400


def test_dump_reloads_to_the_same_config() -> None:
    import yaml

    config = load_config(REPO / "campaigns.yaml")
    again = load_config_text(yaml.safe_dump(config.model_dump(mode="json")), "dump.yaml")
    assert again == config


@pytest.mark.parametrize(
    ("line", "new", "where", "field", "words"),
    [
        # wrong type
        (13, "    seats: seat-1", 13, "campaigns.demo.seats", "valid list"),
        (16, "      cap: lots", 16, "campaigns.demo.abandon.cap", "valid number"),
        # unknown key (typo), listing the allowed keys
        (12, "    dial_mod: predictive", 12, "campaigns.demo.dial_mod", "allowed: name, dial_mode"),
        (4, "    secret_env: X\n    colour: blue", 5, "asterisk[0].colour", "unknown key"),
        # bad values with what is allowed
        (12, "    dial_mode: predictve", 12, "campaigns.demo.dial_mode", "'progressive'"),
        (19, '      window: "21:00-08:00"', 19, "campaigns.demo.calling_hours.window", "before"),
        (19, '      window: "08:00-25:00"', 19, "campaigns.demo.calling_hours.window", "25:00"),
        (19, '      window: "8am-9pm"', 19, "campaigns.demo.calling_hours.window", "HH:MM"),
        (16, "      cap: 1.5", 16, "campaigns.demo.abandon.cap", "<= 1"),
        (16, "      cap: 150%", 16, "campaigns.demo.abandon.cap", "<= 1"),
        (16, "      cap: 0", 16, "campaigns.demo.abandon.cap", "> 0"),
        (20, "    min_ring_s: 10", 20, "campaigns.demo.min_ring_s", "legal minimum"),
        (20, "    min_ring_s: 14s", 20, "campaigns.demo.min_ring_s", "15 s or more"),
        (17, "      window_s: 30 days", 17, "campaigns.demo.abandon.window_s", "24h, 30d"),
        (9, '    numbers: ["+1212555"]', 9, "caller_id_pools.pool.numbers[0]", "phone number"),
        (9, "    numbers: [12125550100]", 9, "caller_id_pools.pool.numbers[0]", "quoted"),
        # references to things not declared
        (14, "    caller_id: {pool: other}", 14, "campaigns.demo.caller_id.pool", "allowed: pool"),
        (13, "    seats: [seat-1, seat-9]", 13, "campaigns.demo.seats[1]", "unknown seat"),
        # missing key: named, with the line of its parent
        (
            14,
            "    caller_id: {local_presence: true}",
            14,
            "campaigns.demo.caller_id.pool",
            "missing",
        ),
        (4, "    port: 5038", 2, "asterisk[0].secret_env", "exactly one"),
    ],
)
def test_broken_file_names_file_line_and_field(
    line: int, new: str, where: int, field: str, words: str
) -> None:
    problem = only_problem(replace_line(GOOD, line, new))
    assert (problem.file, problem.line, problem.field) == ("c.yaml", where, field)
    assert words in problem.message
    assert str(problem).startswith(f"c.yaml:{where}: {field}: ")


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = replace_line(GOOD, 20, "    min_ring_s: 5")
    text = replace_line(text, 16, "      cap: 2")
    text = replace_line(text, 3, "    usernme: dialer")
    problems = problems_of(text)
    assert [(p.line, p.field) for p in problems] == [
        (2, "asterisk[0].username"),  # missing, reported at its parent
        (3, "asterisk[0].usernme"),
        (16, "campaigns.demo.abandon.cap"),
        (20, "campaigns.demo.min_ring_s"),
    ]
    message = str(ConfigError(problems))
    assert message.splitlines()[0] == "4 problems in configuration"
    assert "c.yaml:16: campaigns.demo.abandon.cap:" in message


def test_cross_section_problems_point_at_the_field() -> None:
    text = GOOD + "    no_answer_timeout_s: 14\n"
    problem = only_problem(text)
    assert (problem.line, problem.field) == (21, "campaigns.demo.no_answer_timeout_s")
    assert "min_ring_s" in problem.message


def test_duplicate_key_is_an_error() -> None:
    text = replace_line(GOOD, 20, "    min_ring_s: 15\n    dial_mode: progressive")
    problem = only_problem(text)
    assert (problem.line, problem.field) == (21, "campaigns.demo.dial_mode")
    assert "duplicate key (first given at line 12)" in problem.message


def test_yaml_syntax_error_has_its_line() -> None:
    problem = only_problem(replace_line(GOOD, 16, "      cap: [0.03"))
    assert problem.line is not None and 16 <= problem.line <= 17
    assert problem.message.startswith("YAML syntax")


def test_empty_and_non_mapping_files() -> None:
    assert load_config_text("", "e.yaml").campaigns == {}
    problem = only_problem("- just\n- a list\n")
    assert "mapping" in problem.message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_yaml_dialect_keeps_strings_strings() -> None:
    # "NO" (Norway) is not False and 21:00 is not the base-60 integer 1260.
    text = GOOD.replace(
        '    calling_hours:\n      window: "08:00-21:00"\n',
        "    calling_hours:\n      window: 08:00-21:00\n"
        "      regions: {NO: {window: 09:00-20:00}}\n",
    )
    config = load_config_text(text, "c.yaml")
    assert str(config.campaigns["demo"].calling_hours.regions["NO"].window) == "09:00-20:00"
    problem = only_problem(replace_line(GOOD, 19, "      window: 21:00"))
    assert "'21:00'" in problem.message


def test_secret_never_prints_and_env_is_required_when_asked() -> None:
    inline = replace_line(GOOD, 4, "    secret: hunter2")
    config = load_config_text(inline, "c.yaml")
    server = config.asterisk[0]
    assert "hunter2" not in repr(config) + str(server) + config.model_dump_json()
    assert server.resolve_secret().get_secret_value() == "hunter2"

    config = load_config_text(GOOD, "c.yaml")  # env not needed to read the file
    with pytest.raises(LookupError, match="DIALER_AMI_SECRET"):
        config.asterisk[0].resolve_secret(env={})
    assert config.asterisk[0].resolve_secret(env={"DIALER_AMI_SECRET": "x"}).get_secret_value()

    with pytest.raises(ConfigError) as caught:
        load_config_text(GOOD, "c.yaml", require_secrets=True, env={})
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (4, "asterisk[0].secret_env")


def test_merge_keys_and_anchors_work() -> None:
    text = GOOD + (
        "  second:\n"
        "    <<: {dial_mode: progressive, seats: [seat-1]}\n"
        "    caller_id: {pool: pool}\n"
    )
    config = load_config_text(text, "c.yaml")
    assert config.campaigns["second"].dial_mode == "progressive"


def test_bad_scalars_and_keys_are_reported_not_raised() -> None:
    text = replace_line(
        GOOD,
        19,
        '      window: "08:00-21:00"\n'
        "      holidays: [2026-13-01]\n"
        '      regions: {US-CA: {window: "09:00-20:00"}}\n'
        "      default_time_zone: America/Chicgo",
    )
    problems = problems_of(text)
    assert [(p.line, p.field) for p in problems] == [
        (20, "campaigns.demo.calling_hours.holidays[0]"),
        (21, "campaigns.demo.calling_hours.regions.US-CA"),
        (22, "campaigns.demo.calling_hours.default_time_zone"),
    ]
    assert "month" in problems[0].message
    assert "allowed: a number prefix" in problems[1].message
    assert "did you mean America/Chicago" in problems[2].message


def test_dial_string_placeholders() -> None:
    server = load_config(REPO / "campaigns.yaml").asterisk[0]
    assert server.dial_target("+15550103012") == "Local/15550103012@sim-customers"
    trunk = server.model_copy(update={"dial_string": "PJSIP/{national}@trunk"})
    assert trunk.dial_target("+442079460000") == "PJSIP/2079460000@trunk"
    problem = only_problem(
        replace_line(GOOD, 4, "    secret_env: X\n    dial_string: PJSIP/{number}@t")
    )
    assert (problem.line, problem.field) == (5, "asterisk[0].dial_string")
    assert "unknown placeholder" in problem.message


def test_cross_section_checks_also_guard_direct_construction() -> None:
    from pydantic import ValidationError

    from dialer.config import DialerConfig

    with pytest.raises(
        ValidationError, match=r"campaigns\.x\.caller_id\.pool: unknown caller-ID pool"
    ):
        DialerConfig.model_validate(
            {"campaigns": {"x": {"caller_id": {"pool": "nope"}, "seats": []}}}
        )


def test_calls_per_second_of_a_server() -> None:
    text = GOOD.replace(
        "    username: dialer\n", "    username: dialer\n    max_calls_per_second: 12.5\n"
    )
    assert load_config_text(text, "c.yaml").asterisk[0].max_calls_per_second == 12.5
    assert load_config_text(GOOD, "c.yaml").asterisk[0].max_calls_per_second is None
    text = GOOD.replace(
        "    username: dialer\n", "    username: dialer\n    max_calls_per_second: 0\n"
    )
    problem = only_problem(text)
    assert (problem.file, problem.line, problem.field) == (
        "c.yaml",
        4,
        "asterisk[0].max_calls_per_second",
    )


def test_dial_breaker_settings_and_their_errors() -> None:
    base = load_config_text(GOOD, "c.yaml").campaigns["demo"].dial_breaker
    assert (base.enabled, base.min_failures, base.cooldown_s, base.max_cooldown_s) == (
        True,
        10,
        30.0,
        300.0,
    )
    text = GOOD + "    dial_breaker:\n      min_failures: 20\n      cooldown_s: 1m\n"
    got = load_config_text(text, "c.yaml").campaigns["demo"].dial_breaker
    assert (got.min_failures, got.cooldown_s) == (20, 60.0)
    problem = only_problem(GOOD + "    dial_breaker:\n      failure_share: 1.5\n")
    assert (problem.line, problem.field) == (22, "campaigns.demo.dial_breaker.failure_share")
    problem = only_problem(
        GOOD + "    dial_breaker:\n      cooldown_s: 10m\n      max_cooldown_s: 5m\n"
    )
    assert problem.field == "campaigns.demo.dial_breaker"
    assert "max_cooldown_s (300 s) must be at least cooldown_s (600 s)" in problem.message
