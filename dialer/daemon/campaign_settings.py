"""From a campaign's configuration to what the daemon hands the engine and Asterisk.

Pure translation, no I/O: the runner's settings (:func:`runner_config`), the channel variables
every call of the campaign carries (:func:`call_variables`), and which Asterisk server carries the
campaign (:func:`campaign_server`).
"""

from __future__ import annotations

from collections.abc import Mapping

from dialer.config import AmdConfig, CampaignConfig, DialerConfig
from dialer.engine.runner import RunnerConfig
from pacing.budget import BudgetConfig

SUPPORTED_MODES = frozenset({"predictive", "progressive"})
"""Dial modes this daemon runs; preview and robot campaigns are reported ``blocked``."""


class UnsupportedCampaign(ValueError):
    """The campaign asks for something this daemon cannot do (e.g. a dial mode)."""


def pacing_mode(campaign: CampaignConfig) -> str:
    """The runner's policy name: ``predictive``, ``progressive`` or ``ratio:R``."""
    if campaign.dial_mode not in SUPPORTED_MODES:
        raise UnsupportedCampaign(
            f"campaign {campaign.name!r}: dial_mode {campaign.dial_mode!r} is not run by this "
            f"daemon yet (supported: {', '.join(sorted(SUPPORTED_MODES))})"
        )
    if campaign.dial_mode == "progressive":
        ratio = campaign.pacing.progressive_ratio
        return "progressive" if ratio == 1.0 else f"ratio:{ratio:g}"
    return "predictive"


def runner_config(campaign: CampaignConfig) -> RunnerConfig:
    """The pacing-relevant settings of a campaign, as the engine's :class:`RunnerConfig`."""
    cap = min(campaign.abandon.cap, 0.999)  # the controller needs a cap below 1
    return RunnerConfig(
        campaign=campaign.name,
        mode=pacing_mode(campaign),
        connect_window_s=campaign.pacing.connect_window_s,
        ring_timeout_s=max(campaign.no_answer_timeout_s, campaign.min_ring_s),
        amd=campaign.amd.enabled,
        hang_up_machines=campaign.amd.on_machine == "hangup",
        max_lines=campaign.pacing.max_lines,
        budget=BudgetConfig(cap=cap, window_s=campaign.abandon.window_s),
    )


def amd_arguments(amd: AmdConfig) -> str:
    """Asterisk ``AMD()`` arguments (milliseconds, Asterisk's order) from the campaign's config."""

    def ms(seconds: float) -> str:
        return str(round(seconds * 1000))

    return ",".join(
        (
            ms(amd.initial_silence_s),
            ms(amd.greeting_s),
            ms(amd.after_greeting_silence_s),
            ms(amd.total_analysis_time_s),
            ms(amd.min_word_length_s),
            ms(amd.between_words_silence_s),
            str(amd.maximum_number_of_words),
            str(amd.silence_threshold),
            ms(amd.maximum_word_length_s),
        )
    )


def call_variables(campaign: CampaignConfig) -> dict[str, str]:
    """Channel variables every call of the campaign carries (read by dialer-contexts.conf)."""
    variables = {
        "DIALER_CAMPAIGN": campaign.name,
        "DIALER_AMD": "1" if campaign.amd.enabled else "0",
        "DIALER_SAFE_HARBOUR_SOUND": campaign.safe_harbour.sound,
    }
    if campaign.amd.enabled:
        variables["DIALER_AMD_ARGS"] = amd_arguments(campaign.amd)
    return variables


def campaign_servers(config: DialerConfig, campaign: str) -> list[str]:
    """The Asterisk servers a campaign may use, in preference order (empty list: all)."""
    named = [s.name for s in config.campaigns[campaign].servers]
    return named or [s.name for s in config.asterisk]


def campaign_server(
    config: DialerConfig, campaign: str, connected: Mapping[str, bool]
) -> str | None:
    """The server that carries the campaign's seats and calls: the first of its servers that is
    connected (a customer can only be bridged to a seat on the server carrying the call)."""
    for name in campaign_servers(config, campaign):
        if connected.get(name):
            return name
    return None
