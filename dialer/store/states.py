"""SQL helpers for the shared state words, and those words re-exported for the store's modules.

The words live in ``dialer.states`` so that pure engine code can use them without importing the
database layer.
"""

from __future__ import annotations

from enum import StrEnum

from dialer.states import (
    DIALABLE_LEAD_STATUSES,
    AttemptOutcome,
    AttemptState,
    CallerIdState,
    CampaignActualState,
    CampaignState,
    DialMode,
    LeadStatus,
    LedgerKind,
    SeatRequest,
    SeatState,
)

__all__ = [
    "DIALABLE_LEAD_STATUSES",
    "AttemptOutcome",
    "AttemptState",
    "CallerIdState",
    "CampaignActualState",
    "CampaignState",
    "DialMode",
    "LeadStatus",
    "LedgerKind",
    "SeatRequest",
    "SeatState",
    "check_in",
]


def check_in(column: str, values: type[StrEnum] | tuple[StrEnum, ...]) -> str:
    """SQL text for a CHECK constraint limiting ``column`` to the given words."""
    words = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({words})"
