"""dialerd with a stand-in main loop, run as a real subprocess by the lifecycle tests.

    python -m tests.daemon.dummy_daemon [dialerd options]

The configuration is a JSON file ``{"version": N, "calls_in_flight": K, "finish_after_s": S,
"ignore_stop": false, "crash": false}``: a file that is not JSON or has no integer ``version`` is a
bad configuration. On stop the loop "finishes" its in-flight calls after ``finish_after_s``,
unless ``ignore_stop`` is set (to test the drain timeout). Everything it does is logged as JSON.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from dialer.daemon.main import main
from dialer.daemon.server import ServerContext
from dialer.obs.logs import get_logger

log = get_logger("dummy")


def load(path: Path) -> dict[str, Any]:
    config = json.loads(Path(path).read_text())
    if not isinstance(config, dict) or not isinstance(config.get("version"), int):
        raise ValueError(f"{path}: version: must be an integer")
    return config


async def run(ctx: ServerContext) -> None:
    def reloaded(old: dict[str, Any], new: dict[str, Any]) -> None:
        log.info("dummy_reload_applied", old_version=old["version"], new_version=new["version"])

    ctx.on_reload(reloaded)
    ctx.set_database_ok(True)
    ctx.set_ami_connected("pbx-1", True)
    if ctx.config.get("crash"):
        raise RuntimeError("the main loop fell over")
    while not await ctx.sleep(0.05):
        ctx.heartbeat()
    calls = ctx.config.get("calls_in_flight", 0)
    log.info("dummy_stop_seen", calls_in_flight=calls, time_left_s=ctx.drain_time_left())
    if ctx.config.get("ignore_stop"):
        await asyncio.sleep(3600)
    await asyncio.sleep(ctx.config.get("finish_after_s", 0.1))
    log.info("dummy_drained", calls_finished=calls, version=ctx.config["version"])


if __name__ == "__main__":
    raise SystemExit(main(run_campaigns=run, load_config=load))
