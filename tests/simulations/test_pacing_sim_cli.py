"""pacing-sim run / sweep end to end (short scenarios)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from simulations import cli
from simulations.cli import app


def _scenario(tmp_path: Path, **keys: object) -> Path:
    """A small scenario file (``keys`` replace its top-level keys)."""
    raw = {
        "name": "tiny",
        "duration": "10m",
        "seats": 3,
        "talk": {"dist": "exponential", "mean": 60},
        "outcomes": {"human": 0.3, "busy": 0.2},
        "answer_delay": {"dist": "lognormal", "mean": 10, "sd": 5},
        **keys,
    }
    p = tmp_path / f"{raw['name']}.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


def test_run_writes_json_csv_and_plot(tmp_path: Path) -> None:
    sc = _scenario(tmp_path)
    out = CliRunner().invoke(
        app,
        ["run", str(sc), "--seeds", "1-2", "--mode", "ratio:1.5",
         "--json", str(tmp_path / "r.json"), "--csv", str(tmp_path / "r.csv"),
         "--plot", str(tmp_path / "r.png")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    rows = json.loads((tmp_path / "r.json").read_text())
    assert [r["seed"] for r in rows] == [1, 2]
    assert all(r["mode"] == "ratio:1.5" and r["scenario_hash"] for r in rows)
    assert (tmp_path / "r.csv").read_text().startswith("scenario,")
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_sweep(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app, ["sweep", str(_scenario(tmp_path)), "--param", "seats=2,4", "--mode", "progressive",
              "--json", str(tmp_path / "s.json"), "--plot", str(tmp_path / "s.png")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    rows = json.loads((tmp_path / "s.json").read_text())
    assert [r["seats"] for r in rows] == [2, 4]


def test_bad_input_is_reported(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["run", str(tmp_path / "missing.yaml")])
    assert out.exit_code == 2 and "no such scenario file" in out.output
    out = CliRunner().invoke(app, ["run", str(_scenario(tmp_path)), "--mode", "turbo"])
    assert out.exit_code != 0 and "turbo" in out.output


def test_sweep_over_the_abandon_cap(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app, ["sweep", str(_scenario(tmp_path)), "--param", "cap=0.01,0.05",
              "--json", str(tmp_path / "s.json")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    rows = json.loads((tmp_path / "s.json").read_text())
    assert [r["cap"] for r in rows] == [0.01, 0.05]
    # a cap the campaign may not exceed at any moment of the run
    assert all(r["max_abandon_rate"] <= r["cap"] for r in rows)


def test_sweep_over_the_hit_jump_allowance(tmp_path: Path) -> None:
    # More budget kept for a jump of the hit rate: fewer lines out. (A low hit rate and a 5 %
    # cap, so the budget guard, not the thin-budget mode, bounds the lines most of the run.)
    p = _scenario(
        tmp_path,
        name="low-hit",
        duration="20m",
        seats=10,
        talk={"dist": "exponential", "mean": 45},
        outcomes={"human": 0.05, "busy": 0.2},
        answer_delay={"dist": "lognormal", "mean": 12, "sd": 6},
        campaign={"abandon_cap": 0.05},
    )
    out = CliRunner().invoke(
        app, ["sweep", str(p), "--param", "hit_jump=1,8", "--seeds", "1-2",
              "--json", str(tmp_path / "s.json")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    rows = json.loads((tmp_path / "s.json").read_text())
    assert [r["hit_jump"] for r in rows] == [1, 1, 8, 8]
    loose, tight = rows[:2], rows[2:]
    assert sum(r["dials"] for r in tight) < sum(r["dials"] for r in loose)
    assert all(r["max_abandon_rate"] <= 0.05 for r in rows)


def _without_wall(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_parallel_runs_give_the_figures_of_one_process(tmp_path: Path) -> None:
    sc = str(_scenario(tmp_path))
    for workers in ("1", "3"):
        out = CliRunner().invoke(
            app, ["run", sc, "--seeds", "1-3", "--workers", workers,
                  "--json", str(tmp_path / f"r{workers}.json")],
        )  # fmt: skip
        assert out.exit_code == 0, out.output
        out = CliRunner().invoke(
            app, ["sweep", sc, "--param", "seats=2,4", "--seeds", "1-2", "--workers", workers,
                  "--json", str(tmp_path / f"s{workers}.json")],
        )  # fmt: skip
        assert out.exit_code == 0, out.output
    for name in ("r", "s"):
        one = json.loads((tmp_path / f"{name}1.json").read_text())
        many = json.loads((tmp_path / f"{name}3.json").read_text())
        assert _without_wall(many) == _without_wall(one)
    seeds_and_seats = [
        (r["seats"], r["seed"]) for r in json.loads((tmp_path / "s3.json").read_text())
    ]
    assert seeds_and_seats == [(2, 1), (2, 2), (4, 1), (4, 2)]  # (in the sweep's order)


def test_a_sweep_with_a_bad_point_simulates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[object] = []
    monkeypatch.setattr(cli, "_simulate_job", ran.append)
    out = CliRunner().invoke(
        app, ["sweep", str(_scenario(tmp_path)), "--param", "seats=2,-1", "--workers", "1",
              "--json", str(tmp_path / "s.json")],
    )  # fmt: skip
    assert out.exit_code == 2 and "seats" in out.output
    assert ran == [] and not (tmp_path / "s.json").exists()  # (seats=2 was not run either)
    out = CliRunner().invoke(app, ["run", str(_scenario(tmp_path)), "--workers", "0"])
    assert out.exit_code != 0 and "--workers" in out.output
