"""How much of the gap to the clairvoyant bound is the forecast's: pacing told the truth.

An analysis tool, not a dial mode. It runs a scenario with the predictive policy unchanged, but
the forecasts it (and the budget guard) reads are replaced by what the simulator knows
will happen:

- ``talk``: each busy seat's true time until it is ready again (the talk's drawn end, plus the
  mean wrap-up; a seat in wrap-up, its drawn end). The policy still has to guess who answers.
- ``talk+inflight``: also each call in flight's fate: whether it will be a live answer and when.
  Only the new calls' own outcomes stay unknown.

Everything else (hit-rate estimate, budget controller, guard, thin-budget mode, ring trim) runs as
in the product. What it measures: the occupancy this *decision rule* reaches with perfect
knowledge of the seats, and of the seats and the lines; the difference to the estimated
forecasts is what a better forecast could at most be worth.

    python -m simulations.benchmarks.forecast_oracle simulations/scenarios/base-25.yaml --seeds 1-4

Works by swapping the forecast functions for the length of one run (the runs of a process are
sequential; ``--workers`` runs seeds in separate processes).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

import dialer.engine.runner as runner_module
import pacing.policies as policies_module
from pacing.estimators import FloatArray
from pacing.model import PacingModel
from pacing.risk import ForecastMoments
from simulations import simulator as sim_module
from simulations.scenario import Scenario, load_scenario

KINDS = ("none", "talk", "talk+inflight")


def _ready_in(sim: sim_module._Sim, now: float) -> FloatArray:
    """Seconds until each busy seat is ready: seats talking, then seats in wrap-up."""
    wrap_mean = sim.regime.wrapup.mean
    talking, wrapping = [], []
    for t, _, kind, _payload in sim.heap:
        if kind == sim_module._TALK_END:
            talking.append(t - now + wrap_mean)
        elif kind == sim_module._WRAP_END:
            wrapping.append(t - now)
    return np.array(sorted(talking) + sorted(wrapping), dtype=np.float64)


def _live_in(sim: sim_module._Sim, now: float) -> FloatArray:
    """Seconds until each call in flight that will be a live answer is answered."""
    out = []
    for t, _, kind, payload in sim.heap:
        if kind == sim_module._ANSWER and payload[1] and payload[0] not in sim.hung_up:
            out.append(t - now)
    return np.array(sorted(out), dtype=np.float64)


def _columns(times: FloatArray, n: int) -> FloatArray:
    """``n`` columns (the runner's count): the known times, padded with "never"."""
    if times.size >= n:
        return times[:n]
    return np.concatenate([times, np.full(n - times.size, np.inf)])


@contextlib.contextmanager
def oracle_forecasts(sim: sim_module._Sim, kind: str) -> Iterator[None]:
    """For the length of the block, ``sim``'s runner forecasts with the simulator's truth."""
    if kind not in KINDS:
        raise ValueError(f"oracle must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "none":
        yield
        return
    runner = sim.runner
    clock = [0.0]
    original_snapshot = runner.snapshot
    original_live = PacingModel.live_answer_by

    def snapshot(now: float) -> Any:
        clock[0] = now
        return original_snapshot(now)

    def seat_free(m: PacingModel, talk: FloatArray, wrap: FloatArray) -> FloatArray:
        ready = _columns(_ready_in(sim, clock[0]), talk.size + wrap.size)
        return (ready[None, :] <= m.within[:, None]).astype(np.float64)

    def live_by(m: PacingModel, ages: FloatArray) -> FloatArray:
        live = _columns(_live_in(sim, clock[0]), ages.size)
        return (live[None, :] <= m.horizons[:, None]).astype(np.float64)

    def moments(
        m: PacingModel, talk: FloatArray, wrap: FloatArray, ages: FloatArray
    ) -> ForecastMoments:
        r = live_by(m, ages) if kind == "talk+inflight" else original_live(m, ages)
        return ForecastMoments.of(seat_free(m, talk, wrap), r)

    patches: list[tuple[Any, str, Callable[..., Any]]] = [
        (runner_module, "seat_free_forecast", seat_free),
        (policies_module, "seat_free_forecast", seat_free),
        (PacingModel, "moments", moments),
    ]
    if kind == "talk+inflight":
        patches.append((PacingModel, "live_answer_by", live_by))
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        runner.snapshot = snapshot  # type: ignore[method-assign]
        for owner, name, fn in patches:
            setattr(owner, name, fn)
        yield
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
        runner.snapshot = original_snapshot  # type: ignore[method-assign]


def run(scenario: Scenario, seed: int, kind: str) -> sim_module.SimResult:
    """One replication of ``scenario`` under the oracle ``kind`` (``none``: the product)."""
    sim = sim_module._Sim(scenario, seed, "predictive", 60.0, False)
    with oracle_forecasts(sim, kind):
        return sim.run()


def _one(args: tuple[str, int, str]) -> tuple[float, float, float]:
    path, seed, kind = args
    r = run(load_scenario(path), seed, kind)
    return r.talk_occupancy, r.abandon_rate, r.max_abandon_rate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--seeds", default="1-4", help="A-B (default 1-4)")
    ap.add_argument("--oracles", default=",".join(KINDS), help=f"comma list of {KINDS}")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    lo, _, hi = a.seeds.partition("-")
    seeds = list(range(int(lo), int(hi or lo) + 1))
    kinds = [k.strip() for k in a.oracles.split(",")]
    for kind in kinds:
        if kind not in KINDS:
            ap.error(f"--oracles: {kind!r} is not one of {', '.join(KINDS)}")
    print(f"{a.scenario}, seeds {a.seeds}")
    print(f"{'forecast':<16} {'talk occ.':>9} {'abandons':>9} {'worst moment':>12}  per seed")
    with ProcessPoolExecutor(max(1, a.workers)) as pool:
        for kind in kinds:
            rs = list(pool.map(_one, [(a.scenario, s, kind) for s in seeds]))
            occ = statistics.fmean(r[0] for r in rs)
            ab = statistics.fmean(r[1] for r in rs)
            worst = max(r[2] for r in rs)
            per = " / ".join(f"{r[0]:.3f}" for r in rs)
            label = "estimated" if kind == "none" else kind
            print(f"{label:<16} {occ:>9.4f} {ab:>9.4f} {worst:>12.4f}  {per}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
