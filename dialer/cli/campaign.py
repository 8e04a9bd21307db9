"""dialerctl campaign: apply the configuration, start / pause / resume / stop, status."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Connection, func, select

from dialer.cli.common import (
    DbOption,
    JsonOption,
    database,
    emit_json,
    fail,
    out,
    show_table,
    utcnow,
)
from dialer.states import CampaignState
from dialer.store import queries as q
from dialer.store.apply_config import apply_config
from dialer.store.errors import NotFound
from dialer.store.schema import attempts

app = typer.Typer(help="Apply campaign configuration and control campaigns.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Campaign name.", show_default=False, metavar="NAME")]


@app.command("apply")
def apply_cmd(
    config_file: Annotated[
        Path, typer.Argument(help="campaigns.yaml to apply.", show_default=False, metavar="FILE")
    ],
    db: DbOption = None,
    json_: JsonOption = False,
) -> None:
    """Validate a campaigns.yaml and store its campaigns, seats and caller IDs.

    All or nothing: a file with any problem changes nothing in the database. Campaign states
    (running, paused...) are kept; new campaigns start stopped.
    """
    from dialer.config import ConfigError, load_config

    try:
        config = load_config(config_file)
    except ConfigError as exc:
        fail(f"{config_file} was not applied:\n{exc}")
    except OSError as exc:
        fail(f"cannot read {config_file}: {exc.strerror}")
    with database(db) as engine, engine.begin() as conn:
        report = apply_config(conn, config, utcnow())
    if json_:
        emit_json(
            {
                "changed": report.changed,
                "unchanged": report.unchanged,
                "seats": report.seats,
                "caller_ids": report.caller_ids,
            }
        )
        return
    for name in report.changed:
        out.print(f"campaign {name}: configuration applied")
    for name in report.unchanged:
        out.print(f"campaign {name}: unchanged")
    out.print(f"{report.seats} seat(s) and {report.caller_ids} caller ID(s) declared")


def _set_state(name: str, state: CampaignState, db: str | None, verb: str) -> None:
    with database(db) as engine:
        try:
            with engine.begin() as conn:
                q.set_desired_state(conn, name, state, utcnow())
        except NotFound as exc:
            fail(str(exc))
    out.print(f"campaign {name}: {verb} (desired state {state.value}; the daemon follows)")


@app.command("start")
def start_cmd(name: NameArg, db: DbOption = None) -> None:
    """Ask the daemon to start dialling a campaign."""
    _set_state(name, CampaignState.RUNNING, db, "start requested")


@app.command("pause")
def pause_cmd(name: NameArg, db: DbOption = None) -> None:
    """Stop placing new calls; calls in progress finish normally."""
    _set_state(name, CampaignState.PAUSED, db, "pause requested")


@app.command("resume")
def resume_cmd(name: NameArg, db: DbOption = None) -> None:
    """Resume a paused campaign."""
    _set_state(name, CampaignState.RUNNING, db, "resume requested")


@app.command("stop")
def stop_cmd(name: NameArg, db: DbOption = None) -> None:
    """Stop a campaign: no new calls, and the daemon releases it once calls in progress end."""
    _set_state(name, CampaignState.STOPPED, db, "stop requested")


def campaign_status(conn: Connection, name: str, now: datetime) -> dict[str, Any]:
    row = q.get_campaign(conn, name)
    if row is None:
        raise NotFound(f"no campaign named {name!r}")
    abandon = (row["config_json"] or {}).get("abandon", {})
    cap = float(abandon.get("cap", 0.03))
    window_s = float(abandon.get("window_s", 30 * 86400))
    answers, abandons = q.abandon_counts(conn, name, now - timedelta(seconds=window_s))
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    attempts_today = conn.execute(
        select(func.count()).where(attempts.c.campaign == name, attempts.c.placed_at >= day_start)
    ).scalar_one()
    in_flight = len(q.in_flight_attempts(conn, name))
    lease = q.current_lease(conn, name)
    return {
        "name": name,
        "dial_mode": row["dial_mode"],
        "desired_state": row["desired_state"],
        "actual_state": row["actual_state"],
        "actual_state_reason": row["actual_state_reason"],
        "owner": lease.owner if lease and lease.expires_at > now else None,
        "leads": q.lead_counts(conn, name),
        "attempts_today": attempts_today,
        "in_flight": in_flight,
        "abandon": {
            "window_s": window_s,
            "live_answers": answers,
            "abandons": abandons,
            "rate": abandons / answers if answers else 0.0,
            "cap": cap,
        },
        "seats": q.seat_state_counts(conn, name),
        "config_hash": row["config_hash"],
        "applied_at": row["applied_at"],
    }


def campaign_statuses(conn: Connection, name: str | None, now: datetime) -> list[dict[str, Any]]:
    """The status of one campaign (raises NotFound if unknown), or of every campaign."""
    names = [name] if name else [r["name"] for r in q.list_campaigns(conn)]
    return [campaign_status(conn, n, now) for n in names]


NO_CAMPAIGNS = "no campaigns (apply a campaigns.yaml with `dialerctl campaign apply`)"

STATUS_COLUMNS = (
    "campaign",
    "mode",
    "desired/actual",
    "leads dialable/all",
    "dials today",
    "live",
    "abandon rate / cap",
    "seats",
)


def status_row(s: dict[str, Any]) -> tuple[Any, ...]:
    """One campaign's status as a row under STATUS_COLUMNS (`campaign status`, `top`)."""
    return (
        s["name"],
        s["dial_mode"],
        f"{s['desired_state']}/{s['actual_state']}",
        f"{sum(s['leads'].get(k, 0) for k in ('new', 'retry', 'callback'))}"
        f"/{sum(s['leads'].values())}",
        s["attempts_today"],
        s["in_flight"],
        f"{s['abandon']['rate']:.2%} / {s['abandon']['cap']:.2%}",
        ", ".join(f"{k} {v}" for k, v in sorted(s["seats"].items())) or "-",
    )


@app.command("status")
def status_cmd(
    name: Annotated[
        str | None, typer.Argument(help="Campaign name (all when omitted).", show_default=False)
    ] = None,
    db: DbOption = None,
    json_: JsonOption = False,
) -> None:
    """Desired and actual state, leads by status, attempts today, abandon rate vs cap, seats."""
    now = utcnow()
    with database(db) as engine, engine.connect() as conn:
        try:
            statuses = campaign_statuses(conn, name, now)
        except NotFound as exc:
            fail(str(exc))
    if json_:
        emit_json(statuses if name is None else statuses[0])
        return
    if not statuses:
        out.print(NO_CAMPAIGNS)
        return
    show_table("Campaigns", STATUS_COLUMNS, [status_row(s) for s in statuses])
    if name is not None:
        s = statuses[0]
        leads_text = ", ".join(f"{k} {v}" for k, v in sorted(s["leads"].items())) or "none"
        details = [
            ("owner", s["owner"] or "no daemon holds it"),
            ("daemon says", s["actual_state_reason"] or "-"),
            ("leads", leads_text),
            ("abandons", _abandon_text(s["abandon"])),
            ("config", f"{s['config_hash'][:12]} applied {s['applied_at']:%Y-%m-%d %H:%M} UTC"),
        ]
        for key, value in details:
            out.print(f"{key:>12}: {value}")


def _abandon_text(a: dict[str, Any]) -> str:
    days = a["window_s"] / 86400
    window = f"{days:g}d" if days >= 1 else f"{a['window_s'] / 3600:g}h"
    return f"{a['rate']:.2%} / {a['cap']:.2%} ({a['abandons']}/{a['live_answers']} over {window})"
