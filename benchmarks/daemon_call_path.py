"""What one call costs dialerd's campaign worker, from the claim to the finished attempt row.

The real ``CampaignWorker`` runs against a real SQLite (or PostgreSQL) database and a stand-in
telephony that answers every Originate at once with the events Asterisk sends for a human call
connected to a seat (ringing, answered, AMD human, connected, customer left, hung up). Each call
therefore goes through the whole daemon path: lead claim and dial-time checks, caller ID, attempt
created and committed, Originate, six events through the runner, progress writes, the finished
attempt with the lead's retry update and the abandon ledger. Baseline in the same run: the pure
engine alone (``CampaignRunner``) fed the same calls and events, no database.

    .venv/bin/python benchmarks/daemon_call_path.py [--calls 3000] [--seats 100] [--postgres URL]
        [--log-level info]

Prints calls, events, wall and CPU seconds, calls per CPU-second and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select

from dialer.config import load_config_text
from dialer.daemon.campaign_settings import runner_config
from dialer.daemon.campaign_worker import CampaignWorker, Shared
from dialer.daemon.db_writer import DbWriter
from dialer.engine.events import (
    AmdResult,
    AmdStatus,
    CallAnswered,
    CallConnected,
    CallHungUp,
    CallRinging,
    ConnectToSeat,
    CustomerLeftSeat,
    SeatPhoneUp,
)
from dialer.engine.runner import CampaignRunner
from dialer.obs.logs import configure_logging
from dialer.obs.metrics import DialerMetrics
from dialer.states import CampaignState, SeatRequest
from dialer.store import make_engine, upgrade
from dialer.store.apply_config import apply_config
from dialer.store.campaigns import set_desired_state
from dialer.store.schema import attempts, leads
from dialer.store.seats import request_seat_state

CONFIG = """
asterisk:
  - {{name: sandbox, username: u, secret: s, max_channels: 100000}}
seats:
{seats}
caller_id_pools:
  pool: {{numbers: ["+12125550100", "+12125550101", "+16465550102"]}}
campaigns:
  bench:
    dial_mode: progressive
    seat_group: all
    calling_hours: {{window: "00:00-23:59"}}
    caller_id: {{pool: pool, max_calls_per_hour: null, max_calls_per_day: null,
                quarantine: {{enabled: false}}}}
    amd: {{enabled: true}}
seat_groups:
  all: [{seat_ids}]
"""


class InstantTelephony:
    """Every Originate is a person who answers; commands are only counted."""

    def __init__(self) -> None:
        self.servers = {"sandbox": self}
        self.free_capacity = 100_000
        self.originated: list[str] = []
        self.connects: list[ConnectToSeat] = []

    async def originate(self, call_id: str, *args: Any, **kwargs: Any) -> None:
        self.originated.append(call_id)

    async def connect_to_seat(self, call_id: str, seat_id: str) -> None:
        self.connects.append(ConnectToSeat(call_id, seat_id))

    async def login_seat(self, seat_id: str, endpoint: str, server: str | None = None) -> None:
        pass

    async def logout_seat(self, seat_id: str) -> None:
        pass

    async def hangup(self, call_id: str) -> None:
        pass

    async def play_safe_harbour_and_hangup(self, call_id: str) -> None:
        pass

    async def live_channels(self) -> list[Any]:
        return []


class Router:
    def register_call(self, call_id: str, worker: CampaignWorker) -> None:
        pass

    def register_seat(self, seat_id: str, worker: CampaignWorker) -> None:
        pass

    def forget_seat(self, seat_id: str) -> None:
        pass


def prepare(url: str, calls: int, seats: int) -> Any:
    upgrade(url)
    seat_lines = "\n".join(f"  b{i}: {{endpoint: Local/b{i}@sim-seats}}" for i in range(seats))
    ids = ", ".join(f"b{i}" for i in range(seats))
    config = load_config_text(CONFIG.format(seats=seat_lines, seat_ids=ids), "bench.yaml")
    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        apply_config(conn, config, now)
        for i in range(seats):
            request_seat_state(conn, f"b{i}", SeatRequest.READY, now)
        rows = [
            {
                "campaign": "bench",
                "phone_e164": f"+1212{2 + i // 10_000_000 % 8}{i % 10_000_000:06d}",
                "country": "US",
                "time_zone": "America/New_York",
                "validated_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(calls)
        ]
        conn.execute(insert(leads), rows)
        set_desired_state(conn, "bench", CampaignState.RUNNING, now)
    engine.dispose()
    return config


def call_events(call_id: str, seat_id: str) -> list[Any]:
    return [
        CallConnected(call_id, seat_id),
        CustomerLeftSeat(call_id, seat_id),
        CallHungUp(call_id, 16),
    ]


async def run_daemon_path(url: str, config: Any, calls: int, seats: int) -> Mapping[str, float]:
    engine = make_engine(url)
    metrics = DialerMetrics()
    metrics.add_campaign("bench", 0.03)
    writer = DbWriter(engine, metrics)
    writer.start()
    telephony = InstantTelephony()
    shared = Shared(
        engine, telephony, writer, metrics, Router(), "bench-daemon",  # type: ignore[arg-type]
        {"sandbox": True}, config, asyncio.Event(), lambda: math.inf,
    )  # fmt: skip
    worker = CampaignWorker("bench", shared)
    worker.wrapup_s = 0.0
    assert await worker._acquire()
    await worker._startup()
    await worker._sync_seats(time.time())
    for i in range(seats):
        await worker.handle(SeatPhoneUp(f"b{i}"))
    events = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    done = 0
    while done < calls:
        await worker._renew_lease_if_due()  # what the worker's own loop does
        before = len(telephony.originated)
        await worker._dial_step(time.time())
        placed = telephony.originated[before:]
        if not placed:
            worker._auto_ready(time.time())
            await asyncio.sleep(0)
            continue
        for call_id in placed:
            for event in (CallRinging(call_id), CallAnswered(call_id)):
                await worker.handle(event)
            await worker.handle(AmdResult(call_id, AmdStatus.HUMAN, "HUMAN-800-800"))
            events += 3
        connects, telephony.connects = telephony.connects, []
        for command in connects:
            for event in call_events(command.call_id, command.seat_id):
                await worker.handle(event)
                events += 1
        done += len(placed)
        worker._auto_ready(time.time())
    await writer.flush(120.0)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    with engine.connect() as conn:
        ended = conn.execute(
            select(func.count()).select_from(attempts).where(attempts.c.state == "ended")
        ).scalar_one()
    await writer.close()
    engine.dispose()
    if ended != calls:
        raise SystemExit(f"only {ended} of {calls} attempts were finished")
    return {"calls": calls, "events": events, "cpu_s": cpu, "wall_s": wall}


def run_baseline(config: Any, calls: int, seats: int) -> Mapping[str, float]:
    runner = CampaignRunner(runner_config(config.campaigns["bench"]))
    now = time.time()
    for i in range(seats):
        runner.seat_login(f"b{i}", now)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    events = done = 0
    while done < calls:
        now = time.time()
        n = min(runner.dial_demand(now), calls - done)
        placed = [f"call-{done + k}" for k in range(n)]
        for k, call_id in enumerate(placed):
            runner.call_placed(call_id, done + k, "+12125550000", "+12125550100", now)
        connects = []
        for call_id in placed:
            runner.on_event(CallRinging(call_id), now)
            runner.on_event(CallAnswered(call_id), now)
            connects += runner.on_event(AmdResult(call_id, AmdStatus.HUMAN), now)
            events += 3
        for command in connects:
            for event in call_events(command.call_id, command.seat_id):
                runner.on_event(event, now)
                events += 1
        for seat_id in list(runner.seats.seats):
            if runner.seats.get(seat_id).state.value == "wrapup":
                runner.seat_ready(seat_id, now)
        runner.drain_records()
        runner.drain_ledger()
        done += n
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"calls": calls, "events": events, "cpu_s": cpu, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seats", type=int, default=100)
    parser.add_argument("--postgres", help="a fresh PostgreSQL database URL (default: SQLite)")
    parser.add_argument("--log-level", default="info", help="dialerd's JSON logs go to /dev/null")
    args = parser.parse_args()
    devnull = open(os.devnull, "w")  # noqa: SIM115 - kept open for the whole run
    configure_logging(args.log_level, stream=devnull, json=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        config = prepare(url, args.calls, args.seats)
        daemon = asyncio.run(run_daemon_path(url, config, args.calls, args.seats))
        base = run_baseline(config, args.calls, args.seats)
    kind = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{'path':<34} {'calls':>6} {'events':>7} {'wall s':>7} {'cpu s':>7} {'calls/cpu-s':>11}")
    for label, fig in ((f"daemon worker + {kind}", daemon), ("baseline: engine only", base)):
        rate = fig["calls"] / max(fig["cpu_s"], 1e-9)
        print(
            f"{label:<34} {fig['calls']:>6.0f} {fig['events']:>7.0f} {fig['wall_s']:>7.2f} "
            f"{fig['cpu_s']:>7.2f} {rate:>11.0f}"
        )
    ratio = daemon["cpu_s"] / max(base["cpu_s"], 1e-9)
    per_call_ms = 1000 * daemon["cpu_s"] / daemon["calls"]
    print(f"daemon CPU per call: {per_call_ms:.2f} ms; ratio daemon / engine-only CPU: {ratio:.1f}")


if __name__ == "__main__":
    main()
