"""From a campaign's configuration to what the daemon hands the engine and Asterisk.

Pure translation, no I/O: the runner's settings (:func:`runner_config`), the channel variables
every call of the campaign carries (:func:`call_variables`), the wrap-up rule
(:func:`wrapup_rule`), and which Asterisk server carries the campaign (:func:`campaign_server`).
"""

from __future__ import annotations

from collections.abc import Mapping

from dialer.config import AmdConfig, CampaignConfig, DialerConfig
from dialer.engine.dial_breaker import BreakerConfig
from dialer.engine.robot import ROBOT_MODE
from dialer.engine.runner import RunnerConfig
from dialer.engine.wrapup import WrapupRule
from pacing.budget import BudgetConfig

SUPPORTED_MODES = frozenset({"predictive", "progressive", "preview", "robot"})
"""Dial modes this daemon runs; others are reported ``blocked``."""


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
    if campaign.dial_mode == "robot":
        return ROBOT_MODE
    if campaign.dial_mode == "preview":
        return "progressive"  # never asked for calls: preview dials when an agent accepts a lead
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
        on_machine=machine_action(campaign),
        on_notsure=campaign.amd.on_notsure,
        ivr_context=campaign.robot.ivr_context if campaign.robot is not None else None,
        ivr_extension=campaign.robot.ivr_extension if campaign.robot is not None else "s",
        max_lines=campaign.pacing.max_lines,
        budget=BudgetConfig(cap=cap, window_s=campaign.abandon.window_s),
        risk_threshold_min=campaign.pacing.risk_threshold_min,
        risk_threshold_max=campaign.pacing.risk_threshold_max,
        answer_horizon_s=campaign.pacing.answer_horizon_s,
        hit_jump=campaign.pacing.hit_jump_allowance,
        trim_ringing_s=campaign.min_ring_s if campaign.pacing.trim_ringing else None,
        dial_breaker=dial_breaker(campaign),
    )


def dial_breaker(campaign: CampaignConfig) -> BreakerConfig:
    """The campaign's dial-failure breaker settings, for the runner."""
    b = campaign.dial_breaker
    return BreakerConfig(
        enabled=b.enabled, window_s=b.window_s, min_failures=b.min_failures,
        failure_share=b.failure_share, cooldown_s=b.cooldown_s, max_cooldown_s=b.max_cooldown_s,
        probes=b.probes,
    )  # fmt: skip


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
    robot = campaign.robot
    if robot is not None:
        if robot.message:
            variables["DIALER_ROBOT_MESSAGE"] = robot.message
        if robot.prompt:
            variables["DIALER_ROBOT_PROMPT"] = robot.prompt
        if robot.wait_s is not None:
            variables["DIALER_ROBOT_WAIT_S"] = f"{robot.wait_s:g}"
    return variables


def machine_action(campaign: CampaignConfig) -> str:
    """What an answering machine gets: ``hangup``, ``ivr`` (the robot IVR plays its message to
    it) or ``seat``. ``ivr`` needs a robot section (the campaign is refused otherwise)."""
    action = campaign.amd.on_machine
    if action == "ivr" and campaign.robot is None:
        raise UnsupportedCampaign(
            f"campaign {campaign.name!r}: amd.on_machine ivr needs a robot section with the "
            "ivr_context to play (allowed without one: hangup, seat)"
        )
    return action


def wrapup_rule(campaign: CampaignConfig, timed_override_s: float | None = None) -> WrapupRule:
    """The campaign's wrap-up; ``timed_override_s`` (``DIALER_AUTO_WRAPUP_S``) replaces
    ``timed_s`` when given."""
    config = campaign.wrapup
    timed = config.timed_s if timed_override_s is None else timed_override_s
    return WrapupRule(config.mode, timed_s=timed, max_s=config.max_s)


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
