"""``dialerd``: the command line of the daemon.

    dialerd [--config campaigns.yaml] [--db URL] [--http-host H] [--http-port N]
            [--drain-timeout S] [--log-level info] [--log-format json|console]

Exit codes: 0 stopped cleanly, 2 bad command line, 69 a dependency (database, HTTP port) was
unreachable at start, 70 the main loop crashed, 78 the configuration is invalid.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from dialer.daemon.server import (
    ConfigLoader,
    MainLoop,
    Server,
    ServerContext,
    ServerSettings,
    load_default_config,
)
from dialer.obs.logs import configure_logging, get_logger

log = get_logger("dialer.daemon")

CONFIG_ENV = "DIALER_CONFIG"
DATABASE_URL_ENV = "DIALER_DATABASE_URL"


def build_parser() -> argparse.ArgumentParser:
    """The ``dialerd`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="dialerd",
        description="Predictive-dialer daemon: paces outbound calls through Asterisk.",
        epilog="Signals: SIGTERM drains in-flight calls then exits 0; SIGHUP reloads the "
        "configuration (a bad one is rejected and the running one kept).",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get(CONFIG_ENV, "campaigns.yaml")),
        help=f"campaigns.yaml to run (default: ${CONFIG_ENV} or ./campaigns.yaml)",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get(DATABASE_URL_ENV),
        help=f"database URL (default: ${DATABASE_URL_ENV}, else database_url in the "
        "configuration, else sqlite:///./dialer.db)",
    )
    parser.add_argument(
        "--http-host", help="address of /metrics, /healthz, /readyz (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--http-port", type=int, help="port of the HTTP endpoints (default: http.port, or 8090)"
    )
    parser.add_argument("--no-http", action="store_true", help="serve no HTTP endpoints")
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM, how long to wait for in-flight calls (default: 30)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="default: info",
    )
    parser.add_argument(
        "--log-format", default="json", choices=["json", "console"], help="default: json"
    )
    return parser


async def idle_loop(ctx: ServerContext) -> None:
    """Stand-in main loop while ``dialer.daemon.campaign_loop`` is not there: heartbeats only."""
    log.warning("no_campaign_loop", detail="dialer.daemon.campaign_loop missing; not dialling")
    while not await ctx.sleep(1.0):
        ctx.heartbeat()


def default_main_loop() -> MainLoop:
    """The campaign main loop (``dialer.daemon.campaign_loop.run_campaigns``), if present."""
    try:
        from dialer.daemon.campaign_loop import run_campaigns
    except ImportError:
        return idle_loop
    loop: MainLoop = run_campaigns
    return loop


def main(
    argv: Sequence[str] | None = None,
    *,
    run_campaigns: MainLoop | None = None,
    load_config: ConfigLoader = load_default_config,
) -> int:
    """Run the daemon; returns its exit code (the console script passes it to ``sys.exit``).

    ``run_campaigns`` and ``load_config`` replace the real main loop and loader (tests, demos).
    """
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, json=args.log_format == "json")
    settings = ServerSettings(
        config_path=args.config,
        db_url=args.db,
        http_host=args.http_host,
        http_port=args.http_port,
        http_enabled=not args.no_http,
        drain_timeout_s=args.drain_timeout,
    )
    server = Server(settings, run_campaigns or default_main_loop(), load_config=load_config)
    return server.run()


if __name__ == "__main__":
    raise SystemExit(main())
