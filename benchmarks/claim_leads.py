"""Benchmark: claiming leads from a 100,000-lead campaign, on SQLite and PostgreSQL.

Measures ``claim_leads(..., n=10)`` (the hopper's database half: tiers, DNC filter, caps, lock,
update, returning) against a baseline measured in the same run on the same data: a plain
``SELECT id ... ORDER BY priority DESC LIMIT 10`` of new leads (no filter, no lock, no write).

    .venv/bin/python benchmarks/claim_leads.py [--leads 100000] [--claims 50] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, select, text

from benchmarks.import_leads import fresh_database, postgres_server
from dialer.states import DialMode
from dialer.store import make_engine, upgrade
from dialer.store import queries as q
from dialer.store.schema import attempts, leads


def fill(engine: Engine, count: int, now: datetime) -> None:
    with engine.begin() as conn:
        q.apply_campaign(conn, "bench", DialMode.PREDICTIVE, {"name": "bench"}, now)
        rows = [
            {
                "campaign": "bench",
                "phone_e164": f"+1212{i:07d}",
                "time_zone": "America/New_York",
                "validated_at": now,
                "priority": i % 10,
                "status": "retry" if i % 7 == 0 else "new",
                # most retries are not due yet: the claim must skip them cheaply
                "next_call_at": now + timedelta(hours=1 if i % 3 else -1) if i % 7 == 0 else None,
            }
            for i in range(count)
        ]
        for start in range(0, count, 5000):
            conn.execute(insert(leads), rows[start : start + 5000])
        q.add_dnc(conn, [f"+1212{i:07d}" for i in range(0, count, 50)], now)
        # Retries were called before: twice in the last day, or (every other one) three times, which
        # is the day cap, so the claim must count their calls of the last 24 hours and skip them.
        ids = conn.execute(
            select(leads.c.id).where(leads.c.campaign == "bench", leads.c.status == "retry")
        ).scalars()
        calls = [
            {
                "id": str(uuid.uuid4()),
                "lead_id": lead,
                "campaign": "bench",
                "phone_e164": "+12120000000",
                "state": "ended",
                "outcome": "no_answer",
                "placed_at": now - timedelta(hours=hours),
                "created_at": now - timedelta(hours=hours),
            }
            for n, lead in enumerate(ids)
            for hours in ((2, 5, 9) if n % 2 == 0 else (2, 5))
        ]
        for start in range(0, len(calls), 5000):
            conn.execute(insert(attempts), calls[start : start + 5000])
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))


def measure(url: str, count: int, claims: int) -> tuple[float, float]:
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    fill(engine, count, now)
    baseline, claim = [], []
    t = leads.c
    plain = (
        select(t.id)
        .where(t.campaign == "bench", t.status == "new")
        .order_by(t.priority.desc())
        .limit(10)
    )
    for _ in range(claims):
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(plain).all()
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        with engine.begin() as conn:
            got = q.claim_leads(
                conn, "bench", 10, now, "bench", max_attempts_total=10, max_attempts_per_day=3
            )
        claim.append(time.perf_counter() - started)
        assert len(got) == 10
    engine.dispose()
    return statistics.median(baseline), statistics.median(claim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=50)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="dialer-claim-") as tmp:
        results["sqlite"] = measure(f"sqlite:///{tmp}/claim.db", args.leads, args.claims)
    pg_url, server = postgres_server(args.postgres)
    try:
        if pg_url:
            results["postgresql"] = measure(fresh_database(pg_url), args.leads, args.claims)
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
    print(f"claim 10 leads from a campaign of {args.leads:,} (median of {args.claims})")
    for name, (base, claim) in results.items():
        print(
            f"{name:11} claim {claim * 1000:7.2f} ms   baseline SELECT {base * 1000:6.2f} ms   "
            f"ratio {claim / base:5.1f}"
        )


if __name__ == "__main__":
    main()
