"""dialerctl report: campaign and seat reports for a period, as tables, CSV or JSON.

    dialerctl report campaigns --from 2026-11-01 --to 2026-12-01 [--campaign demo] [--csv FILE]
    dialerctl report seats     --from 2026-11-25                  [--campaign demo] [--json]
    dialerctl report compliance --from 2026-11-01 --to 2026-12-01  [--campaign demo] [--csv FILE]
    dialerctl report scenario --campaign demo --from 2026-11-25 --out replay/demo.yaml [--every 1h]

Periods are UTC and half-open: ``--from`` inclusive, ``--to`` exclusive. A bare date means its
00:00 UTC; without ``--to`` the period is one day from ``--from``; without ``--from`` it is today.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from dialer.cli.common import DbOption, JsonOption, database, emit_json, err, fail, out, utcnow
from dialer.config.values import parse_duration
from dialer.reports import (
    Period,
    build_campaign_report,
    build_seat_report,
    campaign_table,
    seat_table,
    write_campaign_csv,
    write_seat_csv,
)
from dialer.reports.compliance import (
    AuditInputError,
    audit_campaigns,
    audit_json,
    audit_table,
    violation_lines,
    write_violations_csv,
)
from dialer.reports.load import (
    StoredConfigError,
    load_attempts,
    load_campaign_config,
    load_seat_names,
)
from dialer.reports.replay import SAMPLE_KINDS, ReplayError, replay_scenario
from dialer.store.errors import NotFound

report_app = typer.Typer(
    help="Reports for a period: per campaign (calls, answers, abandons, dial ratio), per seat "
    "(calls handled, talk, hold, wrap-up, idle, utilization) and the compliance audit.",
    no_args_is_help=True,
)

FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Start, UTC: 2026-11-25 or 2026-11-25T09:00 (default: today).",
        show_default=False,
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to", help="End, UTC, exclusive (default: one day after --from).", show_default=False
    ),
]
CampaignOption = Annotated[
    str | None, typer.Option("--campaign", help="Only this campaign.", show_default=False)
]
CsvOption = Annotated[
    Path | None,
    typer.Option(
        "--csv",
        help="Write CSV to this file ('-' for stdout) instead of a table.",
        show_default=False,
    ),
]


def parse_moment(text: str, option: str) -> datetime:
    """An ISO date or date-time; naive values are UTC. Bad input exits 2 naming the option."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r}: expected a date or date-time like 2026-11-25 or 2026-11-25T09:00")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_period(start: str | None, end: str | None) -> Period:
    """The report's period from ``--from`` / ``--to`` (see the module docstring)."""
    if start is None:
        today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        first = today
    else:
        first = parse_moment(start, "--from")
    last = parse_moment(end, "--to") if end is not None else first + timedelta(days=1)
    try:
        return Period(first.astimezone(UTC), last.astimezone(UTC))
    except ValueError as exc:
        fail(f"--from/--to: {exc}")


def _write_csv(path: Path, writer: Any, report: Any) -> None:
    if str(path) == "-":
        writer(report, sys.stdout)
        return
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer(report, handle)
    except OSError as exc:
        fail(f"--csv {path}: {exc.strerror or exc}", 1)
    out.print(f"wrote {path}")


def _jsonable(figures: Any) -> dict[str, Any]:
    return asdict(figures)


@report_app.command("campaigns")
def campaigns_cmd(
    start: FromOption = None,
    end: ToOption = None,
    campaign: CampaignOption = None,
    csv_path: CsvOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per campaign: total calls, dialled, answered (human / machine), connected, abandoned and
    abandon rate, transfers, contacts per agent hour, dial ratio."""
    period = parse_period(start, end)
    with database(db) as engine, engine.connect() as conn:
        rows = load_attempts(conn, period, campaign)
    report = build_campaign_report(rows, period)
    if as_json:
        emit_json(
            {
                "period": {"start": period.start, "end": period.end},
                "campaigns": [_jsonable(c) for c in report.campaigns],
                "total": _jsonable(report.total),
            }
        )
    elif csv_path is not None:
        _write_csv(csv_path, write_campaign_csv, report)
    else:
        out.print(campaign_table(report))


@report_app.command("seats")
def seats_cmd(
    start: FromOption = None,
    end: ToOption = None,
    campaign: CampaignOption = None,
    csv_path: CsvOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per seat: calls handled, longest call, talk (total, average), average ring, idle between
    calls, hold (total, average), wrap-up, utilization."""
    period = parse_period(start, end)
    with database(db) as engine, engine.connect() as conn:
        rows = load_attempts(conn, period, campaign)
        names = load_seat_names(conn, campaign)
    report = build_seat_report(rows, period, seat_names=names)
    if as_json:
        emit_json(
            {
                "period": {"start": period.start, "end": period.end},
                "seats": [_jsonable(s) for s in report.seats],
            }
        )
    elif csv_path is not None:
        _write_csv(csv_path, write_seat_csv, report)
    else:
        out.print(seat_table(report))


@report_app.command("compliance")
def compliance_cmd(
    start: FromOption = None,
    end: ToOption = None,
    campaign: CampaignOption = None,
    csv_path: CsvOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Audit the period's calls against the rules, from the records: calling hours in the called
    party's local time, DNC at the time of the call, attempt caps and gaps, the 72-hour rule,
    the minimum ring, and the abandon cap over the rolling window at every abandon. Exits 1 when
    it finds a violation (--csv writes them, one per row)."""
    period = parse_period(start, end)
    errors: list[AuditInputError] = []
    with database(db) as engine, engine.connect() as conn:
        try:
            audits = audit_campaigns(conn, period, campaign, errors=errors)
        except NotFound as exc:
            fail(str(exc))
    for error in errors:  # (the other campaigns are audited all the same)
        err.print(f"[bold red]error:[/] {error}", markup=True, soft_wrap=True)
    if as_json:
        emit_json(audit_json(audits, period))
    elif csv_path is not None:
        _write_csv(csv_path, write_violations_csv, audits)
    else:
        out.print(audit_table(audits, period))
        for line in violation_lines(audits):
            out.print(line, highlight=False, markup=False)
    if errors or not all(a.ok for a in audits):
        raise typer.Exit(1)


@report_app.command("scenario")
def scenario_cmd(
    campaign: Annotated[str, typer.Option("--campaign", help="The campaign to replay.")],
    out_path: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Scenario file to write (YAML); its recorded talk, wrap-up and answer delays "
            "are written beside it (NAME-talk.txt, ...).",
        ),
    ],
    start: FromOption = None,
    end: ToOption = None,
    seats: Annotated[
        int | None,
        typer.Option("--seats", help="Team size (default: the seats seen taking calls).", min=1),
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            help="Cut the period into slices of this length (e.g. 1h): each becomes a regime "
            "change of the outcome shares and the team.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """A pacing-sim scenario from the campaign's records over the period: its dial outcomes,
    recorded durations (drawn with replacement), team, cap and ring settings. Then
    `pacing-sim run FILE --mode ...` replays the campaign's history under any policy."""
    period = parse_period(start, end)
    step = None
    if every is not None:
        try:
            step = timedelta(seconds=parse_duration(every))
        except ValueError as exc:
            fail(f"--every: {exc}")
        if step.total_seconds() <= 0:
            fail(f"--every must be above 0, got {every!r}")
    stem = out_path.stem
    files = {kind: f"{stem}-{kind.replace('_', '-')}.txt" for kind in SAMPLE_KINDS}
    with database(db) as engine, engine.connect() as conn:
        try:
            config = load_campaign_config(conn, campaign)
        except (NotFound, StoredConfigError) as exc:
            fail(str(exc))
        rows = load_attempts(conn, period, campaign)
    try:
        replay = replay_scenario(rows, config, period, files=files, seats=seats, every=step)
    except ReplayError as exc:
        fail(str(exc), 1)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        for kind, name in files.items():
            text = "".join(f"{x:g}\n" for x in replay.samples[kind])
            (out_path.parent / name).write_text(f"# {kind}, seconds\n{text}")
        header = f"# {campaign}, {period.label()}: replayed from {len(rows)} attempts\n"
        out_path.write_text(header + yaml.safe_dump(replay.scenario, sort_keys=False))
    except OSError as exc:
        fail(f"--out {out_path}: {exc.strerror or exc}", 1)
    out.print(f"wrote {out_path} (and {', '.join(files.values())} beside it)")
    for note in replay.notes:
        out.print(f"note: {note}", highlight=False, markup=False)


def _mount_trial_report() -> None:
    from dialer.cli.trial import report_trial_cmd

    report_app.command("trial")(report_trial_cmd)


_mount_trial_report()
