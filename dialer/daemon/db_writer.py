"""Writes that must not be lost, queued in memory and written in order by one task.

Call progress, finished attempts, abandon-ledger entries and seat states are produced on the event
path, which must never wait for the database. They go on a :class:`DbWriter` queue; its task
writes them oldest first, many per transaction, in a worker thread. When the database is gone the
jobs stay queued (nothing is dropped) and are retried with backoff until it is back, so a database
outage pauses dialling without losing a single result.

A job that fails for a reason of its own (not a lost connection) is written alone once more, then
logged with its description and dropped, so one bad row cannot block every later one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from dialer.obs.logs import get_logger
from dialer.obs.metrics import DialerMetrics

log = get_logger("dialer.daemon.db")


@dataclass(frozen=True, slots=True)
class DbJob:
    """One write: ``run(conn)`` inside the writer's transaction; ``operation`` names it for the
    metrics, ``what`` for the logs (no phone numbers)."""

    run: Callable[[Connection], object]
    operation: str
    what: str


def is_connection_error(exc: BaseException) -> bool:
    """True when the database could not be reached (retry later), not when the write was bad."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class DbWriter:
    """An ordered, retrying queue of database writes (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        metrics: DialerMetrics,
        *,
        on_health: Callable[[bool, str], None] | None = None,
        batch: int = 200,
        retry_min_s: float = 0.2,
        retry_max_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.on_health = on_health
        self.batch = batch
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self._jobs: deque[DbJob] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.healthy = True
        self.failing_since: float | None = None
        self.written = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._jobs)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="db-writer")

    def put(self, run: Callable[[Connection], object], operation: str, what: str) -> None:
        """Queue a write; it is written after every write queued before it."""
        self._jobs.append(DbJob(run, operation, what))
        self._idle.clear()
        self._wake.set()

    async def flush(self, timeout_s: float) -> bool:
        """Wait until every queued write is done (True) or ``timeout_s`` passed (False)."""
        if not self._jobs:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        return not self._jobs

    async def close(self, timeout_s: float = 5.0) -> int:
        """Flush for up to ``timeout_s``, stop; returns how many writes are left unwritten."""
        await self.flush(timeout_s)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._jobs:
            log.error("db_writes_unwritten", count=len(self._jobs),
                      first=self._jobs[0].what)  # fmt: skip
        return len(self._jobs)

    def _health(self, ok: bool, detail: str) -> None:
        if ok != self.healthy:
            self.healthy = ok
            self.failing_since = None if ok else time.monotonic()
            if ok:
                log.info("database_back", queued=len(self._jobs))
            else:
                log.error("database_unreachable", detail=detail, queued=len(self._jobs))
        if self.on_health is not None:
            self.on_health(ok, detail)

    async def _run(self) -> None:
        failures = 0
        while True:
            if not self._jobs:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            jobs = [self._jobs[i] for i in range(min(self.batch, len(self._jobs)))]
            try:
                await asyncio.to_thread(self._write, jobs)
            except Exception as exc:
                if is_connection_error(exc):
                    failures += 1
                    self._health(False, type(exc).__name__)
                    delay = min(self.retry_max_s, self.retry_min_s * 2 ** min(failures, 10))
                    await asyncio.sleep(delay)
                    continue
                # Something in the batch is bad: write the jobs one by one to find it.
                await self._write_singly(jobs)
                failures = 0
                continue
            for _ in jobs:
                self._jobs.popleft()
            self.written += len(jobs)
            failures = 0
            self._health(True, "")

    def _write(self, jobs: list[DbJob]) -> None:
        started = time.perf_counter()
        with self.engine.begin() as conn:
            for job in jobs:
                job.run(conn)
        elapsed = time.perf_counter() - started
        for operation in {job.operation for job in jobs}:
            self.metrics.db_latency.labels(operation=_known(operation)).observe(elapsed)

    async def _write_singly(self, jobs: list[DbJob]) -> None:
        for job in jobs:
            try:
                await asyncio.to_thread(self._write, [job])
            except Exception as exc:
                if is_connection_error(exc):
                    return  # the outer loop retries from this job on
                self.metrics.db_errors.labels(operation=_known(job.operation)).inc()
                self.dropped += 1
                log.error("db_write_failed", what=job.what, error=str(exc)[:500],
                          error_type=type(exc).__name__)  # fmt: skip
            self._jobs.popleft()
            self.written += 1


def _known(operation: str) -> str:
    from dialer.obs.metrics import DB_OPERATIONS

    return operation if operation in DB_OPERATIONS else "other"
