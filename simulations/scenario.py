"""Scenario files: a simulated campaign declared as data (YAML), validated with clear errors.

See ``simulations/scenarios/base-25.yaml`` for the format. Durations are seconds or strings with a
unit (``90s``, ``30m``, ``8h``, ``2d``). Errors name the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pacing.estimators import DistributionPrior
from pacing.model import Priors
from pacing.trim import MIN_RING_S

DIST_KINDS = ("constant", "exponential", "lognormal", "gamma")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the file and the field."""


def parse_duration(value: Any, where: str) -> float:
    """``90``, ``"90s"``, ``"30m"``, ``"8h"``, ``"30d"`` → seconds."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smhd]?)\s*", value)
        if not m:
            raise ScenarioError(
                f"{where}: expected a duration like 90, 90s, 30m or 8h, got {value!r}"
            )
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    else:
        raise ScenarioError(f"{where}: expected a duration, got {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ScenarioError(f"{where}: duration must be >= 0, got {value!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class Dist:
    """A duration distribution: constant, exponential, lognormal or gamma (seconds)."""

    kind: str
    mean: float
    sd: float = 0.0

    @classmethod
    def parse(cls, raw: Any, where: str) -> Dist:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return cls("constant", float(raw))
        if not isinstance(raw, dict):
            raise ScenarioError(f"{where}: expected a mapping like {{dist: lognormal, mean: 150}}")
        kind = raw.get("dist", "constant")
        if kind not in DIST_KINDS:
            raise ScenarioError(f"{where}.dist: {kind!r} is not one of {', '.join(DIST_KINDS)}")
        unknown = set(raw) - {"dist", "mean", "sd", "value"}
        if unknown:
            raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
        mean_raw = raw.get("value", raw.get("mean"))
        if mean_raw is None:
            raise ScenarioError(f"{where}: needs 'mean' (or 'value' for constant)")
        mean = parse_duration(mean_raw, f"{where}.mean")
        sd = parse_duration(raw.get("sd", 0), f"{where}.sd")
        if kind in ("lognormal", "gamma") and (sd <= 0 or mean <= 0):
            raise ScenarioError(f"{where}: {kind} needs mean > 0 and sd > 0")
        if kind == "exponential":
            sd = mean
        if kind == "constant":
            sd = 0.0
        return cls(kind, mean, sd)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "constant":
            return np.full(n, self.mean)
        if self.kind == "exponential":
            return rng.exponential(self.mean, n)
        if self.kind == "lognormal":
            s2 = math.log(1 + (self.sd / self.mean) ** 2)
            return rng.lognormal(math.log(self.mean) - s2 / 2, math.sqrt(s2), n)
        shape = (self.mean / self.sd) ** 2
        return rng.gamma(shape, self.mean / shape, n)


@dataclass(frozen=True, slots=True)
class Outcomes:
    human: float
    machine: float
    busy: float

    @classmethod
    def parse(cls, raw: Any, where: str, base: Outcomes | None = None) -> Outcomes:
        if not isinstance(raw, dict):
            raise ScenarioError(f"{where}: expected a mapping like {{human: 0.25, busy: 0.2}}")
        unknown = set(raw) - {"human", "machine", "busy"}
        if unknown:
            raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
        vals = {}
        for key in ("human", "machine", "busy"):
            v = raw.get(key, getattr(base, key) if base else 0.0)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
                raise ScenarioError(f"{where}.{key}: expected a probability in [0, 1], got {v!r}")
            vals[key] = float(v)
        if sum(vals.values()) > 1 + 1e-9:
            raise ScenarioError(f"{where}: human + machine + busy must not exceed 1")
        return cls(**vals)


@dataclass(frozen=True, slots=True)
class Regime:
    """What the simulated world looks like from some moment on."""

    seats: int
    talk: Dist
    wrapup: Dist
    outcomes: Outcomes
    answer_delay: Dist


@dataclass(frozen=True, slots=True)
class Change:
    at: float
    regime: Regime


@dataclass(frozen=True, slots=True)
class Campaign:
    mode: str = "predictive"
    abandon_cap: float = 0.03
    window: float = 86_400.0
    priors: Priors = field(default_factory=Priors)
    hit_jump: float = 2.0  # the budget guard's allowance for a sudden rise of the hit rate
    trim_ringing: float | None = 15.0  # hang up calls ringing this long when no seat is free


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    seed: int
    duration: float
    regime: Regime
    busy_delay: float
    no_answer_timeout: float
    connect_window: float
    changes: tuple[Change, ...]
    campaign: Campaign
    decision_interval: float = 1.0
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def seats(self) -> int:
        return self.regime.seats

    def digest(self) -> str:
        """Short hash of the scenario's content (recorded with every result)."""
        text = json.dumps(self.raw, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def with_overrides(self, **params: Any) -> Scenario:
        """A copy with top-level keys replaced (``seats=50``, ``duration='1h'``, ``mode=...``,
        ``cap=0.05``, ``hit_jump=6``)."""
        raw = json.loads(json.dumps(self.raw, default=str))
        for key, value in params.items():
            if key == "mode":
                raw.setdefault("campaign", {})["mode"] = value
            elif key in ("cap", "abandon_cap"):
                raw.setdefault("campaign", {})["abandon_cap"] = value
            elif key in ("hit_jump", "hit_jump_allowance"):
                raw.setdefault("campaign", {})["hit_jump_allowance"] = value
            elif key == "trim_ringing":
                raw.setdefault("campaign", {})["trim_ringing"] = value
            elif key in ("human", "machine", "busy"):
                raw.setdefault("outcomes", {})[key] = value
            elif key in ("talk_mean", "talk.mean"):
                raw["talk"] = {**raw.get("talk", {}), "mean": value}
            else:
                raw[key] = value
        return parse_scenario(raw, f"{self.name} (with {params})")


_TOP_KEYS = {
    "name", "seed", "duration", "seats", "talk", "wrapup", "outcomes", "answer_delay",
    "busy_delay", "no_answer_timeout", "connect_window", "changes", "campaign",
    "decision_interval",
}  # fmt: skip


def parse_scenario(raw: Any, source: str = "<scenario>") -> Scenario:
    """Validate a scenario mapping; errors name ``source`` and the field."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping of keys")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ScenarioError(f"{source}: unknown keys {sorted(unknown)}")
    for key in ("seats", "talk", "outcomes", "answer_delay"):
        if key not in raw:
            raise ScenarioError(f"{source}: missing required key {key!r}")

    def where(k: str) -> str:
        return f"{source}: {k}"

    seats = raw["seats"]
    if isinstance(seats, bool) or not isinstance(seats, int) or seats < 0:
        raise ScenarioError(f"{where('seats')}: expected a whole number >= 0, got {seats!r}")
    regime = Regime(
        seats=seats,
        talk=Dist.parse(raw["talk"], where("talk")),
        wrapup=Dist.parse(raw.get("wrapup", 0), where("wrapup")),
        outcomes=Outcomes.parse(raw["outcomes"], where("outcomes")),
        answer_delay=Dist.parse(raw["answer_delay"], where("answer_delay")),
    )
    changes: list[Change] = []
    for i, ch in enumerate(raw.get("changes") or []):
        w = where(f"changes[{i}]")
        if not isinstance(ch, dict) or "at" not in ch:
            raise ScenarioError(f"{w}: expected a mapping with 'at' and what changes")
        extra = set(ch) - {"at", "seats", "talk", "wrapup", "outcomes", "answer_delay"}
        if extra:
            raise ScenarioError(f"{w}: unknown keys {sorted(extra)}")
        prev = changes[-1].regime if changes else regime
        r = prev
        if "seats" in ch:
            s = ch["seats"]
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise ScenarioError(f"{w}.seats: expected a whole number >= 0, got {s!r}")
            r = replace(r, seats=s)
        if "talk" in ch:
            r = replace(r, talk=Dist.parse(ch["talk"], f"{w}.talk"))
        if "wrapup" in ch:
            r = replace(r, wrapup=Dist.parse(ch["wrapup"], f"{w}.wrapup"))
        if "answer_delay" in ch:
            r = replace(r, answer_delay=Dist.parse(ch["answer_delay"], f"{w}.answer_delay"))
        if "outcomes" in ch:
            r = replace(r, outcomes=Outcomes.parse(ch["outcomes"], f"{w}.outcomes", prev.outcomes))
        changes.append(Change(parse_duration(ch["at"], f"{w}.at"), r))
    camp_raw = raw.get("campaign") or {}
    if not isinstance(camp_raw, dict):
        raise ScenarioError(f"{where('campaign')}: expected a mapping")
    extra = set(camp_raw) - {
        "mode", "abandon_cap", "window", "priors", "hit_jump_allowance", "trim_ringing"
    }  # fmt: skip
    if extra:
        raise ScenarioError(f"{where('campaign')}: unknown keys {sorted(extra)}")
    cap = camp_raw.get("abandon_cap", 0.03)
    if isinstance(cap, bool) or not isinstance(cap, int | float) or not 0 < cap < 1:
        raise ScenarioError(
            f"{where('campaign.abandon_cap')}: expected a rate in (0, 1), got {cap!r}"
        )
    jump = camp_raw.get("hit_jump_allowance", 2.0)
    if isinstance(jump, bool) or not isinstance(jump, int | float) or not 1 <= jump <= 20:
        raise ScenarioError(
            f"{where('campaign.hit_jump_allowance')}: expected a factor in [1, 20], got {jump!r}"
        )
    trim = camp_raw.get("trim_ringing", True)
    if trim is True:
        trim = MIN_RING_S
    elif trim is False or trim is None:
        trim = None
    elif not isinstance(trim, int | float) or not trim >= MIN_RING_S:
        raise ScenarioError(
            f"{where('campaign.trim_ringing')}: expected true, false or a ring time in seconds "
            f">= {MIN_RING_S:g} (law), got {trim!r}"
        )
    campaign = Campaign(
        mode=str(camp_raw.get("mode", "predictive")),
        abandon_cap=float(cap),
        window=parse_duration(camp_raw.get("window", "24h"), where("campaign.window")),
        priors=_parse_priors(camp_raw.get("priors"), where("campaign.priors")),
        hit_jump=float(jump),
        trim_ringing=None if trim is None else float(trim),
    )
    seed = raw.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ScenarioError(f"{where('seed')}: expected a whole number >= 0, got {seed!r}")
    timeout = parse_duration(raw.get("no_answer_timeout", 20), where("no_answer_timeout"))
    if timeout < 15:
        raise ScenarioError(f"{where('no_answer_timeout')}: must be >= 15 s (law), got {timeout}")
    cw = parse_duration(raw.get("connect_window", 2), where("connect_window"))
    if cw <= 0:
        raise ScenarioError(f"{where('connect_window')}: must be > 0")
    di = parse_duration(raw.get("decision_interval", 1.0), where("decision_interval"))
    if di <= 0:
        raise ScenarioError(f"{where('decision_interval')}: must be > 0")
    return Scenario(
        name=str(raw.get("name", Path(source).stem)),
        seed=seed,
        duration=parse_duration(raw.get("duration", "8h"), where("duration")),
        regime=regime,
        busy_delay=parse_duration(raw.get("busy_delay", 4), where("busy_delay")),
        no_answer_timeout=timeout,
        connect_window=cw,
        changes=tuple(sorted(changes, key=lambda c: c.at)),
        campaign=campaign,
        decision_interval=di,
        raw=raw,
    )


def _parse_priors(raw: Any, where: str) -> Priors:
    if raw is None:
        return Priors()
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a mapping")
    p = Priors()
    kw: dict[str, Any] = {}
    for key in ("hit", "machine"):
        if key in raw:
            kw[key] = float(raw[key])
    for key in ("talk", "wrapup", "answer_delay"):
        if key in raw:
            d = Dist.parse(raw[key], f"{where}.{key}")
            kw[key] = DistributionPrior(max(d.mean, 0.1), d.sd, getattr(p, key).weight)
    return replace(p, **kw)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such scenario file") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{p}: not valid YAML: {exc}") from None
    return parse_scenario(raw, str(p))
