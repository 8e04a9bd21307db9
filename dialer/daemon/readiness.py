"""What ``/readyz`` and ``/healthz`` answer, kept up to date by the daemon's main loop.

Ready means the daemon can dial: the database answers and at least one Asterisk server is
connected, and the daemon is not draining. Healthy means the process and its event loop are alive
and the main loop has ticked recently (a stuck main loop is unhealthy even if HTTP still answers).
The object only stores facts; it never probes anything itself, so it is cheap to call per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Readiness:
    """Facts about the daemon's dependencies, updated by whoever observes them.

    ``clock`` is a monotonic clock (injectable for tests). ``stall_after_s`` is how long the main
    loop may go without :meth:`heartbeat` before ``/healthz`` reports it stuck.
    """

    stall_after_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    database_ok: bool = False
    database_detail: str = "not checked yet"
    ami: dict[str, bool] = field(default_factory=dict)
    draining: bool = False
    loop_lag_s: float = 0.0
    last_heartbeat: float | None = None

    def set_database(self, ok: bool, detail: str = "") -> None:
        """Record the outcome of the latest database round trip (``detail`` says why on failure)."""
        self.database_ok = ok
        self.database_detail = detail or ("ok" if ok else "unreachable")

    def set_ami(self, server: str, connected: bool) -> None:
        """Record whether the AMI link to ``server`` is up and logged in."""
        self.ami[server] = connected

    def heartbeat(self) -> None:
        """The main loop is alive (call it every tick)."""
        self.last_heartbeat = self.clock()

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """``(ready, body)``: body says which dependency is missing when not ready."""
        reasons: list[str] = []
        if self.draining:
            reasons.append("draining: shutting down, no new calls")
        if not self.database_ok:
            reasons.append(f"database: {self.database_detail}")
        if not any(self.ami.values()):
            servers = ", ".join(sorted(self.ami)) or "none configured"
            reasons.append(f"asterisk: no AMI connection up ({servers})")
        body: dict[str, Any] = {
            "status": "ready" if not reasons else "not_ready",
            "database": self.database_ok,
            "asterisk": dict(sorted(self.ami.items())),
            "draining": self.draining,
        }
        if reasons:
            body["reasons"] = reasons
        return not reasons, body

    def healthy(self) -> tuple[bool, dict[str, Any]]:
        """``(healthy, body)``: the main loop has ticked within ``stall_after_s``."""
        body: dict[str, Any] = {"status": "ok", "loop_lag_s": round(self.loop_lag_s, 4)}
        if self.last_heartbeat is None:
            body["main_loop"] = "starting"
            return True, body
        age = self.clock() - self.last_heartbeat
        body["main_loop_age_s"] = round(age, 3)
        if age > self.stall_after_s:
            body["status"] = "stalled"
            body["reason"] = (
                f"main loop has not ticked for {age:.1f} s (limit {self.stall_after_s:g} s)"
            )
            return False, body
        return True, body
