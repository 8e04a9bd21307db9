"""End-to-end harness: a real ``dialerd`` process, a real Asterisk sandbox, a real database.

Builds a campaigns.yaml for the sandbox, fills the database as an operator and a CRM would
(config applied, seats asked ready, leads inserted unchecked so the daemon validates them, DNC
entries, earlier abandon-ledger history), runs ``python -m dialer.daemon.main`` as a subprocess,
and reads back what happened for the checks in the tests.

Simulated called parties are driven by their number (docs/asterisk-sandbox.md): the last six
digits ``B RR TTT`` say what the party does. Numbers here are valid US numbers
(``+1 AAA E BRRTTT``) so the daemon's number checks accept them; area code 213 (Los Angeles) is
closed all week in the test configuration: those leads are out of hours, never dialled.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from dialer.config import load_config
from dialer.daemon.campaign_worker import LEASE_TTL_S as LEASE_TTL_S
from dialer.states import CampaignState, SeatRequest
from dialer.store import make_engine, upgrade
from dialer.store.apply_config import apply_config
from dialer.store.campaigns import set_desired_state
from dialer.store.dnc import add_dnc
from dialer.store.schema import (
    abandon_ledger,
    attempts,
    campaign_leases,
    campaigns,
    dnc_entries,
    leads,
    seats,
)
from dialer.store.seats import request_seat_state
from dialer.telephony.sandbox import AmiCredentials
from dialer.telephony.sim_numbers import SimBehaviour, decode_sim_number, sim_number

ROOT = Path(__file__).resolve().parents[2]

#: What each simulated behaviour may end as (one attempt).
ALLOWED_OUTCOMES: dict[SimBehaviour, frozenset[str]] = {
    SimBehaviour.HUMAN: frozenset({"human", "abandoned", "customer_hangup"}),
    SimBehaviour.MACHINE: frozenset({"machine"}),
    SimBehaviour.BUSY: frozenset({"busy"}),
    SimBehaviour.NO_ANSWER: frozenset({"no_answer"}),
    SimBehaviour.CONGESTION: frozenset({"congestion"}),
    SimBehaviour.INVALID: frozenset({"invalid_number"}),
    SimBehaviour.EARLY_HANGUP: frozenset({"customer_hangup", "machine"}),
    SimBehaviour.REJECTED: frozenset({"failed"}),
}

CLOSED_AREA = "213"


def config_yaml(
    creds: AmiCredentials,
    campaigns_spec: dict[str, dict[str, Any]],
    *,
    max_channels: int = 60,
) -> str:
    """campaigns.yaml for the sandbox: one campaign per entry of ``campaigns_spec``
    (``{"mode": "predictive", "seats": ["s1", ...], "cap": 0.03}``, optionally
    ``"max_lines"`` and ``"no_answer_timeout_s"``)."""
    all_seats = sorted({s for spec in campaigns_spec.values() for s in spec["seats"]})
    lines = [
        "asterisk:",
        "  - name: sandbox",
        f"    host: {creds.host}",
        f"    port: {creds.port}",
        f"    username: {creds.username}",
        "    secret_env: DIALER_AMI_SECRET",
        f"    max_channels: {max_channels}",
        '    dial_string: "Local/{digits}@sim-customers"',
        "seats:",
        *(f"  {s}: {{endpoint: Local/{s}@sim-seats, name: Agent {s}}}" for s in all_seats),
        "caller_id_pools:",
        "  e2e-pool:",
        "    numbers:",
        '      - "+12125550100"',
        '      - "+12125550101"',
        '      - "+16465550102"',
        '      - "+19175550103"',
        "campaigns:",
    ]
    for name, spec in campaigns_spec.items():
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        window = ", ".join(f"{d}: closed" for d in days)
        lines += [
            f"  {name}:",
            f"    dial_mode: {spec['mode']}",
            f"    seats: [{', '.join(spec['seats'])}]",
            "    pacing:",
            f"      max_lines: {spec.get('max_lines', 20)}",
            "      connect_window_s: 2",
            "    abandon:",
            f"      cap: {spec.get('cap', 0.03)}",
            "      window_s: 24h",
            "    calling_hours:",
            '      window: "00:00-23:59"',
            "      regions:",
            f'        "+1{CLOSED_AREA}": {{weekdays: {{{window}}}}}',
            "    caller_id:",
            "      pool: e2e-pool",
            "      local_presence: true",
            "      max_calls_per_hour: null",
            "      max_calls_per_day: null",
            "      cooldown_s: 0",
            "      quarantine: {enabled: false}",
            "    amd:",
            "      enabled: true",
            "      initial_silence_s: 2500ms",
            "      greeting_s: 1500ms",
            "      after_greeting_silence_s: 700ms",
            "      total_analysis_time_s: 3s",
            "    safe_harbour:",
            "      sound: im-sorry",
            "    min_ring_s: 15",
            f"    no_answer_timeout_s: {spec.get('no_answer_timeout_s', 15)}",
            "    sms_follow_up:",
            "      enabled: true",
            '      template: "Sorry we missed you."',
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class LeadSpec:
    """One lead the test inserts: its number, what it should do, and how it is set up."""

    number: str
    behaviour: SimBehaviour | None
    kind: str = "dial"  # dial | dnc | closed | bad


def _numbers(areas: Iterable[str]) -> Iterator[str]:
    """Prefixes +1 AAA E (E = 2..9) giving distinct, valid US numbers."""
    for area in areas:
        for exchange in "23456789":
            yield f"+1{area}{exchange}"


def lead_mix(
    counts: dict[SimBehaviour, int],
    *,
    dnc: int = 0,
    closed: int = 0,
    bad: int = 0,
    seed: int = 0,
    areas: tuple[str, ...] = ("212", "646", "917", "718"),
) -> list[LeadSpec]:
    """Leads of mixed behaviours with short ring and talk times (the run takes minutes)."""
    prefixes = itertools.cycle(list(_numbers(areas)))
    used: set[str] = set()
    specs: list[LeadSpec] = []
    rng = random.Random(seed)

    def number(behaviour: SimBehaviour, prefix_pool: Iterator[str]) -> str:
        while True:
            ring = {SimBehaviour.NO_ANSWER: 0}.get(behaviour, rng.randint(1, 3))
            stay = {
                SimBehaviour.HUMAN: rng.randint(4, 10),
                SimBehaviour.MACHINE: rng.randint(1, 3),
                SimBehaviour.EARLY_HANGUP: 1,
            }.get(behaviour, 0)
            candidate = sim_number(behaviour, ring, stay, prefix=next(prefix_pool))
            if candidate not in used:
                used.add(candidate)
                return candidate

    for behaviour, count in counts.items():
        for _ in range(count):
            specs.append(LeadSpec(number(behaviour, prefixes), behaviour))
    for _ in range(dnc):
        specs.append(LeadSpec(number(SimBehaviour.HUMAN, prefixes), SimBehaviour.HUMAN, "dnc"))
    closed_prefixes = itertools.cycle(list(_numbers([CLOSED_AREA])))
    for _ in range(closed):
        specs.append(
            LeadSpec(number(SimBehaviour.HUMAN, closed_prefixes), SimBehaviour.HUMAN, "closed")
        )
    for i in range(bad):
        specs.append(LeadSpec(f"12{i}45", None, "bad"))
    rng.shuffle(specs)
    return specs


def prepare_database(
    db_url: str,
    config_path: Path,
    campaign_leads: dict[str, list[LeadSpec]],
    *,
    history: tuple[int, int] = (0, 0),
) -> None:
    """Schema, config applied, seats ready, leads inserted unchecked (as a CRM does), DNC entries,
    ``history`` = (live answers, abandons) of earlier runs in the abandon ledger, campaigns
    running."""
    upgrade(db_url)
    config = load_config(config_path)
    engine = make_engine(db_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        apply_config(conn, config, now)
        for seat_id in config.seats:
            request_seat_state(conn, seat_id, SeatRequest.READY, now)
        for campaign, specs in campaign_leads.items():
            rows = [
                {
                    "campaign": campaign,
                    "phone_raw": spec.number,
                    "external_id": f"crm-{campaign}-{i}",
                    "created_at": now,
                    "updated_at": now,
                }
                for i, spec in enumerate(specs)
            ]
            conn.execute(insert(leads), rows)
            listed = [spec.number for spec in specs if spec.kind == "dnc"]
            if listed:
                add_dnc(conn, listed, now, source="e2e")
            answers, abandons = history
            seed = [
                {"campaign": campaign, "kind": "live_answer", "at": now - timedelta(hours=2)}
            ] * answers + [
                {"campaign": campaign, "kind": "abandon", "at": now - timedelta(hours=2)}
            ] * abandons
            if seed:
                conn.execute(insert(abandon_ledger), seed)
            set_desired_state(conn, campaign, CampaignState.RUNNING, now)
    engine.dispose()


@dataclass
class Daemon:
    """A ``dialerd`` subprocess and its log."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    http_port: int
    started: float = field(default_factory=time.monotonic)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def usage(self) -> dict[str, float]:
        """CPU seconds (user + system) and peak resident memory (MiB) so far."""
        pid = self.proc.pid
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(stat[11]) + int(stat[12])) / ticks
        peak = 0.0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
        return {"cpu_s": cpu, "wall_s": time.monotonic() - self.started, "peak_rss_mib": peak}

    def stop(self, timeout_s: float = 40.0) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_daemon(
    config_path: Path,
    db_url: str,
    creds: AmiCredentials,
    log_path: Path,
    http_port: int,
    *,
    drain_timeout_s: float = 25.0,
    extra_env: dict[str, str] | None = None,
) -> Daemon:
    env = {
        **os.environ,
        "DIALER_AMI_SECRET": creds.secret,
        "DIALER_AUTO_WRAPUP_S": "1",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    env.pop("DIALER_DAEMON_ID", None)
    out = log_path.open("ab")
    command = [
        sys.executable, "-m", "dialer.daemon.main",
        "--config", str(config_path), "--db", db_url,
        "--http-port", str(http_port), "--drain-timeout", str(drain_timeout_s),
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()
    return Daemon(proc, log_path, http_port)


# ----------------------------------------------------------------------------- reading back


@dataclass
class Snapshot:
    leads: list[dict[str, Any]]
    attempts: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    seats: list[dict[str, Any]]
    leases: list[dict[str, Any]]
    ledger: list[dict[str, Any]]
    dnc: set[str] = field(default_factory=set)

    def attempts_by_lead(self) -> dict[int, list[dict[str, Any]]]:
        out: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for a in self.attempts:
            out[a["lead_id"]].append(a)
        return out

    def outcomes(self) -> Counter[str]:
        return Counter(str(a["outcome"]) for a in self.attempts)


def snapshot(db_url: str) -> Snapshot:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:

            def rows(table: Any) -> list[dict[str, Any]]:
                return [dict(r) for r in conn.execute(select(table)).mappings()]

            return Snapshot(
                rows(leads), rows(attempts), rows(campaigns), rows(seats), rows(campaign_leases),
                rows(abandon_ledger), {r["phone_e164"] for r in rows(dnc_entries)},
            )  # fmt: skip
    finally:
        engine.dispose()


def progress(db_url: str, campaign: str | None = None) -> tuple[int, int, int]:
    """(dialable leads with no finished attempt, attempts in flight, attempts ended)."""
    snap = snapshot(db_url)
    by_lead = snap.attempts_by_lead()
    pending = 0
    for lead in snap.leads:
        if campaign is not None and lead["campaign"] != campaign:
            continue
        skip = lead["status"] in ("rejected", "dnc") or lead["phone_e164"] in snap.dnc
        if skip or _closed(lead):
            continue
        done = [a for a in by_lead.get(lead["id"], []) if a["state"] == "ended"]
        if not done:
            pending += 1
    chosen = [a for a in snap.attempts if campaign is None or a["campaign"] == campaign]
    in_flight = sum(1 for a in chosen if a["state"] == "in_flight")
    return pending, in_flight, len(chosen) - in_flight


def _closed(lead: dict[str, Any]) -> bool:
    number = lead["phone_e164"] or lead["phone_raw"] or ""
    return number.startswith(f"+1{CLOSED_AREA}")


def is_dnc(lead: dict[str, Any], dnc_numbers: set[str]) -> bool:
    return (lead["phone_e164"] or lead["phone_raw"]) in dnc_numbers


def wait_until(
    predicate: Any, timeout_s: float, daemon: Daemon | None = None, interval_s: float = 1.0
) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if daemon is not None and not daemon.alive():
            raise AssertionError(
                f"dialerd exited early ({daemon.proc.returncode}):\n{daemon.log_tail()}"
            )
        if predicate():
            return True
        time.sleep(interval_s)
    return False


def request_seat(db_url: str, seat_id: str, state: str) -> None:
    """What dialerctl or the CRM does: ask a seat to be ready, paused or logged out."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        request_seat_state(conn, seat_id, SeatRequest(state), datetime.now(UTC))
    engine.dispose()


def seat_state(db_url: str, seat_id: str) -> str:
    return next(s["state"] for s in snapshot(db_url).seats if s["id"] == seat_id)


def clear_leases(db_url: str) -> None:
    """Expire every lease (not used by the tests' checks; handy when debugging by hand)."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(update(campaign_leases).values(expires_at=datetime.now(UTC)))
    engine.dispose()


def behaviour_of(number: str) -> SimBehaviour | None:
    party = decode_sim_number(number)
    return party.behaviour if party else None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def compliance_violations(db_url: str) -> list[tuple[str, str, str]]:
    """The product's compliance audit (``dialerctl report compliance``) over everything in the
    database: each violation as (rule, attempt id, line); none when the records prove every rule
    was kept."""
    from dialer.reports import Period
    from dialer.reports.compliance import audit_campaigns

    period = Period(datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1))
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            audits = audit_campaigns(conn, period)
    finally:
        engine.dispose()
    return [(str(v.rule), v.attempt_id, f"{a.campaign}: {v}") for a in audits for v in a.violations]


def crash_settled(db_url: str) -> set[str]:
    """Attempts the daemon settled after a restart (in flight when its predecessor died)."""
    from dialer.daemon.reconcile import CRASH_CAUSE_TEXT

    return {str(a["id"]) for a in snapshot(db_url).attempts if a["cause_text"] == CRASH_CAUSE_TEXT}
