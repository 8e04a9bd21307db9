"""``pacing-sim``: run scenarios and sweeps through the simulator, print and save the figures.

pacing-sim run SCENARIO.yaml [--mode predictive|progressive|ratio:R|adaptive] [--seeds A-B]
               [--json FILE] [--csv FILE] [--plot FILE.png] [--workers N]
pacing-sim sweep SCENARIO.yaml --param seats=5,10,25 [--param human=0.1,0.25] [--mode ...]
               [--seeds A-B] [--json FILE] [--csv FILE] [--plot FILE.png] [--workers N]

Seeds and sweep points run in parallel, one process per CPU unless ``--workers`` says
otherwise; every run is independent and seeded, so the figures do not depend on how many.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from pacing.policies import make_policy
from simulations.scenario import Scenario, ScenarioError, load_scenario
from simulations.simulator import SimResult, simulate

_MODES = "predictive | progressive | ratio:R | adaptive[:average] (VICIdial-style)"
_WORKERS = "processes running seeds and points at once (default: one per CPU)"

#: One simulation: scenario, seed, mode (None: the scenario's), whether to keep its time series.
Job = tuple[Scenario, int, str | None, bool]

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console(width=None if sys.stdout.isatty() else 160)

_COLUMNS = [
    ("seed", "seed", "{}"),
    ("mode", "mode", "{}"),
    ("talk_occupancy", "talk occ.", "{:.3f}"),
    ("utilization", "util.", "{:.3f}"),
    ("abandon_rate", "abandon", "{:.4f}"),
    ("max_abandon_rate", "max cum. abandon", "{:.4f}"),
    ("abandoned", "abandoned", "{}"),
    ("live_answers", "live answers", "{}"),
    ("dials", "dials", "{}"),
    ("connects", "connects", "{}"),
    ("max_lines", "max lines", "{}"),
    ("wall_s", "wall s", "{:.1f}"),
]


def parse_seeds(text: str | None, default: int) -> list[int]:
    """``"3"`` → [3]; ``"1-5"`` → [1..5]; ``"1,4,9"`` → [1, 4, 9]."""
    if not text:
        return [default]
    seeds: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part:
                a, b = part.split("-", 1)
                if int(b) < int(a):
                    raise ValueError
                seeds.extend(range(int(a), int(b) + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise typer.BadParameter(f"--seeds {text!r}: expected N, A-B or A,B,C") from None
    if any(s < 0 for s in seeds):
        raise typer.BadParameter(f"--seeds {text!r}: seeds must be >= 0")
    return seeds


def _load(path: Path) -> Scenario:
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _check_mode(mode: str | None) -> None:
    if mode is not None:
        try:
            make_policy(mode)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None


def _table(title: str, rows: list[dict[str, Any]], extra: list[str]) -> Table:
    table = Table(title=title)
    for key in extra:
        table.add_column(key)
    for _, head, _ in _COLUMNS:
        table.add_column(head, justify="right")
    for row in rows:
        table.add_row(
            *[str(row[k]) for k in extra], *[fmt.format(row[key]) for key, _, fmt in _COLUMNS]
        )
    return table


def _mean_row(rows: list[dict[str, Any]], label: dict[str, Any]) -> dict[str, Any]:
    out = dict(label)
    for key, _, _ in _COLUMNS:
        vals = [r[key] for r in rows]
        if key == "mode":
            out[key] = vals[0]
        elif key == "seed":
            out[key] = "mean"
        elif key == "max_abandon_rate":
            out[key] = max(vals)
        else:
            out[key] = statistics.fmean(vals)
            if isinstance(vals[0], int):
                out[key] = round(out[key])
    return out


def _write(rows: list[dict[str, Any]], json_path: Path | None, csv_path: Path | None) -> None:
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(rows, indent=2, default=str))
        console.print(f"wrote {json_path}")
    if csv_path and rows:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with csv_path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        console.print(f"wrote {csv_path}")


def _simulate_job(job: Job) -> SimResult:
    sc, seed, mode, series = job
    return simulate(sc, seed, mode, record_series=series)


def simulate_all(jobs: list[Job], workers: int | None = None) -> list[SimResult]:
    """Results of ``jobs`` in their order, run by up to ``workers`` processes (None: one per
    CPU; 1: in this process)."""
    n = min(len(jobs), workers if workers else os.cpu_count() or 1)
    if n <= 1:
        return [_simulate_job(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=n) as pool:
        return list(pool.map(_simulate_job, jobs))


def _check_workers(workers: int | None) -> None:
    if workers is not None and workers < 1:
        raise typer.BadParameter(f"--workers {workers}: expected 1 or more")


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    mode: Annotated[str | None, typer.Option(help=_MODES)] = None,
    seeds: Annotated[str | None, typer.Option(help="N, A-B or A,B,C")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="per-seed results")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="per-seed results")] = None,
    plot: Annotated[Path | None, typer.Option(help="PNG of occupancy, abandons, lines")] = None,
    workers: Annotated[int | None, typer.Option(help=_WORKERS)] = None,
) -> None:
    """Simulate a scenario over one or more seeds and print the figures."""
    _check_mode(mode)
    _check_workers(workers)
    sc = _load(scenario)
    jobs: list[Job] = [(sc, seed, mode, True) for seed in parse_seeds(seeds, sc.seed)]
    results = simulate_all(jobs, workers)
    rows = [r.summary() for r in results]
    shown = rows + ([_mean_row(rows, {})] if len(rows) > 1 else [])
    console.print(_table(f"{sc.name} ({sc.digest()})", shown, []))
    _write(rows, json_out, csv_out)
    if plot:
        from simulations.plots import plot_run

        plot_run(results, sc, plot)
        console.print(f"wrote {plot}")


@app.command()
def sweep(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    param: Annotated[
        list[str],
        typer.Option(
            help="NAME=V1,V2,... (seats, human, talk_mean, cap, hit_jump, duration, mode...)"
        ),
    ],
    mode: Annotated[str | None, typer.Option(help=_MODES)] = None,
    seeds: Annotated[str | None, typer.Option(help="N, A-B or A,B,C")] = None,
    json_out: Annotated[Path | None, typer.Option("--json")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv")] = None,
    plot: Annotated[Path | None, typer.Option(help="PNG: occupancy and abandons per point")] = None,
    workers: Annotated[int | None, typer.Option(help=_WORKERS)] = None,
) -> None:
    """Simulate every combination of parameter values (means over seeds). Every point is
    checked before any runs: a bad value stops the sweep with nothing simulated."""
    _check_mode(mode)
    _check_workers(workers)
    sc = _load(scenario)
    grid: dict[str, list[Any]] = {}
    for p in param:
        if "=" not in p:
            raise typer.BadParameter(f"--param {p!r}: expected NAME=V1,V2")
        name, values = p.split("=", 1)
        grid[name.strip()] = [_value(v) for v in values.split(",") if v.strip()]
    seed_list = parse_seeds(seeds, sc.seed)
    points: list[tuple[dict[str, Any], Scenario]] = []
    for combo in itertools.product(*grid.values()):
        label = dict(zip(grid, combo, strict=True))
        try:
            points.append((label, sc.with_overrides(**label)))
        except ScenarioError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    jobs: list[Job] = [(point, s, mode, False) for _, point in points for s in seed_list]
    results = iter(simulate_all(jobs, workers))
    rows: list[dict[str, Any]] = []
    means: list[dict[str, Any]] = []
    for label, _ in points:
        point_rows = [{**label, **next(results).summary()} for _ in seed_list]
        rows.extend(point_rows)
        means.append(_mean_row(point_rows, label))
    console.print(_table(f"sweep of {sc.name}", means, list(grid)))
    _write(rows, json_out, csv_out)
    if plot:
        from simulations.plots import plot_sweep

        plot_sweep(means, list(grid), sc, plot)
        console.print(f"wrote {plot}")


def _value(text: str) -> Any:
    text = text.strip()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except ScenarioError as exc:  # pragma: no cover - reported by the commands already
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
