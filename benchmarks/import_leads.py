"""Benchmark: import a 100,000-row lead list into SQLite and PostgreSQL.

Generates a CSV with a sprinkling of bad rows (invalid numbers, unknown country, empty phone,
duplicates within the file, bad priority, unknown time zone), imports it with the same code as
``dialerctl leads import``, checks that every bad row was reported with its reason (in the rejects
CSV and in lead_rejects) and every good row imported, and prints rows/s for each database, next
to a baseline measured in the same run: checking the rows alone, without a database.

    .venv/bin/python benchmarks/import_leads.py [--rows 100000] [--postgres URL]

PostgreSQL: --postgres URL (a server where databases may be created), else
$DIALER_BENCH_POSTGRES_URL, else a private server like the tests' (skipped if none can start).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from dialer.states import DialMode
from dialer.store import make_engine, upgrade
from dialer.store.campaigns import apply_campaign
from dialer.store.lead_import import import_leads_csv
from dialer.store.phones import LeadProblem, parse_phone
from dialer.store.schema import lead_rejects, leads

AREA_CODES = ["212", "312", "415", "617", "305", "713", "206", "404", "303", "602", "907"]
BAD_KINDS = [
    "invalid_number",
    "unknown_country",
    "empty_phone",
    "duplicate_in_file",
    "bad_priority",
    "bad_time_zone",
]


def generate(path: Path, rows: int, bad_fraction: float, seed: int) -> dict[int, str]:
    """Write the list; returns {line number: expected reason code} of the bad rows."""
    rng = random.Random(seed)
    expected: dict[int, str] = {}
    seen: list[str] = []
    used: set[str] = set()
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["phone", "country", "priority", "external_id", "first_name", "time_zone"])
        for i in range(rows):
            line = i + 2
            if seen and rng.random() < bad_fraction:
                kind = rng.choice(BAD_KINDS)
                expected[line] = kind
                phone, country, priority, zone = _bad_row(kind, rng, seen)
            else:
                while True:
                    phone = f"({rng.choice(AREA_CODES)}) {rng.randint(200, 999)}-" + (
                        f"{rng.randint(0, 9999):04d}"
                    )
                    e164 = "+1" + "".join(ch for ch in phone if ch.isdigit())
                    if e164 not in used:
                        break
                used.add(e164)
                seen.append(phone)
                country, priority, zone = "", str(rng.randint(0, 9)), ""
            out.writerow([phone, country, priority, f"crm-{i}", f"name {i}", zone])
    return expected


def _bad_row(kind: str, rng: random.Random, seen: list[str]) -> tuple[str, str, str, str]:
    if kind == "invalid_number":
        return str(rng.randint(100, 99999)), "", "", ""
    if kind == "unknown_country":
        return f"{rng.randint(200, 999)}555{rng.randint(0, 9999):04d}", "XX", "", ""
    if kind == "empty_phone":
        return "", "", "1", ""
    if kind == "duplicate_in_file":
        return rng.choice(seen), "", "", ""
    if kind == "bad_priority":
        return f"+1 212 {rng.randint(200, 999)} {rng.randint(0, 9999):04d}", "", "urgent", ""
    return f"+1 312 {rng.randint(200, 999)} {rng.randint(0, 9999):04d}", "", "", "Mars/Olympus"


def baseline_check_only(path: Path) -> float:
    """Rows/s of parsing and checking the rows with no database at all."""
    started = time.perf_counter()
    n = 0
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            n += 1
            with contextlib.suppress(LeadProblem):
                parse_phone(
                    row["phone"],
                    "US",
                    country=row["country"] or None,
                    time_zone=row["time_zone"] or None,
                )
    return n / (time.perf_counter() - started)


def run_import(url: str, path: Path, expected: dict[int, str], rows: int) -> dict[str, float]:
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        apply_campaign(conn, "bench", DialMode.PREDICTIVE, {"name": "bench"}, now)
    rejects_csv = path.with_name(f"rejects-{uuid.uuid4().hex[:6]}.csv")
    summary = import_leads_csv(
        engine, "bench", path, default_country="US", rejects_path=rejects_csv, now=now
    )
    # Every bad row reported, with the right reason, in the CSV and in the database.
    with rejects_csv.open(newline="") as f:
        in_csv = {int(r["line"]): r["reason_code"] for r in csv.DictReader(f)}
    with engine.connect() as conn:
        query = select(lead_rejects.c.row_number, lead_rejects.c.reason_code)
        in_db = {line: code for line, code in conn.execute(query)}
        lead_count = conn.execute(select(func.count()).select_from(leads)).scalar_one()
    engine.dispose()
    problems = []
    if in_csv != expected:
        problems.append(f"rejects CSV differs from expected: {_diff(expected, in_csv)}")
    if in_db != expected:
        problems.append(f"lead_rejects differs from expected: {_diff(expected, in_db)}")
    if lead_count != rows - len(expected) or summary.imported != lead_count:
        problems.append(f"{lead_count} leads stored, {rows - len(expected)} expected")
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))
    return {"seconds": summary.seconds, "rows_per_s": summary.rows_per_second}


def _diff(expected: dict[int, str], got: dict[int, str]) -> str:
    missing = sorted(set(expected) - set(got))[:5]
    extra = sorted(set(got) - set(expected))[:5]
    wrong = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])[:5]
    return f"missing lines {missing}, unexpected lines {extra}, wrong reasons on {wrong}"


def postgres_server(given: str | None) -> tuple[str | None, object | None]:
    url = given or os.environ.get("DIALER_BENCH_POSTGRES_URL")
    if url:
        return url, None
    try:
        from tests.support import pgserver

        server = pgserver.start()
    except Exception as exc:  # no server possible here: report and go on with SQLite
        print(f"PostgreSQL skipped: {exc}")
        return None, None
    return server.url, server


def fresh_database(server_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad-fraction", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", default=None, help="PostgreSQL server URL")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dialer-bench-") as tmp:
        path = Path(tmp) / "leads.csv"
        expected = generate(path, args.rows, args.bad_fraction, args.seed)
        kinds = Counter(expected.values())
        print(
            f"{args.rows} rows, {len(expected)} bad: "
            + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        )
        base = baseline_check_only(path)
        print(f"{'baseline: check rows, no database':38} {base:>10,.0f} rows/s")
        results = {"sqlite": run_import(f"sqlite:///{tmp}/bench.db", path, expected, args.rows)}
        pg_url, server = postgres_server(args.postgres)
        try:
            if pg_url:
                results["postgresql"] = run_import(
                    fresh_database(pg_url), path, expected, args.rows
                )
        finally:
            if server is not None:
                server.stop()  # type: ignore[attr-defined]
        for name, r in results.items():
            print(
                f"{'import into ' + name:38} {r['rows_per_s']:>10,.0f} rows/s "
                f"({r['seconds']:.1f} s, {r['rows_per_s'] / base:.2f} x baseline)"
            )
        print("every bad row reported with its reason; every good row imported: OK")


if __name__ == "__main__":
    main()
