"""The dialer's Prometheus metrics: names, bounded labels, pre-created series, exposition lint."""

from __future__ import annotations

import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dialer.obs.metrics import CALL_OUTCOMES, REJECT_REASONS, SEAT_STATES, DialerMetrics


def samples(metrics: DialerMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by (name, sorted labels)."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(metrics: DialerMetrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def metrics() -> DialerMetrics:
    m = DialerMetrics()
    m.add_campaign("demo", abandon_cap=0.03)
    m.add_campaign("uk-retention", abandon_cap=0.03)
    m.add_ami_server("pbx-1")
    return m


def test_series_are_precreated_at_zero(metrics: DialerMetrics) -> None:
    seen = samples(metrics)
    for outcome in CALL_OUTCOMES:
        assert seen[("dialer_calls_total", (("campaign", "demo"), ("outcome", outcome)))] == 0
    for state in SEAT_STATES:
        assert seen[("dialer_seats", (("campaign", "demo"), ("state", state)))] == 0
    for reason in REJECT_REASONS:
        key = ("dialer_dials_rejected_total", (("campaign", "demo"), ("reason", reason)))
        assert seen[key] == 0
    assert seen[("dialer_abandon_cap", (("campaign", "demo"),))] == pytest.approx(0.03)
    assert seen[("dialer_ami_connected", (("server", "pbx-1"),))] == 0
    assert seen[("dialer_answer_to_seat_seconds_count", (("campaign", "demo"),))] == 0
    assert seen[("dialer_ring_trims_total", (("campaign", "demo"),))] == 0
    assert seen[("dialer_dial_breaker_open", (("campaign", "demo"),))] == 0
    assert seen[("dialer_dial_breaker_trips_total", (("campaign", "demo"),))] == 0


def test_dial_breaker_state_and_trips(metrics: DialerMetrics) -> None:
    metrics.dial_breaker("demo", holding=True, new_trips=1)
    assert value(metrics, "dialer_dial_breaker_open", campaign="demo") == 1
    metrics.dial_breaker("demo", holding=True)
    metrics.dial_breaker("demo", holding=False, new_trips=0)
    assert value(metrics, "dialer_dial_breaker_open", campaign="demo") == 0
    assert value(metrics, "dialer_dial_breaker_trips_total", campaign="demo") == 1


def test_no_created_series(metrics: DialerMetrics) -> None:
    assert not any(name.endswith("_created") for name, _ in samples(metrics))


def test_unknown_label_values_are_counted_as_other(metrics: DialerMetrics) -> None:
    metrics.call_ended("demo", "+15551234567")
    metrics.dial_rejected("demo", "a brand new reason")
    metrics.dial_rejected("demo", "dnc")
    assert value(metrics, "dialer_calls_total", campaign="demo", outcome="other") == 1
    assert value(metrics, "dialer_dials_rejected_total", campaign="demo", reason="other") == 1
    assert value(metrics, "dialer_dials_rejected_total", campaign="demo", reason="dnc") == 1
    assert "+15551234567" not in metrics.render().decode()


def test_undeclared_campaign_or_server_is_refused(metrics: DialerMetrics) -> None:
    with pytest.raises(KeyError, match="add_campaign"):
        metrics.call_ended("no-such-campaign", "busy")
    with pytest.raises(KeyError, match="add_ami_server"):
        metrics.set_ami_connected("pbx-9", True)


def test_call_flow_counters_and_latency_histogram(metrics: DialerMetrics) -> None:
    metrics.dial_placed("demo")
    metrics.dial_placed("demo")
    metrics.live_answer("demo")
    metrics.connected_to_seat("demo", 0.35)
    metrics.call_ended("demo", "human")
    metrics.live_answer("demo")
    metrics.abandon("demo")
    metrics.call_ended("demo", "abandoned")
    metrics.ring_trimmed("demo", 3)
    assert value(metrics, "dialer_dials_total", campaign="demo") == 2
    assert value(metrics, "dialer_ring_trims_total", campaign="demo") == 3
    assert value(metrics, "dialer_live_answers_total", campaign="demo") == 2
    assert value(metrics, "dialer_abandons_total", campaign="demo") == 1
    assert value(metrics, "dialer_answer_to_seat_seconds_count", campaign="demo") == 1
    assert value(metrics, "dialer_answer_to_seat_seconds_sum", campaign="demo") == pytest.approx(
        0.35
    )
    # 0.35 s lands in the 0.4 s bucket and not in the 0.3 s one.
    assert value(metrics, "dialer_answer_to_seat_seconds_bucket", campaign="demo", le="0.3") == 0
    assert value(metrics, "dialer_answer_to_seat_seconds_bucket", campaign="demo", le="0.4") == 1
    # The other campaign is untouched.
    assert value(metrics, "dialer_live_answers_total", campaign="uk-retention") == 0


def test_gauges(metrics: DialerMetrics) -> None:
    metrics.set_seats("demo", {"ready": 3, "talking": 5})
    metrics.set_seats("demo", {"ready": 2, "wrapup": 1})
    metrics.set_lines_in_flight("demo", 7)
    metrics.set_abandon_rate("demo", 0.021)
    share = "dialer_pacing_visible_answer_share"
    assert value(metrics, share, campaign="demo") == 1.0  # until the pacing says otherwise
    metrics.set_pacing(
        "demo", risk_threshold=0.05, free_seats=2.5, live_answers=1.75, visible_answer_share=0.3
    )
    assert value(metrics, share, campaign="demo") == pytest.approx(0.3)
    assert value(metrics, "dialer_seats", campaign="demo", state="ready") == 2
    assert value(metrics, "dialer_seats", campaign="demo", state="talking") == 0  # reset
    assert value(metrics, "dialer_seats", campaign="demo", state="wrapup") == 1
    assert value(metrics, "dialer_lines_in_flight", campaign="demo") == 7
    assert value(metrics, "dialer_abandon_rate_window", campaign="demo") == pytest.approx(0.021)
    assert value(metrics, "dialer_pacing_risk_threshold", campaign="demo") == pytest.approx(0.05)
    forecast = value(metrics, "dialer_pacing_forecast", campaign="demo", quantity="free_seats")
    assert forecast == pytest.approx(2.5)


def test_ami_reconnects_count_only_recoveries(metrics: DialerMetrics) -> None:
    metrics.set_ami_connected("pbx-1", False)  # still starting: not a loss
    metrics.set_ami_connected("pbx-1", True)  # first connection: not a reconnect
    metrics.set_ami_connected("pbx-1", True)  # no change
    assert value(metrics, "dialer_ami_reconnects_total", server="pbx-1") == 0
    metrics.set_ami_connected("pbx-1", False)
    assert value(metrics, "dialer_ami_connected", server="pbx-1") == 0
    metrics.set_ami_connected("pbx-1", True)
    metrics.set_ami_connected("pbx-1", False)
    metrics.set_ami_connected("pbx-1", True)
    assert value(metrics, "dialer_ami_reconnects_total", server="pbx-1") == 2
    assert value(metrics, "dialer_ami_connected", server="pbx-1") == 1


def test_db_timer_counts_errors(metrics: DialerMetrics) -> None:
    with metrics.time_db("claim_leads"):
        pass
    with pytest.raises(RuntimeError), metrics.time_db("finish_attempt"):
        raise RuntimeError("database went away")
    with metrics.time_db("SELECT * FROM leads WHERE phone = '+15551234567'"):
        pass
    assert value(metrics, "dialer_db_query_seconds_count", operation="claim_leads") == 1
    assert value(metrics, "dialer_db_errors_total", operation="claim_leads") == 0
    assert value(metrics, "dialer_db_query_seconds_count", operation="finish_attempt") == 1
    assert value(metrics, "dialer_db_errors_total", operation="finish_attempt") == 1
    assert value(metrics, "dialer_db_query_seconds_count", operation="other") == 1


def test_sync_campaigns_removes_dropped_ones(metrics: DialerMetrics) -> None:
    metrics.call_ended("uk-retention", "busy")
    metrics.sync_campaigns({"demo": 0.05, "new": 0.03})
    names = {dict(labels).get("campaign") for _, labels in samples(metrics)}
    assert "uk-retention" not in names
    assert {"demo", "new"} <= names
    assert value(metrics, "dialer_abandon_cap", campaign="demo") == pytest.approx(0.05)
    assert metrics.campaigns == {"demo", "new"}


def test_exposition_passes_promtool_lint(metrics: DialerMetrics, promtool: str) -> None:
    metrics.call_ended("demo", "busy")
    metrics.connected_to_seat("demo", 1.2)
    metrics.set_ami_connected("pbx-1", True)
    with metrics.time_db("claim_leads"):
        pass
    metrics.config_reloads.labels(result="applied").inc()
    done = subprocess.run(
        [promtool, "check", "metrics"], input=metrics.render(), capture_output=True, timeout=60
    )
    report = (done.stdout + done.stderr).decode()
    assert done.returncode == 0, report
    assert "error" not in report.lower() and "warn" not in report.lower(), report
