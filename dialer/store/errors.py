"""Errors the store raises when a write is refused for a reason the caller must act on."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's own errors."""


class NotFound(StoreError):
    """A campaign, seat, caller ID or attempt named by the caller does not exist."""


class LeaseLost(StoreError):
    """The campaign's lease is no longer held with this token: stop dialling at once."""


class LeadNotClaimed(StoreError):
    """The lead is not claimed with this token (released, taken over, or already dialling)."""
