"""Helpers shared by the tests of the pure rules: campaigns built from plain dicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dialer.config import CampaignConfig


def campaign(**overrides: Any) -> CampaignConfig:
    """A campaign config (name ``c``) with ``overrides`` merged over minimal settings."""
    data: dict[str, Any] = {"name": "c", "caller_id": {"pool": "p"}}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return CampaignConfig.model_validate(data)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
