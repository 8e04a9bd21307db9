"""``pacing-sim``: run scenarios and sweeps through the simulator, print and save the figures.

pacing-sim run SCENARIO.yaml [--mode predictive|progressive|ratio:R|adaptive] [--seeds A-B]
               [--json FILE] [--csv FILE] [--plot FILE.png]
pacing-sim sweep SCENARIO.yaml --param seats=5,10,25 [--param human=0.1,0.25] [--mode ...]
               [--seeds A-B] [--json FILE] [--csv FILE] [--plot FILE.png]
"""

from __future__ import annotations

import csv
import itertools
import json
import statistics
import sys
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


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    mode: Annotated[str | None, typer.Option(help=_MODES)] = None,
    seeds: Annotated[str | None, typer.Option(help="N, A-B or A,B,C")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="per-seed results")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="per-seed results")] = None,
    plot: Annotated[Path | None, typer.Option(help="PNG of occupancy, abandons, lines")] = None,
) -> None:
    """Simulate a scenario over one or more seeds and print the figures."""
    _check_mode(mode)
    sc = _load(scenario)
    results: list[SimResult] = [simulate(sc, seed, mode) for seed in parse_seeds(seeds, sc.seed)]
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
) -> None:
    """Simulate every combination of parameter values (means over seeds)."""
    _check_mode(mode)
    sc = _load(scenario)
    grid: dict[str, list[Any]] = {}
    for p in param:
        if "=" not in p:
            raise typer.BadParameter(f"--param {p!r}: expected NAME=V1,V2")
        name, values = p.split("=", 1)
        grid[name.strip()] = [_value(v) for v in values.split(",") if v.strip()]
    seed_list = parse_seeds(seeds, sc.seed)
    rows: list[dict[str, Any]] = []
    means: list[dict[str, Any]] = []
    for combo in itertools.product(*grid.values()):
        label = dict(zip(grid, combo, strict=True))
        try:
            point = sc.with_overrides(**label)
        except ScenarioError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        point_rows = [{**label, **simulate(point, s, mode, record_series=False).summary()}
                      for s in seed_list]  # fmt: skip
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
