"""transact: store functions from asyncio code, each in its own transaction on a worker thread."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine

from dialer.store import queries as q
from dialer.store.runner import transact
from tests.store.conftest import NOW, add_leads


async def test_concurrent_tasks_claim_disjoint_leads(engine: Engine) -> None:
    add_leads(engine, 20)
    batches = await asyncio.gather(
        *(transact(engine, q.claim_leads, "demo", 5, NOW, f"task-{k}") for k in range(4))
    )
    ids = [c.id for batch in batches for c in batch]
    assert len(ids) == 20 and len(set(ids)) == 20


async def test_a_failure_rolls_back(engine: Engine) -> None:
    add_leads(engine, 3)

    def claim_then_fail(conn: object) -> None:
        q.claim_leads(conn, "demo", 3, NOW, "x")  # type: ignore[arg-type]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await transact(engine, claim_then_fail)
    claimed = await transact(engine, q.claim_leads, "demo", 10, NOW, "y")
    assert len(claimed) == 3
