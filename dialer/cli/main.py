"""dialerctl: the operator's command line for the dialer.

Every command works on the database given by ``--db``, else $DIALER_DATABASE_URL, else
./dialer.db; listings and status take ``--json``. Exit codes: 0 ok, 1 runtime failure,
2 bad usage or input.
"""

from __future__ import annotations

import importlib.util

import typer

from dialer.cli import attempts, campaign, db, dnc, leads, numbers, preview, seats, top, trial

app = typer.Typer(
    name="dialerctl",
    help=(
        "Operate the predictive dialer: campaigns, lead lists, seats, caller IDs and DNC lists.\n\n"
        "The database is --db URL, else $DIALER_DATABASE_URL, else sqlite:///./dialer.db.\n"
        "Exit codes: 0 ok, 1 runtime failure, 2 bad usage or input."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(db.app, name="db")
app.add_typer(campaign.app, name="campaign")
app.add_typer(leads.app, name="leads")
app.add_typer(seats.app, name="seats")
app.add_typer(numbers.app, name="numbers")
app.add_typer(dnc.app, name="dnc")
app.add_typer(preview.app, name="preview")
app.add_typer(trial.app, name="trial")
app.add_typer(attempts.app, name="attempts")
app.command("top")(top.top_cmd)


def _mount_reports() -> None:
    """`dialerctl report ...` comes from dialer.cli.report (written alongside the reports)."""
    if importlib.util.find_spec("dialer.cli.report") is None:
        return
    from dialer.cli.report import report_app

    app.add_typer(report_app, name="report")


_mount_reports()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
