"""The daemon's lifecycle: startup, exit codes, reload, drain on SIGTERM, systemd notify.

In-process tests drive ``Server`` directly; the signal tests run ``dialerd`` (with a stand-in main
loop, tests/daemon/dummy_daemon.py) as a real subprocess and talk to it over HTTP and signals.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from dialer.daemon.main import main
from dialer.daemon.server import (
    ConfigRejected,
    ExitCode,
    Server,
    ServerContext,
    ServerSettings,
    check_database,
)
from dialer.store import upgrade
from tests.daemon.httpget import fetch

REPO = Path(__file__).resolve().parents[2]


def write_config(path: Path, **fields: Any) -> Path:
    path.write_text(json.dumps({"version": 1, **fields}))
    return path


def json_loader(path: Path) -> dict[str, Any]:
    config = json.loads(path.read_text())
    if not isinstance(config.get("version"), int):
        raise ValueError(f"{path}: version: must be an integer")
    return config


# ----------------------------------------------------------------------------- in process


async def test_serves_health_and_metrics_then_stops_cleanly(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    async def loop(ctx: ServerContext) -> None:
        ctx.set_database_ok(True)
        ctx.set_ami_connected("pbx-1", True)
        while not await ctx.sleep(0.02):
            ctx.heartbeat()
        seen["stopping"] = ctx.stopping.is_set()
        seen["time_left"] = ctx.drain_time_left()

    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    upgrade(db_url)
    settings = ServerSettings(
        config_path=write_config(tmp_path / "c.json"),
        db_url=db_url,
        http_port=0,
        drain_timeout_s=5,
    )
    server = Server(settings, loop, load_config=json_loader)
    task = asyncio.create_task(server.serve())
    while server.http is None or server.http.port == 0 or not server.readiness.ami:
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{server.http.port}"
    assert (await fetch(base + "/healthz")).status == 200
    ready = await fetch(base + "/readyz")
    assert ready.status == 200, ready.body
    metrics = (await fetch(base + "/metrics")).body.decode()
    assert 'dialer_ami_connected{server="pbx-1"} 1.0' in metrics
    assert 'dialer_db_query_seconds_count{operation="health"} 1.0' in metrics

    server.request_shutdown()
    assert await task == ExitCode.OK
    assert seen["stopping"] is True
    assert 0 < seen["time_left"] <= 5


async def test_bad_config_exits_78_before_anything_starts(tmp_path: Path) -> None:
    started = False

    async def loop(ctx: ServerContext) -> None:
        nonlocal started
        started = True

    bad = tmp_path / "c.json"
    bad.write_text('{"version": "one"}')
    server = Server(ServerSettings(config_path=bad, http_port=0), loop, load_config=json_loader)
    assert await server.serve() == ExitCode.CONFIG == 78
    assert server.http is None and not started


def test_main_with_missing_config_exits_78(tmp_path: Path) -> None:
    code = main(["--config", str(tmp_path / "nope.yaml"), "--no-http", "--log-level", "error"])
    assert code == 78


def test_main_with_a_broken_campaigns_yaml_exits_78(tmp_path: Path) -> None:
    broken = tmp_path / "campaigns.yaml"
    broken.write_text("campaigns:\n  demo:\n    dial_mode: telepathic\n")
    assert main(["--config", str(broken), "--no-http", "--log-level", "error"]) == 78


async def test_unreachable_database_exits_69_without_leaking_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from dialer.obs.logs import configure_logging

    configure_logging("info")
    settings = ServerSettings(
        config_path=write_config(tmp_path / "c.json"),
        db_url=f"postgresql+psycopg://dialer:pg-s3cret@127.0.0.1:{port}/dialer",
        http_port=0,
    )

    async def loop(ctx: ServerContext) -> None:
        raise AssertionError("must not start")

    server = Server(settings, loop, load_config=json_loader, startup_checks=(check_database,))
    assert await server.serve() == ExitCode.UNAVAILABLE == 69
    out = capsys.readouterr().out
    assert "dependency_unavailable" in out
    assert "pg-s3cret" not in out


async def test_missing_sqlite_file_exits_69_and_is_not_created(tmp_path: Path) -> None:
    db_file = tmp_path / "dialer.db"
    server = Server(
        ServerSettings(db_url=f"sqlite:///{db_file}", http_enabled=False),
        _never_started,
    )
    assert await server.serve() == 69
    assert not db_file.exists()
    assert server.readiness.database_detail == "file missing"


async def test_database_without_schema_exits_69(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dialer.obs.logs import configure_logging

    configure_logging("info")
    db_file = tmp_path / "dialer.db"
    db_file.touch()  # an empty SQLite database: reachable, no schema
    server = Server(
        ServerSettings(db_url=f"sqlite:///{db_file}", http_enabled=False), _never_started
    )
    assert await server.serve() == 69
    assert "run `dialerctl db upgrade" in capsys.readouterr().out


async def _never_started(ctx: ServerContext) -> None:
    raise AssertionError("the main loop must not start")


async def test_port_in_use_exits_69(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = ServerSettings(http_port=taken.getsockname()[1])

        async def loop(ctx: ServerContext) -> None:
            raise AssertionError("must not start")

        assert await Server(settings, loop, startup_checks=()).serve() == 69


async def test_crashing_main_loop_exits_70() -> None:
    async def loop(ctx: ServerContext) -> None:
        raise RuntimeError("boom")

    server = Server(ServerSettings(http_enabled=False), loop, startup_checks=())
    assert await server.serve() == ExitCode.SOFTWARE == 70


async def test_reload_keeps_the_old_config_when_the_new_one_is_bad(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.json", version=1)
    applied: list[tuple[int, int]] = []
    started = asyncio.Event()

    async def loop(ctx: ServerContext) -> None:
        async def on_reload(old: dict[str, Any], new: dict[str, Any]) -> None:
            if new.get("refuse"):
                raise ConfigRejected("campaign 'demo' cannot change dial mode while running")
            applied.append((old["version"], new["version"]))

        ctx.on_reload(on_reload)
        started.set()
        await ctx.stopping.wait()

    server = Server(
        ServerSettings(config_path=path, http_enabled=False),
        loop,
        load_config=json_loader,
        startup_checks=(),
    )
    task = asyncio.create_task(server.serve())
    await started.wait()
    assert server.ctx is not None

    path.write_text("{ not json")
    assert await server.reload() is False
    write_config(path, version="two")
    assert await server.reload() is False
    write_config(path, version=3, refuse=True)
    assert await server.reload() is False
    assert server.ctx.config == {"version": 1}

    write_config(path, version=4)
    assert await server.reload() is True
    assert server.ctx.config == {"version": 4}
    assert applied == [(1, 4)]
    reloads = server.metrics.render().decode()
    assert 'dialer_config_reloads_total{result="rejected"} 3.0' in reloads
    assert 'dialer_config_reloads_total{result="applied"} 1.0' in reloads

    server.request_shutdown()
    assert await task == 0


async def test_config_declares_campaign_and_server_series(tmp_path: Path) -> None:
    class Abandon:
        cap = 0.02

    class Campaign:
        abandon = Abandon()

    class Pbx:
        name = "pbx-7"

    class Config:
        def __init__(self) -> None:
            self.campaigns = {"demo": Campaign()}
            self.asterisk = [Pbx()]
            self.database_url = None
            self.http = None

    async def loop(ctx: ServerContext) -> None:
        await ctx.stopping.wait()

    server = Server(
        ServerSettings(config_path=tmp_path / "any", http_enabled=False),
        loop,
        load_config=lambda _: Config(),
        startup_checks=(),
    )
    task = asyncio.create_task(server.serve())
    while server.ctx is None:
        await asyncio.sleep(0.01)
    text = server.metrics.render().decode()
    assert 'dialer_abandon_cap{campaign="demo"} 0.02' in text
    assert 'dialer_ami_connected{server="pbx-7"} 0.0' in text
    assert server.readiness.ready()[1]["asterisk"] == {"pbx-7": False}
    server.request_shutdown()
    assert await task == 0


# ----------------------------------------------------------------------------- as a real process


class Daemon:
    """A running dummy dialerd: its process, parsed log lines and HTTP base URL."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self.base = ""

    async def wait_for(self, event: str, timeout: float = 15.0) -> dict[str, Any]:
        for line in self.events:
            if line.get("event") == event:
                return line
        assert self.process.stdout is not None

        async def read() -> dict[str, Any]:
            assert self.process.stdout is not None
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    raise AssertionError(f"dialerd exited before logging {event!r}: {self.events}")
                line = json.loads(raw)
                self.events.append(line)
                if line.get("event") == event:
                    return line

        return await asyncio.wait_for(read(), timeout)

    async def finish(self, timeout: float = 15.0) -> int:
        assert self.process.stdout is not None
        rest = await asyncio.wait_for(self.process.stdout.read(), timeout)
        self.events += [json.loads(line) for line in rest.decode().splitlines() if line.strip()]
        return await asyncio.wait_for(self.process.wait(), timeout)

    def names(self) -> list[str]:
        return [str(e.get("event")) for e in self.events]


@pytest.fixture(scope="module")
def schema_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database with the current schema, shared by the subprocess tests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'dialer.db'}"
    upgrade(url)
    return url


@asynccontextmanager
async def dialerd(*args: str, db: str, env: dict[str, str] | None = None) -> AsyncIterator[Daemon]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.daemon.dummy_daemon", "--http-port", "0", "--db", db, *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    daemon = Daemon(process)
    try:
        ready = await daemon.wait_for("dialerd_ready")
        daemon.base = "http://" + ready["http"]
        yield daemon
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigterm_drains_in_flight_calls_then_exits_0(tmp_path: Path, schema_db: str) -> None:
    config = write_config(tmp_path / "c.json", calls_in_flight=3, finish_after_s=0.5)
    async with dialerd("--config", str(config), "--drain-timeout", "10", db=schema_db) as daemon:
        assert (await fetch(daemon.base + "/healthz")).status == 200
        assert (await fetch(daemon.base + "/readyz")).status == 200
        assert b"dialer_calls_total" in (await fetch(daemon.base + "/metrics")).body
        daemon.process.send_signal(signal.SIGTERM)
        await daemon.wait_for("drain_started")
        assert await daemon.finish() == 0
    names = daemon.names()
    order = [names.index(e) for e in ("drain_started", "dummy_drained", "drain_finished")]
    assert order == sorted(order)
    assert "drain_incomplete" not in names
    drained = next(e for e in daemon.events if e["event"] == "dummy_drained")
    assert drained["calls_finished"] == 3
    exit_line = next(e for e in daemon.events if e["event"] == "dialerd_exit")
    assert exit_line["exit_code"] == 0


async def test_drain_timeout_bounds_the_shutdown(tmp_path: Path, schema_db: str) -> None:
    config = write_config(tmp_path / "c.json", calls_in_flight=2, ignore_stop=True)
    async with dialerd("--config", str(config), "--drain-timeout", "0.5", db=schema_db) as daemon:
        daemon.process.send_signal(signal.SIGTERM)
        assert await daemon.finish() == 0
    incomplete = next(e for e in daemon.events if e["event"] == "drain_incomplete")
    assert incomplete["reason"] == "timeout after 0.5 s"
    assert "dummy_drained" not in daemon.names()


async def test_second_sigterm_cuts_the_drain_short(tmp_path: Path, schema_db: str) -> None:
    config = write_config(tmp_path / "c.json", ignore_stop=True)
    async with dialerd("--config", str(config), "--drain-timeout", "600", db=schema_db) as daemon:
        daemon.process.send_signal(signal.SIGTERM)
        await daemon.wait_for("dummy_stop_seen")
        daemon.process.send_signal(signal.SIGTERM)
        assert await daemon.finish() == 0
    incomplete = next(e for e in daemon.events if e["event"] == "drain_incomplete")
    assert incomplete["reason"] == "forced"


async def test_sighup_with_bad_config_keeps_the_old_one(tmp_path: Path, schema_db: str) -> None:
    config = write_config(tmp_path / "c.json", version=1)
    async with dialerd("--config", str(config), db=schema_db) as daemon:
        config.write_text('{"version": "broken"')
        daemon.process.send_signal(signal.SIGHUP)
        rejected = await daemon.wait_for("config_reload_rejected")
        assert rejected["kept"] == "previous configuration"
        assert str(config) in rejected["error"] or "Expecting" in rejected["error"]
        assert (await fetch(daemon.base + "/healthz")).status == 200  # still running

        write_config(config, version=2)
        daemon.process.send_signal(signal.SIGHUP)
        applied = await daemon.wait_for("dummy_reload_applied")
        assert (applied["old_version"], applied["new_version"]) == (1, 2)

        daemon.process.send_signal(signal.SIGTERM)
        assert await daemon.finish() == 0
    drained = next(e for e in daemon.events if e["event"] == "dummy_drained")
    assert drained["version"] == 2


async def test_systemd_notify_protocol(tmp_path: Path, schema_db: str) -> None:
    config = write_config(tmp_path / "c.json")
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "300000"}

        async def receive(prefix: bytes) -> bytes:
            while True:
                message = await asyncio.wait_for(loop.sock_recv(sock, 4096), 10)
                if message.startswith(prefix):
                    return message

        async with dialerd("--config", str(config), db=schema_db, env=env) as daemon:
            assert (await receive(b"READY=1")).startswith(b"READY=1")
            assert await receive(b"WATCHDOG=1") == b"WATCHDOG=1"
            daemon.process.send_signal(signal.SIGTERM)
            assert (await receive(b"STOPPING=1")).startswith(b"STOPPING=1")
            assert await daemon.finish() == 0
