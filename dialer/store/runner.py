"""Running store functions from asyncio code: each call gets its own connection and transaction
in a worker thread, so the event loop never blocks on the database and no session is shared
between tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine

P = ParamSpec("P")
T = TypeVar("T")


async def transact(
    engine: Engine,
    fn: Callable[Concatenate[Connection, P], T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``await transact(engine, claim_leads, "demo", 5, now, owner)``: run ``fn(conn, ...)`` in
    one transaction on a worker thread; committed if it returns, rolled back if it raises."""

    def run() -> T:
        with engine.begin() as conn:
            return fn(conn, *args, **kwargs)

    return await asyncio.to_thread(run)
