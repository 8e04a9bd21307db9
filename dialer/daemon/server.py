"""The daemon's lifecycle, uvicorn style: one ``Server`` owns startup, the main loop and shutdown.

Order of events::

    load config ──bad──▶ exit 78 (EX_CONFIG: systemd must not restart; RestartPreventExitStatus=78)
    startup checks ──unreachable──▶ exit 69 (EX_UNAVAILABLE: systemd restarts later)
    HTTP endpoints up, main loop task started, READY=1 to systemd
    ... main loop runs; it calls ctx.heartbeat() every tick (WATCHDOG=1, /healthz) ...
    SIGHUP  ▶ reload: load + validate the new config; on any error keep the old one running
    SIGTERM ▶ drain: ctx.stopping is set (stop new dials), STOPPING=1, /readyz 503; wait for the
              main loop to return (in-flight calls finished) up to drain_timeout_s, then cancel it
              (a second SIGTERM/SIGINT cancels at once) ─▶ exit 0

The main loop is plugged in: ``run_campaigns(ctx)`` is any coroutine function taking the
:class:`ServerContext`. It must watch ``ctx.stopping``, stop placing calls when it is set, let the
calls in flight finish (``ctx.drain_time_left()`` tells how long it may wait) and return.

Example::

    async def run_campaigns(ctx: ServerContext) -> None:
        while not ctx.stopping.is_set():
            ctx.heartbeat()
            ...  # pace, dial
            await ctx.sleep(1.0)
        ...  # wait for in-flight calls, at most ctx.drain_time_left() seconds

    exit_code = Server(ServerSettings(config_path=Path("campaigns.yaml")), run_campaigns).run()
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import IntEnum
from pathlib import Path
from typing import Any

import structlog
from alembic.runtime.migration import MigrationContext
from sqlalchemy import make_url, text

from dialer.daemon.http import HttpServer
from dialer.daemon.readiness import Readiness
from dialer.daemon.systemd import SystemdNotifier
from dialer.obs.metrics import DialerMetrics
from dialer.store.engine import DEFAULT_DATABASE_URL, make_engine, redact_url
from dialer.store.migrate import head_revision

log = structlog.stdlib.get_logger("dialer.daemon")


class ExitCode(IntEnum):
    """dialerd's exit statuses (sysexits.h where one fits)."""

    OK = 0
    SOFTWARE = 70  # EX_SOFTWARE: the main loop crashed
    UNAVAILABLE = 69  # EX_UNAVAILABLE: database / Asterisk / HTTP port unreachable at start
    CONFIG = 78  # EX_CONFIG: the configuration is invalid; restarting will not help


class DependencyUnavailable(Exception):
    """Raised by a startup check when the database or Asterisk cannot be reached."""


class ConfigRejected(Exception):
    """Raised by a reload callback that refuses a new configuration (the old one stays)."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything the daemon needs before it starts, from the command line and environment.

    ``db_url``, ``http_host`` and ``http_port`` left at None are taken from the configuration
    file (``database_url``, ``http.host``, ``http.port``), else from the defaults below.
    ``http_port=0`` picks a free port; ``http_enabled=False`` serves no HTTP at all.
    """

    config_path: Path | None = None
    db_url: str | None = None
    http_host: str | None = None
    http_port: int | None = None
    http_enabled: bool = True
    drain_timeout_s: float = 30.0
    startup_timeout_s: float = 15.0
    stall_after_s: float = 30.0
    loop_probe_interval_s: float = 0.5


DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8090

ConfigLoader = Callable[[Path], Any]
ReloadCallback = Callable[[Any, Any], Awaitable[None] | None]


class ServerContext:
    """What the main loop sees of the server: config, metrics, readiness, and the stop signal."""

    def __init__(
        self,
        settings: ServerSettings,
        config: Any,
        metrics: DialerMetrics,
        readiness: Readiness,
        notifier: SystemdNotifier,
    ) -> None:
        self.settings = settings
        self.config = config
        self.metrics = metrics
        self.readiness = readiness
        self.notifier = notifier
        #: Set when shutdown begins: place no new calls, let the ones in flight finish.
        self.stopping = asyncio.Event()
        self.drain_deadline: float | None = None
        self._reload_callbacks: list[ReloadCallback] = []
        self._last_watchdog = float("-inf")

    @property
    def db_url(self) -> str | None:
        """The database URL the daemon was started with."""
        return self.settings.db_url

    def heartbeat(self) -> None:
        """Call on every main-loop tick: keeps ``/healthz`` green and pets systemd's watchdog."""
        self.readiness.heartbeat()
        interval = self.notifier.watchdog_interval_s
        if interval is not None:
            now = time.monotonic()
            if now - self._last_watchdog >= interval / 3:
                self.notifier.watchdog()
                self._last_watchdog = now

    def on_reload(self, callback: ReloadCallback) -> None:
        """Call ``callback(old_config, new_config)`` when a reload validated a new configuration.

        The callback applies the change; raising (e.g. :class:`ConfigRejected`) rejects it and the
        old configuration stays in force. Validate before changing anything: callbacks run in
        registration order and one that already ran is not undone.
        """
        self._reload_callbacks.append(callback)

    def set_ami_connected(self, server: str, connected: bool) -> None:
        """Record an AMI link change in both ``/readyz`` and the metrics."""
        self.readiness.set_ami(server, connected)
        if server not in self.metrics.ami_servers:
            self.metrics.add_ami_server(server)
        self.metrics.set_ami_connected(server, connected)

    def set_database_ok(self, ok: bool, detail: str = "") -> None:
        """Record the outcome of the latest database round trip for ``/readyz``."""
        self.readiness.set_database(ok, detail)

    def drain_time_left(self) -> float:
        """Seconds left to finish in-flight calls once stopping (inf before shutdown begins)."""
        if self.drain_deadline is None:
            return float("inf")
        return max(0.0, self.drain_deadline - time.monotonic())

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early when shutdown begins; True if stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        return self.stopping.is_set()


MainLoop = Callable[[ServerContext], Awaitable[None]]
StartupCheck = Callable[[ServerContext], Awaitable[None]]


def load_default_config(path: Path) -> Any:
    """Load ``campaigns.yaml`` with the project's validating loader (``dialer.config``)."""
    from dialer.config import load_config

    return load_config(path)


async def check_database(ctx: ServerContext) -> None:
    """Startup check: the database answers and carries the schema this code needs.

    Never creates anything: a missing SQLite file or a database without the current schema is
    reported (run ``dialerctl db upgrade``) instead of being silently created empty.
    """
    url = ctx.db_url
    if not url:
        return
    shown = redact_url(url)
    parsed = make_url(url)
    sqlite_file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if sqlite_file not in (None, "", ":memory:") and not Path(str(sqlite_file)).exists():
        ctx.set_database_ok(False, "file missing")
        raise DependencyUnavailable(
            f"SQLite database {sqlite_file} does not exist: "
            f"create it with `dialerctl db upgrade --db {shown}`"
        )

    def probe() -> str | None:
        connect_args = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
        engine = make_engine(url, connect_args=connect_args)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                return MigrationContext.configure(conn).get_current_revision()
        finally:
            engine.dispose()

    started = time.perf_counter()
    try:
        revision = await asyncio.to_thread(probe)
    except Exception as exc:
        ctx.set_database_ok(False, type(exc).__name__)
        raise DependencyUnavailable(
            f"database {shown} unreachable: {type(exc).__name__}: {exc}"
        ) from exc
    if revision != head_revision():
        ctx.set_database_ok(False, "schema out of date")
        raise DependencyUnavailable(
            f"database {shown} is at schema {revision or 'none'}, this dialerd needs "
            f"{head_revision()}: run `dialerctl db upgrade --db {shown}`"
        )
    ctx.metrics.db_latency.labels(operation="health").observe(time.perf_counter() - started)
    ctx.set_database_ok(True)


def resolve_settings(settings: ServerSettings, config: Any) -> ServerSettings:
    """Fill the settings left at None from the configuration file, then from the defaults."""
    http = getattr(config, "http", None)
    return replace(
        settings,
        db_url=settings.db_url or getattr(config, "database_url", None) or DEFAULT_DATABASE_URL,
        http_host=settings.http_host or getattr(http, "host", None) or DEFAULT_HTTP_HOST,
        http_port=(
            settings.http_port
            if settings.http_port is not None
            else getattr(http, "port", None) or DEFAULT_HTTP_PORT
        ),
    )


def declare_metrics(metrics: DialerMetrics, readiness: Readiness, config: Any) -> None:
    """Pre-create the series of every campaign and Asterisk server the configuration names."""
    if config is None:
        return
    caps: dict[str, float] = {}
    for name, campaign in (getattr(config, "campaigns", None) or {}).items():
        abandon = getattr(campaign, "abandon", None)
        caps[name] = float(getattr(abandon, "cap", 0.03))
    metrics.sync_campaigns(caps)
    for server in getattr(config, "asterisk", None) or []:
        name = str(getattr(server, "name", server))
        if name not in metrics.ami_servers:
            metrics.add_ami_server(name)
        readiness.ami.setdefault(name, False)


class Server:
    """Runs the daemon: see the module docstring for the sequence and exit codes."""

    def __init__(
        self,
        settings: ServerSettings,
        run_campaigns: MainLoop,
        *,
        load_config: ConfigLoader = load_default_config,
        startup_checks: tuple[StartupCheck, ...] = (check_database,),
        metrics: DialerMetrics | None = None,
        notifier: SystemdNotifier | None = None,
    ) -> None:
        self.settings = settings
        self.run_campaigns = run_campaigns
        self.load_config = load_config
        self.startup_checks = startup_checks
        self.metrics = metrics if metrics is not None else DialerMetrics()
        self.readiness = Readiness(stall_after_s=settings.stall_after_s)
        self.notifier = notifier if notifier is not None else SystemdNotifier()
        self.http: HttpServer | None = None
        self.ctx: ServerContext | None = None
        self.exit_code: ExitCode | None = None
        self._shutdown_requested: asyncio.Event | None = None
        self._force_stop: asyncio.Event | None = None
        self._reload_lock: asyncio.Lock | None = None
        self._background: set[asyncio.Task[Any]] = set()

    def run(self) -> int:
        """Run until stopped; returns the exit code (see :class:`ExitCode`)."""
        return asyncio.run(self.serve())

    async def serve(self) -> int:
        """The whole lifecycle inside a running event loop; returns the exit code."""
        self._shutdown_requested = asyncio.Event()
        self._force_stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        try:
            self.exit_code = await self._serve()
        finally:
            await self._cleanup()
        log.info("dialerd_exit", exit_code=int(self.exit_code))
        return int(self.exit_code)

    # ------------------------------------------------------------------ control

    def request_shutdown(self) -> None:
        """Begin a graceful shutdown (what SIGTERM does); a second request cancels the drain."""
        assert self._shutdown_requested is not None and self._force_stop is not None
        if self._shutdown_requested.is_set():
            log.warning("shutdown_forced", reason="second stop request during drain")
            self._force_stop.set()
        self._shutdown_requested.set()

    async def reload(self) -> bool:
        """Load and apply the configuration again (what SIGHUP does); True if applied."""
        assert self._reload_lock is not None and self.ctx is not None
        ctx = self.ctx
        path = self.settings.config_path
        if path is None:
            log.warning("config_reload_skipped", reason="no configuration file")
            return False
        async with self._reload_lock:
            self.notifier.reloading(time.monotonic_ns() // 1000)
            try:
                new_config = await asyncio.to_thread(self.load_config, path)
                for callback in ctx._reload_callbacks:
                    result = callback(ctx.config, new_config)
                    if inspect.isawaitable(result):
                        await result
            except Exception as exc:
                self.metrics.config_reloads.labels(result="rejected").inc()
                log.error(
                    "config_reload_rejected",
                    path=str(path),
                    error=str(exc),
                    error_type=type(exc).__name__,
                    kept="previous configuration",
                )
                self.notifier.ready("running (reload rejected, previous configuration kept)")
                return False
            ctx.config = new_config
            declare_metrics(self.metrics, self.readiness, new_config)
            self.metrics.config_reloads.labels(result="applied").inc()
            log.info("config_reloaded", path=str(path))
            self.notifier.ready("running (configuration reloaded)")
            return True

    # ------------------------------------------------------------------ lifecycle

    async def _serve(self) -> ExitCode:
        assert self._shutdown_requested is not None and self._force_stop is not None
        settings = self.settings
        log.info(
            "dialerd_starting",
            config=str(settings.config_path) if settings.config_path else None,
        )
        config: Any = None
        if settings.config_path is not None:
            try:
                config = await asyncio.to_thread(self.load_config, settings.config_path)
            except Exception as exc:
                log.error(
                    "config_invalid",
                    path=str(settings.config_path),
                    error=str(exc),
                    error_type=type(exc).__name__,
                )
                return ExitCode.CONFIG
        settings = self.settings = resolve_settings(settings, config)
        declare_metrics(self.metrics, self.readiness, config)
        ctx = ServerContext(settings, config, self.metrics, self.readiness, self.notifier)
        self.ctx = ctx
        self._install_signal_handlers()

        try:
            for check in self.startup_checks:
                await asyncio.wait_for(check(ctx), timeout=settings.startup_timeout_s)
        except (DependencyUnavailable, TimeoutError, OSError) as exc:
            reason = str(exc) or f"{type(exc).__name__} after {settings.startup_timeout_s} s"
            log.error("dependency_unavailable", error=reason)
            return ExitCode.UNAVAILABLE
        if self._shutdown_requested.is_set():
            return ExitCode.OK

        if settings.http_enabled:
            assert settings.http_host is not None and settings.http_port is not None
            self.http = HttpServer(
                self.metrics, self.readiness, settings.http_host, settings.http_port
            )
            try:
                await self.http.start()
            except OSError as exc:
                log.error("http_bind_failed", host=settings.http_host, port=settings.http_port,
                          error=str(exc))  # fmt: skip
                return ExitCode.UNAVAILABLE
        self._spawn(self._probe_loop_lag())

        main_task: asyncio.Task[None] = asyncio.create_task(
            _as_coroutine(self.run_campaigns(ctx)), name="dialer-main-loop"
        )
        self.notifier.ready("running")
        log.info(
            "dialerd_ready",
            db=redact_url(settings.db_url) if settings.db_url else None,
            http=f"{settings.http_host}:{self.http.port}" if self.http else None,
        )

        stop_wait = asyncio.create_task(self._shutdown_requested.wait())
        await asyncio.wait({main_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        if main_task.done():
            return self._main_loop_result(main_task, during_drain=False)
        return await self._drain(ctx, main_task)

    async def _drain(self, ctx: ServerContext, main_task: asyncio.Task[None]) -> ExitCode:
        assert self._force_stop is not None
        timeout = self.settings.drain_timeout_s
        ctx.drain_deadline = time.monotonic() + timeout
        self.readiness.draining = True
        self.metrics.draining.set(1)
        self.notifier.stopping(f"draining in-flight calls (up to {timeout:g} s)")
        log.info("drain_started", timeout_s=timeout)
        ctx.stopping.set()

        force_wait = asyncio.create_task(self._force_stop.wait())
        pet = self._spawn(self._pet_watchdog_while_draining(ctx))
        done, _ = await asyncio.wait(
            {main_task, force_wait}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        force_wait.cancel()
        pet.cancel()
        if main_task in done:
            log.info("drain_finished", took_s=round(timeout - ctx.drain_time_left(), 3))
            return self._main_loop_result(main_task, during_drain=True)
        log.warning(
            "drain_incomplete",
            reason="forced" if self._force_stop.is_set() else f"timeout after {timeout:g} s",
            action="cancelling the main loop; calls still in flight are left to Asterisk",
        )
        main_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await main_task
        return ExitCode.OK

    def _main_loop_result(self, task: asyncio.Task[None], *, during_drain: bool) -> ExitCode:
        if task.cancelled():
            log.error("main_loop_cancelled")
            return ExitCode.SOFTWARE
        exc = task.exception()
        if exc is not None:
            log.error("main_loop_crashed", error=str(exc), error_type=type(exc).__name__,
                      exc_info=exc)  # fmt: skip
            return ExitCode.SOFTWARE
        if not during_drain:
            log.warning("main_loop_returned", detail="the main loop ended without a stop request")
        return ExitCode.OK

    # ------------------------------------------------------------------ helpers

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_stop_signal, sig)
            loop.add_signal_handler(signal.SIGHUP, self._on_reload_signal)

    def _remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        log.info("stop_signal", signal=sig.name)
        self.request_shutdown()

    def _on_reload_signal(self) -> None:
        log.info("reload_signal", signal="SIGHUP")
        if self.ctx is not None:
            self._spawn(self.reload())

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _probe_loop_lag(self) -> None:
        interval = self.settings.loop_probe_interval_s
        while True:
            started = time.monotonic()
            await asyncio.sleep(interval)
            lag = max(0.0, time.monotonic() - started - interval)
            self.readiness.loop_lag_s = lag
            self.metrics.event_loop_lag.set(lag)

    async def _pet_watchdog_while_draining(self, ctx: ServerContext) -> None:
        # The drain is bounded by drain_timeout_s, which is below systemd's TimeoutStopSec.
        interval = ctx.notifier.watchdog_interval_s
        if interval is None:
            return
        while True:
            ctx.notifier.watchdog()
            await asyncio.sleep(interval / 3)

    async def _cleanup(self) -> None:
        self._remove_signal_handlers()
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.http is not None:
            await self.http.stop()


async def _as_coroutine(awaitable: Awaitable[None]) -> None:
    await awaitable
