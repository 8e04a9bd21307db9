"""Plots of simulated runs (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from simulations.scenario import Scenario
from simulations.simulator import SimResult


def plot_run(results: list[SimResult], scenario: Scenario, path: Path) -> None:
    """Occupancy, abandon rate (instant and cumulative vs cap), lines in flight and threshold."""
    fig, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
    cap = scenario.campaign.abandon_cap
    for r in results:
        s = r.series
        if not s.get("t"):
            continue
        t = np.asarray(s["t"]) / 3600.0
        ans = np.asarray(s["answers"])
        ab = np.asarray(s["abandons"])
        label = f"{r.mode} seed {r.seed}"
        axes[0].plot(t, s["occupancy"], lw=0.8, label=label)
        win = max(1, min(15, ans.size))
        inst = np.convolve(ab, np.ones(win), "same") / np.maximum(
            np.convolve(ans, np.ones(win), "same"), 1
        )
        cum = np.cumsum(ab) / np.maximum(np.cumsum(ans), 1)
        axes[1].plot(t, inst, lw=0.6, alpha=0.6)
        axes[1].plot(t, cum, lw=1.2, label=f"{label} cumulative")
        axes[2].plot(t, s["lines"], lw=0.8, label=label)
        axes[3].plot(t, s["threshold"], lw=0.8, label=label)
    axes[0].set_ylabel("talk occupancy")
    axes[0].set_ylim(0, 1.02)
    axes[1].axhline(cap, color="red", ls="--", lw=1, label=f"cap {cap:.0%}")
    axes[1].set_ylabel("abandon rate")
    axes[1].set_ylim(0, max(cap * 2.5, 0.01))
    axes[2].set_ylabel("lines in flight")
    axes[3].set_ylabel("risk threshold")
    axes[3].set_xlabel("hours")
    for change in scenario.changes:
        for ax in axes:
            ax.axvline(change.at / 3600.0, color="grey", ls=":", lw=1)
    axes[0].legend(fontsize=7, loc="lower right")
    axes[1].legend(fontsize=7, loc="upper right")
    axes[0].set_title(f"{scenario.name}: {scenario.seats} seats")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_sweep(
    rows: list[dict[str, Any]], params: list[str], scenario: Scenario, path: Path
) -> None:
    """Occupancy and abandon rate for each sweep point."""
    labels = [", ".join(f"{p}={r[p]}" for p in params) for r in rows]
    x = np.arange(len(rows))
    fig, (a0, a1) = plt.subplots(2, 1, figsize=(max(6, len(rows) * 0.8), 7), sharex=True)
    a0.bar(x, [r["talk_occupancy"] for r in rows], color="tab:blue")
    a0.set_ylabel("talk occupancy")
    a0.set_ylim(0, 1)
    a1.bar(x, [r["abandon_rate"] for r in rows], color="tab:orange", label="abandon rate")
    a1.plot(x, [r["max_abandon_rate"] for r in rows], "k.", label="max cumulative")
    a1.axhline(scenario.campaign.abandon_cap, color="red", ls="--", lw=1, label="cap")
    a1.set_ylabel("abandon rate")
    a1.legend(fontsize=7)
    a1.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    a0.set_title(f"sweep of {scenario.name}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
