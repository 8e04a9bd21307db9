"""Applying a validated campaigns.yaml to the database: campaigns, seats and caller IDs.

All of it happens in the caller's one transaction, so a failure changes nothing. Seats and caller
IDs that the file no longer mentions are left in place (they may hold history); retire them with
dialerctl.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers
from sqlalchemy import Connection

from dialer.config import DialerConfig
from dialer.states import DialMode
from dialer.store.caller_ids import upsert_caller_id
from dialer.store.campaigns import apply_campaign
from dialer.store.seats import upsert_seat


@dataclass
class ApplyReport:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    seats: int = 0
    caller_ids: int = 0


def apply_config(conn: Connection, config: DialerConfig, now: datetime) -> ApplyReport:
    report = ApplyReport()
    for name, campaign in sorted(config.campaigns.items()):
        settings = campaign.model_dump(mode="json")
        settings["name"] = name
        if apply_campaign(conn, name, DialMode(campaign.dial_mode), settings, now):
            report.changed.append(name)
        else:
            report.unchanged.append(name)

    seat_campaign: dict[str, str] = {}
    seat_group: dict[str, str] = {}
    inbound_group: dict[str, str] = {}
    for group, members in config.seat_groups.items():
        for seat_id in members:
            seat_group.setdefault(seat_id, group)
    for name, campaign in sorted(config.campaigns.items()):
        members = list(campaign.seats)
        if campaign.seat_group:
            members += config.seat_groups.get(campaign.seat_group, [])
        for seat_id in members:
            seat_campaign.setdefault(seat_id, name)
        if campaign.inbound_seat_group:
            for seat_id in config.seat_groups.get(campaign.inbound_seat_group, []):
                inbound_group.setdefault(seat_id, campaign.inbound_seat_group)
    for seat_id, seat in sorted(config.seats.items()):
        upsert_seat(
            conn,
            seat_id,
            seat.endpoint,
            campaign=seat_campaign.get(seat_id),
            name=seat.name,
            seat_group=seat_group.get(seat_id),
            inbound_group=inbound_group.get(seat_id),
            now=now,
        )
        report.seats += 1

    for pool_name, pool in sorted(config.caller_id_pools.items()):
        users = sorted(n for n, c in config.campaigns.items() if c.caller_id.pool == pool_name)
        for number in pool.numbers:
            region, area_code = number_region(number)
            upsert_caller_id(
                conn,
                number,
                pool_name,
                now,
                campaign=users[0] if len(users) == 1 else None,
                region=region,
                area_code=area_code,
            )
            report.caller_ids += 1
    return report


def number_region(e164: str) -> tuple[str | None, str | None]:
    """(ISO country, area code) of a number, for local presence; (None, None) if unknown."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None, None
    region = phonenumbers.region_code_for_number(parsed)
    national = str(parsed.national_number)
    if parsed.country_code == 1:
        return region, national[:3]
    length = phonenumbers.length_of_geographical_area_code(parsed)
    return region, national[:length] if length else None
