"""The compliance audit: every attempt of a period replayed against the rules, from the records.

The product's promise is that the records prove the rules were kept ("records kept of every
attempt, enough to prove all of the above"). This reads them back — the attempts, the leads'
time zones, the DNC lists with the time each entry was added, the abandon ledger and the
campaign's configuration as applied — and hands them to the pure audit
(:func:`dialer.engine.compliance.audit_attempts`): calling hours in the called party's local
time, DNC at the moment of the call, attempt caps and gaps, the 72-hour rule, the legal minimum
ring, and the abandon cap over the rolling window at every abandon (first minutes included),
with every abandoned attempt in the ledger.

What it cannot see: a DNC entry deleted since the call (``dialerctl dnc remove`` deletes the
row), and the campaign's configuration before its last ``campaign apply`` (calling hours and caps
are judged with the one applied now).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import IO, Any, TypeVar

from rich.table import Table
from sqlalchemy import Connection, or_, select

from dialer.config.models import CampaignConfig
from dialer.engine.compliance import (
    AttemptLogEntry,
    LedgerRecord,
    Rule,
    Violation,
    audit_attempts,
    max_rolling_rate,
)
from dialer.engine.leads import DncEntry, DncSet
from dialer.reports.load import StoredConfigError, campaign_config
from dialer.reports.records import Period
from dialer.reports.render import format_rate
from dialer.states import AttemptOutcome, LedgerKind
from dialer.store.errors import NotFound
from dialer.store.leads import was_placed
from dialer.store.schema import abandon_ledger, attempts, campaigns, dnc_entries, leads

_CHUNK = 900  # bound parameters per IN (SQLite's limit is 999 on old builds)
T = TypeVar("T")


#: The records cannot be audited as they stand: a campaign's stored configuration no longer
#: validates (the message names the campaign and the problem).
AuditInputError = StoredConfigError


@dataclass(frozen=True, slots=True)
class ComplianceAudit:
    """One campaign's audit over a period."""

    campaign: str
    period: Period
    cap: float
    window_s: float
    attempts: int
    """Calls placed in the period (cancelled attempts, never sent, are not calls)."""
    in_flight: int
    """Of those, still in flight: judged on when they were placed, not yet on how they ended."""
    live_answers: int
    """Ledger live answers in the period."""
    abandons: int
    worst_rate: float
    """The highest abandon rate the rolling window showed at any ledger moment in the period."""
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def by_rule(self) -> dict[str, int]:
        """Violations counted per rule (rules with none left out)."""
        return dict(Counter(str(v.rule) for v in self.violations))


def audit_campaigns(
    conn: Connection,
    period: Period,
    campaign: str | None = None,
    *,
    errors: list[AuditInputError] | None = None,
) -> list[ComplianceAudit]:
    """Audit every campaign (or the one named) over ``period``. ``NotFound`` for an unknown
    campaign. A campaign whose stored configuration no longer validates raises
    :class:`AuditInputError`, or, given ``errors``, is added there and the others are audited."""
    query = select(campaigns.c.name, campaigns.c.config_json).order_by(campaigns.c.name)
    if campaign is not None:
        query = query.where(campaigns.c.name == campaign)
    rows = list(conn.execute(query))
    if campaign is not None and not rows:
        raise NotFound(f"no campaign named {campaign!r}")
    audits = []
    for row in rows:
        try:
            config = campaign_config(row.name, row.config_json)
        except AuditInputError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        audits.append(audit_campaign(conn, config, period))
    return audits


def audit_campaign(conn: Connection, config: CampaignConfig, period: Period) -> ComplianceAudit:
    """One campaign's audit (see the module docstring)."""
    name = config.name
    audited = _attempts(
        conn,
        attempts.c.campaign == name,
        attempts.c.placed_at >= period.start,
        attempts.c.placed_at < period.end,
    )
    lead_ids = sorted({a.lead_id for a in audited if a.lead_id > 0})
    prior: list[AttemptLogEntry] = []
    for chunk in _chunks(lead_ids):
        prior += _attempts(
            conn,
            attempts.c.campaign == name,
            attempts.c.lead_id.in_(chunk),
            attempts.c.placed_at < period.start,
        )
    zones = _time_zones(conn, {a.lead_id for a in (*audited, *prior)})
    audited = [_with_zones(a, zones) for a in audited]
    prior = [_with_zones(a, zones) for a in prior]
    window = timedelta(seconds=config.abandon.window_s)
    ledger = _ledger(conn, name, period.start - window, period.end)
    abandoned = [a.attempt_id for a in audited if a.outcome == AttemptOutcome.ABANDONED]
    violations = audit_attempts(
        audited,
        config,
        _dnc(conn, name, {a.phone_e164 for a in audited}),
        prior_attempts=prior,
        ledger=ledger,
        ledger_from=period.start,
        ledgered_abandons=_ledgered_abandons(conn, name, abandoned),
    )
    in_period = [r for r in ledger if r.at >= period.start]
    return ComplianceAudit(
        campaign=name,
        period=period,
        cap=config.abandon.cap,
        window_s=config.abandon.window_s,
        attempts=len(audited),
        in_flight=sum(1 for a in audited if a.outcome is None),
        live_answers=sum(1 for r in in_period if r.kind == LedgerKind.LIVE_ANSWER),
        abandons=sum(1 for r in in_period if r.kind == LedgerKind.ABANDON),
        worst_rate=max_rolling_rate(ledger, config.abandon.window_s, since=period.start),
        violations=tuple(violations),
    )


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    """``values`` in slices small enough for one IN (...)."""
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _attempts(conn: Connection, *where: object) -> list[AttemptLogEntry]:
    """Placed calls (not ``cancelled``) matching ``where``, without their leads' zones yet."""
    t = attempts.c
    query = (
        select(
            t.id,
            t.lead_id,
            t.phone_e164,
            t.placed_at,
            t.state,
            t.outcome,
            t.answered_at,
            t.ended_at,
            t.ring_s,
            t.ringing_at,
        )
        .where(*where)  # type: ignore[arg-type]
        .where(was_placed())
        .order_by(t.placed_at, t.id)
    )
    return [
        AttemptLogEntry(
            attempt_id=str(row.id),
            # (a call with no lead row is judged per number: one key per number, never a lead's)
            lead_id=int(row.lead_id) if row.lead_id is not None else _number_key(row.phone_e164),
            phone_e164=str(row.phone_e164),
            placed_at=row.placed_at,
            outcome=None if row.state != "ended" or row.outcome is None else str(row.outcome),
            answered_at=row.answered_at,
            ended_at=row.ended_at,
            ring_s=None if row.ring_s is None else float(row.ring_s),
            ringing_at=row.ringing_at,
        )
        for row in conn.execute(query)
    ]


def _number_key(phone: str) -> int:
    """A negative key standing for a number (lead ids are positive)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return -int(digits or 0) - 1


def _time_zones(conn: Connection, lead_ids: set[int]) -> dict[int, tuple[str, ...]]:
    """Each lead's own zone field (the audit falls back to the number's zones without one)."""
    found: dict[int, tuple[str, ...]] = {}
    for chunk in _chunks(sorted(lead_ids)):
        for row in conn.execute(select(leads.c.id, leads.c.time_zone).where(leads.c.id.in_(chunk))):
            text = row.time_zone or ""
            found[int(row.id)] = tuple(z.strip() for z in text.split(",") if z.strip())
    return found


def _with_zones(attempt: AttemptLogEntry, zones: dict[int, tuple[str, ...]]) -> AttemptLogEntry:
    return replace(attempt, time_zones=zones.get(attempt.lead_id, ()))


def _dnc(conn: Connection, campaign: str, numbers: set[str]) -> DncSet:
    """The global list's and the campaign's entries for ``numbers``, with when each was added."""
    t = dnc_entries.c
    entries: list[DncEntry] = []
    wanted = sorted(numbers)
    for chunk in _chunks(wanted):
        query = select(t.phone_e164, t.campaign, t.added_at).where(
            t.phone_e164.in_(chunk),
            or_(t.campaign.is_(None), t.campaign == campaign),
        )
        entries += [DncEntry(r.phone_e164, r.campaign, r.added_at) for r in conn.execute(query)]
    return DncSet(entries)


def _ledgered_abandons(conn: Connection, campaign: str, attempt_ids: list[str]) -> set[str]:
    """Which of ``attempt_ids`` the ledger has an abandon for, whenever it was recorded."""
    t = abandon_ledger.c
    found: set[str] = set()
    for chunk in _chunks(attempt_ids):
        query = select(t.attempt_id).where(
            t.campaign == campaign,
            t.kind == LedgerKind.ABANDON.value,
            t.attempt_id.in_(chunk),
        )
        found.update(str(row.attempt_id) for row in conn.execute(query))
    return found


def _ledger(conn: Connection, campaign: str, start: object, end: object) -> list[LedgerRecord]:
    t = abandon_ledger.c
    query = (
        select(t.at, t.kind, t.attempt_id)
        .where(t.campaign == campaign, t.at > start, t.at < end)
        .order_by(t.at, t.id)
    )
    return [LedgerRecord(r.at, LedgerKind(r.kind), r.attempt_id) for r in conn.execute(query)]


# ----------------------------------------------------------------------------- output

_RULE_ORDER = tuple(str(r) for r in Rule)
VIOLATIONS_SHOWN = 50
"""Violations a table lists (CSV and JSON have them all)."""


def audit_table(audits: Sequence[ComplianceAudit], period: Period) -> Table:
    """One row per campaign: calls, ledger figures, the worst moment, violations per rule."""
    table = Table(title=f"Compliance audit, {period.label()}")
    for header in (
        "Campaign",
        "Calls",
        "In flight",
        "Live answers",
        "Abandons",
        "Worst rate",
        "Cap",
        "Violations",
    ):
        table.add_column(header, justify="left" if header == "Campaign" else "right")
    for a in audits:
        counts = a.by_rule()
        found = ", ".join(f"{rule} {counts[rule]}" for rule in _RULE_ORDER if rule in counts)
        table.add_row(
            a.campaign,
            str(a.attempts),
            str(a.in_flight),
            str(a.live_answers),
            str(a.abandons),
            format_rate(a.worst_rate, 2),
            format_rate(a.cap, 2),
            found or "none",
        )
    return table


def violation_lines(audits: Sequence[ComplianceAudit], limit: int = VIOLATIONS_SHOWN) -> list[str]:
    """The violations as lines of text, oldest first, at most ``limit`` (and how many more)."""
    found = sorted(
        ((a.campaign, v) for a in audits for v in a.violations),
        key=lambda cv: (cv[1].at, cv[1].attempt_id),
    )
    lines = [f"{campaign}: {v}" for campaign, v in found[:limit]]
    if len(found) > limit:
        lines.append(f"... and {len(found) - limit} more (--csv or --json lists them all)")
    return lines


_CSV_FIELDS = ("campaign", "rule", "at", "attempt_id", "lead_id", "detail")


def write_violations_csv(audits: Sequence[ComplianceAudit], handle: IO[str]) -> None:
    """Every violation, one row each (a header only when there is none)."""
    writer = csv.writer(handle)
    writer.writerow(_CSV_FIELDS)
    for a in audits:
        for v in a.violations:
            writer.writerow(
                [a.campaign, str(v.rule), v.at.isoformat(), v.attempt_id, v.lead_id, v.detail]
            )


def audit_json(audits: Sequence[ComplianceAudit], period: Period) -> dict[str, Any]:
    """The audits as JSON-ready data."""
    return {
        "period": {"start": period.start, "end": period.end},
        "ok": all(a.ok for a in audits),
        "campaigns": [
            {
                "campaign": a.campaign,
                "calls": a.attempts,
                "in_flight": a.in_flight,
                "live_answers": a.live_answers,
                "abandons": a.abandons,
                "worst_rate": a.worst_rate,
                "cap": a.cap,
                "window_s": a.window_s,
                "violations_by_rule": a.by_rule(),
                "violations": [
                    {
                        "rule": str(v.rule),
                        "at": v.at,
                        "attempt_id": v.attempt_id,
                        "lead_id": v.lead_id,
                        "detail": v.detail,
                    }
                    for v in a.violations
                ],
            }
            for a in audits
        ],
    }


__all__ = [
    "AuditInputError",
    "ComplianceAudit",
    "audit_campaign",
    "audit_campaigns",
    "audit_json",
    "audit_table",
    "violation_lines",
    "write_violations_csv",
]
