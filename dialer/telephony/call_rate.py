"""Calls per second a trunk accepts: a token bucket in front of the Originates.

Carriers cap the rate of new calls on a SIP trunk (commonly 5-30 per second) and reject the
excess with 503 / congestion, which would cost each rejected lead an attempt (and trip the
dial-failure breaker); VICIdial has the same setting ("Outbound Calls per Second"). A server's
``max_calls_per_second`` fills this bucket: ``rate`` tokens a second, at most ``burst`` kept,
one taken per Originate. Pure: the caller passes the (monotonic) time.
"""

from __future__ import annotations

import math


class CallRateLimit:
    """At most ``rate`` calls a second on average and ``burst`` at once (see module docstring)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"calls per second must be a positive number, got {rate!r}")
        self.rate = rate
        self.burst = max(1.0, rate if burst is None else burst)
        self._tokens = self.burst
        self._at: float | None = None

    def _refill(self, now: float) -> None:
        if self._at is not None and now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        if self._at is None or now > self._at:
            self._at = now

    def available(self, now: float) -> int:
        """Calls that may start now without waiting."""
        self._refill(now)
        return max(0, int(self._tokens + 1e-9))

    def take(self, now: float) -> float:
        """Take one call's token; returns how long the call must wait for it (0: go now)."""
        self._refill(now)
        self._tokens -= 1.0
        return 0.0 if self._tokens >= -1e-9 else -self._tokens / self.rate
