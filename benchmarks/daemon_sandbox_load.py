"""The real ``dialerd`` driving the largest predictive campaign the Asterisk sandbox can carry.

For each seat count N (``--seats``, stepped up in order) the script starts a fresh sandbox on its
own AMI port, a fresh SQLite database (or a new database on ``--postgres URL``), a predictive
campaign with N simulated seats (Local channels nailed up in ConfBridge) and enough leads to keep
them busy for ``--minutes`` (mostly people who talk tens of seconds, plus answering machines,
busy, no answer, congestion, early hang-ups, invalid numbers: their behaviour is encoded in the
number, see docs/asterisk-sandbox.md), and runs the real ``dialerd`` subprocess. Every second it
samples the daemon's and Asterisk's CPU (user + system, /proc/PID/stat) and resident memory and
the load average; every ``--scrape-every`` seconds (5) the channels Asterisk has up (``core show
channels count``) and the daemon's /metrics (Originates sent, lines in flight, seats by state,
event-loop lag): each scrape costs the processes measured. After ``--minutes`` of
dialling the daemon is stopped (SIGTERM, short drain) and the attempts table gives the calls,
outcomes, live answers, abandons and the answer-to-seat latencies of every connected call:
``wait_s`` (AMD verdict = live answer -> customer in the seat's bridge, the law's 2 seconds) and
``connected_at - answered_at`` (pick-up -> seat, includes AMD).

Stepping stops at the first N where a limit shows: Asterisk above ``--asterisk-cpu-limit`` of a
core on average, live answer -> seat p99 above ``--p99-limit``, calls failing (outcome ``failed``:
the lead mix has no number that should fail), the daemon falling behind (event-loop lag above
0.25 s, dials refused for want of lines), no call placed within 120 s, or a process dying. The
abandon rate over the window (the ledger's, earlier shifts included) is printed as a finding.
``--idle-seats-only`` measures the baseline instead: Asterisk with N seats nailed up and no call.

    .venv/bin/python benchmarks/daemon_sandbox_load.py [--seats 10,25,50,100,150] [--minutes 3]
        [--postgres URL] [--wrapup-s 1] [--lines-per-seat 4] [--scrape-every 5] [--keep-going]
        [--idle-seats-only] [--work-dir DIR]

Needs root (the sandbox's chroot). Prints one table row per N, the latency figures, and where and
why stepping stopped; stops the daemon and the sandbox on Ctrl-C, SIGTERM or an error. The
machine's load average is printed next to every figure: other work on the same cores moves them.
No assertion on any figure.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, make_url, select, text

from dialer.store import make_engine
from dialer.store.schema import abandon_ledger, attempts
from dialer.telephony.sandbox import Sandbox, SandboxError, free_port
from dialer.telephony.sim_numbers import SimBehaviour, sim_number
from tests.e2e import harness as h

CAMPAIGN = "load"
ABANDON_CAP = 0.03
EVENT_LOOP_LAG_LIMIT_S = 0.25
#: Earlier shifts in the abandon window (live answers, abandons): a 1 % rate, so the predictive
#: pacing has budget to dial ahead (with little, it falls back to progressive after the opening
#: burst, and the run measures progressive dialling instead).
HISTORY = (6000, 60)

#: Share of leads by behaviour: mostly people, as in an outbound list of existing customers.
LEAD_MIX: dict[SimBehaviour, float] = {
    SimBehaviour.HUMAN: 0.65,
    SimBehaviour.MACHINE: 0.12,
    SimBehaviour.BUSY: 0.08,
    SimBehaviour.NO_ANSWER: 0.04,
    SimBehaviour.CONGESTION: 0.03,
    SimBehaviour.EARLY_HANGUP: 0.04,
    SimBehaviour.INVALID: 0.04,
}
AREAS = ("212", "646", "917", "718")
#: Seconds a person stays on the line after answering (uniform): "tens of seconds".
TALK_S = (10, 59)
#: Mean seconds one person occupies a seat: ring (~2.5) + AMD (~2) + talk + wrap-up (~1).
HUMAN_CYCLE_S = 2.5 + 2.0 + sum(TALK_S) / 2 + 1.0


# ----------------------------------------------------------------------------- processes


def naive_utc(moment: datetime) -> datetime:
    """SQLite gives naive UTC datetimes, PostgreSQL aware ones: compare them as naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int) -> tuple[float, float]:
    """(resident, peak resident) MiB of a process."""
    rss = peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return rss, peak


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def channels_in_use(sandbox: Sandbox) -> tuple[int, int]:
    """(active channels, active calls) from Asterisk's CLI; (-1, -1) when it does not answer."""
    try:
        out = sandbox.cli("core show channels count", timeout_s=5.0)
    except Exception:  # a lost sample, not a reason to stop the run
        return -1, -1
    found = dict(re.findall(r"(\d+) active (channels?|calls?)", out))
    by_kind = {kind.rstrip("s"): int(n) for n, kind in found.items()}
    return by_kind.get("channel", -1), by_kind.get("call", -1)


def scrape(base: str) -> str:
    try:
        with urllib.request.urlopen(f"{base}/metrics", timeout=2.0) as reply:
            return str(reply.read().decode())
    except OSError:
        return ""


def metric(body: str, name: str, labels: str = "") -> float:
    """Sum of the series of ``name`` whose labels contain ``labels`` (NaN if none)."""
    total, seen = 0.0, False
    for line in body.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if series.split("{", 1)[0] != name or labels not in series:
            continue
        total += float(value)
        seen = True
    return total if seen else math.nan


# ----------------------------------------------------------------------------- leads


def leads_for(seats: int, minutes: float, seed: int) -> list[h.LeadSpec]:
    """Enough leads of the mix to keep ``seats`` talking for ``minutes`` (with a 60 % margin)."""
    humans_needed = seats * minutes * 60 / HUMAN_CYCLE_S
    total = int(humans_needed / LEAD_MIX[SimBehaviour.HUMAN] * 1.6) + 50
    rng = random.Random(seed)
    prefixes = [f"+1{area}{exchange}" for area in AREAS for exchange in "23456789"]
    used: set[str] = set()
    specs: list[h.LeadSpec] = []
    for behaviour, share in LEAD_MIX.items():
        for _ in range(round(total * share)):
            while True:
                if behaviour is SimBehaviour.HUMAN:
                    ring, stay = rng.randint(1, 4), rng.randint(*TALK_S)
                elif behaviour is SimBehaviour.MACHINE:
                    ring, stay = rng.randint(1, 4), rng.randint(1, 5)
                elif behaviour is SimBehaviour.EARLY_HANGUP:
                    ring, stay = rng.randint(1, 4), 1
                else:  # the party never answers: TTT only makes the number unique
                    ring, stay = rng.randint(0, 3), rng.randint(0, 999)
                number = sim_number(behaviour, ring, stay, prefix=rng.choice(prefixes))
                if number not in used:
                    used.add(number)
                    specs.append(h.LeadSpec(number, behaviour))
                    break
    rng.shuffle(specs)
    return specs


# ----------------------------------------------------------------------------- one step


@dataclass
class Sample:
    t: float
    load: float
    daemon_cpu_s: float
    daemon_rss: float
    asterisk_cpu_s: float
    asterisk_rss: float
    channels: int
    calls: int
    dials: float
    lines_in_flight: float
    seats_ready: float
    loop_lag_s: float


@dataclass
class StepResult:
    seats: int
    leads: int
    samples: list[Sample] = field(default_factory=list)
    window_s: float = 0.0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    daemon_peak_rss: float = math.nan
    asterisk_peak_rss: float = math.nan
    rejected_dials: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    stopped_at: datetime | None = None
    #: (count, sum) of dialer_answer_to_seat_seconds at the stop.
    histogram: tuple[float, float] = (math.nan, math.nan)

    def settled(self) -> list[dict[str, Any]]:
        """Attempts that ended before the daemon was told to stop (the rest were cut by the
        drain: hung up with their calls still going)."""
        stop = self.stopped_at
        return [
            a
            for a in self.attempts
            if a["state"] == "ended"
            and a["ended_at"] is not None
            and (stop is None or naive_utc(a["ended_at"]) <= stop)
        ]

    def cut_by_stop(self) -> int:
        return len(self.attempts) - len(self.settled())

    # -- figures over the dialling window
    def _rate(self, attr: str) -> float:
        if len(self.samples) < 2:
            return math.nan
        first, last = self.samples[0], self.samples[-1]
        return (getattr(last, attr) - getattr(first, attr)) / max(last.t - first.t, 1e-9)

    @property
    def daemon_cpu(self) -> float:
        return 100 * self._rate("daemon_cpu_s")

    @property
    def asterisk_cpu(self) -> float:
        return 100 * self._rate("asterisk_cpu_s")

    def peak_asterisk_cpu_10s(self) -> float:
        """Highest Asterisk CPU over any 10-second stretch (% of one core)."""
        best = math.nan
        for i in range(len(self.samples)):
            j = next(
                (
                    k
                    for k in range(i, len(self.samples))
                    if self.samples[k].t - self.samples[i].t >= 10
                ),
                None,
            )
            if j is None:
                break
            a, b = self.samples[i], self.samples[j]
            value = 100 * (b.asterisk_cpu_s - a.asterisk_cpu_s) / (b.t - a.t)
            best = value if math.isnan(best) else max(best, value)
        return best

    @property
    def load(self) -> tuple[float, float]:
        loads = [s.load for s in self.samples]
        return (statistics.mean(loads), max(loads)) if loads else (math.nan, math.nan)

    def outcomes(self) -> Counter[str]:
        return Counter(str(a["outcome"]) for a in self.settled())

    def live_to_seat(self) -> list[float]:
        return [
            float(a["wait_s"])
            for a in self.attempts
            if a["connected_at"] is not None and a["wait_s"] is not None
        ]

    def pickup_to_seat(self) -> list[float]:
        return [
            (a["connected_at"] - a["answered_at"]).total_seconds()
            for a in self.attempts
            if a["connected_at"] is not None and a["answered_at"] is not None
        ]

    def seat_occupancy(self) -> float:
        """Share of seat-time in the window that seats spent not ready (reserved, talking,
        wrap-up), from the /metrics samples."""
        busy = [
            1 - s.seats_ready / self.seats for s in self.samples if not math.isnan(s.seats_ready)
        ]
        return statistics.mean(busy) if busy else math.nan


@contextlib.contextmanager
def fresh_database(postgres: str | None, work: Path, seats: int) -> Iterator[str]:
    """A new empty SQLite file, or a new database on the PostgreSQL server (dropped after)."""
    if postgres is None:
        yield f"sqlite:///{work / f'load-{seats}.db'}"
        return
    name = f"dialer_load_{seats}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_step(args: argparse.Namespace, seats: int, work: Path, sandbox_root: Path) -> StepResult:
    specs = leads_for(seats, args.minutes, seed=seats)
    result = StepResult(seats, len(specs))
    sandbox = Sandbox(sandbox_root, ami_port=free_port(), hold_s=20)
    daemon: h.Daemon | None = None
    try:
        creds = sandbox.start()
        with fresh_database(args.postgres, work, seats) as db_url:
            config = work / f"campaigns-{seats}.yaml"
            spec = {
                "mode": "predictive",
                "seats": [f"s{i}" for i in range(seats)],
                "cap": ABANDON_CAP,
                "max_lines": math.ceil(args.lines_per_seat * seats) + 20,
            }
            config.write_text(h.config_yaml(creds, {CAMPAIGN: spec}, max_channels=10 * seats + 200))
            h.prepare_database(db_url, config, {CAMPAIGN: specs}, history=HISTORY)
            daemon = h.start_daemon(
                config,
                db_url,
                creds,
                work / f"dialerd-{seats}.log",
                free_port(),
                drain_timeout_s=5.0,
                extra_env={"DIALER_AUTO_WRAPUP_S": str(args.wrapup_s)},
            )
            asterisk_pid = sandbox.pid()
            if asterisk_pid is None:
                raise SandboxError("the sandbox's Asterisk has no pid")
            sample_until_done(args, result, daemon, sandbox, asterisk_pid)
            result.daemon_peak_rss = memory_mib(daemon.proc.pid)[1]
            result.asterisk_peak_rss = memory_mib(asterisk_pid)[1]
            body = scrape(daemon.base)
            result.histogram = (
                metric(body, "dialer_answer_to_seat_seconds_count"),
                metric(body, "dialer_answer_to_seat_seconds_sum"),
            )
            for line in body.splitlines():
                if line.startswith("dialer_dials_rejected_total{"):
                    reason = re.search(r'reason="([^"]*)"', line)
                    if reason and float(line.rpartition(" ")[2]) > 0:
                        result.rejected_dials[reason.group(1)] = float(line.rpartition(" ")[2])
            result.stopped_at = datetime.now(UTC).replace(tzinfo=None)
            code = daemon.stop(timeout_s=60)
            if code != 0:
                result.problems.append(f"dialerd exited {code}")
            daemon = None
            engine = make_engine(db_url)
            try:
                with engine.connect() as conn:
                    result.attempts = [dict(r) for r in conn.execute(select(attempts)).mappings()]
                    ledger = conn.execute(select(abandon_ledger)).mappings()
                    result.ledger = [dict(r) for r in ledger]
            finally:
                engine.dispose()
    finally:
        if daemon is not None and daemon.alive():
            with contextlib.suppress(Exception):
                daemon.kill()
        sandbox.stop(purge=True)
    return result


def sample_until_done(
    args: argparse.Namespace,
    result: StepResult,
    daemon: h.Daemon,
    sandbox: Sandbox,
    asterisk_pid: int,
) -> None:
    """Wait for the first Originate, then sample every second for ``--minutes`` (the daemon's
    /metrics and Asterisk's channel count every ``--scrape-every`` seconds: each scrape costs the
    processes measured). A campaign that places no call within 120 s is a limit: the next 30 s
    are sampled all the same (what seats alone cost)."""
    window_s = args.minutes * 60
    deadline = time.monotonic() + 120
    while True:
        if not daemon.alive():
            raise RuntimeError(f"dialerd exited early:\n{daemon.log_tail()}")
        if metric(scrape(daemon.base), "dialer_dials_total") > 0:
            break
        if time.monotonic() > deadline:
            result.problems.append("no call placed within 120 s of the start")
            window_s = 30.0
            break
        time.sleep(0.5)
    started = time.monotonic()
    end = started + window_s
    next_tick = started
    body, channels, calls = "", -1, -1
    while (now := time.monotonic()) < end:
        if not daemon.alive():
            result.problems.append(f"dialerd died after {now - started:.0f} s")
            break
        if sandbox.pid() is None:
            result.problems.append(f"Asterisk died after {now - started:.0f} s")
            break
        if len(result.samples) % args.scrape_every == 0:
            body = scrape(daemon.base)
            channels, calls = channels_in_use(sandbox)
        result.samples.append(
            Sample(
                t=time.monotonic() - started,
                load=load_average(),
                daemon_cpu_s=cpu_seconds(daemon.proc.pid),
                daemon_rss=memory_mib(daemon.proc.pid)[0],
                asterisk_cpu_s=cpu_seconds(asterisk_pid),
                asterisk_rss=memory_mib(asterisk_pid)[0],
                channels=channels,
                calls=calls,
                dials=metric(body, "dialer_dials_total"),
                lines_in_flight=metric(body, "dialer_lines_in_flight"),
                seats_ready=metric(body, "dialer_seats", 'state="ready"'),
                loop_lag_s=metric(body, "dialer_event_loop_lag_seconds"),
            )
        )
        if len(result.samples) % 30 == 0:
            s = result.samples[-1]
            print(
                f"    t={s.t:4.0f}s dials={s.dials:5.0f} in-flight={s.lines_in_flight:3.0f} "
                f"channels={s.channels:4d} ready={s.seats_ready:3.0f} "
                f"dialerd={s.daemon_cpu_s:.0f}s asterisk={s.asterisk_cpu_s:.0f}s "
                f"load={s.load:.2f}",
                flush=True,
            )
        next_tick += 1.0
        time.sleep(max(0.0, next_tick - time.monotonic()))
    result.window_s = max(time.monotonic() - started, 1.0)


# ----------------------------------------------------------------------------- verdicts


def limits_hit(args: argparse.Namespace, r: StepResult) -> list[str]:
    """Why this N is at or beyond what the sandbox carries (empty: it carried it)."""
    why = list(r.problems)
    if r.asterisk_cpu >= args.asterisk_cpu_limit:
        why.append(f"Asterisk at {r.asterisk_cpu:.0f} % of a core on average")
    live = r.live_to_seat()
    if live and h.percentile(live, 0.99) > args.p99_limit:
        why.append(
            f"live answer -> seat p99 {h.percentile(live, 0.99) * 1000:.0f} ms "
            f"> {args.p99_limit * 1000:.0f} ms"
        )
    outcomes = r.outcomes()
    if outcomes["failed"]:
        why.append(f"{outcomes['failed']} calls failed")
    lags = [s.loop_lag_s for s in r.samples if not math.isnan(s.loop_lag_s)]
    if lags and max(lags) > EVENT_LOOP_LAG_LIMIT_S:
        why.append(f"dialerd event-loop lag up to {max(lags) * 1000:.0f} ms")
    if r.rejected_dials.get("line_limit"):
        why.append(f"dials refused at the line limit: {r.rejected_dials['line_limit']:.0f}")
    return why


def compliance(r: StepResult) -> str:
    """The abandon rate over the regulatory window as the daemon's ledger has it (earlier shifts
    included), at its highest during the run and at the end, against the cap: a finding, not a
    capacity limit. Also says whether the ledger agrees with the attempts' outcomes."""
    answers, abandons = HISTORY
    peak = (abandons / answers, abandons, answers)
    run_rows = sorted(
        (row for row in r.ledger if row["attempt_id"] is not None), key=lambda row: row["at"]
    )
    for row in run_rows:
        answers += row["kind"] == "live_answer"
        abandons += row["kind"] == "abandon"
        peak = max(peak, (abandons / answers, abandons, answers))
    verdict = "above" if peak[0] > ABANDON_CAP else "within"
    in_ledger = {row["attempt_id"] for row in run_rows if row["kind"] == "abandon"}
    outcome_abandoned = {a["id"] for a in r.attempts if a["outcome"] == "abandoned"}
    missing = len(outcome_abandoned - in_ledger)
    other = Counter(
        str(a["outcome"]) for a in r.attempts if a["id"] in in_ledger - outcome_abandoned
    )
    return (
        f"abandon rate over the window (ledger): highest {peak[1]}/{peak[2]} = {peak[0]:.2%}, "
        f"at the end {abandons}/{answers} = {abandons / answers:.2%} ({verdict} the "
        f"{ABANDON_CAP:.0%} cap; earlier shifts {HISTORY[1]}/{HISTORY[0]}); ledger abandons "
        f"with another outcome: {dict(other) or 0}; abandoned attempts missing from the "
        f"ledger: {missing}"
    )


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "-"
    return " / ".join(f"{h.percentile(values, q) * 1000:.0f}" for q in (0.5, 0.9, 0.99)) + (
        f" / {max(values) * 1000:.0f}"
    )


def report(args: argparse.Namespace, results: list[StepResult]) -> None:
    print(
        "\n| seats | leads | calls | calls/min | daemon CPU | daemon peak RSS | Asterisk CPU "
        "(avg / peak 10 s) | Asterisk peak RSS | peak channels (calls) | peak lines in flight "
        "| seats not ready (mean) | load avg (mean / max) |"
    )
    print("|" + "---|" * 12)
    for r in results:
        placed = [a for a in r.attempts if a["placed_at"] is not None]
        channels = max((s.channels for s in r.samples), default=-1)
        calls = max((s.calls for s in r.samples), default=-1)
        lines = max((s.lines_in_flight for s in r.samples), default=math.nan)
        load_mean, load_max = r.load
        print(
            f"| {r.seats} | {r.leads} | {len(placed)} | {len(placed) / (r.window_s / 60):.0f} "
            f"| {r.daemon_cpu:.1f} % | {r.daemon_peak_rss:.0f} MiB "
            f"| {r.asterisk_cpu:.0f} % / {r.peak_asterisk_cpu_10s():.0f} % "
            f"| {r.asterisk_peak_rss:.0f} MiB | {channels} ({calls}) | {lines:.0f} "
            f"| {r.seat_occupancy():.0%} | {load_mean:.2f} / {load_max:.2f} |"
        )
    print("\nAnswer -> seat latency, ms (p50 / p90 / p99 / max), over every connected call:")
    print(
        "\n| seats | connected | live answer (AMD verdict) -> seat | pick-up -> seat "
        "(incl. AMD) | abandons / live answers | event-loop lag max | outcomes |"
    )
    print("|" + "---|" * 7)
    for r in results:
        live = r.live_to_seat()
        outcomes = r.outcomes()
        answers = sum(1 for a in r.attempts if a["wait_s"] is not None)
        lags = [s.loop_lag_s for s in r.samples if not math.isnan(s.loop_lag_s)]
        print(
            f"| {r.seats} | {len(live)} | {fmt_ms(live)} | {fmt_ms(r.pickup_to_seat())} "
            f"| {outcomes['abandoned']} / {answers} "
            f"| {max(lags, default=math.nan) * 1000:.0f} ms "
            f"| {dict(outcomes.most_common())}, {r.cut_by_stop()} cut by the stop |"
        )
    for r in results:
        count, total = r.histogram
        dials = r.samples[-1].dials - r.samples[0].dials if len(r.samples) > 1 else math.nan
        cpu = r.samples[-1].daemon_cpu_s - r.samples[0].daemon_cpu_s if r.samples else math.nan
        print(
            f"  N={r.seats}: /metrics dialer_answer_to_seat_seconds count {count:.0f}, mean "
            f"{1000 * total / count if count else math.nan:.1f} ms; dialerd "
            f"{1000 * cpu / dials if dials else math.nan:.1f} ms CPU per call placed "
            "(all its work / calls)"
        )
        print(f"    {compliance(r)}")
        if r.rejected_dials:
            print(f"  N={r.seats}: dials refused by reason {r.rejected_dials}")


def idle_seats_cost(sandbox_root: Path, seats: int, settle_s: float = 8.0) -> None:
    """Baseline without the daemon: Asterisk's CPU with ``seats`` simulated seat phones nailed
    up in their ConfBridges (Originate as the daemon's login does) and no call at all."""
    sandbox = Sandbox(sandbox_root, ami_port=free_port(), hold_s=20)
    try:
        creds = sandbox.start()
        pid = sandbox.pid()
        assert pid is not None
        with socket.create_connection((creds.host, creds.port), timeout=10) as ami:
            ami.recv(128)
            ami.sendall(
                f"Action: Login\r\nUsername: {creds.username}\r\nSecret: {creds.secret}\r\n"
                "Events: off\r\n\r\n".encode()
            )
            empty = _cpu_share(pid, 10.0)
            for i in range(seats):
                ami.sendall(
                    f"Action: Originate\r\nChannel: Local/s{i}@sim-seats\r\n"
                    f"Context: dialer-seat\r\nExten: s{i}\r\nPriority: 1\r\nAsync: true\r\n"
                    "\r\n".encode()
                )
            time.sleep(settle_s)
            channels, _ = channels_in_use(sandbox)
            busy = _cpu_share(pid, 20.0)
        threads = len(list(Path(f"/proc/{pid}/task").iterdir()))
        print(
            f"| {seats} | {empty:.1f} % | {busy:.1f} % | {(busy - empty) / max(seats, 1):.2f} % "
            f"| {channels} | {threads} | {memory_mib(pid)[0]:.0f} MiB | {load_average():.2f} |",
            flush=True,
        )
    finally:
        sandbox.stop(purge=True)


def _cpu_share(pid: int, seconds: float) -> float:
    """Percent of one core the process used over the next ``seconds``."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--seats", default="10,25,50,100,150", help="seat counts to step through, in order"
    )
    parser.add_argument("--minutes", type=float, default=3.0, help="dialling time per step")
    parser.add_argument(
        "--postgres", help="server URL (postgresql+psycopg://...) instead of SQLite"
    )
    parser.add_argument(
        "--lines-per-seat",
        type=float,
        default=4.0,
        help="the campaign's pacing.max_lines = this x seats + 20",
    )
    parser.add_argument("--wrapup-s", type=float, default=1.0, help="timed wrap-up per call")
    parser.add_argument(
        "--asterisk-cpu-limit",
        type=float,
        default=90.0,
        help="stop stepping when Asterisk averages this %% of one core",
    )
    parser.add_argument(
        "--p99-limit",
        type=float,
        default=0.5,
        help="stop stepping when live answer -> seat p99 exceeds this (s)",
    )
    parser.add_argument(
        "--scrape-every", type=int, default=5, help="seconds between /metrics and channel reads"
    )
    parser.add_argument(
        "--idle-seats-only",
        action="store_true",
        help="only the baseline: Asterisk with N seats nailed up and no call, no daemon",
    )
    parser.add_argument("--keep-going", action="store_true", help="run every N, limits or not")
    parser.add_argument("--work-dir", type=Path, help="keep databases and logs here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("the Asterisk sandbox needs root (chroot)", file=sys.stderr)
        return 2
    steps = [int(n) for n in args.seats.split(",") if n.strip()]
    probe = Sandbox(ami_port=free_port())
    probe.ensure_installed()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="dialer-load-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"{os.cpu_count()} CPUs, load average {Path('/proc/loadavg').read_text().strip()}; "
        f"{args.minutes:g} min of dialling per step; work dir {work}"
    )
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    if args.idle_seats_only:
        print(
            "\n| seats | Asterisk CPU, no seat | with the seats | per seat | channels | threads "
            "| RSS | load avg |\n|---|---|---|---|---|---|---|---|"
        )
        try:
            for seats in steps:
                idle_seats_cost(probe.root, seats)
        except KeyboardInterrupt:
            print("\ninterrupted: the sandbox was stopped", file=sys.stderr)
        finally:
            if args.work_dir is None:
                shutil.rmtree(work, ignore_errors=True)
        return 0
    results: list[StepResult] = []
    stopped_by: tuple[int, list[str]] | None = None
    try:
        for seats in steps:
            print(f"\n== {seats} seats", flush=True)
            step_started = time.monotonic()
            result = run_step(args, seats, work, probe.root)
            results.append(result)
            why = limits_hit(args, result)
            print(
                f"  {len(result.attempts)} calls in {result.window_s:.0f} s of dialling "
                f"({time.monotonic() - step_started:.0f} s for the step); "
                f"limits: {'; '.join(why) or 'none'}",
                flush=True,
            )
            print(f"  {compliance(result)}", flush=True)
            if why:
                stopped_by = stopped_by or (seats, why)
                if not args.keep_going:
                    break
    except KeyboardInterrupt:
        print("\ninterrupted: the daemon and the sandbox were stopped", file=sys.stderr)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    if results:
        report(args, results)
    if stopped_by is not None:
        print(f"\nStepping stopped at N={stopped_by[0]}: {'; '.join(stopped_by[1])}")
    elif results:
        print(f"\nNo limit showed up to N={results[-1].seats}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
