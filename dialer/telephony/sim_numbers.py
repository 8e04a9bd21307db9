"""Phone numbers that tell the sandbox's simulated called parties how to behave.

The last six digits of a number dialled into ``sim-customers`` are ``B RR TTT``: behaviour, ring
seconds, seconds on the line after answering (see ``templates/dialer-sim.conf`` and
docs/asterisk-sandbox.md). ``+1 555 0 1 03 012`` is a person who answers after 3 s and talks 12 s.
The encoding is stable: tests and the demo rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SimBehaviour(StrEnum):
    """What the simulated party does, by its digit."""

    ROBOT_PRESSES_1 = "0"
    HUMAN = "1"
    MACHINE = "2"
    BUSY = "3"
    NO_ANSWER = "4"
    CONGESTION = "5"
    INVALID = "6"
    EARLY_HANGUP = "7"
    SILENT = "8"
    REJECTED = "9"


#: The hang-up cause Asterisk reports for each behaviour (answered ones end normally).
EXPECTED_CAUSE = {
    SimBehaviour.HUMAN: 16,
    SimBehaviour.MACHINE: 16,
    SimBehaviour.BUSY: 17,
    SimBehaviour.NO_ANSWER: 19,
    SimBehaviour.CONGESTION: 34,
    SimBehaviour.INVALID: 1,
    SimBehaviour.EARLY_HANGUP: 16,
    SimBehaviour.SILENT: 16,
    SimBehaviour.REJECTED: 21,
    SimBehaviour.ROBOT_PRESSES_1: 16,
}


@dataclass(frozen=True, slots=True)
class SimParty:
    """A decoded simulated party."""

    behaviour: SimBehaviour
    ring_s: int
    stay_s: int


def sim_number(
    behaviour: SimBehaviour | str, ring_s: int = 0, stay_s: int = 0, prefix: str = "+15550"
) -> str:
    """An E.164-looking number for a simulated party, e.g. ``sim_number("1", 3, 12)`` ->
    ``+15550103012``."""
    kind = SimBehaviour(str(behaviour))
    if not 0 <= ring_s <= 99:
        raise ValueError(f"ring_s must be 0-99 seconds, got {ring_s}")
    if not 0 <= stay_s <= 999:
        raise ValueError(f"stay_s must be 0-999 seconds, got {stay_s}")
    return f"{prefix}{kind.value}{ring_s:02d}{stay_s:03d}"


def decode_sim_number(number: str) -> SimParty | None:
    """The simulated party a number stands for; None when it has fewer than six digits
    (the sandbox treats those as unallocated)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 6:
        return None
    tail = digits[-6:]
    return SimParty(SimBehaviour(tail[0]), int(tail[1:3]), int(tail[3:]))
