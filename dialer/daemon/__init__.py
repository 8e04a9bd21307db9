"""dialerd: the daemon's lifecycle, HTTP endpoints and systemd integration.

The campaign main loop itself is plugged in (``dialer.daemon.campaign_loop.run_campaigns``);
everything around it — startup checks, signals, drain, reload, health and metrics endpoints —
lives here. Start with :class:`dialer.daemon.server.Server`.
"""

from dialer.daemon.readiness import Readiness
from dialer.daemon.server import ExitCode, Server, ServerContext, ServerSettings

__all__ = ["ExitCode", "Readiness", "Server", "ServerContext", "ServerSettings"]
