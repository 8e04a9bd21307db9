"""campaigns.yaml: the configuration model and its loader.

>>> config = load_config("campaigns.yaml")          # doctest: +SKIP
>>> config.campaigns["demo"].abandon.cap             # doctest: +SKIP
0.03

A bad file raises :class:`ConfigError`; ``str(error)`` lists every problem as
``FILE:LINE: field.path: message (allowed: ...)`` and ``error.problems`` holds them as records.
"""

from dialer.config.loader import ConfigError, ConfigProblem, load_config, load_config_text
from dialer.config.models import (
    LEGAL_MIN_RING_S,
    WEEKDAYS,
    AbandonConfig,
    AmdConfig,
    AsteriskServer,
    AttemptLimits,
    CallerIdConfig,
    CallerIdPool,
    CallingHours,
    CampaignConfig,
    CampaignServer,
    DialerConfig,
    DialMode,
    HttpConfig,
    Outcome,
    PacingConfig,
    PreviewConfig,
    QuarantineConfig,
    RegionHours,
    RetryRule,
    RetryRules,
    RobotConfig,
    SafeHarbourConfig,
    SeatConfig,
    SmsFollowUpConfig,
    TrialConfig,
    Weekday,
    WrapupConfig,
)
from dialer.config.values import TimeWindow, format_duration, parse_duration, parse_time_window

__all__ = [
    "LEGAL_MIN_RING_S",
    "WEEKDAYS",
    "AbandonConfig",
    "AmdConfig",
    "AsteriskServer",
    "AttemptLimits",
    "CallerIdConfig",
    "CallerIdPool",
    "CallingHours",
    "CampaignConfig",
    "CampaignServer",
    "ConfigError",
    "ConfigProblem",
    "DialMode",
    "DialerConfig",
    "HttpConfig",
    "Outcome",
    "PacingConfig",
    "PreviewConfig",
    "QuarantineConfig",
    "RegionHours",
    "RetryRule",
    "RetryRules",
    "RobotConfig",
    "SafeHarbourConfig",
    "SeatConfig",
    "SmsFollowUpConfig",
    "TimeWindow",
    "TrialConfig",
    "Weekday",
    "WrapupConfig",
    "format_duration",
    "load_config",
    "load_config_text",
    "parse_duration",
    "parse_time_window",
]
