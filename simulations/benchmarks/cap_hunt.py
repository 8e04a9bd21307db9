"""Cap hunt: predictive pacing on random scenarios far from the shipped ones, looking for breaches.

The benchmark family varies seats, hit rate and talk mean around one shape of campaign. This
draws whole scenarios at random — 1-300 seats (log-uniform), hit 0.02-0.8, machines, talk
constant / exponential / gamma / lognormal with means 20-600 s, wrap-up fixed or exponential up
to 30 s, answer delays 4-25 s, ring timeouts 15-40 s, connect windows 1-3 s, caps 1-5 %, 24-h or
30-day windows, 20 min to 2 h, up to three regime changes (hit rate, talk, team size, answer
delay) — runs predictive on each and prints every run whose cumulative abandon rate went over
its cap at any moment, with the scenario as JSON and its seed, ready to replay:

    .venv/bin/python simulations/benchmarks/cap_hunt.py --runs 200 --seed 1 --workers 2

``--duration 8h`` stretches every drawn scenario to that length, its regime changes at the same
fractions of it: whole shifts, where slow drifts (the integral gain, the estimators' memories)
have hours to show.

``--start`` draws campaign starts instead: the first 5 minutes of 30-300 seats on lists that
answer far better than the prior's 20 % (hit 0.3-0.95, answer delays 5-30 s, ring timeouts
20-45 s, caps 1-5 %), where a large team sees its budget's first abandons allowed before it has
learnt a single outcome.

``--delay-shapes`` gives each scenario's answer delays (its first and those of its regime
changes) a shape drawn from constant, exponential, gamma and lognormal, keeping their means and
spreads (exponential: sd = mean): the estimators fit a lognormal to the answer delays they see,
and this is where a list whose people answer otherwise would show it. The shapes come from a
second draw, so the scenarios are otherwise those of the same ``--seed`` without it.

``--two-populations`` makes every talk time (first and after talk changes) a mixture: the drawn
talk for a share of 20-70 % of the calls, quick refusals (lognormal, mean 5-40 s) for the rest —
as outbound talk times often are. Also from a second draw.

``--big-teams`` redraws every team (and the team changes, in proportion) at 300-600 seats —
the top of the product's range — from a third draw; the rest of each scenario as without it.

``--more-changes`` adds one or two regime changes of the kinds the main draw leaves out: the
wrap-up 0.3-4 times as long (agents with a new form to fill in, or dropping one), or new shares
of answering machines (up to 50 %) and busy lines (up to 40 %) at the hit rate of the moment.
From a fourth draw, so the scenarios are otherwise those of the same ``--seed`` without it.

``--changes-reach-ringing`` lets every regime change reach the calls still ringing as well
(``changes_reach_ringing`` in the scenario: their fates drawn again from the new regime, given
their ring age), where by default only the calls placed after it see it — the harsher reading
of "the hit rate jumps at 1 h" an independent simulator may take. No draw of its own.

``--team-changes-unannounced`` makes the agents of a shrinking team leave without telling the
dialler beforehand (``team_changes_unannounced`` in the scenario): a ready seat logs out at
once, calls out for it or not, a busy one at the end of its wrap-up. No draw of its own.

``--decision-interval 0.15`` decides every 0.15 s, as the daemon does (``PACE_INTERVAL_S``),
where the simulator's scenarios decide every second (and when a seat comes back from wrap-up).
No draw of its own.

Exit status 1 when a breach was found. Same ``--seed``, same scenarios.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from simulations.scenario import ScenarioError, parse_duration, parse_scenario  # noqa: E402
from simulations.simulator import simulate  # noqa: E402


def random_scenario(rng: random.Random, max_jump: float = 2.0) -> tuple[dict[str, Any], int]:
    """One random scenario (raw mapping, as in a scenario file) and the seed to run it with."""
    seats = max(1, round(math.exp(rng.uniform(0.0, math.log(300)))))
    hit = round(rng.uniform(0.02, 0.8), 3)
    machine = round(rng.choice([0.0, 0.0, rng.uniform(0.0, min(0.3, 0.95 - hit))]), 3)
    busy = round(rng.uniform(0.0, min(0.3, 0.98 - hit - machine)), 3)
    mean = round(math.exp(rng.uniform(math.log(20), math.log(600))), 1)
    shape = rng.choice(["lognormal", "exponential", "gamma", "constant"])
    talk: dict[str, Any] = {"dist": shape}
    if shape == "constant":
        talk["value"] = mean
    else:
        talk["mean"] = mean
        if shape != "exponential":
            talk["sd"] = round(mean * rng.uniform(0.3, 1.5), 1)
    if rng.random() < 0.5:
        wrapup = {"dist": "constant", "value": round(rng.uniform(0.0, 30.0), 1)}
    else:
        wrapup = {"dist": "exponential", "mean": round(rng.uniform(2.0, 30.0), 1)}
    delay = round(rng.uniform(4.0, 25.0), 1)
    duration = round(rng.uniform(1200, 7200))
    changes: list[dict[str, Any]] = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        at = round(rng.uniform(0.1, 0.9) * duration)
        kind = rng.choice(["hit", "talk", "seats", "delay"])
        if kind == "hit":
            factor = math.exp(rng.uniform(math.log(0.2), math.log(max_jump)))
            new_hit = min(0.98 - machine - busy, max(0.01, hit * factor))
            changes.append({"at": at, "outcomes": {"human": round(new_hit, 3)}})
        elif kind == "talk":
            key = "value" if shape == "constant" else "mean"
            new_talk = {**talk, key: round(mean * rng.uniform(0.5, 2.5), 1)}
            changes.append({"at": at, "talk": new_talk})
        elif kind == "seats":
            changes.append({"at": at, "seats": max(1, int(seats * rng.uniform(0.3, 1.6)))})
        else:
            new_delay = round(delay * rng.uniform(0.5, 2.0), 1)
            changes.append(
                {
                    "at": at,
                    "answer_delay": {"dist": "lognormal", "mean": new_delay, "sd": delay / 2},
                }
            )
    raw: dict[str, Any] = {
        "name": "hunt",
        "seed": 1,
        "duration": duration,
        "seats": seats,
        "talk": talk,
        "wrapup": wrapup,
        "outcomes": {"human": hit, "machine": machine, "busy": busy},
        "answer_delay": {
            "dist": "lognormal",
            "mean": delay,
            "sd": round(delay * rng.uniform(0.2, 0.8), 1),
        },
        "busy_delay": round(rng.uniform(2.0, 8.0), 1),
        "no_answer_timeout": rng.choice([15, 20, 25, 30, 40]),
        "connect_window": rng.choice([1, 2, 2, 2, 3]),
        "campaign": {
            "mode": "predictive",
            "abandon_cap": rng.choice([0.01, 0.02, 0.03, 0.03, 0.03, 0.05]),
            "window": rng.choice(["24h", "30d"]),
        },
    }
    if changes:
        raw["changes"] = sorted(changes, key=lambda c: c["at"])
    return raw, rng.randint(0, 10**6)


DELAY_SHAPES = ("constant", "exponential", "gamma", "lognormal")


def _in_every_regime(raw: dict[str, Any], key: str, change: Callable[[Any], Any]) -> dict[str, Any]:
    """``raw`` with ``change`` applied to its ``key`` (seats, talk, answer delay...), first and in
    every regime change that sets it."""
    out = {**raw, key: change(raw[key])}
    if "changes" in raw:
        out["changes"] = [{**c, key: change(c[key])} if key in c else c for c in raw["changes"]]
    return out


def reshaped(raw: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``raw`` with its answer delays (first and changes) of one shape drawn by ``rng``."""
    shape = rng.choice(DELAY_SHAPES)

    def delay(d: dict[str, Any]) -> dict[str, Any]:
        if shape == "constant":
            return {"dist": shape, "value": d["mean"]}
        if shape == "exponential":
            return {"dist": shape, "mean": d["mean"]}
        return {**d, "dist": shape}

    return _in_every_regime(raw, "answer_delay", delay)


def two_populations(raw: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``raw`` with its talk times (first and changes) a mixture of quick refusals, drawn by
    ``rng``, and the talk drawn before for the rest."""
    quick = round(math.exp(rng.uniform(math.log(5), math.log(40))), 1)
    refusal = {"dist": "lognormal", "mean": quick, "sd": round(quick * 0.5, 1)}
    kept = round(rng.uniform(0.2, 0.7), 2)

    def mixed(talk: dict[str, Any]) -> dict[str, Any]:
        return {
            "dist": "mixture",
            "parts": [{"weight": round(1 - kept, 2), **refusal}, {"weight": kept, **talk}],
        }

    return _in_every_regime(raw, "talk", mixed)


def big_team(raw: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``raw`` with its team redrawn at 300-600 seats (log-uniform) by ``rng``, its team
    changes scaled with it."""
    seats = round(math.exp(rng.uniform(math.log(300), math.log(600))))
    scale = seats / raw["seats"]
    return _in_every_regime(raw, "seats", lambda n: max(1, round(n * scale)))


def _in_force(raw: dict[str, Any], changes: list[dict[str, Any]], at: float, key: str) -> Any:
    """The value of ``key`` (wrap-up, or the hit rate for ``human``) in force just before ``at``:
    the last change before it that sets it, else the scenario's own."""
    value = raw["outcomes"]["human"] if key == "human" else raw[key]
    for c in sorted(changes, key=lambda c: c["at"]):
        if c["at"] >= at:
            break
        if key == "human" and "human" in c.get("outcomes", {}):
            value = c["outcomes"]["human"]
        elif key in c:
            value = c[key]
    return value


def more_changes(raw: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``raw`` with one or two more regime changes, drawn by ``rng``, of the kinds the main
    draw leaves out: the wrap-up 0.3-4 times as long (same shape), or new shares of answering
    machines (up to 50 %) and busy lines (up to 40 %) at the hit rate of the moment."""
    duration = float(raw["duration"])
    changes = [dict(c) for c in raw.get("changes", [])]
    top_hit = max(
        [raw["outcomes"]["human"]]
        + [c["outcomes"]["human"] for c in changes if "human" in c.get("outcomes", {})]
    )
    for _ in range(rng.choice([1, 1, 2])):
        at = round(rng.uniform(0.1, 0.9) * duration)
        if rng.random() < 0.5:
            wrap = _in_force(raw, changes, at, "wrapup")
            key = "value" if wrap["dist"] == "constant" else "mean"
            factor = math.exp(rng.uniform(math.log(0.3), math.log(4.0)))
            changes.append({"at": at, "wrapup": {**wrap, key: round(wrap[key] * factor, 1)}})
        else:
            # (later changes of the hit rate set it alone: the shares left must fit under the
            # highest hit rate of the run)
            machine = round(rng.uniform(0.0, max(0.0, min(0.5, 0.95 - top_hit))), 3)
            busy = round(rng.uniform(0.0, max(0.0, min(0.4, 0.98 - top_hit - machine))), 3)
            human = _in_force(raw, changes, at, "human")
            changes.append(
                {"at": at, "outcomes": {"human": human, "machine": machine, "busy": busy}}
            )
    return {**raw, "changes": sorted(changes, key=lambda c: c["at"])}


def stretched(raw: dict[str, Any], duration: float) -> dict[str, Any]:
    """``raw`` lasting ``duration`` seconds, each regime change at the same fraction of it."""
    scale = duration / float(raw["duration"])
    out = {**raw, "duration": round(duration)}
    if "changes" in raw:
        out["changes"] = [{**c, "at": round(c["at"] * scale)} for c in raw["changes"]]
    return out


def start_scenario(rng: random.Random) -> tuple[dict[str, Any], int]:
    """One random campaign start (see ``--start``) and the seed to run it with."""
    seats = rng.randint(30, 300)
    hit = rng.uniform(0.3, 0.95)
    delay = rng.uniform(5.0, 30.0)
    mean = rng.uniform(15.0, 200.0)
    shape = rng.choice(["gamma", "lognormal", "exponential"])
    talk: dict[str, Any] = {"dist": shape, "mean": round(mean, 1)}
    if shape != "exponential":
        talk["sd"] = round(mean * rng.uniform(0.3, 1.0), 1)
    raw: dict[str, Any] = {
        "name": "hunt",
        "seed": 1,
        "duration": 300,
        "seats": seats,
        "talk": talk,
        "wrapup": {"dist": "constant", "value": round(rng.uniform(1.0, 30.0), 1)},
        "outcomes": {
            "human": round(hit, 3),
            "machine": 0.0,
            "busy": round(rng.uniform(0.0, 1.0 - hit) * 0.5, 3),
        },
        "answer_delay": {
            "dist": "lognormal",
            "mean": round(delay, 1),
            "sd": round(delay * rng.uniform(0.2, 0.7), 1),
        },
        "busy_delay": 3.0,
        "no_answer_timeout": rng.choice([20, 25, 30, 40, 45]),
        "connect_window": rng.choice([1, 2, 3]),
        "campaign": {
            "mode": "predictive",
            "abandon_cap": rng.choice([0.01, 0.02, 0.03, 0.05]),
            "window": "24h",
        },
    }
    return raw, rng.randint(0, 10**6)


def run_one(job: tuple[dict[str, Any], int]) -> dict[str, Any]:
    """Simulate one hunt scenario; its figures and whether it went over its cap."""
    raw, seed = job
    result = simulate(parse_scenario(raw, "hunt"), seed, record_series=False)
    cap = raw["campaign"]["abandon_cap"]
    return {
        "seats": raw["seats"],
        "hit": raw["outcomes"]["human"],
        "cap": cap,
        "occupancy": result.talk_occupancy,
        "max_rate": result.max_abandon_rate,
        "abandoned": result.abandoned,
        "live_answers": result.live_answers,
        "breach": result.max_abandon_rate > cap + 1e-12,
        "scenario": raw,
        "seed": seed,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=200, help="random scenarios to run")
    ap.add_argument("--seed", type=int, default=1, help="seed of the scenario draw")
    ap.add_argument("--max-jump", type=float, default=2.0, help="largest hit-rate jump (factor)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--duration", default=None, help="stretch every scenario to this length (e.g. 8h)"
    )
    ap.add_argument(
        "--start", action="store_true", help="draw campaign starts (first 5 min, see above)"
    )
    ap.add_argument(
        "--delay-shapes",
        action="store_true",
        help="answer delays of any shape, not only lognormal (see above)",
    )
    ap.add_argument(
        "--two-populations",
        action="store_true",
        help="talk times a mixture of quick refusals and the drawn talk (see above)",
    )
    ap.add_argument("--big-teams", action="store_true", help="teams of 300-600 seats (see above)")
    ap.add_argument(
        "--more-changes",
        action="store_true",
        help="one or two more regime changes: wrap-up, machines, busy lines (see above)",
    )
    ap.add_argument(
        "--changes-reach-ringing",
        action="store_true",
        help="regime changes reach the calls still ringing too (see above)",
    )
    ap.add_argument(
        "--team-changes-unannounced",
        action="store_true",
        help="agents leave without telling the dialler beforehand (see above)",
    )
    ap.add_argument(
        "--decision-interval",
        type=float,
        default=None,
        help="seconds between pacing decisions (default the scenario's 1 s; 0.15: the daemon's)",
    )
    args = ap.parse_args(argv)
    if args.decision_interval is not None and not args.decision_interval > 0:
        ap.error(f"--decision-interval must be above 0 seconds, got {args.decision_interval}")
    if args.runs < 1:
        ap.error(f"--runs must be at least 1, got {args.runs}")
    if not args.max_jump > 0:
        ap.error(f"--max-jump is a factor on the hit rate and must be above 0, got {args.max_jump}")
    rng = random.Random(args.seed)
    if args.start:
        jobs = [start_scenario(rng) for _ in range(args.runs)]
    else:
        jobs = [random_scenario(rng, args.max_jump) for _ in range(args.runs)]
    if args.duration is not None:
        try:
            length = parse_duration(args.duration, "--duration")
        except ScenarioError as exc:
            ap.error(str(exc))
        if length <= 0:
            ap.error(f"--duration must be above 0, got {args.duration}")
        jobs = [(stretched(raw, length), seed) for raw, seed in jobs]
    if args.delay_shapes:
        shapes = random.Random(f"shapes-{args.seed}")
        jobs = [(reshaped(raw, shapes), seed) for raw, seed in jobs]
    if args.big_teams:
        teams = random.Random(f"teams-{args.seed}")
        jobs = [(big_team(raw, teams), seed) for raw, seed in jobs]
    if args.two_populations:
        mixes = random.Random(f"talks-{args.seed}")
        jobs = [(two_populations(raw, mixes), seed) for raw, seed in jobs]
    if args.more_changes:
        extra = random.Random(f"changes-{args.seed}")
        jobs = [(more_changes(raw, extra), seed) for raw, seed in jobs]
    # (the flags that set one scenario key alike in every draw)
    keys: dict[str, Any] = {}
    if args.team_changes_unannounced:
        keys["team_changes_unannounced"] = True
    if args.decision_interval is not None:
        keys["decision_interval"] = args.decision_interval
    if args.changes_reach_ringing:
        keys["changes_reach_ringing"] = True
    if keys:
        jobs = [({**raw, **keys}, seed) for raw, seed in jobs]
    breaches = 0
    with ProcessPoolExecutor(max(1, args.workers)) as pool:
        for row in pool.map(run_one, jobs):
            tag = "BREACH" if row["breach"] else "ok"
            print(
                f"{tag:6s} seats {row['seats']:3d} hit {row['hit']:.3f} cap {row['cap']:.2f} "
                f"occupancy {row['occupancy']:.3f} worst moment {row['max_rate']:.4f} "
                f"abandoned {row['abandoned']}/{row['live_answers']}",
                flush=True,
            )
            if row["breach"]:
                breaches += 1
                print(f"       seed {row['seed']} {json.dumps(row['scenario'])}", flush=True)
    print(f"{args.runs} random scenarios, {breaches} over the cap at some moment")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
