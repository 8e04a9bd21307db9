"""The seat sync holds a ready seat whose agent asks for a break while calls dialled counting on
it are still ringing, and lets it go once they are resolved (no Asterisk: the runner's calls are
placed and resolved by hand, the way the AMI adapter would report them)."""

from __future__ import annotations

from dialer.config import load_config_text
from dialer.daemon.campaign_loop import CampaignLoop, ami_configs
from dialer.daemon.campaign_worker import CampaignWorker
from dialer.daemon.readiness import Readiness
from dialer.daemon.server import ServerContext, ServerSettings
from dialer.daemon.systemd import SystemdNotifier
from dialer.daemon.worker_base import SeatInfo
from dialer.engine.events import FailReason, OriginateFailed
from dialer.engine.seats import SeatState
from dialer.obs.metrics import DialerMetrics
from dialer.states import SeatRequest
from dialer.store import make_engine
from dialer.telephony.pool import TelephonyPool

CONFIG = """
asterisk:
  - {name: a, username: u, secret: s}
seats:
  s1: {endpoint: Local/s1@sim-seats}
  s2: {endpoint: Local/s2@sim-seats}
caller_id_pools:
  pool: {numbers: ["+12125550100"]}
campaigns:
  sales:
    dial_mode: predictive
    seats: [s1, s2]
    caller_id: {pool: pool}
"""


async def test_a_ready_seat_asked_to_pause_waits_for_the_calls_dialled_for_it(
    sqlite_url: str,
) -> None:
    cfg = load_config_text(CONFIG, "campaigns.yaml")
    ctx = ServerContext(
        ServerSettings(db_url=sqlite_url), cfg, DialerMetrics(), Readiness(), SystemdNotifier()
    )
    engine = make_engine(sqlite_url)
    try:
        loop = CampaignLoop(ctx, engine, TelephonyPool(ami_configs(cfg)))
        worker = CampaignWorker("sales", loop.shared)
        runner = worker.runner
        for seat_id in ("s1", "s2"):
            runner.seat_login(seat_id, 0.0)
        runner.call_placed("c1", 1, "+15550103012", "+12125550100", 1.0)
        runner.call_placed("c2", 2, "+15550103012", "+12125550100", 1.0)
        seat = SeatInfo("s2", "Local/s2@sim-seats", SeatRequest.PAUSED.value, "break", True)
        await worker._drive_seat(seat, 2.0, None)
        assert runner.seats.get("s2").state is SeatState.READY  # held: two calls, one seat
        assert runner.seats.is_leaving("s2") and runner.seats.ready_count == 1
        runner.on_event(OriginateFailed("c1", FailReason.BUSY), 3.0)
        await worker._drive_seat(seat, 4.0, None)  # one call left, s1 covers it
        assert runner.seats.get("s2").state is SeatState.PAUSED
        assert runner.seats.get("s2").pause_reason == "break"
    finally:
        engine.dispose()
