"""The validated shape of campaigns.yaml (pydantic v2, every model frozen and strict about keys).

Durations are seconds (``float``) and their fields end in ``_s``; in YAML they may be written
``90``, ``90s``, ``15m``, ``24h`` or ``30d``. Rates and fractions are plain numbers in ``(0, 1]``.
Unknown keys are errors, so a typo never silently falls back to a default.

Checks that span several fields or sections (a campaign's pool must exist, a timeout must not be
shorter than the legal minimum ring, ...) live in :func:`cross_check`, which names the exact field
of each problem so the loader can point at its line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dialer.config.values import (
    E164,
    Duration,
    OptionalWindow,
    TimeWindow,
    TimeZoneName,
    Window,
)

DialMode = Literal["predictive", "progressive", "preview", "robot"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TimeZoneSource = Literal["lead_then_number", "lead", "number", "union"]
Outcome = Literal["busy", "no_answer", "machine", "abandoned", "failed"]

LEGAL_MIN_RING_S = 15.0
"""No-answer calls must ring at least this long before the dialer gives up (the law)."""

Loc = tuple[str | int, ...]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_REGION_KEY_RE = re.compile(r"^(?:\+[1-9]\d{0,7}|[A-Z]{2})$")
_DIAL_FIELDS = ("{e164}", "{digits}", "{national}")


class Section(BaseModel):
    """Base of every config section: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_name(value: str, what: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(
            f"bad {what} name {value!r} (allowed: letters, digits, '_', '.', '-', "
            "starting with a letter or digit, at most 63 characters)"
        )
    return value


# ----------------------------------------------------------------------------- infrastructure


class HttpConfig(Section):
    """The daemon's HTTP endpoints (/metrics, /healthz, /readyz). Loopback unless told otherwise."""

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=1, le=65535)


class AsteriskServer(Section):
    """One Asterisk reached over AMI.

    The AMI secret is given either inline (``secret``) or, better, as the name of an environment
    variable (``secret_env``) so it never sits in the file. Either way it is a ``SecretStr``: it
    prints as ``**********``.
    """

    name: str
    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    username: str
    secret: SecretStr | None = None
    secret_env: str | None = None
    max_channels: int = Field(default=200, ge=1)
    max_calls_per_second: float | None = Field(default=None, gt=0, le=1000)
    """New calls a second the trunk accepts (the carrier's CPS limit); none: no limit."""
    dial_string: str = "Local/{digits}@sim-customers"
    """How a lead's number is dialled: ``{e164}`` (+1555...), ``{digits}`` (1555...) or
    ``{national}`` are replaced, e.g. ``PJSIP/{e164}@trunk``."""

    @field_validator("name")
    @classmethod
    def _server_name(cls, value: str) -> str:
        return _check_name(value, "server")

    @field_validator("secret_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError(f"not an environment variable name: {value!r}")
        return value

    @field_validator("dial_string")
    @classmethod
    def _dial_string(cls, value: str) -> str:
        try:
            value.format(e164="+1", digits="1", national="1")
        except (KeyError, IndexError, ValueError):
            raise ValueError(
                f"dial string {value!r} has an unknown placeholder "
                f"(allowed: {', '.join(_DIAL_FIELDS)})"
            ) from None
        if not any(f in value for f in _DIAL_FIELDS) or "/" not in value:
            raise ValueError(
                f"dial string {value!r} must name a channel technology and the number "
                f"(allowed placeholders: {', '.join(_DIAL_FIELDS)}; e.g. PJSIP/{{e164}}@trunk)"
            )
        return value

    def dial_target(self, phone_e164: str) -> str:
        """The channel to originate for a number, from ``dial_string``."""
        digits = phone_e164.lstrip("+")
        try:
            national = str(phonenumbers.parse(phone_e164, None).national_number)
        except phonenumbers.NumberParseException:
            national = digits
        return self.dial_string.format(e164=phone_e164, digits=digits, national=national)

    def resolve_secret(self, env: Mapping[str, str] | None = None) -> SecretStr:
        """The AMI secret: inline, or read from ``secret_env`` in ``env`` (default: os.environ).

        Raises ``LookupError`` naming the variable when it is not set.
        """
        if self.secret is not None:
            return self.secret
        env = os.environ if env is None else env
        if self.secret_env is None or self.secret_env not in env:
            raise LookupError(
                f"Asterisk server {self.name!r}: environment variable {self.secret_env} is not set"
            )
        return SecretStr(env[self.secret_env])


class SeatConfig(Section):
    """An agent position: its id and the endpoint its phone is called on at login."""

    id: str = ""
    endpoint: str
    name: str | None = None
    """e.g. ``PJSIP/1001`` or, in the sandbox, ``Local/seat-1@sim-seats``."""

    @field_validator("id")
    @classmethod
    def _seat_id(cls, value: str) -> str:
        return value if value == "" else _check_name(value, "seat")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9]*/\S+$", value):
            raise ValueError(
                f"not a channel endpoint: {value!r} (allowed: TECH/resource, "
                "e.g. PJSIP/1001 or Local/seat-1@sim-seats)"
            )
        return value


class CallerIdPool(Section):
    """A pool of middle numbers shown as caller ID."""

    name: str = ""
    numbers: list[E164] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _pool_name(cls, value: str) -> str:
        return value if value == "" else _check_name(value, "caller-ID pool")

    @field_validator("numbers")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        dupes = sorted({n for n in value if value.count(n) > 1})
        if dupes:
            raise ValueError(f"numbers listed twice: {', '.join(dupes)}")
        return value


# ----------------------------------------------------------------------------- campaign sections


class PacingConfig(Section):
    """What the pacing policy may do. Risk is P(a new call is answered live and finds no seat)."""

    risk_threshold_min: float = Field(default=0.0, ge=0.0, le=1.0)
    risk_threshold_max: float = Field(default=0.25, gt=0.0, le=1.0)
    progressive_ratio: float = Field(default=1.0, ge=1.0, le=10.0)
    """Progressive mode: calls per idle seat."""
    max_lines: int | None = Field(default=None, ge=1)
    """Calls in flight for this campaign at most (None: only the servers' channel limits)."""
    connect_window_s: Duration = Field(default=2.0, gt=0.0, le=10.0)
    """A live answer not connected to a seat within this time is abandoned."""
    answer_horizon_s: Duration = Field(default=30.0, gt=0.0, le=600.0)
    """How far ahead the policy forecasts answers and free seats."""
    trim_ringing: bool = True
    """Predictive: hang up a call that has rung ``min_ring_s`` while no seat is free for it
    (every ready seat spoken for by a live answer waiting): its late answer would more likely be
    an abandon than a contact. The attempt ends ``no_answer``; the lead is retried as usual."""
    hit_jump_allowance: float = Field(default=2.0, ge=1.0, le=20.0)
    """Predictive: the sudden rise of the live-answer rate (a factor) the abandon-budget guard
    keeps budget for. The default holds jumps up to ~5x; a list mixing cold leads with
    callbacks may need more, at a steep price in occupancy on low hit rates."""


class DialBreakerConfig(Section):
    """Stop dialling while the network fails the calls (a trunk down or full: congestion,
    channel unavailable), so a dead trunk does not spend an attempt of every lead; see
    ``dialer/engine/dial_breaker.py``. Busy, no answer and invalid numbers never trip it."""

    enabled: bool = True
    min_failures: int = Field(default=10, ge=1, le=10_000)
    """Network failures within ``window_s`` that open it ..."""
    failure_share: float = Field(default=0.5, gt=0.0, le=1.0)
    """... when they are at least this share of the dials resolved there."""
    window_s: Duration = Field(default=30.0, gt=0.0, le=3600.0)
    cooldown_s: Duration = Field(default=30.0, gt=0.0, le=3600.0)
    """No new call for this long; then ``probes`` calls test the network."""
    max_cooldown_s: Duration = Field(default=300.0, gt=0.0, le=86400.0)
    """While the probes fail too, each cool-down doubles up to this."""
    probes: int = Field(default=2, ge=1, le=100)

    @model_validator(mode="after")
    def _cooldowns(self) -> DialBreakerConfig:
        if self.max_cooldown_s < self.cooldown_s:
            raise ValueError(
                f"max_cooldown_s ({self.max_cooldown_s:g} s) must be at least cooldown_s "
                f"({self.cooldown_s:g} s)"
            )
        return self


class AbandonConfig(Section):
    """The abandon cap: abandons / live answers over a rolling window (UK 24h, US 30d)."""

    cap: float = Field(default=0.03, gt=0.0, le=1.0)
    window_s: Duration = Field(default=30 * 86400.0, ge=3600.0, le=31 * 86400.0)
    rule_72h: bool = True
    """No new call within 72 hours of an abandoned call to the same number ..."""
    rule_72h_allow_reserved_seat: bool = True
    """... unless a seat is reserved for it."""

    @field_validator("cap", mode="before")
    @classmethod
    def _cap(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                return float(value.strip()[:-1]) / 100.0
            except ValueError:
                raise ValueError(f"not a percentage: {value!r}") from None
        return value


def _region_key(value: str) -> str:
    if not _REGION_KEY_RE.match(value):
        raise ValueError(
            f"bad region key {value!r} (allowed: a number prefix like '+1305' "
            "or an ISO country code like GB)"
        )
    return value


RegionKey = Annotated[str, AfterValidator(_region_key)]


class RegionHours(Section):
    """Calling hours overriding the campaign's for numbers of one country or number prefix."""

    window: Window | None = None
    weekdays: dict[Weekday, OptionalWindow] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list)


class CallingHours(Section):
    """When a called party may be called, in their own local time.

    ``weekdays`` overrides ``window`` per day (``closed`` = no calls). ``regions`` override both for
    numbers whose E.164 form starts with a prefix (``"+1305"``) or whose country is an ISO code
    (``GB``); the longest matching prefix wins, then the country. Holidays are local dates with no
    calls at all. When a lead may be in several time zones the window must hold in every one.
    """

    window: Window = TimeWindow(8 * 60, 21 * 60)
    weekdays: dict[Weekday, OptionalWindow] = Field(default_factory=dict)
    regions: dict[RegionKey, RegionHours] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list)
    time_zone_source: TimeZoneSource = "lead_then_number"
    """lead_then_number: the lead's own zone field, else zones of its number's area code;
    lead / number: only that source; union: every zone either source names (strictest)."""
    default_time_zone: TimeZoneName | None = None
    """Used when no zone is known for a lead; without it such leads are not dialled."""


class RetryRule(Section):
    """After an attempt with this outcome: wait ``delay_s`` before the next one; give up once
    ``max_tries`` attempts have ended with this outcome (0 or 1: never retry it)."""

    delay_s: Duration = Field(ge=0.0)
    max_tries: int = Field(ge=0, le=100)


class RetryRules(Section):
    """Retry rule per unsuccessful outcome. Attempts with other outcomes end the lead."""

    busy: RetryRule = RetryRule(delay_s=600.0, max_tries=5)
    no_answer: RetryRule = RetryRule(delay_s=3600.0, max_tries=5)
    machine: RetryRule = RetryRule(delay_s=4 * 3600.0, max_tries=3)
    abandoned: RetryRule = RetryRule(delay_s=72 * 3600.0, max_tries=3)
    failed: RetryRule = RetryRule(delay_s=1800.0, max_tries=3)

    def for_outcome(self, outcome: Outcome) -> RetryRule:
        """The rule for one retryable outcome."""
        rule: RetryRule = getattr(self, outcome)
        return rule


class AttemptLimits(Section):
    """Caps on attempts per lead."""

    max_total: int = Field(default=10, ge=1, le=1000)
    max_per_day: int = Field(default=3, ge=1, le=100)
    """At most this many attempts within any 24 hours (so on any calendar day, in any time zone)."""
    min_gap_s: Duration = Field(default=3600.0, ge=0.0)
    """At least this long between two attempts to the same lead, whatever the outcome."""


class QuarantineConfig(Section):
    """Automatic quarantine of caller IDs whose answer rate is significantly below the pool's."""

    enabled: bool = True
    min_calls: int = Field(default=100, ge=10)
    """A number is judged only after this many calls (small samples prove nothing)."""
    significance: float = Field(default=0.001, gt=0.0, lt=0.5)
    """One-sided p-value below which a number's answer rate counts as lower than the pool's.
    The test is repeated after every call, which inflates false alarms: keep this small."""
    min_rate_ratio: float = Field(default=0.7, gt=0.0, le=1.0)
    """...and its rate must also be below this fraction of the pool's (practical significance)."""
    window_s: Duration = Field(default=7 * 86400.0, gt=0.0)
    """Answer statistics are kept over this window."""


class CallerIdConfig(Section):
    """Which pool a campaign shows numbers from, and how they rotate."""

    pool: str
    local_presence: bool = True
    max_calls_per_hour: int | None = Field(default=60, ge=1)
    max_calls_per_day: int | None = Field(default=400, ge=1)
    cooldown_s: Duration = Field(default=0.0, ge=0.0)
    """A number is not shown again until this long after its last use."""
    callback_binding_s: Duration = Field(default=7 * 86400.0, ge=0.0)
    """How long a call back to the shown number reaches this campaign (AXB binding)."""
    quarantine: QuarantineConfig = QuarantineConfig()


class AmdConfig(Section):
    """Answering-machine detection, Asterisk ``AMD()`` parameters (defaults are Asterisk's).

    ``AMD()`` listens up to ``total_analysis_time_s``, which eats into the connect window.
    """

    enabled: bool = True
    initial_silence_s: Duration = Field(default=2.5, gt=0.0, le=30.0)
    greeting_s: Duration = Field(default=1.5, gt=0.0, le=30.0)
    after_greeting_silence_s: Duration = Field(default=0.8, gt=0.0, le=30.0)
    total_analysis_time_s: Duration = Field(default=5.0, gt=0.0, le=30.0)
    min_word_length_s: Duration = Field(default=0.1, gt=0.0, le=5.0)
    between_words_silence_s: Duration = Field(default=0.05, gt=0.0, le=5.0)
    maximum_number_of_words: int = Field(default=2, ge=1, le=20)
    silence_threshold: int = Field(default=256, ge=0, le=32767)
    maximum_word_length_s: Duration = Field(default=5.0, gt=0.0, le=30.0)
    on_machine: Literal["hangup", "ivr", "seat"] = "hangup"
    on_notsure: Literal["seat", "hangup"] = "seat"


class SafeHarbourConfig(Section):
    """The short recorded identification message played on every abandoned call."""

    sound: str = "dialer/safe-harbour"
    """An Asterisk sound file name, without extension."""


class RobotConfig(Section):
    """Robot / voice-broadcast mode: answered calls go to an IVR context."""

    ivr_context: str
    ivr_extension: str = "s"
    handover_seat_group: str | None = None
    """Seat group that takes callers the IVR hands over (then the connect window applies)."""
    message: str | None = None
    """Sound the IVR plays first (``DIALER_ROBOT_MESSAGE``); None: the dialplan's default."""
    prompt: str | None = None
    """The "press 1 to speak to someone" sound (``DIALER_ROBOT_PROMPT``); None: the default."""
    wait_s: Duration | None = Field(default=None, gt=0.0, le=60.0)
    """How long the IVR waits for the key after the prompt (``DIALER_ROBOT_WAIT_S``)."""


class PreviewConfig(Section):
    """Preview dialling: each lead is offered to a ready seat (a ``preview_offers`` row the agent's
    desktop reads) and dialled only when its agent accepts it."""

    offer_timeout_s: Duration = Field(default=60.0, gt=0.0, le=3600.0)
    """How long an offer waits for the agent to accept or skip it."""
    on_timeout: Literal["dial", "skip"] = "skip"
    """An offer left unanswered is dialled anyway (``dial``) or given back (``skip``)."""
    skip_retry_s: Duration = Field(default=3600.0, ge=0.0, le=31 * 86400.0)
    """A skipped lead (by the agent or by timeout) may be offered again after this long."""


class TrialConfig(Section):
    """Dial a random stratified sample of the list first, then pause and report."""

    enabled: bool = False
    sample_fraction: float = Field(default=0.04, gt=0.0, le=1.0)
    """3-5 % is usual."""
    stratify_by: list[str] = Field(default_factory=lambda: ["country", "time_zone"])


class WrapupConfig(Section):
    """After-call work: how long a seat stays in wrap-up before it takes calls again.

    ``timed``: ``timed_s`` seconds. ``disposition``: until the CRM (or ``dialerctl attempts
    dispose``) records a disposition for the call the seat took, or ``max_s`` at the longest.
    The environment variable ``DIALER_AUTO_WRAPUP_S``, when set, overrides ``timed_s`` (for the
    demo and tests).
    """

    mode: Literal["timed", "disposition"] = "timed"
    timed_s: Duration = Field(default=5.0, ge=0.0, le=3600.0)
    max_s: Duration = Field(default=300.0, gt=0.0, le=86400.0)
    """Disposition mode: the seat is ready again after this long even with no disposition."""


class SmsFollowUpConfig(Section):
    """Queue an SMS request in the outbox when a lead ends with no contact."""

    enabled: bool = False
    template: str | None = None


class CampaignServer(Section):
    """An Asterisk server a campaign may use, with an optional per-campaign channel limit."""

    name: str
    max_channels: int | None = Field(default=None, ge=1)


class CampaignConfig(Section):
    """Everything about one campaign. ``name`` is its key in ``campaigns:``."""

    name: str = ""
    dial_mode: DialMode = "predictive"
    pacing: PacingConfig = PacingConfig()
    dial_breaker: DialBreakerConfig = DialBreakerConfig()
    abandon: AbandonConfig = AbandonConfig()
    calling_hours: CallingHours = CallingHours()
    retry: RetryRules = RetryRules()
    attempts: AttemptLimits = AttemptLimits()
    caller_id: CallerIdConfig
    seats: list[str] = Field(default_factory=list)
    """Seat ids (declared under top-level ``seats``)."""
    seat_group: str | None = None
    """...or a group from top-level ``seat_groups``."""
    inbound_seat_group: str | None = None
    """Seats that take calls back to the campaign's caller IDs."""
    servers: list[CampaignServer] = Field(default_factory=list)
    """Asterisk servers this campaign uses (empty: all), by name or ``{name, max_channels}``."""
    amd: AmdConfig = AmdConfig()
    safe_harbour: SafeHarbourConfig = SafeHarbourConfig()
    min_ring_s: Duration = LEGAL_MIN_RING_S
    """No-answer calls ring at least this long before the dialer gives up (15 s by law)."""
    no_answer_timeout_s: Duration = Field(default=25.0, le=300.0)
    """How long a call rings before it is counted as no answer (>= min_ring_s)."""
    robot: RobotConfig | None = None
    preview: PreviewConfig = PreviewConfig()
    """Preview mode's offers (used when ``dial_mode`` is ``preview``)."""
    trial: TrialConfig = TrialConfig()
    sms_follow_up: SmsFollowUpConfig = SmsFollowUpConfig()
    wrapup: WrapupConfig = WrapupConfig()
    """Wrap-up after each call: timed, or until the CRM posts a disposition."""
    priority: int = 0
    """Among campaigns sharing seats or lines, higher goes first."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return value if value == "" else _check_name(value, "campaign")

    @field_validator("min_ring_s")
    @classmethod
    def _min_ring(cls, value: float) -> float:
        if value < LEGAL_MIN_RING_S:
            raise ValueError(
                f"{value:g} s is below the legal minimum ring time "
                f"(allowed: {LEGAL_MIN_RING_S:g} s or more)"
            )
        return value

    @field_validator("servers", mode="before")
    @classmethod
    def _server_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value


# ----------------------------------------------------------------------------- the whole file


class DialerConfig(Section):
    """The whole of campaigns.yaml: infrastructure, seats, caller-ID pools and campaigns."""

    database_url: str | None = None
    """SQLAlchemy URL; None: DIALER_DATABASE_URL or the embedded SQLite default."""
    http: HttpConfig = HttpConfig()
    asterisk: list[AsteriskServer] = Field(default_factory=list)
    seats: dict[str, SeatConfig] = Field(default_factory=dict)
    seat_groups: dict[str, list[str]] = Field(default_factory=dict)
    caller_id_pools: dict[str, CallerIdPool] = Field(default_factory=dict)
    campaigns: dict[str, CampaignConfig] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        """Fill each campaign's ``name``, seat's ``id`` and pool's ``name`` from its key."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for section, field in (("campaigns", "name"), ("seats", "id"), ("caller_id_pools", "name")):
            entries = data.get(section)
            if isinstance(entries, dict):
                data[section] = {
                    key: ({field: key, **value} if isinstance(value, dict) else value)
                    for key, value in entries.items()
                }
        return data

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> DialerConfig:
        problems = list(cross_check(self))
        collector = info.context.get("cross_problems") if isinstance(info.context, dict) else None
        if isinstance(collector, list):
            collector.extend(problems)
        elif problems:
            raise ValueError(
                "; ".join(".".join(str(p) for p in loc) + ": " + msg for loc, msg in problems)
            )
        return self

    def server(self, name: str) -> AsteriskServer:
        """The Asterisk server of that name (KeyError if none)."""
        for server in self.asterisk:
            if server.name == name:
                return server
        raise KeyError(name)

    def campaign_seats(self, campaign: str) -> list[SeatConfig]:
        """The seats a campaign dials for: its own list, else its seat group's."""
        config = self.campaigns[campaign]
        group = config.seat_group
        if group is None and config.robot is not None:
            group = config.robot.handover_seat_group  # robot mode: the hand-over seats
        ids = config.seats or self.seat_groups.get(group or "", [])
        return [self.seats[seat_id] for seat_id in ids]

    def caller_id_pool(self, campaign: str) -> CallerIdPool:
        """The caller-ID pool a campaign shows numbers from."""
        return self.caller_id_pools[self.campaigns[campaign].caller_id.pool]


def cross_check(config: DialerConfig) -> Iterator[tuple[Loc, str]]:
    """Problems that span fields or sections, each with the path of the field to blame."""
    server_names = [s.name for s in config.asterisk]
    for i, server in enumerate(config.asterisk):
        if server_names.index(server.name) != i:
            yield ("asterisk", i, "name"), f"server name {server.name!r} used twice"
        if (server.secret is None) == (server.secret_env is None):
            yield (
                ("asterisk", i, "secret_env"),
                "give exactly one of secret / secret_env (allowed: secret_env: VAR_NAME, "
                "which keeps the secret out of this file)",
            )
    for key, seat in config.seats.items():
        if seat.id != key:
            yield ("seats", key, "id"), f"seat id {seat.id!r} differs from its key {key!r}"
    for group, members in config.seat_groups.items():
        for j, seat_id in enumerate(members):
            if seat_id not in config.seats:
                yield ("seat_groups", group, j), _unknown("seat", seat_id, config.seats)
    for key, pool in config.caller_id_pools.items():
        if pool.name != key:
            yield (
                ("caller_id_pools", key, "name"),
                f"name {pool.name!r} differs from its key {key!r}",
            )
    if config.campaigns and not config.asterisk:
        yield ("asterisk",), "at least one Asterisk server is needed to run campaigns"
    for key, campaign in config.campaigns.items():
        yield from _campaign_checks(config, key, campaign, server_names)


def _campaign_checks(
    config: DialerConfig, key: str, campaign: CampaignConfig, server_names: list[str]
) -> Iterator[tuple[Loc, str]]:
    here: Loc = ("campaigns", key)
    if campaign.name != key:
        yield (*here, "name"), f"name {campaign.name!r} differs from its key {key!r}"
    if campaign.caller_id.pool not in config.caller_id_pools:
        yield (
            (*here, "caller_id", "pool"),
            _unknown("caller-ID pool", campaign.caller_id.pool, config.caller_id_pools),
        )
    if campaign.seats and campaign.seat_group:
        yield (*here, "seat_group"), "give seats or seat_group, not both"
    for j, seat_id in enumerate(campaign.seats):
        if seat_id not in config.seats:
            yield (*here, "seats", j), _unknown("seat", seat_id, config.seats)
    for field in ("seat_group", "inbound_seat_group"):
        group = getattr(campaign, field)
        if group is not None and group not in config.seat_groups:
            yield (*here, field), _unknown("seat group", group, config.seat_groups)
    if campaign.dial_mode != "robot" and not campaign.seats and not campaign.seat_group:
        yield (*here, "seats"), f"a {campaign.dial_mode} campaign needs seats or a seat_group"
    if campaign.robot is not None and campaign.robot.handover_seat_group is not None:
        group = campaign.robot.handover_seat_group
        if group not in config.seat_groups:
            yield (
                (*here, "robot", "handover_seat_group"),
                _unknown("seat group", group, config.seat_groups),
            )
    if campaign.dial_mode == "robot" and campaign.robot is None:
        yield (*here, "robot"), "dial_mode robot needs a robot section with ivr_context"
    if campaign.amd.on_machine == "ivr" and campaign.robot is None:
        yield (
            (*here, "amd", "on_machine"),
            "ivr needs a robot section (the IVR to play to machines) "
            "(allowed without one: hangup, seat)",
        )
    for j, server in enumerate(campaign.servers):
        if server.name not in server_names:
            yield (
                (*here, "servers", j, "name"),
                _unknown("Asterisk server", server.name, server_names),
            )
    if campaign.no_answer_timeout_s < campaign.min_ring_s:
        yield (
            (*here, "no_answer_timeout_s"),
            f"{campaign.no_answer_timeout_s:g} s is shorter than min_ring_s "
            f"{campaign.min_ring_s:g} s (allowed: >= min_ring_s)",
        )
    pacing = campaign.pacing
    if pacing.risk_threshold_min > pacing.risk_threshold_max:
        yield (
            (*here, "pacing", "risk_threshold_min"),
            f"{pacing.risk_threshold_min:g} is above risk_threshold_max "
            f"{pacing.risk_threshold_max:g} (allowed: min <= max)",
        )
    amd = campaign.amd
    if amd.enabled and amd.initial_silence_s > amd.total_analysis_time_s:
        yield (
            (*here, "amd", "initial_silence_s"),
            "longer than total_analysis_time_s: AMD would always give up first",
        )
    if campaign.sms_follow_up.enabled and not campaign.sms_follow_up.template:
        yield (*here, "sms_follow_up", "template"), "needed when sms_follow_up is enabled"


def _unknown(what: str, name: str, known: Mapping[str, Any] | list[str]) -> str:
    names = sorted(set(known))
    allowed = ", ".join(names) if names else f"none declared: declare the {what} first"
    return f"unknown {what} {name!r} (allowed: {allowed})"
