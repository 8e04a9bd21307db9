"""Scenario files: a simulated campaign declared as data (YAML), validated with clear errors.

See ``simulations/scenarios/base-25.yaml`` for the format. Durations are seconds or strings with a
unit (``90s``, ``30m``, ``8h``, ``2d``). Errors name the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pacing.estimators import DistributionPrior
from pacing.model import Priors
from pacing.trim import MIN_RING_S

DIST_KINDS = ("constant", "exponential", "lognormal", "gamma", "mixture", "empirical")
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
    """A duration distribution (seconds): constant, exponential, lognormal or gamma by mean and
    sd; a ``mixture`` of those (talk times are often two populations: quick refusals and
    conversations); or ``empirical``, durations drawn with replacement from recorded ones
    (listed, or read from a file of one number per line — a real campaign's history replayed).

    ``mean`` and ``sd`` are the distribution's own, whatever its kind (the priors read them)."""

    kind: str
    mean: float
    sd: float = 0.0
    parts: tuple[tuple[float, Dist], ...] = ()  # mixture: (weight, component), weights sum to 1
    values: tuple[float, ...] = ()  # empirical: the recorded durations

    @classmethod
    def parse(cls, raw: Any, where: str, base_dir: Path | None = None) -> Dist:
        """``raw`` as in a scenario file; ``base_dir`` is where an empirical file's relative
        path starts (the scenario file's folder)."""
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return cls("constant", float(raw))
        if not isinstance(raw, dict):
            raise ScenarioError(f"{where}: expected a mapping like {{dist: lognormal, mean: 150}}")
        kind = raw.get("dist", "constant")
        if kind not in DIST_KINDS:
            raise ScenarioError(f"{where}.dist: {kind!r} is not one of {', '.join(DIST_KINDS)}")
        if kind == "mixture":
            return cls._mixture(raw, where, base_dir)
        if kind == "empirical":
            return cls._empirical(raw, where, base_dir)
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

    @classmethod
    def _mixture(cls, raw: dict[str, Any], where: str, base_dir: Path | None) -> Dist:
        unknown = set(raw) - {"dist", "parts"}
        if unknown:
            raise ScenarioError(f"{where}: unknown keys {sorted(unknown)} (a mixture has 'parts')")
        parts_raw = raw.get("parts")
        if not isinstance(parts_raw, list) or not parts_raw:
            raise ScenarioError(
                f"{where}.parts: expected a list like [{{weight: 0.7, dist: lognormal, mean: 20, "
                "sd: 10}, {weight: 0.3, dist: gamma, mean: 300, sd: 200}]"
            )
        weighted: list[tuple[float, Dist]] = []
        for i, part in enumerate(parts_raw):
            w = f"{where}.parts[{i}]"
            if not isinstance(part, dict) or "weight" not in part:
                raise ScenarioError(f"{w}: expected a mapping with 'weight' and a distribution")
            weight = part["weight"]
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
                raise ScenarioError(f"{w}.weight: expected a number > 0, got {weight!r}")
            if part.get("dist") == "mixture":
                raise ScenarioError(f"{w}.dist: a mixture's parts cannot be mixtures")
            dist = cls.parse({k: v for k, v in part.items() if k != "weight"}, w, base_dir)
            weighted.append((float(weight), dist))
        total = sum(w for w, _ in weighted)
        parts = tuple((w / total, d) for w, d in weighted)
        mean = sum(w * d.mean for w, d in parts)
        second = sum(w * (d.sd**2 + d.mean**2) for w, d in parts)
        return cls("mixture", mean, math.sqrt(max(second - mean * mean, 0.0)), parts=parts)

    @classmethod
    def _empirical(cls, raw: dict[str, Any], where: str, base_dir: Path | None) -> Dist:
        unknown = set(raw) - {"dist", "values", "file"}
        if unknown or ("values" in raw) == ("file" in raw):
            raise ScenarioError(
                f"{where}: an empirical distribution takes either 'values' (a list of "
                "durations) or 'file' (one duration per line), and nothing else"
            )
        if "file" in raw:
            values = _durations_file(raw["file"], f"{where}.file", base_dir)
        else:
            listed = raw["values"]
            if not isinstance(listed, list) or not listed:
                raise ScenarioError(f"{where}.values: expected a non-empty list of durations")
            values = [parse_duration(v, f"{where}.values[{i}]") for i, v in enumerate(listed)]
        arr = np.asarray(values, np.float64)
        return cls("empirical", float(arr.mean()), float(arr.std()), values=tuple(values))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "constant":
            return np.full(n, self.mean)
        if self.kind == "exponential":
            return rng.exponential(self.mean, n)
        if self.kind == "lognormal":
            s2 = math.log(1 + (self.sd / self.mean) ** 2)
            return rng.lognormal(math.log(self.mean) - s2 / 2, math.sqrt(s2), n)
        if self.kind == "empirical":
            return rng.choice(np.asarray(self.values, np.float64), n)
        if self.kind == "mixture":
            which = rng.choice(len(self.parts), n, p=[w for w, _ in self.parts])
            out = np.empty(n)
            for i, (_, part) in enumerate(self.parts):
                mask = which == i
                out[mask] = part.sample(rng, int(mask.sum()))
            return out
        shape = (self.mean / self.sd) ** 2
        return rng.gamma(shape, self.mean / shape, n)


def _durations_file(name: Any, where: str, base_dir: Path | None) -> list[float]:
    """Durations from a text or one-column CSV file (a header line and blank lines are
    skipped); errors name the file and the line."""
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(f"{where}: expected a file name, got {name!r}")
    path = Path(name)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ScenarioError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
    values: list[float] = []
    for number, line in enumerate(lines, 1):
        text = line.split(",")[0].strip()
        if not text or text.startswith("#"):
            continue
        try:
            value = float(text)
        except ValueError:
            if number == 1 and not values:
                continue  # a header
            raise ScenarioError(
                f"{path}:{number}: expected a duration in seconds, got {text!r}"
            ) from None
        if not math.isfinite(value) or value < 0:
            raise ScenarioError(f"{path}:{number}: a duration must be >= 0, got {text!r}")
        values.append(value)
    if not values:
        raise ScenarioError(f"{where}: {path} holds no durations")
    return values


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
    # A regime change also reaches the calls still ringing: their fates are drawn again from
    # the new outcomes and answer delays (a list's people all answering better from 5 pm on);
    # by default only the calls placed after it see it (a new stretch of the list).
    changes_reach_ringing: bool = False
    # The team shrinks without telling the dialler beforehand: a ready seat logs out at once
    # (calls out for it or not), a busy one when its wrap-up ends; by default the agents say so
    # as the team changes, as a desktop's "log out after this call" does.
    team_changes_unannounced: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    base_dir: Path | None = field(default=None, compare=False)  # where the file was read from

    @property
    def seats(self) -> int:
        return self.regime.seats

    def digest(self) -> str:
        """Short hash of the scenario's content (recorded with every result), durations read
        from files included."""
        h = hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode())
        for regime in (self.regime, *(c.regime for c in self.changes)):
            for dist in (regime.talk, regime.wrapup, regime.answer_delay):
                for d in (dist, *(part for _, part in dist.parts)):
                    if d.values:
                        h.update(np.asarray(d.values, np.float64).tobytes())
        return h.hexdigest()[:12]

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
                talk = raw.get("talk", {})
                if isinstance(talk, dict) and talk.get("dist") in ("mixture", "empirical"):
                    raise ScenarioError(
                        f"{self.name}: talk_mean sets a parametric talk's mean; this scenario's "
                        f"talk is {talk['dist']} (scale its parts or values instead)"
                    )
                raw["talk"] = {**talk, "mean": value}
            else:
                raw[key] = value
        return parse_scenario(raw, f"{self.name} (with {params})", self.base_dir)


_TOP_KEYS = {
    "name", "seed", "duration", "seats", "talk", "wrapup", "outcomes", "answer_delay",
    "busy_delay", "no_answer_timeout", "connect_window", "changes", "campaign",
    "decision_interval", "changes_reach_ringing", "team_changes_unannounced",
}  # fmt: skip


def parse_scenario(raw: Any, source: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Validate a scenario mapping; errors name ``source`` and the field. ``base_dir``: where
    empirical distributions' files are looked for (the scenario file's folder)."""
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
        talk=Dist.parse(raw["talk"], where("talk"), base_dir),
        wrapup=Dist.parse(raw.get("wrapup", 0), where("wrapup"), base_dir),
        outcomes=Outcomes.parse(raw["outcomes"], where("outcomes")),
        answer_delay=Dist.parse(raw["answer_delay"], where("answer_delay"), base_dir),
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
            r = replace(r, talk=Dist.parse(ch["talk"], f"{w}.talk", base_dir))
        if "wrapup" in ch:
            r = replace(r, wrapup=Dist.parse(ch["wrapup"], f"{w}.wrapup", base_dir))
        if "answer_delay" in ch:
            delay = Dist.parse(ch["answer_delay"], f"{w}.answer_delay", base_dir)
            r = replace(r, answer_delay=delay)
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
        priors=_parse_priors(camp_raw.get("priors"), where("campaign.priors"), base_dir),
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
    reach, unannounced = (
        _flag(raw, key, where) for key in ("changes_reach_ringing", "team_changes_unannounced")
    )
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
        changes_reach_ringing=reach,
        team_changes_unannounced=unannounced,
        raw=raw,
        base_dir=base_dir,
    )


def _flag(raw: dict[str, Any], key: str, where: Callable[[str], str]) -> bool:
    """A true / false key of the scenario (false when absent)."""
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise ScenarioError(f"{where(key)}: expected true or false, got {value!r}")
    return value


def _parse_priors(raw: Any, where: str, base_dir: Path | None) -> Priors:
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
            d = Dist.parse(raw[key], f"{where}.{key}", base_dir)
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
    return parse_scenario(raw, str(p), p.parent)
