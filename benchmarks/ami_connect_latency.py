"""Answer-to-seat latency on the real sandboxed Asterisk, and the sandbox's start time.

Starts a sandbox instance on a free port (installing Asterisk first if needed, timed), logs in a
simulated seat, and places simulated human calls one after another with AMD off. On each
``CallAnswered`` the customer is redirected into the seat's bridge at once; the latency is the
time between receiving the answer (Newstate Up) and receiving ``ConfbridgeJoin`` for the customer:
what an agent waits between the customer's "hello" being over and hearing them. Baseline in the
same run: a bare AMI ``Ping`` round trip.

    .venv/bin/python benchmarks/ami_connect_latency.py [--calls 30] [--starts 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialer.engine.events import CallAnswered, CallConnected, CallHungUp, SeatPhoneUp
from dialer.telephony.ami import AmiServerConfig, AmiTelephony
from dialer.telephony.sandbox import Sandbox, free_port
from dialer.telephony.sim_numbers import SimBehaviour, sim_number


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(sandbox: Sandbox, calls: int) -> tuple[list[float], list[float]]:
    creds = sandbox.credentials()
    adapter = AmiTelephony(
        AmiServerConfig("bench", creds.host, creds.port, creds.username, creds.secret)
    )
    await adapter.start()
    stream = adapter.events()

    async def next_matching(predicate: object) -> float:
        async for event in stream:
            if predicate(event):  # type: ignore[operator]
                return time.perf_counter()
        raise RuntimeError("event stream ended")

    await adapter.login_seat("bench", "Local/seat-bench@sim-seats")
    await next_matching(lambda e: e == SeatPhoneUp("bench"))
    pings = []
    for _ in range(calls):
        started = time.perf_counter()
        await adapter._request({"Action": "Ping"})
        pings.append(time.perf_counter() - started)
    latencies = []
    for _ in range(calls):
        call_id = f"lat-{uuid.uuid4().hex[:10]}"
        await adapter.originate(
            call_id,
            sim_number(SimBehaviour.HUMAN, 0, 1),
            "+15550009999",
            10,
            variables={"DIALER_AMD": "0"},
        )
        answered = await next_matching(lambda e, c=call_id: e == CallAnswered(c))
        await adapter.connect_to_seat(call_id, "bench")
        connected = await next_matching(lambda e, c=call_id: e == CallConnected(c, "bench"))
        latencies.append(connected - answered)
        await next_matching(lambda e, c=call_id: isinstance(e, CallHungUp) and e.call_id == c)
    await adapter.logout_seat("bench")
    await adapter.close()
    return latencies, pings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--starts", type=int, default=3)
    options = parser.parse_args()
    sandbox = Sandbox(ami_port=free_port())
    installed_in = sandbox.ensure_installed()
    print(f"install: {'cached' if installed_in == 0 else f'{installed_in:.1f} s'} ({sandbox.root})")
    starts = []
    for _ in range(options.starts):
        t0 = time.perf_counter()
        sandbox.start()
        starts.append(time.perf_counter() - t0)
        sandbox.stop()
    print(
        f"start from cache until AMI login works: "
        f"{', '.join(f'{s:.2f}' for s in starts)} s (median {statistics.median(starts):.2f} s)"
    )
    sandbox.start()
    try:
        latencies, pings = asyncio.run(measure(sandbox, options.calls))
    finally:
        sandbox.stop(purge=True)
    ms = [x * 1000 for x in latencies]
    ping_ms = [x * 1000 for x in pings]
    print(
        f"answer -> customer in seat's bridge over {len(ms)} calls: "
        f"p50 {percentile(ms, 0.5):.1f} ms  p95 {percentile(ms, 0.95):.1f} ms  "
        f"max {max(ms):.1f} ms"
    )
    print(
        f"baseline AMI Ping round trip: p50 {percentile(ping_ms, 0.5):.2f} ms  "
        f"p95 {percentile(ping_ms, 0.95):.2f} ms"
    )
    print(
        f"ratio connect p50 / ping p50: "
        f"{percentile(ms, 0.5) / max(percentile(ping_ms, 0.5), 1e-6):.1f}"
    )


if __name__ == "__main__":
    main()
