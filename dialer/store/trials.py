"""Trial mode's storage: a campaign's trial (``campaign_trials``) and sample (``trial_samples``).

A campaign's newest ``campaign_trials`` row is its current trial. The daemon draws a trial when a
campaign with ``trial.enabled`` runs and has none (or only a ``cancelled`` one): the dialable
leads at that moment are the population, :func:`dialer.engine.trial.stratified_sample` picks the
sample with a recorded seed, and the sampled leads are stored with their stratum. While the trial
is ``running`` the daemon claims only sampled leads not yet dialled for it, and links each lead's
trial attempt (``trial_samples.attempt_id``); the trial is settled when every sampled lead's trial
attempt has ended or the lead can no longer be dialled (final status, DNC).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from dialer.engine.trial import SampledLead, stratified_sample, stratum_of
from dialer.states import DIALABLE_LEAD_STATUSES, AttemptState, TrialState
from dialer.store.errors import NotFound
from dialer.store.schema import (
    attempts,
    campaign_trials,
    campaigns,
    dnc_entries,
    leads,
    trial_samples,
)

_DIALABLE = [s.value for s in DIALABLE_LEAD_STATUSES]


def current_trial(conn: Connection, campaign: str) -> RowMapping | None:
    """The campaign's newest trial row, or None if it never had one."""
    t = campaign_trials.c
    return (
        conn.execute(
            select(campaign_trials).where(t.campaign == campaign).order_by(t.id.desc()).limit(1)
        )
        .mappings()
        .first()
    )


def _not_on_dnc(campaign: str) -> Any:
    t = leads.c
    return ~exists().where(
        dnc_entries.c.phone_e164 == t.phone_e164,
        or_(dnc_entries.c.campaign.is_(None), dnc_entries.c.campaign == campaign),
    )


def dialable_population(
    conn: Connection, campaign: str, fields: Sequence[str]
) -> list[tuple[int, str]]:
    """``(lead_id, stratum)`` of the campaign's leads that may be dialled (checked, dialable
    status, not on a DNC list). Fields that are not lead columns are read from custom_fields."""
    t = leads.c
    columns = [c for c in fields if c in leads.c and c != "custom_fields"]
    stmt = select(t.id, t.custom_fields, *(t[c] for c in columns)).where(
        t.campaign == campaign,
        t.status.in_(_DIALABLE),
        t.validated_at.is_not(None),
        t.phone_e164.is_not(None),
        _not_on_dnc(campaign),
    )
    population: list[tuple[int, str]] = []
    for row in conn.execute(stmt).mappings():
        custom = row["custom_fields"] if isinstance(row["custom_fields"], dict) else {}
        values = {f: row[f] if f in columns else custom.get(f) for f in fields}
        population.append((int(row["id"]), stratum_of(values, fields)))
    return population


def draw_trial(
    conn: Connection,
    campaign: str,
    fraction: float,
    stratify_by: Sequence[str],
    seed: int,
    now: datetime,
) -> tuple[int, list[SampledLead], int]:
    """Draw and store a new running trial; returns (trial id, sample, population size)."""
    population = dialable_population(conn, campaign, stratify_by)
    sample = stratified_sample(population, fraction, seed)
    trial_id = int(
        conn.execute(
            insert(campaign_trials)
            .values(
                campaign=campaign,
                state=TrialState.RUNNING.value,
                seed=seed,
                sample_fraction=fraction,
                stratify_by=list(stratify_by),
                population=len(population),
                sample_size=len(sample),
                started_at=now,
                seat_seconds=0.0,
            )
            .returning(campaign_trials.c.id)
        ).scalar_one()
    )
    if sample:
        conn.execute(
            insert(trial_samples),
            [{"trial_id": trial_id, "lead_id": s.lead_id, "stratum": s.stratum} for s in sample],
        )
    return trial_id, sample, len(population)


def link_trial_attempt(conn: Connection, trial_id: int, lead_id: int, attempt_id: str) -> None:
    """Record ``attempt_id`` as the lead's trial attempt (only its first one counts)."""
    ts = trial_samples.c
    conn.execute(
        update(trial_samples)
        .where(ts.trial_id == trial_id, ts.lead_id == lead_id, ts.attempt_id.is_(None))
        .values(attempt_id=attempt_id)
    )


def trial_progress(conn: Connection, trial_id: int, campaign: str) -> tuple[int, int]:
    """(sampled leads, settled ones): settled = trial attempt ended, or the lead can no longer
    be dialled (final status or on a DNC list) without one."""
    ts, a, lt = trial_samples.c, attempts.c, leads.c
    ended = exists().where(a.id == ts.attempt_id, a.state == AttemptState.ENDED.value)
    undialable = and_(
        ts.attempt_id.is_(None),
        or_(
            lt.status.notin_([*_DIALABLE, "dialling"]),
            ~_not_on_dnc(campaign),
        ),
    )
    settled = func.sum(case((or_(ended, undialable), 1), else_=0))
    row = conn.execute(
        select(func.count(), settled)
        .select_from(trial_samples.join(leads, lt.id == ts.lead_id))
        .where(ts.trial_id == trial_id)
    ).first()
    assert row is not None
    return int(row[0] or 0), int(row[1] or 0)


def add_seat_seconds(conn: Connection, trial_id: int, seconds: float) -> None:
    """Add logged-in seat time to a running trial."""
    t = campaign_trials.c
    conn.execute(
        update(campaign_trials)
        .where(t.id == trial_id, t.state == TrialState.RUNNING.value)
        .values(seat_seconds=t.seat_seconds + seconds)
    )


def finish_trial(
    conn: Connection, trial_id: int, state: TrialState, now: datetime, reason: str | None = None
) -> bool:
    """A running trial ends as ``state`` (complete, skipped, cancelled); False if not running."""
    t = campaign_trials.c
    done = conn.execute(
        update(campaign_trials)
        .where(t.id == trial_id, t.state == TrialState.RUNNING.value)
        .values(state=state.value, finished_at=now, reason=reason)
    )
    return done.rowcount == 1


def _require_campaign(conn: Connection, campaign: str) -> None:
    if conn.execute(select(campaigns.c.name).where(campaigns.c.name == campaign)).first() is None:
        raise NotFound(f"no campaign named {campaign!r}")


def reset_trial(conn: Connection, campaign: str, now: datetime) -> RowMapping | None:
    """Operator: run the trial again. The current trial (running or finished) becomes
    ``cancelled`` and the daemon draws a new sample when the campaign next runs. Returns the
    trial that was cancelled, None if there was nothing to reset."""
    _require_campaign(conn, campaign)
    current = current_trial(conn, campaign)
    if current is None or current["state"] == TrialState.CANCELLED.value:
        return None
    t = campaign_trials.c
    conn.execute(
        update(campaign_trials)
        .where(t.id == current["id"])
        .values(
            state=TrialState.CANCELLED.value,
            finished_at=current["finished_at"] or now,
            reason="reset by an operator",
        )
    )
    return current


def skip_trial(conn: Connection, campaign: str, now: datetime) -> str:
    """Operator: dial the whole list without (more) trial. A running trial ends ``skipped``;
    without a trial a ``skipped`` row is recorded so none is drawn. Returns what was done."""
    _require_campaign(conn, campaign)
    current = current_trial(conn, campaign)
    if current is not None and current["state"] in (
        TrialState.COMPLETE.value,
        TrialState.SKIPPED.value,
    ):
        return f"trial already {current['state']}: nothing to skip"
    if current is not None and current["state"] == TrialState.RUNNING.value:
        finish_trial(conn, current["id"], TrialState.SKIPPED, now, "skipped by an operator")
        return f"trial {current['id']} skipped"
    conn.execute(
        insert(campaign_trials).values(
            campaign=campaign,
            state=TrialState.SKIPPED.value,
            seed=0,
            sample_fraction=0.0,
            stratify_by=[],
            population=0,
            sample_size=0,
            started_at=now,
            finished_at=now,
            seat_seconds=0.0,
            reason="skipped by an operator",
        )
    )
    return "trial skipped: the whole list will be dialled"


def trial_sample_rows(conn: Connection, trial_id: int) -> list[RowMapping]:
    """Each sampled lead with its stratum and its trial attempt's columns (NULL if none yet)."""
    ts, a = trial_samples.c, attempts.c
    stmt = (
        select(
            ts.lead_id,
            ts.stratum,
            ts.attempt_id,
            a.campaign,
            a.placed_at,
            a.outcome,
            a.state,
            a.seat_id,
            a.answered_at,
            a.amd_result,
            a.connected_at,
            a.ended_at,
            a.ring_s,
            a.wait_s,
            a.talk_s,
            a.hold_s,
            a.wrapup_s,
            a.transferred,
        )
        .select_from(trial_samples.outerjoin(attempts, a.id == ts.attempt_id))
        .where(ts.trial_id == trial_id)
        .order_by(ts.stratum, ts.lead_id)
    )
    return list(conn.execute(stmt).mappings())
