"""systemd's notify protocol (``sd_notify``) without a library: one datagram on ``$NOTIFY_SOCKET``.

With ``Type=notify`` systemd waits for ``READY=1`` before it counts the service as started, and with
``WatchdogSec=`` it kills the service unless ``WATCHDOG=1`` arrives at least that often. Outside
systemd (no ``NOTIFY_SOCKET``) every call is a no-op, so the daemon runs the same under a shell.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

log = structlog.stdlib.get_logger("dialer.daemon.systemd")


class SystemdNotifier:
    """Sends state changes to systemd; reads the watchdog interval systemd asked for."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace: a leading NUL byte on the wire.
        self.address: str | None = ("\0" + address[1:]) if address.startswith("@") else address
        if not self.address:
            self.address = None
        self.watchdog_interval_s: float | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_interval_s = int(usec) / 1_000_000
        self._warned = False

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notify socket."""
        return self.address is not None

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=value`` fields in one datagram; False (logged once) if it cannot be sent."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall("\n".join(fields).encode())
        except OSError as exc:
            if not self._warned:
                log.warning("systemd_notify_failed", error=str(exc))
                self._warned = True
            return False
        return True

    def ready(self, status: str = "") -> bool:
        """The service is up: systemd may start what depends on it."""
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self, monotonic_usec: int) -> bool:
        """A reload started (follow it with :meth:`ready`)."""
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec}")

    def stopping(self, status: str = "") -> bool:
        """Shutdown started (draining)."""
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        """The main loop is alive."""
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """Free text shown by ``systemctl status``."""
        return self.notify(f"STATUS={text}")
