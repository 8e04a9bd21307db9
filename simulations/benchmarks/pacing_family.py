"""Pacing benchmark: progressive, best fixed ratio (hindsight), and predictive on a scenario family.

Family: seats x hit rate x talk mean x (steady | hit-rate collapse at mid-shift), lognormal talk
(sd = 0.8 x mean), 5 s wrap-up, 20 % busy, no machines, answer delay lognormal(12, 6), 3 % cap.
For each scenario the best fixed ratio is found by bisection on R (largest R whose abandon rate
stays under the cap on every seed; abandon rate grows with R), then evaluated with the other modes
on the same seeds. Also measured: wall and CPU time of an 8-hour 100-seat shift, and the cost of
one pacing decision at 25 / 100 / 500 seats (snapshots taken from live simulations).

    .venv/bin/python simulations/benchmarks/pacing_family.py --duration 1h --seeds 2 \
        --seats 5,10,25,50,100 --workers 2 --write-docs

Writes a markdown table to the "pacing" section of docs/benchmarks.md (between markers) and plots
to docs/img/ when ``--write-docs`` is given; always prints the table. After a pacing change,
``--reuse-fixed simulations/benchmarks/results/family-2h-2seeds.json`` (with that run's
``--duration 2h --seeds 2``) re-runs predictive and adaptive alone, ``--verify-seeds 10``
re-checks on new seeds every hindsight ratio that beat predictive, ``--hindsight-seeds 10``
searches those ratios again on ten seeds, predictive on the same ten (these two also on the
rows of a ``--from-json`` file), and ``--hindsight-check 100`` runs the ten-seed ratios that
still beat predictive, and predictive, on a hundred seeds neither search saw, and searches there
the largest ratio that keeps the cap on all hundred.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from simulations.scenario import Scenario, parse_scenario  # noqa: E402
from simulations.simulator import simulate  # noqa: E402

BEGIN, END = "<!-- pacing:begin -->", "<!-- pacing:end -->"
NOTES = "<!-- pacing:notes -->"  # what follows it, up to END, is written by hand and kept


def family_scenario(
    seats: int, hit: float, talk: float, collapse: bool, duration: float
) -> Scenario:
    raw: dict[str, Any] = {
        "name": f"s{seats}-h{hit:g}-t{talk:g}{'-collapse' if collapse else ''}",
        "seed": 1,
        "duration": duration,
        "seats": seats,
        "talk": {"dist": "lognormal", "mean": talk, "sd": 0.8 * talk},
        "wrapup": {"dist": "constant", "value": 5},
        "outcomes": {"human": hit, "machine": 0.0, "busy": 0.2},
        "answer_delay": {"dist": "lognormal", "mean": 12, "sd": 6},
        "busy_delay": 4,
        "no_answer_timeout": 20,
        "connect_window": 2,
        "campaign": {"mode": "predictive", "abandon_cap": 0.03, "window": "24h"},
    }
    if collapse:
        raw["changes"] = [{"at": duration / 2, "outcomes": {"human": round(hit * 0.4, 4)}}]
    return parse_scenario(raw, raw["name"])


def _run(args: tuple[Scenario, str, list[int]]) -> dict[str, float]:
    sc, mode, seeds = args
    rs = [simulate(sc, s, mode, record_series=False) for s in seeds]
    cap = sc.campaign.abandon_cap
    return {
        "occ": statistics.fmean(r.talk_occupancy for r in rs),
        "abandon": max(r.abandon_rate for r in rs),
        "max_cum": max(r.max_abandon_rate for r in rs),
        "breaches": sum(r.max_abandon_rate > cap + 1e-12 for r in rs),  # seeds over the cap
        "seeds": len(rs),
        "cpu": sum(r.wall_s for r in rs),
    }


def best_ratio(
    sc: Scenario, seeds: list[int], hit: float, iters: int, strict: bool, runs: dict[float, dict]
) -> tuple[float, dict]:
    """Largest R (bisection on log R) whose every seed kept the cap: at every instant
    (``strict``, the rule predictive is held to) or over the whole run only. ``runs`` caches the
    runs by R (the two searches share them)."""
    cap = sc.campaign.abandon_cap
    key = "max_cum" if strict else "abandon"

    def run(r: float) -> dict:
        if r not in runs:
            runs[r] = _run((sc, f"ratio:{r:.4f}", seeds))
        return runs[r]

    lo, hi = 1.0, max(2.0, 3.0 / hit)
    best = (1.0, run(1.0))
    for _ in range(iters):
        mid = round(math.sqrt(lo * hi), 4)
        res = run(mid)
        if res[key] <= cap:
            lo = mid
            if res["occ"] >= best[1]["occ"]:
                best = (mid, res)
        else:
            hi = mid
    return best


def evaluate(
    point: tuple[int, float, float, bool, float, list[int], int],
    fixed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One scenario of the family: progressive, the best fixed ratios and predictive, or only
    predictive when ``fixed`` holds this scenario's progressive and fixed-ratio columns from an
    earlier run with the same duration and seeds (see ``--reuse-fixed``)."""
    seats, hit, talk, collapse, duration, seeds, iters = point
    sc = family_scenario(seats, hit, talk, collapse, duration)
    if fixed is not None:
        pred = _run((sc, "predictive", seeds))
        return {
            **fixed,
            **(_adaptive(sc, seeds) if "adaptive" not in fixed else {}),
            "predictive": pred["occ"],
            "pred_abandon": pred["abandon"],
            "pred_max_cum": pred["max_cum"],
            "pred_cpu": pred["cpu"],
        }
    prog = _run((sc, "progressive", seeds))
    runs: dict[float, dict] = {}
    strict_r, strict = best_ratio(sc, seeds, hit, iters, True, runs)
    loose_r, loose = best_ratio(sc, seeds, hit, iters, False, runs)
    pred = _run((sc, "predictive", seeds))
    return {
        "scenario": sc.name,
        "seats": seats,
        "hit": hit,
        "talk": talk,
        "collapse": collapse,
        "progressive": prog["occ"],
        "best_ratio": strict_r,
        "ratio_occ": strict["occ"],
        "ratio_abandon": strict["abandon"],
        "ratio_max_cum": strict["max_cum"],
        "loose_ratio": loose_r,
        "loose_occ": loose["occ"],
        "loose_abandon": loose["abandon"],
        "loose_max_cum": loose["max_cum"],
        **_adaptive(sc, seeds),
        "predictive": pred["occ"],
        "pred_abandon": pred["abandon"],
        "pred_max_cum": pred["max_cum"],
        "pred_cpu": pred["cpu"],
    }


def _adaptive(sc: Scenario, seeds: list[int]) -> dict[str, Any]:
    """The VICIdial-style adaptive dial level (``pacing.policies.AdaptivePolicy``, hard limit)
    on the same seeds: the kind of dialer the product is meant to beat."""
    res = _run((sc, "adaptive", seeds))
    return {
        "adaptive": res["occ"],
        "adapt_abandon": res["abandon"],
        "adapt_max_cum": res["max_cum"],
    }


def verify(
    row: dict[str, Any], duration: float, seeds: list[int], runs: dict[float, dict] | None = None
) -> dict[str, Any]:
    """Where the hindsight ratio beat predictive: both again on ``seeds`` (new ones), counting
    the seeds on which each broke the cap at some moment. A ratio picked because it happened to
    keep the cap on the benchmark's few seeds is a bet, and this shows how often it loses.
    ``runs``, if given, keeps the ratio's run by R (the cache :func:`best_ratio` reads)."""
    sc = family_scenario(row["seats"], row["hit"], row["talk"], row["collapse"], duration)
    ratio = _run((sc, f"ratio:{row['best_ratio']:.4f}", seeds))
    if runs is not None:
        runs[row["best_ratio"]] = ratio
    pred = _run((sc, "predictive", seeds))
    return {
        "scenario": row["scenario"],
        "best_ratio": row["best_ratio"],
        "seeds": len(seeds),
        "ratio_occ": ratio["occ"],
        "ratio_breaches": ratio["breaches"],
        "pred_occ": pred["occ"],
        "pred_breaches": pred["breaches"],
    }


def hindsight(row: dict[str, Any], duration: float, seeds: list[int], iters: int) -> dict[str, Any]:
    """Where the best strict ratio beat predictive: the hindsight search again, on ``seeds``
    (more of them), and predictive on the same seeds. A ratio found on two seeds is the one that
    happened to keep the cap on those two; on ten it has to keep it on all ten."""
    sc = family_scenario(row["seats"], row["hit"], row["talk"], row["collapse"], duration)
    r, ratio = best_ratio(sc, seeds, row["hit"], iters, True, {})
    pred = _run((sc, "predictive", seeds))
    return {
        "scenario": row["scenario"],
        "seeds": len(seeds),
        "best_ratio": r,
        "ratio_occ": ratio["occ"],
        "pred_occ": pred["occ"],
        "pred_breaches": pred["breaches"],
    }


def cap_check(point: tuple[int, float, float, bool, float, list[int], int]) -> dict[str, Any]:
    """Predictive alone on the point's seeds: the seeds over the cap and the worst moment."""
    seats, hit, talk, collapse, duration, seeds, _ = point
    sc = family_scenario(seats, hit, talk, collapse, duration)
    return {"scenario": sc.name, **_run((sc, "predictive", seeds))}


#: Predictive / progressive pairs timed on the 8-hour shift: this VM's speed drifts by a third
#: over minutes, so one run says little; the pairs show the spread and the ratio within each.
SHIFT_REPEATS = 3


def shift_timing(repeats: int = SHIFT_REPEATS, duration_s: float = 8 * 3600) -> dict[str, Any]:
    """Time an 8-hour (``duration_s``) 100-seat shift (hit 0.25, talk 150 s): predictive, then
    progressive as the baseline, ``repeats`` times, in a process that has simulated before.

    A process's first simulation also loads the compiled kernels from numba's cache and
    scipy's lazily imported parts (~0.3-0.8 s, once per process, whatever the shift's length):
    a 5-minute warm-up pays that and is reported apart (``first_call``), as is the whole
    ``pacing-sim run`` command of the 8-hour shift from a cold start (``cold_command``: imports,
    that first call and the shift).

    The same shift with the hit rate falling to 0.10 at mid-shift, as in base-25, is timed
    alongside (``collapse_*``): its second half needs 2.5 times the dials per
    connect, and dials, not decisions, are most of a shift's events."""
    raw = json.loads(json.dumps(family_scenario(100, 0.25, 150, False, duration_s).raw))
    sc = parse_scenario(raw, "big-100")
    raw_c = json.loads(json.dumps(family_scenario(100, 0.25, 150, True, duration_s).raw))
    sc_c = parse_scenario(raw_c, "big-100-collapse")
    warm = parse_scenario(raw | {"duration": 300}, "big-100-warm-up")
    c0 = time.process_time()
    simulate(warm, 1, "predictive", record_series=False)
    first_call = time.process_time() - c0
    c0 = time.process_time()
    simulate(warm, 1, "predictive", record_series=False)
    first_call -= time.process_time() - c0
    pred: list[float] = []
    prog: list[float] = []
    coll: list[float] = []
    for _ in range(repeats):
        c0 = time.process_time()
        r = simulate(sc, 1, "predictive", record_series=False)
        pred.append(time.process_time() - c0)
        c0 = time.process_time()
        simulate(sc, 1, "progressive", record_series=False)
        prog.append(time.process_time() - c0)
        c0 = time.process_time()
        rc = simulate(sc_c, 1, "predictive", record_series=False)
        coll.append(time.process_time() - c0)
    return {
        "cpu": min(pred),
        "cpu_max": max(pred),
        "prog_cpu": min(prog),
        "prog_cpu_max": max(prog),
        "ratios": [p / q for p, q in zip(pred, prog, strict=True)],
        "first_call": first_call,
        "cold_command": _cold_command(raw),
        "dials": r.dials,
        "occ": r.talk_occupancy,
        "abandon": r.abandon_rate,
        "collapse_cpu": min(coll),
        "collapse_cpu_max": max(coll),
        "collapse_dials": rc.dials,
        "collapse_cold_command": _cold_command(raw_c),
    }


def _cold_command(raw: dict[str, Any]) -> float:
    """Wall seconds of ``pacing-sim run`` on the shift's scenario in a new process."""
    import subprocess
    import tempfile

    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big-100.yaml"
        path.write_text(yaml.safe_dump(raw))
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "bin" / "pacing-sim"), "run", str(path), "--seeds", "1"],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - t0


def decision_cost(seats: int) -> dict[str, float]:
    """CPU microseconds per decision at ``seats`` seats, mid-shift: the policy alone on captured
    snapshots, and the whole dial step (snapshot with forecasts and budget guard, then the
    policy) on copies of the runner taken at the same moments."""
    import copy

    from simulations.simulator import _Sim

    sc = family_scenario(seats, 0.25, 150, False, 1800 + 60)
    sim = _Sim(sc, 1, "predictive", 60.0, False)
    captured: list[Any] = []
    runners: list[Any] = []
    orig = sim._dial

    def dial(now: float) -> None:
        if now >= 1800 and len(captured) < 20 and int(now) % 3 == 0:
            captured.append((sim.runner.snapshot(now), now))
            runners.append((copy.deepcopy(sim.runner), now))
        orig(now)

    sim._dial = dial  # type: ignore[method-assign]
    sim.run()
    policy = sim.runner.policy
    n = 200
    c0 = time.process_time()
    for _ in range(n):
        for snap, now in captured:
            policy.decide(snap, now)
    per = (time.process_time() - c0) / (n * len(captured))
    c0 = time.process_time()
    for _ in range(n):
        for runner, now in runners:
            runner.policy.decide(runner.snapshot(now), now)
    step = (time.process_time() - c0) / (n * len(runners))
    return {
        "seats": seats,
        "decide_us": per * 1e6,
        "step_us": step * 1e6,
        "samples": len(captured),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", default="1h", help="shift length per run (e.g. 1h, 8h)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--seats", default="5,10,25,50,100,250")
    ap.add_argument("--hits", default="0.05,0.25,0.6")
    ap.add_argument("--talks", default="45,300")
    ap.add_argument("--collapse", default="no,yes")
    ap.add_argument("--ratio-iters", type=int, default=6)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--timing-only", action="store_true", help="only the speed figures")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="save results (rows, timing)")
    ap.add_argument("--from-json", type=Path, default=None, help="render saved results only")
    ap.add_argument("--elapsed", type=float, default=0.0, help="with --from-json: run time")
    ap.add_argument(
        "--reuse-fixed",
        type=Path,
        default=None,
        help="take the progressive and fixed-ratio columns from this saved --json run (same\n"
        "duration and seeds) and re-run predictive only: fixed ratios do not use the\n"
        "forecast, the threshold or the budget controller (pacing changes leave them as they\n"
        "were)",
    )
    ap.add_argument(
        "--verify-seeds",
        type=int,
        default=0,
        help="re-run the scenarios where the best strict ratio beat predictive on this many\n"
        "new seeds, both modes, and count the seeds on which each broke the cap (with\n"
        "--from-json: on the saved rows, saved back with --json)",
    )
    ap.add_argument(
        "--hindsight-seeds",
        type=int,
        default=0,
        help="where the best strict ratio beat predictive, search the best strict ratio again on\n"
        "seeds 1..N and run predictive on the same seeds (with --from-json: on the saved\n"
        "rows, saved back with --json)",
    )
    ap.add_argument(
        "--hindsight-check",
        type=int,
        default=0,
        metavar="N",
        help="where a hindsight ratio of --hindsight-seeds still beat predictive, run both on\n"
        "the N seeds after the search's, count the seeds on which each broke the cap, and\n"
        "search the largest ratio that kept it on all N (with --from-json: on the saved\n"
        "hindsight rows, saved back with --json)",
    )
    ap.add_argument(
        "--cap-check",
        default=None,
        metavar="SEEDS",
        help="only predictive, on these seeds (A-B or A,B,C) of every scenario selected:\n"
        "print the seeds that broke the cap at some moment and each scenario's worst moment",
    )
    a = ap.parse_args()
    from simulations.scenario import parse_duration

    duration = parse_duration(a.duration, "--duration")
    seeds = list(range(1, a.seeds + 1))
    points = [
        (int(s), float(h), float(t), c == "yes", duration, seeds, a.ratio_iters)
        for s, h, t, c in itertools.product(
            a.seats.split(","), a.hits.split(","), a.talks.split(","), a.collapse.split(",")
        )
    ]
    if a.from_json:
        saved = json.loads(a.from_json.read_text())
        if saved.get("reused_fixed") and a.reuse_fixed is None:
            a.reuse_fixed = a.from_json  # (so the table says where its fixed columns came from)
        if a.verify_seeds or a.hindsight_seeds or a.hindsight_check:
            with ProcessPoolExecutor(a.workers) as pool:
                if a.verify_seeds:
                    ran_on = saved.get("seeds", seeds)
                    saved["verified"] = _verify(pool, saved["rows"], duration, ran_on, a)
                if a.hindsight_seeds:
                    saved["hindsight"] = _hindsight(pool, saved["rows"], duration, a)
                if a.hindsight_check:
                    saved["hindsight"] = _hindsight_check(
                        pool, saved["rows"], saved.get("hindsight", []), duration,
                        a.hindsight_check, a.ratio_iters,
                    )  # fmt: skip
            if a.json:
                a.json.write_text(json.dumps(saved, indent=2))
        md = render(
            saved["rows"], saved["timing"], saved["costs"], a, a.elapsed,
            saved.get("verified", []), saved.get("hindsight", []),
        )  # fmt: skip
        print(md)
        if a.write_docs:
            write_docs(md, saved["rows"])
        return
    if a.cap_check:
        import typer

        from simulations.cli import parse_seeds

        try:
            check_seeds = parse_seeds(a.cap_check, 1)
        except typer.BadParameter as exc:
            raise SystemExit(f"--cap-check: {exc}") from None
        checked = [(*p[:5], check_seeds, p[6]) for p in points]
        with ProcessPoolExecutor(a.workers) as pool:
            found = list(pool.map(cap_check, checked))
        for f in found:
            print(f"{f['scenario']:28s} occ {f['occ']:.3f}  worst moment {f['max_cum']:.4f}  "
                  f"seeds over the cap {f['breaches']}/{f['seeds']}")  # fmt: skip
        total = sum(f["breaches"] for f in found)
        print(f"{len(found)} scenarios x {len(check_seeds)} seeds: {total} over the cap")
        return
    if a.timing_only:
        print(
            json.dumps(
                {"shift": shift_timing(), "decide": [decision_cost(s) for s in (25, 100, 500)]},
                indent=2,
            )
        )
        return
    fixed: list[dict[str, Any] | None] = [None] * len(points)
    if a.reuse_fixed:
        saved = json.loads(a.reuse_fixed.read_text())
        if saved.get("duration", duration) != duration or saved.get("seeds", seeds) != seeds:
            raise SystemExit(f"{a.reuse_fixed}: saved with another --duration or --seeds")
        by_name = {r["scenario"]: r for r in saved["rows"]}
        names = [family_scenario(p[0], p[1], p[2], p[3], duration).name for p in points]
        missing = [n for n in names if n not in by_name]
        if missing:
            raise SystemExit(f"{a.reuse_fixed}: no saved row for {', '.join(missing)}")
        fixed = [by_name[n] for n in names]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.workers) as pool:
        rows = list(pool.map(evaluate, points, fixed))
        verified = _verify(pool, rows, duration, seeds, a) if a.verify_seeds else []
        searched = _hindsight(pool, rows, duration, a) if a.hindsight_seeds else []
        if a.hindsight_check and searched:
            searched = _hindsight_check(
                pool, rows, searched, duration, a.hindsight_check, a.ratio_iters
            )
    elapsed = time.perf_counter() - t0
    timing = None if a.skip_timing else shift_timing()
    costs = [] if a.skip_timing else [decision_cost(s) for s in (25, 100, 500)]
    md = render(rows, timing, costs, a, elapsed, verified, searched)
    print(md)
    if a.json:
        saved_run = {"duration": duration, "seeds": seeds, "reused_fixed": bool(a.reuse_fixed)}
        saved_run |= {"rows": rows, "timing": timing, "costs": costs}
        saved_run |= {"verified": verified, "hindsight": searched}
        a.json.write_text(json.dumps(saved_run, indent=2))
    if a.write_docs:
        write_docs(md, rows)


def _beaten(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The scenarios where the best strict ratio beat predictive (what --verify-seeds and
    --hindsight-seeds look at again)."""
    return [r for r in rows if r["predictive"] < r["ratio_occ"]]


def _verify(
    pool: ProcessPoolExecutor, rows: list[dict[str, Any]], duration: float, seeds: list[int], a: Any
) -> list[dict[str, Any]]:
    """:func:`verify` on every scenario the best strict ratio won, on ``a.verify_seeds`` seeds
    after the benchmark's."""
    beaten = _beaten(rows)
    new_seeds = list(range(seeds[-1] + 1, seeds[-1] + 1 + a.verify_seeds))
    n = len(beaten)
    return list(pool.map(verify, beaten, [duration] * n, [new_seeds] * n))


def _hindsight(
    pool: ProcessPoolExecutor, rows: list[dict[str, Any]], duration: float, a: Any
) -> list[dict[str, Any]]:
    beaten = _beaten(rows)
    seeds = list(range(1, a.hindsight_seeds + 1))
    n = len(beaten)
    return list(pool.map(hindsight, beaten, [duration] * n, [seeds] * n, [a.ratio_iters] * n))


def hindsight_check(
    searched: dict[str, Any], row: dict[str, Any], duration: float, seeds: list[int], iters: int
) -> dict[str, Any]:
    """A hindsight ratio that beat predictive, and predictive, on ``seeds`` the search never
    saw: the share of campaigns on which each breaks the cap, and their occupancy there; and the
    largest ratio that keeps the cap on all of ``seeds`` (the standard predictive is held to
    there), by the same bisection."""
    runs: dict[float, dict] = {}
    v = verify({**row, "best_ratio": searched["best_ratio"]}, duration, seeds, runs)
    sc = family_scenario(row["seats"], row["hit"], row["talk"], row["collapse"], duration)
    safe_r, safe = best_ratio(sc, seeds, row["hit"], iters, True, runs)
    return searched | {
        "check_seeds": f"{seeds[0]}-{seeds[-1]}",
        "check_runs": len(seeds),
        "check_ratio_occ": v["ratio_occ"],
        "check_ratio_breaches": v["ratio_breaches"],
        "check_safe_ratio": safe_r,
        "check_safe_occ": safe["occ"],
        "check_pred_occ": v["pred_occ"],
        "check_pred_breaches": v["pred_breaches"],
    }


def _hindsight_check(
    pool: ProcessPoolExecutor, rows: list[dict[str, Any]], searched: list[dict[str, Any]],
    duration: float, runs: int, iters: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """:func:`hindsight_check` on every searched scenario where predictive trailed the ratio,
    on the ``runs`` seeds after the search's; the others are returned as they were."""
    by_name = {r["scenario"]: r for r in rows}
    out = list(searched)
    todo = [i for i, h in enumerate(searched) if h["pred_occ"] < h["ratio_occ"] - 1e-9]
    first = max((h["seeds"] for h in searched), default=0) + 1
    seeds = list(range(first, first + runs))
    done = pool.map(
        hindsight_check,
        [searched[i] for i in todo],
        [by_name[searched[i]["scenario"]] for i in todo],
        [duration] * len(todo),
        [seeds] * len(todo),
        [iters] * len(todo),
    )
    for i, h in zip(todo, done, strict=True):
        out[i] = h  # (every check_ field is set anew)
    return out


def render(
    rows: list[dict],
    timing: dict | None,
    costs: list[dict],
    a: Any,
    elapsed: float,
    verified: list[dict] | None = None,
    searched: list[dict] | None = None,
) -> str:
    lines = [
        "## Pacing",
        "",
        "Owner: pacing. Scripts: `simulations/benchmarks/pacing_family.py` (this table, the "
        "shift timing and the decision cost), `pacing-sim run simulations/scenarios/*.yaml` "
        "(the named scenarios below).",
        "",
        "How the predictive policy decides (pacing/policies.py, pacing/risk.py, compiled inner "
        "loops in pacing/kernels.py): at each decision it forecasts, for 8 possible answer "
        "delays of a new call (quantiles of the learnt answer-delay distribution), which busy "
        "seats are free by then + the 2 s connect window (talk-time survival conditioned on each "
        "seat's elapsed talk, Kaplan-Meier over the last 400 completed talks with the running "
        "calls censored, each call at risk from the age it had when that window began; wrap-up "
        "likewise; the priors fade as the evidence comes) and which calls in flight become live "
        "answers before it (conditioned on ring age; the hit rate forgets over 500 dials, or "
        "over the dials of the last 30 s when there are more, and it and the answer and failure "
        "delays are learnt in placement order). The k-th "
        "new call is placed only while P(answered live and no seat left after earlier answers) "
        "<= threshold, computed exactly (Poisson-binomial by the convolution recurrence) up to "
        "48 seats+lines and by a skew-corrected normal approximation above. The threshold comes "
        "from the abandon budget (pacing/budget.py): a set-point below the cap with an integral "
        "correction, and a breaker for bursts far above the expected abandons (the threshold "
        "cut to a quarter for two minutes). While at most one abandon is allowed (the first "
        "~2/cap live answers, or after a burst) it is the thin-budget mode (pacing/thin.py): a "
        "per-call risk under the unspent part of a 0.5 % lifetime allowance spread over the "
        "dials still needed, the hit rate at its 99 % quantile (with one abandon allowed, the "
        "risk of being the second abandon, the plain abandon risk held under the steady "
        "threshold). A guard (pacing/guard.py) "
        "bounds the tail otherwise: at every forecast horizon, the live answers of all "
        "lines in flight plus the new calls — hit rate at the highest of its 95 % posterior "
        "quantile, the last 20 s's rate, twice the estimate (the campaign's "
        "hit_jump_allowance) and the estimate over the share of answers the ring timeout lets "
        "through (the answer delays seen fitted as a right-truncated lognormal sample; the "
        "lowest share of the last ring timeout + 30 s), plus 3 sd and Bernstein's small-count "
        "correction 3²/6 — must fit in the idle seats, half the seats all but sure to be free "
        "by then (mean - 3 sd; scaled down by the share that came of the seats forecast to free "
        "in the last 6 s, when far fewer came) and the remaining budget; calls that have rung "
        "past the trim age count with their late answers, up to the seats free (the trim "
        "spares them while a seat is free), and until 30 dial outcomes, one of them an answer, "
        "are learnt every line in flight counts as a live answer. The integral correction "
        "moves the threshold by 3 % per abandon (it was 15 %: the threshold swung by a third "
        "and bought less for the same abandons). Ring trim (pacing/trim.py): a call still "
        "ringing after the legal 15 s is hung up while no seat is free for it (an attempt "
        "ending no_answer, counted in the hit rate as its odds of an answer and censored in "
        "the failure delays as its odds of failing); with two or more "
        "abandons allowed the forecast then counts no answers past 15 + 2 s of ringing, neither "
        "the new call's own (no risk at those horizons) nor those of calls in flight (guard "
        "included). Fixed ratios and progressive never trim.",
        "",
        "Produced by `simulations/benchmarks/pacing_family.py` "
        f"(`--duration {a.duration} --seeds {a.seeds} --seats {a.seats} --hits {a.hits} "
        f"--talks {a.talks} --collapse {a.collapse} --ratio-iters {a.ratio_iters}`), "
        f"{len(rows)} scenarios in {elapsed:.0f} s on {a.workers} worker(s)"
        + (
            " — predictive and adaptive re-run, the progressive and fixed-ratio columns taken "
            f"from an earlier full run with the same duration and seeds (`--reuse-fixed "
            f"{a.reuse_fixed}`): fixed ratios do not use the forecast, the threshold or the "
            "budget controller"
            if a.reuse_fixed
            else ""
        )
        + ". Talk occupancy = "
        "talk seconds / logged-in seat seconds (mean over seeds); abandon = worst seed's "
        "abandoned / live answers over the whole run; max cum. = highest cumulative rate seen at "
        "any moment of any seed (the cap held at every instant means abandons <= floor(cap x "
        "live answers) all along, first minutes included). Fixed ratios R (lines per idle "
        "seat) are found with hindsight by bisection, two ways: **R strict**, the largest R "
        "that kept the cap at every instant on every seed — the rule predictive is held to, and "
        "the comparison this benchmark makes; **R run**, the largest R whose whole-run rate "
        "stayed under the cap on every seed (it usually broke the cap early in the run, see its "
        "max cum.), shown for reference.",
        "",
        "| scenario | progressive | adaptive | its abandon | its max cum. | R strict "
        "| its occ. | R run | its occ. | its max cum. "
        "| predictive occ. | pred. abandon | pred. max cum. | pred − R strict | pred − R run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        adaptive = (
            f"{r['adaptive']:.3f} | {r['adapt_abandon']:.4f} | {r['adapt_max_cum']:.4f}"
            if "adaptive" in r
            else "– | – | –"
        )
        lines.append(
            f"| {r['scenario']} | {r['progressive']:.3f} | {adaptive} | {r['best_ratio']:.2f} "
            f"| {r['ratio_occ']:.3f} | {r['loose_ratio']:.2f} | {r['loose_occ']:.3f} "
            f"| {r['loose_max_cum']:.4f} | {r['predictive']:.3f} "
            f"| {r['pred_abandon']:.4f} | {r['pred_max_cum']:.4f} "
            f"| {r['predictive'] - r['ratio_occ']:+.3f} "
            f"| {r['predictive'] - r['loose_occ']:+.3f} |"
        )
    worse = [r for r in rows if r["predictive"] < r["ratio_occ"] - 1e-9]
    worse_loose = [r for r in rows if r["predictive"] < r["loose_occ"] - 1e-9]
    over = [r for r in rows if r["pred_max_cum"] > 0.03 + 1e-12]
    adapted = [r for r in rows if "adaptive" in r]
    lines += [
        "",
        *(
            [
                "**adaptive**: a VICIdial-style adaptive dial level (`--mode adaptive`, "
                "pacing/policies.py `AdaptivePolicy`, modelled on VICIdial's ADAPT_HARD_LIMIT "
                "with its defaults: lines = level x (ready + talking seats), the level moved "
                "every 15 s by (seats waiting - answers waiting) / seats, within [1, 3], and "
                "reset to 1 while the day's abandon rate is over the cap). Predictive minus "
                "adaptive: median "
                f"{statistics.median(r['predictive'] - r['adaptive'] for r in adapted):+.3f}, "
                f"range {min(r['predictive'] - r['adaptive'] for r in adapted):+.3f} to "
                f"{max(r['predictive'] - r['adaptive'] for r in adapted):+.3f}; adaptive "
                "over the cap at some moment in "
                f"{sum(r['adapt_max_cum'] > 0.03 + 1e-12 for r in adapted)} and over the "
                "whole run in "
                f"{sum(r['adapt_abandon'] > 0.03 + 1e-12 for r in adapted)} of "
                f"{len(adapted)} scenarios.",
                "",
            ]
            if adapted
            else []
        ),
        f"Predictive below the best strict fixed ratio in {len(worse)} of {len(rows)} scenarios"
        + (": " + ", ".join(r["scenario"] for r in worse) if worse else "")
        + f". Below the best whole-run ratio in {len(worse_loose)} of {len(rows)}"
        + (": " + ", ".join(r["scenario"] for r in worse_loose) if worse_loose else "")
        + f". Cap exceeded by predictive (at any moment, any seed) in {len(over)} scenarios"
        + (": " + ", ".join(r["scenario"] for r in over) if over else "")
        + ".",
        "",
        "![occupancy by scenario](img/pacing_family.png)",
        "",
    ]
    if verified:
        n = verified[0]["seeds"]
        lines += [
            f"Where the best strict ratio beat predictive, both again on {n} new seeds "
            f"(`--verify-seeds {n}`): the ratio was chosen because it kept the cap on the "
            "benchmark's seeds, and here is how often it breaks the cap on others.",
            "",
            "| scenario | R strict | its occ. | its seeds over the cap | predictive occ. "
            "| pred. seeds over the cap |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for v in verified:
            lines.append(
                f"| {v['scenario']} | {v['best_ratio']:.2f} | {v['ratio_occ']:.3f} "
                f"| {v['ratio_breaches']}/{v['seeds']} | {v['pred_occ']:.3f} "
                f"| {v['pred_breaches']}/{v['seeds']} |"
            )
        lines.append("")
    if searched:
        n = searched[0]["seeds"]
        held = [h for h in searched if h["pred_occ"] >= h["ratio_occ"] - 1e-9]
        lines += [
            f"The same scenarios with the hindsight search on {n} seeds (`--hindsight-seeds "
            f"{n}`: the largest R that kept the cap at every instant on all {n}, by the same "
            f"bisection) and predictive on those seeds: predictive at or above it in "
            f"{len(held)} of {len(searched)}.",
            "",
            "| scenario | R strict on these seeds | its occ. | predictive occ. "
            "| pred. seeds over the cap | pred − R |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for h in searched:
            lines.append(
                f"| {h['scenario']} | {h['best_ratio']:.2f} | {h['ratio_occ']:.3f} "
                f"| {h['pred_occ']:.3f} | {h['pred_breaches']}/{h['seeds']} "
                f"| {h['pred_occ'] - h['ratio_occ']:+.3f} |"
            )
        lines.append("")
        checked = [h for h in searched if "check_runs" in h]
        if checked:
            runs, span = checked[0]["check_runs"], checked[0]["check_seeds"]
            n = checked[0]["seeds"]
            lines += [
                f"Where that ratio still beat predictive, on {runs} seeds the search never saw "
                f"(seeds {span}, `--hindsight-check {runs}`): how often a ratio chosen because it "
                f"kept the cap on {n} seeds breaks it on the next campaign, and the largest ratio "
                f"that keeps it on all {runs} (the same bisection; the standard predictive is "
                "held to there).",
                "",
                f"| scenario | R ({n} seeds) | its occ. | its seeds over the cap "
                f"| R kept on all {runs} | its occ. | predictive occ. | pred. seeds over the cap "
                "| pred − R kept |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for h in checked:
                lines.append(
                    f"| {h['scenario']} | {h['best_ratio']:.2f} | {h['check_ratio_occ']:.3f} "
                    f"| {h['check_ratio_breaches']}/{runs} | {h['check_safe_ratio']:.2f} "
                    f"| {h['check_safe_occ']:.3f} | {h['check_pred_occ']:.3f} "
                    f"| {h['check_pred_breaches']}/{runs} "
                    f"| {h['check_pred_occ'] - h['check_safe_occ']:+.3f} |"
                )
            lines.append("")
    if timing:
        ratios = ", ".join(f"{x:.1f}" for x in timing["ratios"])
        lines += [
            f"8-hour 100-seat shift (hit 0.25, talk 150 s; {len(timing['ratios'])} runs each, "
            f"alternated): predictive {timing['cpu']:.1f}-{timing['cpu_max']:.1f} s CPU "
            f"({timing['dials']} dials, occupancy {timing['occ']:.3f}, abandon "
            f"{timing['abandon']:.4f}); progressive {timing['prog_cpu']:.1f}-"
            f"{timing['prog_cpu_max']:.1f} s (baseline, x{ratios} per pair). Once per process, "
            f"not in those figures: loading the compiled kernels, {timing['first_call']:.1f} s. "
            f"The whole `pacing-sim run` of that shift from a cold start: "
            f"{timing['cold_command']:.1f} s wall.",
            "",
        ]
        if "collapse_cpu" in timing:
            lines += [
                f"The same shift with the hit rate falling to 0.10 at 4 h, as in base-25 "
                f"({timing['collapse_dials']} dials, the second half's at 2.5 times the dials "
                f"per connect), alternated with the runs above: predictive "
                f"{timing['collapse_cpu']:.1f}-{timing['collapse_cpu_max']:.1f} s CPU; "
                f"`pacing-sim run` from a cold start {timing['collapse_cold_command']:.1f} s "
                f"wall.",
                "",
            ]
    if costs:
        lines.append(
            "One pacing decision (CPU time, mid-shift states of live runs; policy alone / whole "
            "dial step with forecasts and guard): "
            + "; ".join(
                f"{c['seats']} seats {c['decide_us']:.0f} / {c.get('step_us', math.nan):.0f} µs"
                for c in costs
            )
            + "."
        )
        lines.append("")
    return "\n".join(lines)


def write_docs(md: str, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.35), 5))
    bars = [("progressive", "progressive"), ("adaptive", "VICIdial-style adaptive")]
    bars += [("ratio_occ", "best fixed ratio (cap at every instant)"), ("predictive", "predictive")]
    bars = [(key, label) for key, label in bars if all(key in r for r in rows)]
    width = 0.8 / len(bars)
    for i, (key, label) in enumerate(bars):
        ax.bar(x + (i - (len(bars) - 1) / 2) * width, [r[key] for r in rows], width, label=label)
    ax.set_xticks(x, [r["scenario"] for r in rows], rotation=70, ha="right", fontsize=6)
    ax.set_ylabel("talk occupancy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(img / "pacing_family.png", dpi=90)
    plt.close(fig)
    doc = ROOT / "docs" / "benchmarks.md"
    doc.write_text(merge_block(doc.read_text() if doc.exists() else "# Benchmarks\n\n", md))


def merge_block(text: str, md: str) -> str:
    """``text`` with the generated pacing block replaced by ``md``; the hand-written notes after
    ``NOTES`` inside the old block are kept, and a document without the block gets it appended."""
    block = f"{BEGIN}\n{md}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        old, tail = rest.split(END, 1)
        if NOTES in old:
            block = f"{BEGIN}\n{md}\n{NOTES}{old.split(NOTES, 1)[1]}{END}"
        return head + block + tail
    return text.rstrip("\n") + "\n\n" + block + "\n"


if __name__ == "__main__":
    main()
