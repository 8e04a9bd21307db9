"""Phone numbers of leads: parse to E.164, check validity, find the country and time zone(s).

Used by the CSV import and by the check of leads the CRM inserted, so both reject the same things
with the same words. phonenumbers derives time zones from the area code, which is wrong for ported
numbers and ambiguous for some (toll-free, Alaska): every candidate zone is kept, comma-separated,
and the calling-window rule must hold in all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
    phonenumberutil,
    timezone,
)

UNKNOWN_ZONE = "Etc/Unknown"
_KNOWN_ZONES: frozenset[str] | None = None


class LeadProblem(ValueError):
    """A lead cannot be dialled as given. ``code`` is a stable word for scripts and reports
    (stored in lead_rejects.reason_code); the message is the reason shown to people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ParsedPhone:
    e164: str
    country: str  # ISO 3166 alpha-2, e.g. "US"
    time_zones: tuple[str, ...]

    @property
    def time_zone_field(self) -> str:
        """The value stored in leads.time_zone (candidate zones, comma-separated)."""
        return ",".join(self.time_zones)


def check_country(country: str) -> str:
    """The upper-cased ISO country code, or LeadProblem if phonenumbers does not know it."""
    code = country.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise LeadProblem(
            "unknown_country",
            f"unknown country {country!r} (expected an ISO code such as US, GB, FR)",
        )
    return code


def check_time_zones(value: str) -> tuple[str, ...]:
    """Zones from a lead's own time-zone field ("America/Chicago" or a comma list)."""
    global _KNOWN_ZONES
    if _KNOWN_ZONES is None:
        _KNOWN_ZONES = frozenset(available_timezones())
    zones = tuple(z.strip() for z in value.split(",") if z.strip())
    if not zones:
        raise LeadProblem("bad_time_zone", "empty time zone")
    for zone in zones:
        if zone not in _KNOWN_ZONES:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise LeadProblem(
                    "bad_time_zone", f"unknown time zone {zone!r} (expected an IANA name)"
                ) from None
    return zones


def parse_phone(
    raw: str | None,
    default_country: str | None,
    *,
    country: str | None = None,
    time_zone: str | None = None,
) -> ParsedPhone:
    """Parse a lead's number. ``country`` (the lead's own) wins over ``default_country`` for
    numbers written without a leading +; ``time_zone`` (the lead's own) wins over the zones
    derived from the number. Raises LeadProblem with the reason."""
    text = (raw or "").strip()
    if not text:
        raise LeadProblem("empty_phone", "empty phone number")
    region = check_country(country) if country and country.strip() else None
    if region is None and default_country:
        region = check_country(default_country)
    if region is None and not text.startswith(("+", "00")):
        raise LeadProblem(
            "unknown_country",
            f"unknown country for {text!r}: no leading + and no country (give --default-country)",
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise LeadProblem("invalid_number", f"invalid number {text!r}: {exc}") from None
    number_region, kind = _region_and_type(number)
    if not number_region or kind == PhoneNumberType.UNKNOWN:
        raise LeadProblem("invalid_number", f"invalid number {text!r}")
    if number_region == "001":
        raise LeadProblem("unknown_country", f"no country for {text!r}: not a geographic number")
    if time_zone and time_zone.strip():
        zones = check_time_zones(time_zone)
    else:
        zones = tuple(z for z in _time_zones(number, kind) if z != UNKNOWN_ZONE)
        if not zones:
            raise LeadProblem(
                "bad_time_zone", f"unknown time zone for {text!r}: give the lead a time_zone"
            )
    return ParsedPhone(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        country=number_region,
        time_zones=zones,
    )


def _region_and_type(number: PhoneNumber) -> tuple[str | None, int]:
    """The number's region and type, each computed once: phonenumbers' own is_valid_number,
    number_type and time_zones_for_number each repeat the (costly) region lookup, which tripled
    the cost of a 100,000-row import. Falls back to the public API if the helper moves."""
    region = phonenumbers.region_code_for_number(number)
    if region is None:
        return None, PhoneNumberType.UNKNOWN
    helper = getattr(phonenumberutil, "_number_type_helper", None)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(number.country_code or 0, region)
    if helper is None or metadata is None:
        return region, phonenumbers.number_type(number)
    return region, helper(phonenumbers.national_significant_number(number), metadata)


def _time_zones(number: PhoneNumber, kind: int) -> tuple[str, ...]:
    """phonenumbers' time_zones_for_number, given the number's type."""
    if phonenumberutil.is_number_type_geographical(kind, number.country_code or 0):
        return tuple(timezone.time_zones_for_geographical_number(number))
    return tuple(timezone._country_level_time_zones_for_number(number))


def normalize_number(raw: str, default_country: str | None = None) -> str:
    """E.164 form of a number for lists (DNC, caller IDs): parsed and plausible, without the
    time-zone requirement of leads. Raises LeadProblem with the reason."""
    text = (raw or "").strip()
    if not text:
        raise LeadProblem("empty_phone", "empty phone number")
    region = check_country(default_country) if default_country else None
    if region is None and not text.startswith(("+", "00")):
        raise LeadProblem(
            "unknown_country", f"{text!r} has no leading + (give --default-country)"
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise LeadProblem("invalid_number", f"invalid number {text!r}: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise LeadProblem("invalid_number", f"invalid number {text!r}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
