"""SIGHUP on the campaign loop: new settings reach the running workers; a configuration a
running campaign cannot use is rejected and the old one stays (no Asterisk: nothing dials)."""

from __future__ import annotations

import pytest

from dialer.config import DialerConfig, load_config_text
from dialer.daemon.campaign_loop import CampaignLoop, ami_configs
from dialer.daemon.campaign_worker import CampaignWorker
from dialer.daemon.readiness import Readiness
from dialer.daemon.server import ConfigRejected, ServerContext, ServerSettings
from dialer.daemon.systemd import SystemdNotifier
from dialer.obs.metrics import DialerMetrics
from dialer.store import make_engine
from dialer.telephony.pool import TelephonyPool

BASE = """
asterisk:
  - {{name: a, username: u, secret: s}}
seats:
  s1: {{endpoint: Local/s1@sim-seats}}
caller_id_pools:
  pool: {{numbers: ["+12125550100"]}}
campaigns:
  sales:
    dial_mode: {mode}
    seats: [s1]
    caller_id: {{pool: pool}}
    pacing: {{connect_window_s: {window}, max_lines: {lines}}}
"""


def config(mode: str = "predictive", window: float = 2, lines: int = 10) -> DialerConfig:
    return load_config_text(BASE.format(mode=mode, window=window, lines=lines), "campaigns.yaml")


async def test_reload_applies_new_settings_or_keeps_the_old(sqlite_url: str) -> None:
    old = config()
    metrics = DialerMetrics()
    ctx = ServerContext(
        ServerSettings(db_url=sqlite_url), old, metrics, Readiness(), SystemdNotifier()
    )
    engine = make_engine(sqlite_url)
    loop = CampaignLoop(ctx, engine, _pool(old))
    worker = CampaignWorker("sales", loop.shared)
    loop.workers["sales"] = (worker, None)  # type: ignore[assignment]
    try:
        loop.on_reload(old, config(mode="progressive", window=1.5, lines=4))
        assert worker.runner.config.mode == "progressive"
        assert worker.runner.config.connect_window_s == 1.5
        assert worker.runner.config.max_lines == 4
        assert worker.runner.policy.name == "progressive"

        applied = loop.config
        moved = load_config_text(
            BASE.format(mode="predictive", window=2, lines=10).replace("name: a,", "name: b,"),
            "campaigns.yaml",
        )
        with pytest.raises(ConfigRejected, match="Asterisk servers changed"):
            loop.on_reload(applied, moved)
        assert loop.config is applied
        assert worker.runner.config.mode == "progressive"

        loop.on_reload(applied, config(mode="preview"))
        assert worker.preview and worker.campaign.dial_mode == "preview"
    finally:
        engine.dispose()


def _pool(cfg: DialerConfig) -> TelephonyPool:
    return TelephonyPool(ami_configs(cfg))
