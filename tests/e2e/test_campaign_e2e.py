"""Campaigns dialled end to end: a real dialerd process, a real Asterisk, a real database.

Each test prepares the database as an operator and a CRM would, runs ``dialerd`` as a
subprocess until every dialable lead has had its call, stops it with SIGTERM (or kills it with
SIGKILL and starts another), and checks what the database, /metrics and the reports say. Figures
(run time, answer-to-seat latency, the daemon's CPU and memory) are printed (``pytest -s``).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from dialer.daemon.reconcile import CRASH_CAUSE_TEXT
from dialer.reports import Period, build_campaign_report
from dialer.reports.load import load_attempts
from dialer.store import make_engine
from dialer.store.schema import lead_rejects
from dialer.telephony.sandbox import AmiCredentials, Sandbox, free_port
from dialer.telephony.sim_numbers import SimBehaviour as B
from tests.daemon.httpget import fetch_sync
from tests.e2e import harness as h

pytestmark = [pytest.mark.asterisk, pytest.mark.integration, pytest.mark.slow]

SETTLED_OUTCOMES = frozenset({"failed", "abandoned", "human", "machine"})
LOST_OUTCOMES = frozenset({"failed", "customer_hangup", "human"})


# ----------------------------------------------------------------------------- checks


def check_each_lead(
    snap: h.Snapshot, campaign: str, *, settled_ok: bool = False, lost_ok: bool = False
) -> Counter[str]:
    """Every dialable lead had exactly one call, ended with an outcome its behaviour allows;
    DNC, out-of-hours and malformed leads had none. Returns outcome counts."""
    by_lead = snap.attempts_by_lead()
    outcomes: Counter[str] = Counter()
    now = datetime.now(UTC)
    for lead in snap.leads:
        if lead["campaign"] != campaign:
            continue
        calls = by_lead.get(lead["id"], [])
        number = lead["phone_e164"] or lead["phone_raw"]
        where = f"lead {lead['id']} ({number}, {lead['status']})"
        assert lead["status"] != "dialling", f"{where} left claimed"
        if lead["status"] == "rejected":
            assert not calls, f"{where}: a rejected lead was dialled"
            continue
        if number in snap.dnc:
            assert not calls, f"{where}: a DNC number was dialled"
            continue
        if number.startswith(f"+1{h.CLOSED_AREA}"):
            assert not calls, f"{where}: dialled outside its calling hours"
            assert lead["next_call_at"] is not None and lead["next_call_at"] > now, where
            continue
        assert len(calls) == 1, f"{where}: {len(calls)} attempts, expected exactly one"
        call = calls[0]
        assert call["state"] == "ended", f"{where}: attempt still {call['state']}"
        behaviour = h.behaviour_of(number)
        assert behaviour is not None
        allowed = h.ALLOWED_OUTCOMES[behaviour]
        if settled_ok and call["cause_text"] == CRASH_CAUSE_TEXT:
            allowed = allowed | SETTLED_OUTCOMES
        if lost_ok and call["hangup_cause"] is None:  # vanished with a crashed Asterisk
            allowed = allowed | LOST_OUTCOMES
        assert call["outcome"] in allowed, f"{where}: {behaviour.name} ended {call['outcome']}"
        expected_status = {
            "human": "done",
            "invalid_number": "no_contact",
        }.get(call["outcome"], "retry")
        assert lead["status"] == expected_status, f"{where}: after {call['outcome']}"
        if expected_status == "retry":
            assert lead["next_call_at"] is not None and lead["next_call_at"] > now, where
        outcomes[call["outcome"]] += 1
    return outcomes


def check_no_overlap(snap: h.Snapshot) -> None:
    """No lead ever had two calls at once (placed_at..ended_at intervals are disjoint)."""
    for lead_id, calls in snap.attempts_by_lead().items():
        ordered = sorted(calls, key=lambda a: a["placed_at"])
        for first, second in pairwise(ordered):
            assert first["ended_at"] is not None and first["ended_at"] <= second["placed_at"], (
                f"lead {lead_id}: attempts {first['id']} and {second['id']} overlap"
            )


def check_abandon_cap(snap: h.Snapshot, campaign: str, cap: float) -> tuple[int, int]:
    """The abandon rate over the window (history included) is within the cap; the ledger
    agrees with the attempts of the run. Returns (live answers, abandons) of the run."""
    rows = [r for r in snap.ledger if r["campaign"] == campaign]
    answers = sum(1 for r in rows if r["kind"] == "live_answer")
    abandons = sum(1 for r in rows if r["kind"] == "abandon")
    assert answers > 0
    assert abandons / answers <= cap, f"abandon rate {abandons}/{answers} above the cap {cap}"
    run_rows = [r for r in rows if r["attempt_id"] is not None]
    keys = [(r["attempt_id"], r["kind"]) for r in run_rows]
    assert len(keys) == len(set(keys)), "an attempt was counted twice in the ledger"
    abandoned = {a["id"] for a in snap.attempts if a["outcome"] == "abandoned"}
    ledger_abandons = {r["attempt_id"] for r in run_rows if r["kind"] == "abandon"}
    assert abandoned <= ledger_abandons, "an abandoned attempt is missing from the ledger"
    connected = {a["id"] for a in snap.attempts if a["connected_at"] is not None}
    live = {r["attempt_id"] for r in run_rows if r["kind"] == "live_answer"}
    assert connected <= live, "a connected call is missing its live answer in the ledger"
    return (
        sum(1 for r in run_rows if r["kind"] == "live_answer"),
        sum(1 for r in run_rows if r["kind"] == "abandon"),
    )


def connect_latencies(snap: h.Snapshot) -> tuple[list[float], list[float]]:
    """(live answer → seat, pick-up → seat) seconds of every connected call (except calls
    settled after a crash: their live-answer moment died with the daemon that saw it)."""
    connected = [
        a for a in snap.attempts if a["connected_at"] is not None and a["wait_s"] is not None
    ]
    live_to_seat = [float(a["wait_s"]) for a in connected]
    pickup_to_seat = [(a["connected_at"] - a["answered_at"]).total_seconds() for a in connected]
    return live_to_seat, pickup_to_seat


def check_report_matches(db_url: str, snap: h.Snapshot, campaign: str) -> None:
    """The campaign report's totals equal what the attempts table says."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            now = datetime.now(UTC)
            period = Period(now - timedelta(days=1), now + timedelta(minutes=1))
            report = build_campaign_report(load_attempts(conn, period, campaign), period)
            rejects = conn.execute(lead_rejects.select()).mappings().all()
    finally:
        engine.dispose()
    mine = [a for a in snap.attempts if a["campaign"] == campaign]
    (figures,) = report.campaigns
    assert figures.total_calls == len(mine)
    assert figures.connected == sum(1 for a in mine if a["connected_at"] is not None)
    assert figures.abandoned == sum(1 for a in mine if a["outcome"] == "abandoned")
    assert figures.answered_machine == sum(1 for a in mine if a["outcome"] == "machine")
    assert report.total.total_calls == len(mine)
    bad = [lead for lead in snap.leads if lead["status"] == "rejected"]
    assert {r["lead_id"] for r in rejects} >= {lead["id"] for lead in bad}
    assert all(r["reason"] for r in rejects), "a lead was rejected without a reason"


def check_stopped_cleanly(snap: h.Snapshot, campaign: str) -> None:
    row = next(c for c in snap.campaigns if c["name"] == campaign)
    assert row["actual_state"] == "stopped"
    assert all(s["state"] == "logged_out" for s in snap.seats if s["campaign"] == campaign)
    lease = next(x for x in snap.leases if x["campaign"] == campaign)
    assert lease["expires_at"] <= datetime.now(UTC), "the lease was not released"


def check_metrics(daemon: h.Daemon, promtool: str | None, campaign: str) -> str:
    body = fetch_sync(f"{daemon.base}/metrics").body
    text = body.decode() if isinstance(body, bytes) else str(body)
    assert f'dialer_dials_total{{campaign="{campaign}"}}' in text
    if promtool is not None:
        done = subprocess.run(
            [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
        )
        problems = (done.stdout + done.stderr).decode()
        assert done.returncode == 0, f"promtool check metrics failed:\n{problems}"
    return text


def metric_value(text: str, name: str, labels: str) -> float:
    prefix = f"{name}{{{labels}}} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    raise AssertionError(f"no series {prefix.strip()} in /metrics")


def print_figures(title: str, started: float, usage: dict[str, float], snap: h.Snapshot) -> None:
    live, pickup = connect_latencies(snap)
    print(
        f"\n[{title}] {len(snap.attempts)} attempts in {time.monotonic() - started:.0f} s; "
        f"outcomes {dict(snap.outcomes())}\n"
        f"  live answer → seat: n={len(live)} p50={h.percentile(live, 0.5) * 1000:.0f} ms "
        f"p95={h.percentile(live, 0.95) * 1000:.0f} ms max={max(live, default=0) * 1000:.0f} ms\n"
        f"  pick-up → seat (includes AMD): p50={h.percentile(pickup, 0.5):.2f} s "
        f"max={max(pickup, default=0):.2f} s\n"
        f"  dialerd: cpu {usage['cpu_s']:.1f} s over {usage['wall_s']:.0f} s wall "
        f"({100 * usage['cpu_s'] / max(usage['wall_s'], 1e-9):.1f}% of one core), "
        f"peak RSS {usage['peak_rss_mib']:.0f} MiB"
    )


def run_until_done(db_url: str, daemon: h.Daemon, timeout_s: float) -> None:
    finished = h.wait_until(lambda: h.progress(db_url)[:2] == (0, 0), timeout_s, daemon)
    assert finished, f"leads still pending after {timeout_s} s: {h.progress(db_url)}\n" + (
        daemon.log_tail()
    )


# ----------------------------------------------------------------------------- tests


PREDICTIVE_MIX = {
    B.HUMAN: 24, B.MACHINE: 24, B.BUSY: 32, B.NO_ANSWER: 5, B.CONGESTION: 20, B.INVALID: 20,
    B.EARLY_HANGUP: 6, B.REJECTED: 12,
}  # fmt: skip


def test_predictive_campaign_end_to_end(
    tmp_path: Path, e2e_credentials: AmiCredentials, e2e_promtool: str | None
) -> None:
    """A predictive campaign, 4 seats, ~150 leads of mixed behaviours, on SQLite."""
    started = time.monotonic()
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    config = tmp_path / "campaigns.yaml"
    seats = ["p1", "p2", "p3", "p4"]
    config.write_text(
        h.config_yaml(e2e_credentials, {"sales": {"mode": "predictive", "seats": seats}})
    )
    mix = h.lead_mix(PREDICTIVE_MIX, dnc=5, closed=5, bad=3, seed=1)
    # Earlier shifts: 600 live answers, 6 abandons in the window (1 %): budget to dial ahead.
    h.prepare_database(db_url, config, {"sales": mix}, history=(600, 6))
    h.request_seat(db_url, "p4", "paused")  # the agent takes a break at the start
    daemon = h.start_daemon(config, db_url, e2e_credentials, tmp_path / "dialerd.log", free_port())
    try:
        assert h.wait_until(lambda: h.progress(db_url)[2] >= 30, 120, daemon, 0.5)
        assert h.seat_state(db_url, "p4") == "paused"
        back_at = datetime.now(UTC)
        h.request_seat(db_url, "p4", "ready")
        # An agent asks for a break in the middle of a call: the break begins after the call
        # (and its wrap-up), and meanwhile the forecast stops counting the seat as coming free.
        talking: list[str] = []

        def someone_talking() -> bool:
            talking[:] = [s for s in seats[:3] if h.seat_state(db_url, s) == "talking"]
            return bool(talking)

        assert h.wait_until(someone_talking, 90, daemon, 0.2), "no seat took a call"
        on_break = talking[0]
        break_asked = datetime.now(UTC)
        h.request_seat(db_url, on_break, "paused")
        assert h.wait_until(lambda: h.seat_state(db_url, on_break) == "paused", 120, daemon, 0.3)
        break_began = datetime.now(UTC)
        h.request_seat(db_url, on_break, "ready")
        run_until_done(db_url, daemon, timeout_s=240)
        metrics_text = check_metrics(daemon, e2e_promtool, "sales")
        usage = daemon.usage()
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log_tail()
    snap = h.snapshot(db_url)
    p4_calls = [a["connected_at"] for a in snap.attempts if a["seat_id"] == "p4"]
    assert all(t > back_at for t in p4_calls), "a paused seat was given a call"
    print(f"\n[predictive] seat p4 took {len(p4_calls)} calls after its pause ended")
    marks = [json.loads(line) for line in (tmp_path / "dialerd.log").read_text().splitlines()
             if "seat_leaving_after_call" in line]  # fmt: skip
    # The mark is set at the next seat sync (every second) while the call or its wrap-up lasts,
    # and ends when the seat pauses (no line for that): a sandbox talk of a few seconds can end
    # before the sync, and a mark lost for a moment is set again, so one line is usual, not sure.
    assert {(m["seat"], m["leaving"]) for m in marks} <= {(on_break, True)}, marks
    print(f"[predictive] seat {on_break} asked for a break mid-call: {len(marks)} mark line(s)")
    given = [a for a in snap.attempts if a["seat_id"] == on_break and a["connected_at"]]
    assert not [a for a in given if break_asked < a["connected_at"] < break_began], (
        f"seat {on_break} was given a call after it asked for a break"
    )
    outcomes = check_each_lead(snap, "sales")
    assert outcomes["human"] >= 0.8 * PREDICTIVE_MIX[B.HUMAN], outcomes
    check_no_overlap(snap)
    answers, abandons = check_abandon_cap(snap, "sales", 0.03)
    assert metric_value(metrics_text, "dialer_live_answers_total", 'campaign="sales"') == answers
    assert metric_value(metrics_text, "dialer_abandons_total", 'campaign="sales"') == abandons
    live, pickup = connect_latencies(snap)
    assert len(live) == sum(1 for a in snap.attempts if a["connected_at"] is not None)
    assert live and max(live) < 2.0, f"live answer → seat over 2 s: {sorted(live)[-5:]}"
    # Pick-up → seat also holds the AMD time (~2 s for the sandbox's "hello" + silence) and any
    # wait for a seat within the window; it is printed, the law's 2 s is the check above.
    assert all(p > 0 for p in pickup)
    check_report_matches(db_url, snap, "sales")
    check_stopped_cleanly(snap, "sales")
    print_figures("predictive", started, usage, snap)


def test_daemon_killed_mid_campaign_and_restarted(
    tmp_path: Path, e2e_credentials: AmiCredentials
) -> None:
    """SIGKILL with calls in flight, then a new dialerd: no lead dialled twice, none lost."""
    started = time.monotonic()
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    config = tmp_path / "campaigns.yaml"
    config.write_text(
        h.config_yaml(
            e2e_credentials, {"sales": {"mode": "predictive", "seats": ["k1", "k2", "k3", "k4"]}}
        )
    )
    mix = h.lead_mix(
        {B.HUMAN: 10, B.MACHINE: 8, B.BUSY: 12, B.NO_ANSWER: 3, B.CONGESTION: 6, B.INVALID: 6,
         B.EARLY_HANGUP: 3, B.REJECTED: 4},
        dnc=2, closed=2, bad=1, seed=2,
    )  # fmt: skip
    h.prepare_database(db_url, config, {"sales": mix}, history=(600, 6))
    log_path = tmp_path / "dialerd.log"
    first = h.start_daemon(config, db_url, e2e_credentials, log_path, free_port())
    try:
        reached = h.wait_until(
            lambda: h.progress(db_url)[2] >= 15 and h.progress(db_url)[1] > 0, 120, first, 0.3
        )
        assert reached, first.log_tail()
    finally:
        in_flight_at_kill = h.progress(db_url)[1]
        first.kill()
    assert in_flight_at_kill > 0
    second = h.start_daemon(config, db_url, e2e_credentials, log_path, free_port())
    try:
        run_until_done(db_url, second, timeout_s=180)
        usage = second.usage()
    finally:
        code = second.stop()
    assert code == 0, second.log_tail()
    snap = h.snapshot(db_url)
    settled = [a for a in snap.attempts if a["cause_text"] == CRASH_CAUSE_TEXT]
    assert settled, "no attempt was left in flight by the killed daemon"
    check_each_lead(snap, "sales", settled_ok=True)
    check_no_overlap(snap)
    check_abandon_cap(snap, "sales", 0.03)
    check_stopped_cleanly(snap, "sales")
    print(f"\n[kill] {in_flight_at_kill} calls in flight at SIGKILL, {len(settled)} settled "
          "at restart")  # fmt: skip
    print_figures("kill+restart", started, usage, snap)


def test_progressive_campaign_on_postgres_through_outages(
    tmp_path: Path, e2e_sandbox: Sandbox, postgres_url: str, postgres_db_url: str
) -> None:
    """Progressive on PostgreSQL: never more calls than seats, no abandon. Mid-campaign Asterisk
    is killed, later the database goes away: each time dialling pauses (/readyz 503) and resumes
    by itself, and no result is lost."""
    started = time.monotonic()
    sandbox = Sandbox(e2e_sandbox.root, ami_port=free_port(), hold_s=20)
    creds = sandbox.start()
    try:
        _progressive_through_outages(
            tmp_path, sandbox, creds, postgres_url, postgres_db_url, started
        )
    finally:
        sandbox.stop()


def _progressive_through_outages(
    tmp_path: Path,
    sandbox: Sandbox,
    creds: AmiCredentials,
    server_url: str,
    db_url: str,
    started: float,
) -> None:
    config = tmp_path / "campaigns.yaml"
    config.write_text(
        h.config_yaml(creds, {"renewals": {"mode": "progressive", "seats": ["g1", "g2"]}})
    )
    mix = h.lead_mix(
        {B.HUMAN: 6, B.MACHINE: 4, B.BUSY: 6, B.CONGESTION: 3, B.INVALID: 3, B.REJECTED: 3},
        dnc=1, closed=1, bad=1, seed=3,
    )  # fmt: skip
    h.prepare_database(db_url, config, {"renewals": mix})
    daemon = h.start_daemon(config, db_url, creds, tmp_path / "dialerd.log", free_port())
    try:
        assert h.wait_until(lambda: h.progress(db_url)[2] >= 6, 90, daemon, 0.5), daemon.log_tail()
        sandbox.kill()
        assert h.wait_until(
            lambda: fetch_sync(f"{daemon.base}/readyz").status == 503
            and _actual_state(db_url, "renewals") == "blocked",
            15, daemon, 0.3,
        ), daemon.log_tail()  # fmt: skip
        time.sleep(1.0)  # calls lost with Asterisk are settled as the link drops
        placed = len(h.snapshot(db_url).attempts)
        time.sleep(3.0)
        assert len(h.snapshot(db_url).attempts) == placed, "dialled while Asterisk was down"
        sandbox.start()
        assert h.wait_until(
            lambda: fetch_sync(f"{daemon.base}/readyz").status == 200, 30, daemon, 0.3
        ), daemon.log_tail()
        assert h.wait_until(lambda: h.progress(db_url)[2] >= placed + 4, 60, daemon, 0.5)
        with database_offline(server_url, db_url):
            assert h.wait_until(
                lambda: fetch_sync(f"{daemon.base}/readyz").status == 503, 15, daemon, 0.3
            ), daemon.log_tail()
            dials = _dials(daemon, "renewals")
            time.sleep(h.LEASE_TTL_S + 2)  # long enough for the campaign lease to expire
            assert _dials(daemon, "renewals") == dials, "dialled while the database was away"
        assert h.wait_until(
            lambda: fetch_sync(f"{daemon.base}/readyz").status == 200, 30, daemon, 0.3
        ), daemon.log_tail()
        run_until_done(db_url, daemon, timeout_s=150)
        usage = daemon.usage()
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log_tail()
    assert '"lease_retaken"' in daemon.log_path.read_text(), "the expired lease was not retaken"
    snap = h.snapshot(db_url)
    outcomes = check_each_lead(snap, "renewals", lost_ok=True)
    assert outcomes["abandoned"] == 0
    assert outcomes["human"] >= 4, outcomes
    check_no_overlap(snap)
    assert max_concurrent(snap.attempts) <= 2
    check_report_matches(db_url, snap, "renewals")
    check_stopped_cleanly(snap, "renewals")
    print_figures("progressive/postgres/outages", started, usage, snap)


def _dials(daemon: h.Daemon, campaign: str) -> float:
    text = fetch_sync(f"{daemon.base}/metrics").body.decode()
    return metric_value(text, "dialer_dials_total", f'campaign="{campaign}"')


@contextmanager
def database_offline(server_url: str, db_url: str) -> Iterator[None]:
    """The database refuses every connection (existing ones are cut) inside the block."""
    name = make_url(db_url).database
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def _actual_state(db_url: str, campaign: str) -> str:
    return next(c["actual_state"] for c in h.snapshot(db_url).campaigns if c["name"] == campaign)


def max_concurrent(rows: list[dict[str, Any]]) -> int:
    """The most attempts in flight at one moment (placed_at..ended_at)."""
    edges = sorted(
        [(a["placed_at"], 1) for a in rows] + [(a["ended_at"], -1) for a in rows],
        key=lambda e: (e[0], e[1]),
    )
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak


def test_sigterm_drains_calls_in_flight(
    tmp_path: Path, e2e_sandbox: Sandbox, e2e_credentials: AmiCredentials
) -> None:
    """SIGTERM with calls ringing: no new dials, the calls are hung up at the drain timeout and
    every one is recorded; seats logged out, lease released, nothing left on Asterisk."""
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    config = tmp_path / "campaigns.yaml"
    config.write_text(
        h.config_yaml(e2e_credentials, {"sales": {"mode": "predictive", "seats": ["d1", "d2"]}})
    )
    mix = h.lead_mix({B.NO_ANSWER: 12, B.HUMAN: 4}, seed=4)
    h.prepare_database(db_url, config, {"sales": mix}, history=(600, 6))
    daemon = h.start_daemon(
        config, db_url, e2e_credentials, tmp_path / "dialerd.log", free_port(), drain_timeout_s=8
    )
    try:
        assert h.wait_until(lambda: h.progress(db_url)[1] >= 3, 60, daemon, 0.3), daemon.log_tail()
        stop_at = datetime.now(UTC)
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log_tail()
    snap = h.snapshot(db_url)
    assert snap.attempts and all(a["state"] == "ended" for a in snap.attempts)
    assert all(a["placed_at"] <= stop_at for a in snap.attempts), "dialled after SIGTERM"
    assert not [lead for lead in snap.leads if lead["status"] == "dialling"]
    check_no_overlap(snap)
    check_stopped_cleanly(snap, "sales")
    assert h.wait_until(
        lambda: "0 active channels" in e2e_sandbox.cli("core show channels count"), 10
    ), e2e_sandbox.cli("core show channels")
