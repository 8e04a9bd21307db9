"""After a restart or a takeover: settle the attempts a previous daemon left in flight.

Every attempt row in state ``in_flight`` of the campaign is compared with the channels alive on
Asterisk (``CoreShowChannels``). Calls still alive belong to a daemon that is gone: nobody follows
their events any more, so they are hung up (a customer waiting for a seat would otherwise wait for
nothing). Every such attempt is then finished in the database with the outcome the evidence
supports, and its lead goes back to the retry rules, so it is never dialled twice at once and
never lost:

- connected to a seat: ``human`` (the conversation took place, the lead is done);
- answered by a person (AMD human / not sure, or no AMD) but not connected: ``abandoned``, with
  its live-answer and abandon ledger entries (the compliance-safe reading);
- answered and judged a machine: ``machine``;
- robot campaigns: answered, in the IVR, nobody asked for (no ``handover_at``): ``robot``, no
  ledger entries (only a hand-over request is a live answer there: docs/robot-and-callbacks.md);
  a hand-over request not connected: ``abandoned``, as above;
- never answered: ``failed`` (the retry rule for failures applies).

Seat phones a previous daemon nailed up for the campaign's seats are hung up too, so that each
seat is logged in afresh by this daemon.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from dialer.states import AttemptOutcome
from dialer.telephony.base import LiveChannel

CRASH_CAUSE_TEXT = "daemon restarted while the call was in flight"


@dataclass(frozen=True, slots=True)
class Settlement:
    """What to do with one attempt left in flight."""

    attempt_id: str
    outcome: AttemptOutcome
    channels: tuple[LiveChannel, ...]  # still alive on Asterisk: hang them up
    live_answer: bool  # record ledger entries (live answer, and abandon when not connected)


def call_id_of(channel: LiveChannel) -> str:
    """The attempt id a channel belongs to (``<id>`` and ``<id>;2`` halves share it)."""
    return channel.uniqueid.split(";", 1)[0]


def settle(
    rows: Iterable[Mapping[str, object]], live: Iterable[LiveChannel], *, robot: bool = False
) -> list[Settlement]:
    """Pure: the settlement of each in-flight attempt row, given the live channels (``robot``:
    the campaign's answered calls went to its IVR)."""
    by_call: dict[str, list[LiveChannel]] = {}
    for channel in live:
        by_call.setdefault(call_id_of(channel), []).append(channel)
        if channel.linkedid and channel.linkedid != call_id_of(channel):
            by_call.setdefault(channel.linkedid, []).append(channel)
    out: list[Settlement] = []
    for row in rows:
        attempt_id = str(row["id"])
        amd = str(row.get("amd_result") or "").lower()
        answered = row.get("answered_at") is not None
        connected = row.get("connected_at") is not None
        live_answer = answered and amd not in ("machine", "hangup")
        in_ivr_only = robot and answered and not connected and row.get("handover_at") is None
        if in_ivr_only and amd != "machine":
            live_answer = False
            outcome = AttemptOutcome.ROBOT
        elif connected:
            outcome = AttemptOutcome.HUMAN
        elif answered and amd == "machine":
            outcome = AttemptOutcome.MACHINE
        elif live_answer:
            outcome = AttemptOutcome.ABANDONED
        else:
            outcome = AttemptOutcome.FAILED
        channels = tuple(dict.fromkeys(by_call.get(attempt_id, [])))
        out.append(Settlement(attempt_id, outcome, channels, live_answer))
    return out


def stale_seat_channels(live: Iterable[LiveChannel], seat_ids: Iterable[str]) -> list[LiveChannel]:
    """Seat phones sitting in the seat context for one of ``seat_ids`` (left by a dead daemon)."""
    wanted = set(seat_ids)
    return [
        c
        for c in live
        if c.context == "dialer-seat" and c.exten in wanted and c.application == "ConfBridge"
    ]


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())
