"""A campaign's recorded history as a ``pacing-sim`` scenario: analysts tune a campaign, or
compare policies, on the list, team and talk times it really had.

The scenario keeps what the records measure: the dial outcomes' shares (live answers, machines,
fast failures, the rest no answer), the talk, wrap-up and answer delays as recorded durations
(``empirical`` distributions, drawn with replacement; written to files beside the scenario),
the team as the seats that took calls, and the campaign's own cap, window, ring timeout, connect
window and ring trim. With ``every``, the period is cut into slices and each slice after the
first becomes a regime change of outcomes and team — the list's drift over the day replayed.

What the records cannot tell, and how it is read (returned in ``Replay.notes``):

- a call the ring trim hung up might have been answered later: it counts as no answer, so the
  replayed hit rate is a little low where the trim was busy;
- ``ring_s`` runs from the Originate to the answer; the simulator's answer delay runs to the end
  of the greeting (the AMD verdict), a second or two later with AMD on;
- the team is the seats seen taking calls: a seat logged in that took none is not counted.

Pure: records and the campaign's configuration in, a scenario mapping out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dialer.config.models import CampaignConfig
from dialer.reports.records import AttemptRecord, Period

#: Outcomes of a dial that failed fast (the simulator's ``busy``, at ``busy_delay``).
FAST_FAILURES = frozenset({"busy", "congestion", "invalid_number", "failed"})
#: A slice with fewer dials than this keeps the regime before it (its shares are noise).
MIN_SLICE_DIALS = 50
SAMPLE_KINDS = ("talk", "wrapup", "answer_delay")


class ReplayError(ValueError):
    """The records cannot make a scenario (too few, or none of a kind the simulator needs)."""


@dataclass(frozen=True, slots=True)
class Replay:
    """A scenario mapping (as in a scenario file) and the recorded durations its ``empirical``
    distributions read, by kind (``talk``, ``wrapup``, ``answer_delay``) — the scenario names
    them by the file names given to :func:`replay_scenario`."""

    scenario: dict[str, Any]
    samples: dict[str, list[float]]
    notes: list[str] = field(default_factory=list)


def replay_scenario(
    records: Sequence[AttemptRecord],
    config: CampaignConfig,
    period: Period,
    *,
    files: dict[str, str],
    seats: int | None = None,
    every: timedelta | None = None,
) -> Replay:
    """The scenario of ``config``'s campaign over ``period`` (see the module docstring).

    ``files`` maps each sample kind to the file name the scenario will read it from; ``seats``
    overrides the team seen; ``every`` cuts the period into regime slices. Raises
    :class:`ReplayError` when the period holds no dial, no answer with its ring time, or no
    connected call with its talk time."""
    mine = [r for r in records if r.campaign == config.name and r.placed_at in period]
    done = [r for r in mine if r.dialled and r.outcome is not None]
    where = f"campaign {config.name}, {period.label()}"
    if not done:
        raise ReplayError(f"{where}: no finished dial to replay")
    samples = {
        "answer_delay": [r.ring_s for r in done if r.answered and r.ring_s is not None],
        "talk": [r.talk_s for r in done if r.connected and r.talk_s is not None and r.talk_s > 0],
        "wrapup": [r.wrapup_s for r in done if r.connected and r.wrapup_s is not None],
    }
    if not samples["answer_delay"]:
        raise ReplayError(f"{where}: no answered call with its ring time: no answer delay known")
    if not samples["talk"]:
        raise ReplayError(f"{where}: no connected call with its talk time: no talk time known")
    notes: list[str] = []
    if not samples["wrapup"]:
        samples["wrapup"] = [0.0]
        notes.append("no wrap-up time recorded: replayed as none")
    team = seats if seats is not None else _team_seen(done)
    if team < 1:
        raise ReplayError(f"{where}: --seats must be at least 1, got {team}")
    first = min(r.placed_at for r in done)
    last = max(r.placed_at for r in done)
    duration = max(60.0, (last - first).total_seconds())
    pacing = config.pacing
    timeout = max(config.no_answer_timeout_s, config.min_ring_s)
    fast = [r.ring_s for r in done if r.outcome in FAST_FAILURES and r.ring_s is not None]
    trimmed = sum(
        1
        for r in done
        if r.outcome == "no_answer" and r.ring_s is not None and r.ring_s < timeout - 1.0
    )
    if trimmed:
        notes.append(
            f"{trimmed} calls hung up before the ring timeout (the ring trim) count as no "
            "answer: the replayed hit rate is a little low"
        )
    if seats is None:
        notes.append(f"team: the {team} seats seen taking calls (--seats to set it)")
    scenario: dict[str, Any] = {
        "name": f"{config.name}-replay",
        "seed": 1,
        "duration": round(duration),
        "seats": team,
        "talk": {"dist": "empirical", "file": files["talk"]},
        "wrapup": {"dist": "empirical", "file": files["wrapup"]},
        "outcomes": _shares(done),
        "answer_delay": {"dist": "empirical", "file": files["answer_delay"]},
        "busy_delay": round(statistics.median(fast), 1) if fast else 4.0,
        "no_answer_timeout": round(timeout, 1),
        "connect_window": pacing.connect_window_s,
        "campaign": {
            "mode": "predictive",
            "abandon_cap": config.abandon.cap,
            "window": round(config.abandon.window_s),
            "hit_jump_allowance": pacing.hit_jump_allowance,
            "trim_ringing": config.min_ring_s if pacing.trim_ringing else False,
        },
    }
    if every is not None:
        changes = _slices(done, first, duration, every, seats)
        if changes:
            scenario["changes"] = changes
    return Replay(scenario, {k: [float(x) for x in samples[k]] for k in SAMPLE_KINDS}, notes)


def _shares(dials: Sequence[AttemptRecord]) -> dict[str, float]:
    """Live answers, machines and fast failures as shares of the dials (the rest no answer)."""
    n = len(dials)
    human = sum(r.live_answer for r in dials) / n
    machine = sum(r.answered and r.machine for r in dials) / n
    busy = sum(r.outcome in FAST_FAILURES for r in dials) / n
    # (rounded down so that the three never add up past 1)
    return {k: math.floor(v * 10_000) / 10_000 for k, v in
            (("human", human), ("machine", machine), ("busy", busy))}  # fmt: skip


def _team_seen(dials: Sequence[AttemptRecord]) -> int:
    """The seats seen taking calls among ``dials``: the team as far as the records show."""
    return len({r.seat_id for r in dials if r.connected})


def _slices(
    dials: Sequence[AttemptRecord],
    first: datetime,
    duration: float,
    every: timedelta,
    seats: int | None,
) -> list[dict[str, Any]]:
    """A regime change per slice of ``every`` after the first: that slice's outcome shares and
    (unless ``seats`` fixes it) the seats seen taking its calls. Slices with fewer than
    ``MIN_SLICE_DIALS`` dials keep the regime before them."""
    step = every.total_seconds()
    if step <= 0:
        raise ReplayError(f"--every must be above 0, got {every}")
    slices: dict[int, list[AttemptRecord]] = {}
    for r in dials:
        slices.setdefault(int((r.placed_at - first).total_seconds() // step), []).append(r)
    changes: list[dict[str, Any]] = []
    for k in range(1, math.ceil(duration / step)):
        part = slices.get(k, [])
        if len(part) < MIN_SLICE_DIALS:
            continue
        change: dict[str, Any] = {"at": round(k * step), "outcomes": _shares(part)}
        team = _team_seen(part)
        if seats is None and team > 0:
            change["seats"] = team
        changes.append(change)
    return changes
