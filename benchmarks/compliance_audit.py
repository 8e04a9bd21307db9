"""Benchmark: the compliance audit of a day's calls, on SQLite and PostgreSQL.

A campaign's day of 100,000 calls (40,000 leads in New York, 2-3 calls each spread over the
calling hours; a quarter answered by people, 2 % of those abandoned and in the ledger; 2 % of
the numbers on the DNC list, added after the day) is audited with ``audit_campaigns`` — what
``dialerctl report compliance`` and the daily systemd timer run — against a baseline measured in
the same run on the same data: the campaign report of the same day (``load_attempts`` and
``build_campaign_report``, what ``dialerctl report campaigns`` runs). The audit must find
nothing (the data keeps every rule); it is checked.

    .venv/bin/python benchmarks/compliance_audit.py [--calls 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, text

from benchmarks.import_leads import fresh_database, postgres_server
from dialer.config.models import CampaignConfig
from dialer.reports import Period, build_campaign_report
from dialer.reports.compliance import audit_campaigns
from dialer.reports.load import load_attempts
from dialer.states import DialMode
from dialer.store import make_engine, upgrade
from dialer.store import queries as q
from dialer.store.schema import abandon_ledger, attempts, leads

DAY = datetime(2026, 11, 25, tzinfo=UTC)
OPEN = DAY + timedelta(hours=14)  # 09:00 in New York; the calls run to 20:00 there
CALLING_S = 11 * 3600


def fill(engine: Engine, calls: int) -> None:
    lead_count = max(1, calls * 2 // 5)
    config = CampaignConfig.model_validate({"name": "bench", "caller_id": {"pool": "p"}})
    with engine.begin() as conn:
        q.apply_campaign(conn, "bench", DialMode.PREDICTIVE, config.model_dump(mode="json"), DAY)
        rows = [
            {
                "campaign": "bench",
                "phone_e164": f"+1212{i:07d}",
                "time_zone": "America/New_York",
                "validated_at": DAY,
                "created_at": DAY,
                "updated_at": DAY,
            }
            for i in range(lead_count)
        ]
        ids: list[int] = []
        for start in range(0, lead_count, 5000):
            got = conn.execute(insert(leads).returning(leads.c.id), rows[start : start + 5000])
            ids += sorted(got.scalars())
        batch: list[dict[str, object]] = []
        ledger: list[dict[str, object]] = []
        for n in range(calls):
            lead = n % lead_count
            round_ = n // lead_count  # the lead's 1st, 2nd or 3rd call, hours apart
            placed = OPEN + timedelta(seconds=(lead * 7.3) % 3600 + round_ * 4 * 3600)
            last = round_ == (calls - 1 - lead) // lead_count  # (no call after an abandon)
            outcome = "busy"
            answered = None
            if n % 4 == 0:
                answered = placed + timedelta(seconds=12)
                outcome = "abandoned" if n % 200 == 0 and last else "human"
                ledger.append(
                    {
                        "campaign": "bench",
                        "kind": "live_answer",
                        "at": answered,
                        "attempt_id": f"c{n}",
                    }
                )
                if outcome == "abandoned":
                    ledger.append(
                        {
                            "campaign": "bench",
                            "kind": "abandon",
                            "at": answered + timedelta(seconds=2),
                            "attempt_id": f"c{n}",
                        }
                    )
            batch.append(
                {
                    "id": f"c{n}",
                    "lead_id": ids[lead],
                    "campaign": "bench",
                    "phone_e164": f"+1212{lead:07d}",
                    "placed_at": placed,
                    "state": "ended",
                    "outcome": outcome,
                    "answered_at": answered,
                    "ended_at": placed + timedelta(seconds=60),
                    "ring_s": 12.0,
                    "created_at": placed,
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(attempts), batch)
                batch = []
        if batch:
            conn.execute(insert(attempts), batch)
        for start in range(0, len(ledger), 5000):
            conn.execute(insert(abandon_ledger), ledger[start : start + 5000])
        listed = [f"+1212{i:07d}" for i in range(0, lead_count, 50)]
        q.add_dnc(conn, listed, DAY + timedelta(days=2))  # listed after the day: no violation
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))


def measure(url: str, calls: int) -> tuple[float, float, int]:
    upgrade(url)
    engine = make_engine(url)
    fill(engine, calls)
    period = Period(DAY, DAY + timedelta(days=1))
    started = time.perf_counter()
    with engine.connect() as conn:
        report = build_campaign_report(load_attempts(conn, period, "bench"), period)
    baseline = time.perf_counter() - started
    assert report.total.total_calls == calls
    started = time.perf_counter()
    with engine.connect() as conn:
        (audit,) = audit_campaigns(conn, period, "bench")
    took = time.perf_counter() - started
    engine.dispose()
    assert audit.attempts == calls and audit.ok, audit.by_rule()
    return baseline, took, audit.live_answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="dialer-audit-") as tmp:
        results["sqlite"] = measure(f"sqlite:///{tmp}/audit.db", args.calls)
    pg_url, server = postgres_server(args.postgres)
    try:
        if pg_url:
            results["postgresql"] = measure(fresh_database(pg_url), args.calls)
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
    print(f"compliance audit of one day's {args.calls:,} calls (no violation found)")
    for name, (base, took, live) in results.items():
        print(
            f"{name:11} audit {took:6.2f} s   baseline campaign report {base:6.2f} s   "
            f"ratio {took / base:5.1f}   ({live:,} live answers)"
        )


if __name__ == "__main__":
    main()
