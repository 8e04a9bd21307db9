"""dialerctl trial: a campaign's trial (a stratified sample dialled first), and its report.

dialerctl trial status CAMPAIGN [--json]   the current trial: state, sample, progress
dialerctl trial reset  CAMPAIGN            run the trial again (a new sample at the next run)
dialerctl trial skip   CAMPAIGN            dial the whole list without (more) trial
dialerctl report trial CAMPAIGN [--json | --csv FILE]   the figures (see dialer.reports.trial)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dialer.cli.common import DbOption, JsonOption, database, emit_json, fail, out, utcnow
from dialer.reports.trial import build_trial_report, trial_json, trial_table, write_trial_csv
from dialer.store.errors import NotFound
from dialer.store.trials import (
    current_trial,
    reset_trial,
    skip_trial,
    trial_progress,
    trial_sample_rows,
)

app = typer.Typer(
    help="Trial mode: see, reset or skip a campaign's trial (report: `dialerctl report trial`).",
    no_args_is_help=True,
)
CampaignArg = Annotated[str, typer.Argument(help="Campaign name.", show_default=False)]


@app.command("status")
def status_cmd(campaign: CampaignArg, db: DbOption = None, json_: JsonOption = False) -> None:
    """The campaign's current trial: state, seed, sample size, settled leads."""
    with database(db) as engine, engine.connect() as conn:
        trial = current_trial(conn, campaign)
        if trial is None:
            fail(f"campaign {campaign!r} has no trial (yet)")
        sampled, settled = trial_progress(conn, trial["id"], campaign)
    data = {**dict(trial), "sampled": sampled, "settled": settled}
    if json_:
        emit_json(data)
        return
    out.print(
        f"trial {trial['id']} of {campaign}: {trial['state']}, {settled}/{sampled} sampled leads "
        f"settled (population {trial['population']}, fraction {trial['sample_fraction']:g}, "
        f"seed {trial['seed']}, strata by {', '.join(trial['stratify_by'] or []) or '-'})"
    )


@app.command("reset")
def reset_cmd(campaign: CampaignArg, db: DbOption = None) -> None:
    """Run the trial again: the current one is cancelled; a new sample is drawn when the campaign
    next runs (start it with `dialerctl campaign start`)."""
    with database(db) as engine, engine.begin() as conn:
        try:
            cancelled = reset_trial(conn, campaign, utcnow())
        except NotFound as exc:
            fail(str(exc))
    if cancelled is None:
        out.print(f"campaign {campaign}: no trial to reset (one is drawn when it runs)")
    else:
        out.print(f"trial {cancelled['id']} cancelled: a new sample is drawn when {campaign} runs")


@app.command("skip")
def skip_cmd(campaign: CampaignArg, db: DbOption = None) -> None:
    """Skip the trial: the campaign dials its whole list."""
    with database(db) as engine, engine.begin() as conn:
        try:
            message = skip_trial(conn, campaign, utcnow())
        except NotFound as exc:
            fail(str(exc))
    out.print(f"campaign {campaign}: {message}")


def report_trial_cmd(
    campaign: CampaignArg,
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", help="Write CSV to this file ('-' for stdout).", show_default=False),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """A campaign's trial: per stratum sample size, dials, hit rate with its 95 % interval,
    machine rate, busy / no answer, abandon rate, mean talk; contacts per seat-hour and the
    projection for the whole list."""
    with database(db) as engine, engine.connect() as conn:
        trial = current_trial(conn, campaign)
        if trial is None:
            fail(f"campaign {campaign!r} has no trial")
        samples = trial_sample_rows(conn, trial["id"])
    report = build_trial_report(trial, samples)
    if as_json:
        emit_json(trial_json(report))
    elif csv_path is not None:
        if str(csv_path) == "-":
            write_trial_csv(report, sys.stdout)
            return
        try:
            with csv_path.open("w", newline="", encoding="utf-8") as handle:
                write_trial_csv(report, handle)
        except OSError as exc:
            fail(f"--csv {csv_path}: {exc.strerror or exc}", 1)
        out.print(f"wrote {csv_path}")
    else:
        out.print(trial_table(report))
