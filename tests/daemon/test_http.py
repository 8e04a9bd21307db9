"""The /metrics, /healthz and /readyz endpoints, over real HTTP on the loopback interface."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dialer.daemon.http import HttpServer
from dialer.daemon.readiness import Readiness
from dialer.obs.metrics import DialerMetrics
from tests.daemon.httpget import fetch


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def served(clock: FakeClock) -> AsyncIterator[tuple[HttpServer, str]]:
    metrics = DialerMetrics()
    metrics.add_campaign("demo", 0.03)
    readiness = Readiness(stall_after_s=30.0, clock=clock)
    server = HttpServer(metrics, readiness, host="127.0.0.1", port=0)
    await server.start()
    try:
        yield server, f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def test_binds_loopback_by_default() -> None:
    server = HttpServer(DialerMetrics(), Readiness(), port=0)
    await server.start()
    try:
        assert server.host == "127.0.0.1"
    finally:
        await server.stop()


async def test_metrics_endpoint(served: tuple[HttpServer, str]) -> None:
    server, base = served
    server.metrics.call_ended("demo", "busy")
    reply = await fetch(base + "/metrics")
    assert reply.status == 200
    assert reply.content_type.startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(reply.body.decode())}
    busy = [s for s in families["dialer_calls"].samples if s.labels.get("outcome") == "busy"]
    assert busy[0].value == 1


async def test_readyz_says_what_is_missing(served: tuple[HttpServer, str]) -> None:
    server, base = served
    reply = await fetch(base + "/readyz")
    assert reply.status == 503
    body = reply.json()
    assert body["status"] == "not_ready"
    assert any(r.startswith("database:") for r in body["reasons"])
    assert any(r.startswith("asterisk:") for r in body["reasons"])

    server.readiness.set_database(True)
    server.readiness.set_ami("pbx-1", False)
    reply = await fetch(base + "/readyz")
    assert reply.status == 503
    assert reply.json()["reasons"] == ["asterisk: no AMI connection up (pbx-1)"]

    server.readiness.set_ami("pbx-2", True)
    reply = await fetch(base + "/readyz")
    assert reply.status == 200
    assert reply.json() == {
        "status": "ready",
        "database": True,
        "asterisk": {"pbx-1": False, "pbx-2": True},
        "draining": False,
    }

    server.readiness.draining = True
    reply = await fetch(base + "/readyz")
    assert reply.status == 503
    assert reply.json()["reasons"] == ["draining: shutting down, no new calls"]


async def test_healthz_reports_a_stalled_main_loop(
    served: tuple[HttpServer, str], clock: FakeClock
) -> None:
    server, base = served
    reply = await fetch(base + "/healthz")
    assert reply.status == 200
    assert reply.json()["main_loop"] == "starting"

    server.readiness.heartbeat()
    clock.now += 29.0
    reply = await fetch(base + "/healthz")
    assert reply.status == 200
    assert reply.json()["main_loop_age_s"] == 29.0

    clock.now += 2.0
    reply = await fetch(base + "/healthz")
    assert reply.status == 503
    assert reply.json()["status"] == "stalled"
    assert "31.0 s" in reply.json()["reason"]


async def test_head_unknown_path_and_wrong_method(served: tuple[HttpServer, str]) -> None:
    _, base = served
    head = await fetch(base + "/healthz", method="HEAD")
    assert head.status == 200 and head.body == b""
    missing = await fetch(base + "/admin")
    assert missing.status == 404
    assert missing.json()["paths"] == ["/metrics", "/healthz", "/readyz"]
    post = await fetch(base + "/metrics", method="POST")
    assert post.status == 405


async def test_garbage_request_gets_400(served: tuple[HttpServer, str]) -> None:
    server, _ = served
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"HELLO\r\n\r\n")
    await writer.drain()
    response = await reader.read()
    writer.close()
    assert response.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"malformed request line" in response


async def test_silent_client_does_not_block_others(served: tuple[HttpServer, str]) -> None:
    server, base = served
    _, idle_writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        reply = await fetch(base + "/healthz")
        assert reply.status == 200
    finally:
        idle_writer.close()
