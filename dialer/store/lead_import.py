"""Importing a CSV list of leads into a campaign: fast, and nothing silently dropped.

Each row is checked (number parsed to E.164 and valid, country and time zone known, priority a
whole number, not a duplicate within the file or the campaign). Good rows are inserted in chunks
(one executemany per chunk, one transaction per chunk so a long import never holds the database
for long); every bad row is kept twice: in lead_rejects and in a rejects CSV, with its line number
and reason. Numbers on a DNC list are imported (and counted) but never claimed while listed.

Columns (header names, case-insensitive): ``phone`` (or ``phone_number``, ``number``,
``phone_e164``) required; optional ``country``, ``time_zone``, ``priority``, ``external_id``;
every other column goes into ``custom_fields``.
"""

from __future__ import annotations

import csv
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, text
from sqlalchemy.exc import IntegrityError

from dialer.store.campaigns import get_campaign
from dialer.store.dialect import dialect_insert
from dialer.store.dnc import dnc_matches
from dialer.store.errors import NotFound
from dialer.store.phones import LeadProblem, check_country, parse_phone
from dialer.store.schema import lead_rejects, leads

PHONE_COLUMNS = ("phone", "phone_number", "number", "phone_e164", "telephone")
KNOWN_COLUMNS = ("country", "time_zone", "priority", "external_id")
DEFAULT_CHUNK = 2000


class ImportFormatError(ValueError):
    """The file as a whole cannot be imported (no phone column, unreadable, empty)."""


@dataclass
class ImportSummary:
    campaign: str
    source: str
    batch: str
    rows: int = 0
    imported: int = 0
    rejected: int = 0
    on_dnc: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    rejects_csv: str | None = None
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "source": self.source,
            "batch": self.batch,
            "rows": self.rows,
            "imported": self.imported,
            "rejected": self.rejected,
            "on_dnc": self.on_dnc,
            "reasons": dict(sorted(self.reasons.items())),
            "rejects_csv": self.rejects_csv,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
        }


@dataclass(frozen=True, slots=True)
class _Reject:
    line: int
    code: str
    reason: str
    raw: dict[str, str]


def count_data_rows(path: Path) -> int:
    """Lines after the header (a quick upper bound for a progress bar)."""
    with path.open("rb") as f:
        return max(sum(1 for _ in f) - 1, 0)


def import_leads_csv(
    engine: Engine,
    campaign: str,
    path: str | Path,
    *,
    default_country: str | None = None,
    rejects_path: str | Path | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import ``path`` into ``campaign``. ``progress(n)`` is called with rows done so far.

    Raises NotFound (no such campaign), ImportFormatError (no phone column, not a CSV),
    LeadProblem (bad --default-country) before anything is written."""
    path = Path(path)
    if default_country:
        default_country = check_country(default_country)
    with engine.connect() as conn:
        if get_campaign(conn, campaign) is None:
            raise NotFound(f"no campaign named {campaign!r} (apply a config that declares it)")
    rejects_file = Path(rejects_path) if rejects_path else path.with_suffix(".rejects.csv")
    summary = ImportSummary(
        campaign=campaign, source=str(path), batch=str(uuid.uuid4()), rejects_csv=str(rejects_file)
    )
    started = time.perf_counter()
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read: {exc.strerror}") from None
    with handle, rejects_file.open("w", newline="", encoding="utf-8") as rejects_out:
        reader = csv.reader(handle)
        header = _read_header(reader, path)
        writer = csv.writer(rejects_out)
        writer.writerow(["line", "reason_code", "reason", *header])
        seen: dict[str, int] = {}
        for chunk in _chunks(reader, header, chunk_size):
            good, bad = _check_rows(chunk, header, path, default_country, seen, now, campaign)
            summary.rows += len(chunk)
            with engine.begin() as conn:
                inserted = _insert_leads(conn, [row for _, row, _ in good])
                for line, row, raw in good:
                    if row["phone_e164"] not in inserted:
                        bad.append(_duplicate_in_campaign(line, row, raw, campaign))
                summary.imported += len(inserted)
                if inserted:
                    summary.on_dnc += len(dnc_matches(conn, inserted, campaign))
                bad.sort(key=lambda r: r.line)
                _record_rejects(conn, bad, campaign, path, summary.batch, now)
            for reject in bad:
                summary.rejected += 1
                summary.reasons[reject.code] += 1
                writer.writerow(
                    [
                        reject.line,
                        reject.code,
                        reject.reason,
                        *(reject.raw.get(h, "") for h in header),
                    ]
                )
            if progress is not None:
                progress(summary.rows)
    if summary.imported and engine.dialect.name == "postgresql":
        # Fresh planner statistics, so claims use the indexes on a table that just grew.
        with engine.begin() as conn:
            conn.execute(text("ANALYZE leads"))
    summary.seconds = time.perf_counter() - started
    return summary


def _read_header(reader: Iterator[list[str]], path: Path) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFormatError(f"{path}: the file is empty (expected a header line)") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{path}:1: not a readable CSV header: {exc}") from None
    header = [h.strip().lower() for h in header]
    if not any(h in PHONE_COLUMNS for h in header):
        raise ImportFormatError(
            f"{path}:1: no phone column in the header {header} "
            f"(allowed: {', '.join(PHONE_COLUMNS)})"
        )
    dupes = sorted({h for h in header if header.count(h) > 1 and h})
    if dupes:
        raise ImportFormatError(f"{path}:1: column(s) named twice: {', '.join(dupes)}")
    return header


def _chunks(
    reader: Any, header: list[str], size: int
) -> Iterator[list[tuple[int, list[str] | str]]]:
    """Rows with their starting line numbers; a row the csv module cannot read is passed on as
    its error text so that it becomes a reject instead of stopping the import."""
    chunk: list[tuple[int, list[str] | str]] = []
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except (csv.Error, UnicodeDecodeError) as exc:
            chunk.append((line, f"unreadable row: {exc}"))
        else:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            chunk.append((line, row))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_rows(
    chunk: list[tuple[int, list[str] | str]],
    header: list[str],
    path: Path,
    default_country: str | None,
    seen: dict[str, int],
    now: datetime,
    campaign: str,
) -> tuple[list[tuple[int, dict[str, Any], dict[str, str]]], list[_Reject]]:
    phone_col = next(h for h in header if h in PHONE_COLUMNS)
    good: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    bad: list[_Reject] = []
    for line, row in chunk:
        if isinstance(row, str):
            bad.append(_Reject(line, "malformed_row", row, {}))
            continue
        raw = dict(zip(header, row, strict=False))
        if len(row) != len(header):
            bad.append(
                _Reject(
                    line,
                    "malformed_row",
                    f"row has {len(row)} fields, the header has {len(header)}",
                    raw,
                )
            )
            continue
        try:
            priority = _priority(raw.get("priority", ""))
            parsed = parse_phone(
                raw[phone_col],
                default_country,
                country=raw.get("country") or None,
                time_zone=raw.get("time_zone") or None,
            )
        except LeadProblem as problem:
            bad.append(_Reject(line, problem.code, str(problem), raw))
            continue
        first = seen.get(parsed.e164)
        if first is not None:
            bad.append(
                _Reject(
                    line,
                    "duplicate_in_file",
                    f"duplicate: {parsed.e164} is already on line {first} of this file",
                    raw,
                )
            )
            continue
        seen[parsed.e164] = line
        custom = {
            k: v for k, v in raw.items() if k not in KNOWN_COLUMNS and k != phone_col and v != ""
        }
        good.append(
            (
                line,
                {
                    "campaign": campaign,
                    "external_id": raw.get("external_id") or None,
                    "phone_raw": raw[phone_col],
                    "phone_e164": parsed.e164,
                    "country": parsed.country,
                    "time_zone": parsed.time_zone_field,
                    "priority": priority,
                    "custom_fields": custom or None,
                    "validated_at": now,
                    "created_at": now,
                    "updated_at": now,
                },
                raw,
            )
        )
    return good, bad


def _priority(text: str) -> int:
    text = text.strip()
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise LeadProblem(
            "bad_priority", f"bad priority {text!r} (expected a whole number)"
        ) from None
    if not -1_000_000 <= value <= 1_000_000:
        raise LeadProblem("bad_priority", f"bad priority {value} (allowed: -1000000..1000000)")
    return value


def _insert_leads(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert rows whose number is not yet in the campaign; returns the numbers inserted.

    Fast path: one plain executemany in a savepoint (psycopg pipelines it). If any number is
    already in the campaign (a re-import, or the CRM inserting the same lead meanwhile), the
    chunk is redone with ON CONFLICT DO NOTHING ... RETURNING, which tells which rows went in.
    (Looking numbers up first, or RETURNING on every chunk, each halved PostgreSQL imports.)"""
    if not rows:
        return set()
    try:
        with conn.begin_nested():
            conn.execute(insert(leads), rows)
        return {r["phone_e164"] for r in rows}
    except IntegrityError:
        stmt = dialect_insert(conn, leads).on_conflict_do_nothing().returning(leads.c.phone_e164)
        return set(conn.execute(stmt, rows).scalars())


def _duplicate_in_campaign(
    line: int, row: dict[str, Any], raw: dict[str, str], campaign: str
) -> _Reject:
    return _Reject(
        line,
        "duplicate_in_campaign",
        f"duplicate: {row['phone_e164']} is already a lead of campaign {campaign!r}",
        raw,
    )


def _record_rejects(
    conn: Connection, bad: list[_Reject], campaign: str, path: Path, batch: str, now: datetime
) -> None:
    if not bad:
        return
    conn.execute(
        insert(lead_rejects),
        [
            {
                "campaign": campaign,
                "source": f"{path}:{r.line}",
                "row_number": r.line,
                "lead_id": None,
                "import_batch": batch,
                "raw": r.raw,
                "reason": r.reason,
                "reason_code": r.code,
                "created_at": now,
            }
            for r in bad
        ],
    )
