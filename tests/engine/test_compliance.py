"""Abandon-ledger arithmetic and the attempt-log audit."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.engine.compliance import (
    AttemptLogEntry,
    LedgerRecord,
    RollingAbandonLedger,
    Rule,
    abandon_window,
    allowed_abandons,
    audit_attempts,
    ledger_from_attempts,
    max_rolling_rate,
)
from dialer.engine.leads import DncEntry, DncSet
from dialer.states import LedgerKind
from tests.engine.rules_support import campaign, utc

NY = "+12125550199"
NOON_NY = utc(2026, 11, 25, 17)
ANSWER, ABANDON = LedgerKind.LIVE_ANSWER, LedgerKind.ABANDON


def test_allowed_abandons_is_exact() -> None:
    assert allowed_abandons(0.03, 10, 0) == 0  # the first minutes: no budget yet
    assert allowed_abandons(0.03, 34, 0) == 1
    assert allowed_abandons(0.03, 100, 2) == 1
    assert allowed_abandons(0.03, 100, 4) == -1
    assert allowed_abandons(0.29, 100, 0) == 29  # 0.29 * 100 is 28.999... in floating point
    assert allowed_abandons(0.07, 100, 0) == 7


def test_window_counts_and_rate() -> None:
    records = [LedgerRecord(NOON_NY - timedelta(hours=h), ANSWER) for h in range(30)]
    records += [LedgerRecord(NOON_NY - timedelta(hours=1), ABANDON)]
    window = abandon_window(records, NOON_NY, 24 * 3600, 0.03)
    assert (window.live_answers, window.abandons) == (24, 1)  # (now - 24h, now]
    assert window.rate == 1 / 24
    assert not window.within_cap
    assert window.allowed_abandons == -1
    assert window.answers_needed_for(0) == 10  # 34 answers make 1 abandon fit under 3 %


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from([ANSWER, ABANDON])), max_size=60),
    st.integers(1, 5000),
)
def test_rolling_ledger_matches_the_plain_count(
    events: list[tuple[int, LedgerKind]], window: int
) -> None:
    base = utc(2026, 1, 1)
    records = sorted(
        (LedgerRecord(base + timedelta(seconds=s), k) for s, k in events), key=lambda r: r.at
    )
    ledger = RollingAbandonLedger(window, 0.03)
    for i, record in enumerate(records):
        ledger.record(record)
        if i + 1 < len(records) and records[i + 1].at == record.at:
            continue  # judge an instant once all its records are in
        expected = abandon_window(records, record.at, window, 0.03)
        got = ledger.at(record.at)
        assert (got.live_answers, got.abandons) == (expected.live_answers, expected.abandons)


def test_max_rolling_rate() -> None:
    base = utc(2026, 1, 1)
    records = [LedgerRecord(base + timedelta(seconds=i), ANSWER) for i in range(10)]
    records.append(LedgerRecord(base + timedelta(seconds=9), ABANDON))
    assert max_rolling_rate(records, 3600) == 0.1
    assert max_rolling_rate(records, 5) == 0.2  # only 5 answers within 5 s of the abandon


def attempt(n: int, at_hours: float, outcome: str = "human", **kw: object) -> AttemptLogEntry:
    placed = NOON_NY + timedelta(hours=at_hours)
    fields: dict[str, object] = {"answered_at": placed + timedelta(seconds=5)}
    if outcome == "no_answer":
        fields = {"ring_s": 20.0}
    fields.update(kw)
    return AttemptLogEntry(
        f"a{n}",
        int(str(fields.pop("lead", 1))),
        str(fields.pop("phone", NY)),
        placed,
        outcome,
        **fields,
    )  # type: ignore[arg-type]


def test_a_clean_log_has_no_violation() -> None:
    log = [attempt(1, 0, "no_answer"), attempt(2, 2, "busy"), attempt(3, 24, "human")]
    assert audit_attempts(log, campaign()) == []


def test_audit_finds_each_broken_rule() -> None:
    config = campaign(attempts={"max_total": 3, "max_per_day": 2, "min_gap_s": "1h"})
    dnc = DncSet([DncEntry("+13125550199", added_at=NOON_NY - timedelta(days=1))])
    log = [
        attempt(1, 0, "no_answer", ring_s=10.0),  # rang too short
        attempt(2, 0.5, "abandoned"),  # gap 30 min
        attempt(3, 3, "busy"),  # 3rd today, within 72 h of the abandon
        attempt(4, 48, "human"),  # 4th in total, within 72 h
        attempt(5, 15, "human", lead=2),  # 07:00 New York
        attempt(6, 1, "busy", lead=3, phone="+13125550199"),  # on the DNC list
    ]
    found = {(v.attempt_id, v.rule) for v in audit_attempts(log, config, dnc)}
    assert found == {
        ("a1", Rule.MIN_RING),
        ("a2", Rule.MIN_GAP),
        ("a2", Rule.ABANDON_CAP),  # 1 abandon for 2 live answers
        ("a3", Rule.MAX_ATTEMPTS_DAY),
        ("a3", Rule.ABANDON_72H),
        ("a4", Rule.MAX_ATTEMPTS_TOTAL),
        ("a4", Rule.ABANDON_72H),
        ("a5", Rule.CALLING_HOURS),
        ("a6", Rule.DNC),
    }


def test_abandon_within_budget_is_no_violation() -> None:
    log = [attempt(i, i * 0.01, "human", lead=i, phone=f"+1212555{i:04d}") for i in range(1, 40)]
    log.append(attempt(40, 0.5, "abandoned", lead=40, phone="+12125550040"))
    assert audit_attempts(log, campaign()) == []
    log.append(attempt(41, 0.6, "abandoned", lead=41, phone="+12125550041"))
    (violation,) = audit_attempts(log, campaign())
    assert (violation.attempt_id, violation.rule) == ("a41", Rule.ABANDON_CAP)
    records = ledger_from_attempts(log)
    assert sum(r.kind == ABANDON for r in records) == 2
    assert sum(r.kind == ANSWER for r in records) == 41


def test_prior_attempts_count_but_are_not_audited() -> None:
    config = campaign(attempts={"max_total": 2, "min_gap_s": 0})
    prior = [attempt(1, 0, "busy"), attempt(2, 1, "busy")]
    found = audit_attempts([attempt(3, 2, "busy")], config, prior_attempts=prior)
    assert [(v.attempt_id, v.rule) for v in found] == [("a3", Rule.MAX_ATTEMPTS_TOTAL)]


def test_the_cap_on_the_ledger_judges_an_instant_once_all_its_records_are_in() -> None:
    """An answer racing a ring trim is a live answer and an abandon at one instant: with 33
    answers before, that is 1 abandon for 34 (within 3 %), whichever record comes first."""
    base = NOON_NY
    ledger = [LedgerRecord(base + timedelta(seconds=i), ANSWER, f"x{i}") for i in range(33)]
    race = base + timedelta(minutes=5)
    for first, second in ((ABANDON, ANSWER), (ANSWER, ABANDON)):
        records = [*ledger, LedgerRecord(race, first, "t1"), LedgerRecord(race, second, "t1")]
        assert audit_attempts([], campaign(), ledger=records) == []
    late = [*ledger[:32], LedgerRecord(race, ANSWER, "t1"), LedgerRecord(race, ABANDON, "t1")]
    (violation,) = audit_attempts([], campaign(), ledger=late)
    assert (violation.rule, violation.attempt_id, violation.at) == (Rule.ABANDON_CAP, "t1", race)
    # Judged only from ledger_from on; earlier records still fill the window.
    assert audit_attempts([], campaign(), ledger=late, ledger_from=race + timedelta(1)) == []


def test_an_abandoned_attempt_missing_from_the_ledger() -> None:
    log = [attempt(1, 0, "abandoned")]
    (violation,) = audit_attempts(log, campaign(), ledger=[])
    assert (violation.rule, violation.attempt_id) == (Rule.LEDGER, "a1")
    assert audit_attempts([attempt(1, 0, None)], campaign(), ledger=[]) == []  # in flight


def test_the_per_day_cap_counts_any_24_hours() -> None:
    """10:00 and 11:30 in New York, then 20:00 there (01:00 UTC, the next UTC day) breaks a cap
    of 2: whoever counts calendar days, some day holds all three. The next morning at 10:00, 24
    hours after the first, is within the cap again; 09:59 is not."""
    config = campaign(attempts={"max_per_day": 2, "min_gap_s": 0})
    morning = [attempt(1, -2, "busy"), attempt(2, -0.5, "busy")]  # 15:00 and 16:30 UTC
    (violation,) = audit_attempts([*morning, attempt(3, 8, "busy")], config)
    assert (violation.attempt_id, violation.rule) == ("a3", Rule.MAX_ATTEMPTS_DAY)
    assert audit_attempts([*morning, attempt(3, 22, "busy")], config) == []
    (violation,) = audit_attempts([*morning, attempt(3, 22 - 1 / 60, "busy")], config)
    assert (violation.attempt_id, violation.rule) == ("a3", Rule.MAX_ATTEMPTS_DAY)


def test_the_minimum_ring_is_of_ringing_not_of_call_set_up() -> None:
    placed = NOON_NY
    slow_setup = attempt(
        1,
        0,
        "no_answer",
        ring_s=20.0,
        ringing_at=placed + timedelta(seconds=8),
        ended_at=placed + timedelta(seconds=20),
    )
    (violation,) = audit_attempts([slow_setup], campaign())
    assert violation.rule == Rule.MIN_RING and "rang 12 s" in violation.detail
    assert audit_attempts([attempt(1, 0, "no_answer", ring_s=20.0)], campaign()) == []


def test_max_rolling_rate_from_a_moment_on() -> None:
    base = utc(2026, 1, 1)
    records = [LedgerRecord(base + timedelta(seconds=i), ANSWER) for i in range(10)]
    records.insert(2, LedgerRecord(base + timedelta(seconds=1), ABANDON))  # 1 of 2 at 1 s
    assert max_rolling_rate(records, 3600) == 0.5
    # judged from 5 s on, the early abandon still counts in the window: 1 of 6, then less
    assert max_rolling_rate(records, 3600, since=base + timedelta(seconds=5)) == 1 / 6
