"""The trial report: what a campaign's trial sample says about its list, per stratum and in total,
and what it projects for the whole list.

Built from the trial's sampled leads and each one's trial attempt (``trial_samples.attempt_id``;
retries after it are not part of the trial). A dial is a trial attempt that ended and was placed
(not ``cancelled``). Classification is the campaign report's (:mod:`dialer.reports.records`):

* live answer (hit) — answered by a person (human, abandoned, customer hang-up), not a machine;
  hit rate = live answers / dials, with a 95 % Wilson score interval;
* machine rate = machines / dials; busy and no-answer counts; abandon rate = abandons / live
  answers; contacts = calls a seat took; mean talk time over contacts;
* contacts per seat-hour = contacts / seat time logged in to the campaign during the trial;
* projection: population (dialable leads when the sample was drawn) x contacts per dial (with the
  interval's bounds), and the seat-hours those contacts need at the trial's contacts per seat-hour.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, TextIO

from rich import box
from rich.table import Table

from dialer.reports.records import AttemptRecord

Z_95 = 1.959963984540054


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a binomial proportion (None without trials)."""
    if trials <= 0:
        return None
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    # (the interval always holds p; rounding once put the lower end 1e-18 above 0 / 417)
    return min(max(0.0, centre - half), p), max(min(1.0, centre + half), p)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class StratumFigures:
    stratum: str
    sampled: int
    dials: int
    live_answers: int
    hit_rate: float | None
    hit_rate_low: float | None
    hit_rate_high: float | None
    machines: int
    machine_rate: float | None
    busy: int
    no_answer: int
    abandoned: int
    abandon_rate: float | None
    contacts: int
    mean_talk_s: float | None


@dataclass(frozen=True, slots=True)
class TrialReport:
    campaign: str
    trial_id: int
    state: str
    seed: int
    sample_fraction: float
    stratify_by: list[str]
    population: int
    sample_size: int
    started_at: datetime
    finished_at: datetime | None
    seat_hours: float
    strata: list[StratumFigures]
    total: StratumFigures
    contacts_per_seat_hour: float | None
    projected_contacts: float | None
    projected_contacts_low: float | None
    projected_contacts_high: float | None
    projected_seat_hours: float | None


def _figures(stratum: str, sampled: int, records: Sequence[AttemptRecord]) -> StratumFigures:
    dials = [r for r in records if r.dialled]
    n = len(dials)
    live = sum(1 for r in dials if r.live_answer)
    interval = wilson(live, n)
    machines = sum(1 for r in dials if r.machine)
    abandoned = sum(1 for r in dials if r.abandoned)
    talks = [r.talk_s for r in dials if r.connected and r.talk_s is not None]
    return StratumFigures(
        stratum=stratum,
        sampled=sampled,
        dials=n,
        live_answers=live,
        hit_rate=_ratio(live, n),
        hit_rate_low=interval[0] if interval else None,
        hit_rate_high=interval[1] if interval else None,
        machines=machines,
        machine_rate=_ratio(machines, n),
        busy=sum(1 for r in dials if r.outcome == "busy"),
        no_answer=sum(1 for r in dials if r.outcome == "no_answer"),
        abandoned=abandoned,
        abandon_rate=_ratio(abandoned, live),
        contacts=sum(1 for r in dials if r.connected),
        mean_talk_s=sum(talks) / len(talks) if talks else None,
    )


def build_trial_report(
    trial: Mapping[Any, Any], samples: Sequence[Mapping[Any, Any]]
) -> TrialReport:
    """The report of one ``campaign_trials`` row from its sample rows (see
    :func:`dialer.store.trials.trial_sample_rows`)."""
    sampled: dict[str, int] = {}
    records: dict[str, list[AttemptRecord]] = {}
    for row in samples:
        stratum = str(row["stratum"])
        sampled[stratum] = sampled.get(stratum, 0) + 1
        records.setdefault(stratum, [])
        if row["attempt_id"] is not None and row["state"] == "ended":
            records[stratum].append(AttemptRecord.from_row({**row, "id": row["attempt_id"]}))
    strata = [_figures(k, sampled[k], records[k]) for k in sorted(sampled)]
    everything = [r for k in sorted(records) for r in records[k]]
    total = _figures("total", sum(sampled.values()), everything)
    seat_hours = float(trial["seat_seconds"] or 0.0) / 3600.0
    per_seat_hour = _ratio(total.contacts, seat_hours)
    population = int(trial["population"])
    contact_interval = wilson(total.contacts, total.dials)
    projected = population * total.contacts / total.dials if total.dials else None
    return TrialReport(
        campaign=str(trial["campaign"]),
        trial_id=int(trial["id"]),
        state=str(trial["state"]),
        seed=int(trial["seed"]),
        sample_fraction=float(trial["sample_fraction"]),
        stratify_by=list(trial["stratify_by"] or []),
        population=population,
        sample_size=int(trial["sample_size"]),
        started_at=trial["started_at"],
        finished_at=trial["finished_at"],
        seat_hours=seat_hours,
        strata=strata,
        total=total,
        contacts_per_seat_hour=per_seat_hour,
        projected_contacts=projected,
        projected_contacts_low=population * contact_interval[0] if contact_interval else None,
        projected_contacts_high=population * contact_interval[1] if contact_interval else None,
        projected_seat_hours=(
            projected / per_seat_hour if projected is not None and per_seat_hour else None
        ),
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def trial_table(report: TrialReport) -> Table:
    """The per-stratum figures as a rich table, the total last."""
    title = (
        f"Trial {report.trial_id} of {report.campaign} ({report.state}): "
        f"{report.sample_size} of {report.population} leads, seed {report.seed}"
    )
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    for column in ("stratum", "sampled", "dials", "hits", "hit rate (95% CI)", "machine",
                   "busy", "no answer", "abandon", "contacts", "mean talk s"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for f in [*report.strata, report.total]:
        table.add_row(
            f.stratum,
            str(f.sampled),
            str(f.dials),
            str(f.live_answers),
            f"{_pct(f.hit_rate)} ({_pct(f.hit_rate_low)}-{_pct(f.hit_rate_high)})",
            _pct(f.machine_rate),
            str(f.busy),
            str(f.no_answer),
            _pct(f.abandon_rate),
            str(f.contacts),
            _num(f.mean_talk_s),
        )
    table.caption = (
        f"seat-hours {report.seat_hours:.2f}, contacts per seat-hour "
        f"{_num(report.contacts_per_seat_hour, 2)}; whole list: "
        f"{_num(report.projected_contacts)} contacts expected "
        f"({_num(report.projected_contacts_low)}-{_num(report.projected_contacts_high)}), "
        f"{_num(report.projected_seat_hours, 2)} seat-hours needed"
    )
    table.caption_justify = "left"
    return table


def trial_json(report: TrialReport) -> dict[str, Any]:
    return asdict(report)


def write_trial_csv(report: TrialReport, handle: TextIO) -> None:
    """One row per stratum and a ``total`` row; the projection in the total row's extra columns."""
    names = [f.name for f in fields(StratumFigures)]
    extra = [
        "seat_hours",
        "contacts_per_seat_hour",
        "projected_contacts",
        "projected_contacts_low",
        "projected_contacts_high",
        "projected_seat_hours",
    ]
    writer = csv.writer(handle)
    writer.writerow(["campaign", "trial_id", *names, *extra])
    for f in report.strata:
        writer.writerow([report.campaign, report.trial_id, *asdict(f).values(), *[""] * len(extra)])
    projection = [getattr(report, k) for k in extra]
    writer.writerow(
        [report.campaign, report.trial_id, *asdict(report.total).values(),
         *("" if v is None else v for v in projection)]
    )  # fmt: skip
