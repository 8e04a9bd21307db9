"""When a seat's wrap-up (after-call work) is over. Pure.

``timed``: after ``timed_s``. ``disposition``: when the CRM has recorded a disposition for the
call the seat took (``attempts.disposition``), or after ``max_s`` at the longest — a call with
nothing to dispose (an inbound callback) waits ``timed_s`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

TIMED = "timed"
DISPOSITION = "disposition"


@dataclass(frozen=True, slots=True)
class WrapupRule:
    mode: str = TIMED  # timed | disposition
    timed_s: float = 5.0
    max_s: float = 300.0

    def __post_init__(self) -> None:
        if self.mode not in (TIMED, DISPOSITION):
            raise ValueError(f"wrap-up mode must be timed or disposition, got {self.mode!r}")
        if self.timed_s < 0 or self.max_s <= 0:
            raise ValueError(f"wrap-up times must be positive, got {self.timed_s}, {self.max_s}")

    @property
    def waits_for_disposition(self) -> bool:
        return self.mode == DISPOSITION

    def over(self, elapsed_s: float, *, disposed: bool, disposable: bool = True) -> bool:
        """Is the wrap-up over after ``elapsed_s``? ``disposed``: the call has a disposition;
        ``disposable``: the call is one a disposition can be recorded for (an attempt)."""
        if self.mode == TIMED or not disposable:
            return elapsed_s >= self.timed_s
        return disposed or elapsed_s >= self.max_s
