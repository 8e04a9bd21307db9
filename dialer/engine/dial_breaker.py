"""The dial-failure breaker: stop dialling while the network fails the calls.

A trunk that is down or saturated fails every call within milliseconds (congestion, channel
unavailable, no capacity). Nothing in pacing holds a dialer back then: each failed call frees its
line at once, the seats stay idle, and the next decision dials again, so a campaign would spend
an attempt of a lead per seat every second or so (more in predictive mode, had the failures been
read as a hit rate near zero) and use up its whole list on a dead trunk.

The breaker watches how each dial ends (answered, or why not; ringing proves nothing: a network
may ring and then report congestion). When, within ``window_s``, at least ``min_failures`` dials
failed in the network and they are at least ``failure_share`` of the dials resolved there, it
opens: no new call for ``cooldown_s``. Then it lets ``probes`` calls through;
the first of them that is answered, busy or rings out closes it, and if all of them fail it
opens again for twice as long (at most ``max_cooldown_s``). Busy, no answer and invalid numbers
are the list's doing, not the network's, and never trip it.

Pure: every method takes ``now``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from dialer.engine.events import FailReason

#: Q.850 causes of a failed call that are the network's (or this system's) doing, not the
#: called party's: no cause at all (the Originate was refused or not sent, no line was free),
#: no circuit (34), network out of order (38), temporary failure (41), switching equipment
#: congestion (42), requested circuit unavailable (44), resources unavailable (47, 58), channel
#: type not implemented (66). Causes some carriers give per number (27 destination out of
#: order, 63 / 79 service not available) are left out: a poor list must not trip the breaker.
NETWORK_CAUSES = frozenset({0, 34, 38, 41, 42, 44, 47, 58, 66})


def is_network_failure(reason: FailReason, cause: int) -> bool:
    """Whether an unanswered call failed in the network rather than at the number: congestion,
    or a failure with a network cause. Busy, no answer, invalid numbers and calls the called
    party rejected are the list's doing."""
    return reason is FailReason.CONGESTION or (
        reason is FailReason.FAILED and cause in NETWORK_CAUSES
    )


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When the breaker opens and how it comes back (see the module docstring)."""

    enabled: bool = True
    window_s: float = 30.0
    min_failures: int = 10
    failure_share: float = 0.5
    cooldown_s: float = 30.0
    max_cooldown_s: float = 300.0
    probes: int = 2

    def __post_init__(self) -> None:
        if not self.window_s > 0:
            raise ValueError(f"breaker window_s must be positive, got {self.window_s}")
        if self.min_failures < 1:
            raise ValueError(f"breaker min_failures must be >= 1, got {self.min_failures}")
        if not 0.0 < self.failure_share <= 1.0:
            raise ValueError(f"breaker failure_share must be in (0, 1], got {self.failure_share}")
        if not 0 < self.cooldown_s <= self.max_cooldown_s:
            raise ValueError(
                "breaker cool-downs must satisfy 0 < cooldown_s <= max_cooldown_s, got "
                f"{self.cooldown_s} and {self.max_cooldown_s}"
            )
        if self.probes < 1:
            raise ValueError(f"breaker probes must be >= 1, got {self.probes}")


class BreakerState(StrEnum):
    CLOSED = "closed"  # dialling as pacing says
    OPEN = "open"  # no new call until the cool-down ends
    PROBING = "probing"  # a few calls to see whether the network carries them again


class DialFailureBreaker:
    """Holds dialling back while most dials fail in the network (see the module docstring)."""

    def __init__(self, config: BreakerConfig | None = None) -> None:
        self.config = config or BreakerConfig()
        self.state = BreakerState.CLOSED
        self.trips = 0  # times it opened from closed (re-openings after a failed probe excluded)
        self.opened_at: float | None = None
        self._until = 0.0  # end of the current cool-down
        self._cooldown = self.config.cooldown_s
        self._recent: deque[tuple[float, bool]] = deque()  # (when, failed in the network)
        self._failures = 0  # network failures in ``_recent``
        self._pending: dict[str, bool] = {}  # calls placed, no verdict yet: is it a probe
        self._probes_placed = 0
        self._probes_failed = 0

    def room(self, now: float) -> int | None:
        """New calls allowed now: None for no limit, else how many (0 while open)."""
        if self.state is BreakerState.CLOSED or not self.config.enabled:
            return None
        if self.state is BreakerState.OPEN:
            if now < self._until:
                return 0
            self.state = BreakerState.PROBING
            self._probes_placed = self._probes_failed = 0
        if self._probes_failed >= self.config.probes:
            # (fewer probes since a reload than have failed already)
            self._open(now, self._cooldown * 2.0)
            return 0
        return max(0, self.config.probes - self._probes_placed)

    def placed(self, call_id: str, now: float) -> None:
        """A call was placed (while probing it is one of the probes)."""
        if not self.config.enabled:
            return
        probe = self.state is BreakerState.PROBING
        self._pending[call_id] = probe
        self._probes_placed += probe

    def forget(self, call_id: str) -> None:
        """The call ended (its sign, if any, has been observed)."""
        if self._pending.pop(call_id, None) and self.state is BreakerState.PROBING:
            self._probes_placed -= 1  # (a probe that ended without a sign: another may go)

    def observe(self, call_id: str, now: float, network_failure: bool) -> None:
        """How a call ended: it failed in the network, or it did not (answered, busy, no
        answer...). Only a call's first verdict counts."""
        probe = self._pending.pop(call_id, None)
        if probe is None or self.state is BreakerState.OPEN:
            # (already judged; or placed before the breaker opened, which says nothing about the
            # network now)
            return
        if self.state is BreakerState.PROBING:
            if not probe:
                return  # (placed before it opened, however late its sign comes)
            if not network_failure:
                self._close()
            else:
                self._probes_failed += 1
                if self._probes_failed >= self.config.probes:
                    self._open(now, self._cooldown * 2.0)
            return
        cfg = self.config
        recent = self._recent
        recent.append((now, network_failure))
        self._failures += network_failure
        while recent and recent[0][0] <= now - cfg.window_s:
            self._failures -= recent.popleft()[1]
        if self._failures >= cfg.min_failures and self._failures >= cfg.failure_share * len(recent):
            self.trips += 1
            self.opened_at = now
            self._open(now, cfg.cooldown_s)

    def reconfigure(self, config: BreakerConfig) -> None:
        """New settings (a configuration reload): they apply from the next dial; switched off,
        it lets the dialling go at once."""
        self.config = config
        if not config.enabled:
            self._close()
            self._pending.clear()

    def holding(self, now: float) -> bool:
        """Dialling is held back: open with its cool-down running, or probing. (An open breaker
        whose cool-down is over but that no dial step has asked since, as in a paused campaign,
        holds nothing back.)"""
        if self.state is BreakerState.OPEN:
            return now < self._until
        return self.state is BreakerState.PROBING

    def _open(self, now: float, cooldown: float) -> None:
        self._cooldown = min(cooldown, self.config.max_cooldown_s)
        self._until = now + self._cooldown
        self.state = BreakerState.OPEN
        self._recent.clear()
        self._failures = 0

    def _close(self) -> None:
        self.state = BreakerState.CLOSED
        self._cooldown = self.config.cooldown_s
        self.opened_at = None


__all__ = [
    "NETWORK_CAUSES",
    "BreakerConfig",
    "BreakerState",
    "DialFailureBreaker",
    "is_network_failure",
]
