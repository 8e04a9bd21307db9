"""The pacing family benchmark's bookkeeping: re-running predictive alone on saved fixed-ratio
columns, re-checking on new seeds the hindsight ratios that beat predictive, searching those
ratios again on more seeds, and keeping the hand-written notes when the table is rewritten."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from simulations.benchmarks import pacing_family as bench

ARGS = ["--seats", "5", "--hits", "0.25", "--talks", "60", "--collapse", "no", "--seeds", "1",
        "--workers", "1", "--skip-timing", "--ratio-iters", "2"]  # fmt: skip


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["pacing_family.py", *ARGS, *args])
    bench.main()


def _saved_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ratio_occ: float
) -> tuple[Path, dict]:
    """A 10-minute run saved with --json, its best strict ratio's occupancy doctored."""
    full = tmp_path / "full.json"
    _main(monkeypatch, "--duration", "10m", "--json", str(full))
    saved = json.loads(full.read_text())
    assert saved["duration"] == 600.0 and saved["seeds"] == [1]
    saved["rows"][0]["ratio_occ"] = ratio_occ
    full.write_text(json.dumps(saved))
    return full, saved


def test_predictive_alone_is_rerun_on_the_saved_fixed_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # doctored fixed columns: a re-run must take them as they are, not recompute them
    full, saved = _saved_run(tmp_path, monkeypatch, 0.123)
    again = tmp_path / "again.json"
    _main(monkeypatch, "--duration", "10m", "--reuse-fixed", str(full), "--json", str(again))
    row = json.loads(again.read_text())["rows"][0]
    assert row["ratio_occ"] == 0.123
    assert row["predictive"] == saved["rows"][0]["predictive"]  # deterministic
    assert 0 < row["adaptive"] == saved["rows"][0]["adaptive"]  # the VICIdial-style baseline
    assert "predictive and adaptive re-run" in capsys.readouterr().out


def test_saved_columns_from_another_run_length_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = tmp_path / "full.json"
    _main(monkeypatch, "--duration", "10m", "--json", str(full))
    with pytest.raises(SystemExit, match="another --duration or --seeds"):
        _main(monkeypatch, "--duration", "20m", "--reuse-fixed", str(full))
    saved = json.loads(full.read_text())
    saved["rows"][0]["scenario"] = "something-else"
    full.write_text(json.dumps(saved))
    with pytest.raises(SystemExit, match=r"no saved row for s5-h0\.25-t60"):
        _main(monkeypatch, "--duration", "10m", "--reuse-fixed", str(full))


def test_verification_counts_the_seeds_over_the_cap() -> None:
    # ten lines per idle seat on a list answering at 60 %: the cap breaks on every seed
    row = {"scenario": "s5-h0.6-t300", "seats": 5, "hit": 0.6, "talk": 300.0, "collapse": False,
           "best_ratio": 10.0}  # fmt: skip
    v = bench.verify(row, 1200.0, [3, 4])
    assert v["seeds"] == 2 and v["ratio_breaches"] == 2 and v["pred_breaches"] == 0
    assert 0.0 < v["pred_occ"] < 1.0


def test_cap_check_runs_predictive_on_the_seeds_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _main(monkeypatch, "--duration", "10m", "--cap-check", "3-4")
    out = capsys.readouterr().out
    assert "s5-h0.25-t60" in out and "seeds over the cap 0/2" in out
    assert "1 scenarios x 2 seeds: 0 over the cap" in out


def test_cap_check_refuses_seeds_it_cannot_read(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit, match=r"--cap-check: .*'3-x'"):
        _main(monkeypatch, "--duration", "10m", "--cap-check", "3-x")


def test_writing_the_table_keeps_the_hand_written_notes_and_the_rest_of_the_document() -> None:
    doc = (
        "# Benchmarks\n\n## Asterisk\nfigures\n\n"
        f"{bench.BEGIN}\nold table\n{bench.NOTES}\n### base-25\nanalysis by hand\n{bench.END}\n\n"
        "## Daemon\nmore\n"
    )
    merged = bench.merge_block(doc, "new table")
    assert "old table" not in merged
    assert f"{bench.BEGIN}\nnew table\n{bench.NOTES}\n### base-25\nanalysis by hand\n" in merged
    assert merged.startswith("# Benchmarks\n\n## Asterisk\nfigures\n\n")
    assert merged.endswith(f"{bench.END}\n\n## Daemon\nmore\n")
    # without notes the whole block is the table; without a block it is appended
    assert bench.merge_block(f"a\n{bench.BEGIN}\nx\n{bench.END}\nb", "t") == (
        f"a\n{bench.BEGIN}\nt\n{bench.END}\nb"
    )
    assert bench.merge_block("# B\n", "t") == f"# B\n\n{bench.BEGIN}\nt\n{bench.END}\n"


def test_hindsight_on_more_seeds_searches_the_ratio_again_on_all_of_them() -> None:
    # ratio 10 "won" on the benchmark's seeds; searched on three seeds, the ratio found must
    # keep the cap on each of the three (and it cannot be 10 on a list answering at 60 %)
    row = {"scenario": "s5-h0.6-t300", "seats": 5, "hit": 0.6, "talk": 300.0, "collapse": False,
           "best_ratio": 10.0, "ratio_occ": 0.99, "predictive": 0.5}  # fmt: skip
    h = bench.hindsight(row, 1200.0, [1, 2, 3], 3)
    assert h["seeds"] == 3 and 1.0 <= h["best_ratio"] < 10.0
    sc = bench.family_scenario(5, 0.6, 300.0, False, 1200.0)
    again = bench._run((sc, f"ratio:{h['best_ratio']:.4f}", [1, 2, 3]))
    assert again["breaches"] == 0 and again["occ"] == pytest.approx(h["ratio_occ"])
    assert h["pred_breaches"] == 0 and 0.0 < h["pred_occ"] < 1.0


def test_hindsight_from_saved_rows_is_saved_and_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    full, _ = _saved_run(tmp_path, monkeypatch, 0.999)  # as if the ratio had beaten predictive
    capsys.readouterr()
    _main(monkeypatch, "--duration", "10m", "--from-json", str(full), "--hindsight-seeds", "2",
          "--json", str(full))  # fmt: skip
    searched = json.loads(full.read_text())["hindsight"]
    assert [h["scenario"] for h in searched] == ["s5-h0.25-t60"] and searched[0]["seeds"] == 2
    out = capsys.readouterr().out
    assert "hindsight search on 2 seeds" in out and "| s5-h0.25-t60 |" in out


def test_verification_from_saved_rows_runs_on_the_seeds_after_the_benchmarks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    full, _ = _saved_run(tmp_path, monkeypatch, 0.999)  # as if the ratio had beaten predictive
    capsys.readouterr()
    _main(monkeypatch, "--duration", "10m", "--from-json", str(full), "--verify-seeds", "2",
          "--json", str(full))  # fmt: skip
    (checked,) = json.loads(full.read_text())["verified"]
    assert checked["scenario"] == "s5-h0.25-t60" and checked["seeds"] == 2
    # the same figures as verify() itself on seeds 2-3 (the benchmark ran seed 1)
    row = json.loads(full.read_text())["rows"][0]
    assert checked == bench.verify(row, 600.0, [2, 3])
    assert "| s5-h0.25-t60 |" in capsys.readouterr().out


def test_hindsight_check_runs_the_trailing_ratios_on_seeds_the_search_never_saw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    full, saved = _saved_run(tmp_path, monkeypatch, 0.999)
    # two searched rows: one the ratio still beats (checked), one predictive beat (left alone);
    # ratio 10 on a list answering at 60 % breaks the cap on every seed
    beat = {"scenario": "s5-h0.25-t60", "seeds": 2, "best_ratio": 10.0, "ratio_occ": 0.999,
            "pred_occ": 0.5, "pred_breaches": 0}  # fmt: skip
    held = {**beat, "scenario": "other", "ratio_occ": 0.1}
    saved["rows"][0]["hit"] = 0.6
    saved["hindsight"] = [beat, held]
    full.write_text(json.dumps(saved))
    capsys.readouterr()
    _main(monkeypatch, "--duration", "10m", "--from-json", str(full), "--hindsight-check", "2",
          "--json", str(full))  # fmt: skip
    checked, untouched = json.loads(full.read_text())["hindsight"]
    assert untouched == held
    assert checked["check_seeds"] == "3-4" and checked["check_runs"] == 2  # after seeds 1-2
    assert checked["check_ratio_breaches"] == 2 and checked["check_pred_breaches"] == 0
    # the largest ratio that kept the cap on both new seeds (by the bisection, 2 steps here)
    assert 1.0 <= checked["check_safe_ratio"] < 10.0
    sc = bench.family_scenario(5, 0.6, 60.0, False, 600.0)
    safe = bench._run((sc, f"ratio:{checked['check_safe_ratio']:.4f}", [3, 4]))
    assert safe["breaches"] == 0 and safe["occ"] == pytest.approx(checked["check_safe_occ"])
    pred = bench._run((sc, "predictive", [3, 4]))
    assert checked["check_pred_occ"] == pytest.approx(pred["occ"])
    out = capsys.readouterr().out
    assert "on 2 seeds the search never saw (seeds 3-4" in out and "| 2/2 | " in out
    assert "R kept on all 2" in out


def test_shift_timing_reports_the_once_per_process_costs_apart() -> None:
    t = bench.shift_timing(repeats=2, duration_s=120.0)
    assert len(t["ratios"]) == 2 and t["cpu"] <= t["cpu_max"] and t["prog_cpu"] <= t["prog_cpu_max"]
    assert t["dials"] > 0 and 0.0 < t["occ"] < 1.0
    # the cold command pays the imports and the kernels' loading on top of the shift
    assert t["cold_command"] > t["cpu"]
    # the hit rate falls to 0.4 of itself at mid-shift: more dials for the same connects
    assert t["collapse_dials"] > t["dials"] and t["collapse_cpu"] <= t["collapse_cpu_max"]
    assert t["collapse_cold_command"] > t["collapse_cpu"]
    line = bench.render([], t, [], _args(), 0.0, [], []).splitlines()
    assert any("Once per process" in x and "cold start" in x for x in line)
    assert any("falling to 0.10 at 4 h" in x for x in line)


def _args() -> Any:
    import argparse

    return argparse.Namespace(
        duration="2m", seeds=1, seats="100", hits="0.25", talks="150", collapse="no",
        ratio_iters=2, workers=1, reuse_fixed=None,
    )  # fmt: skip
