"""A tiny asyncio HTTP/1.1 server for ``/metrics``, ``/healthz`` and ``/readyz``.

No framework: three read-only endpoints do not justify one, and prometheus_client's own
``start_http_server`` answers metrics on every path, so it cannot also serve health checks. One
request per connection (``Connection: close``), GET and HEAD only, small header limits, a read
timeout so a slow client cannot hold a connection. Binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import structlog

from dialer.daemon.readiness import Readiness
from dialer.obs.metrics import DialerMetrics

log = structlog.stdlib.get_logger("dialer.daemon.http")

MAX_REQUEST_LINE = 2048
MAX_HEADERS = 64
READ_TIMEOUT_S = 5.0

Response = tuple[HTTPStatus, str, bytes]


def _json(status: HTTPStatus, body: dict[str, Any]) -> Response:
    return status, "application/json", json.dumps(body, sort_keys=True).encode() + b"\n"


class HttpServer:
    """Serves the daemon's metrics and health endpoints.

    ``port=0`` picks a free port; read :attr:`port` after :meth:`start`.
    """

    def __init__(
        self,
        metrics: DialerMetrics,
        readiness: Readiness,
        host: str = "127.0.0.1",
        port: int = 9108,
    ) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._routes: dict[str, Callable[[], Response]] = {
            "/metrics": self._metrics,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
        }

    async def start(self) -> None:
        """Bind and start accepting connections (raises ``OSError`` if the port is taken)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("http_listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        """Stop accepting and close the listening socket."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2.0)
            self._server = None

    # ------------------------------------------------------------------ endpoints

    def _metrics(self) -> Response:
        return HTTPStatus.OK, self.metrics.content_type, self.metrics.render()

    def _healthz(self) -> Response:
        healthy, body = self.readiness.healthy()
        return _json(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE, body)

    def _readyz(self) -> Response:
        ready, body = self.readiness.ready()
        return _json(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE, body)

    # ------------------------------------------------------------------ protocol

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path = await asyncio.wait_for(self._read_request(reader), READ_TIMEOUT_S)
            status, content_type, body = self._route(method, path)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        except _BadRequest as exc:
            status, content_type, body = _json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            method = "GET"
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n\r\n"
        ).encode("ascii")
        try:
            writer.write(head if method == "HEAD" else head + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str]:
        line = await reader.readline()
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        if len(line) > MAX_REQUEST_LINE or not line.endswith(b"\n"):
            raise _BadRequest("request line too long")
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _BadRequest("malformed request line")
        for _ in range(MAX_HEADERS + 1):
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
        else:
            raise _BadRequest("too many headers")
        return parts[0], parts[1]

    def _route(self, method: str, target: str) -> Response:
        path = target.split("?", 1)[0]
        handler = self._routes.get(path)
        if handler is None:
            body = {"error": f"no such path {path!r}", "paths": list(self._routes)}
            return _json(HTTPStatus.NOT_FOUND, body)
        if method not in ("GET", "HEAD"):
            return _json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{method} not allowed"})
        return handler()


class _BadRequest(Exception):
    """The client sent something that is not an HTTP/1.x request."""
