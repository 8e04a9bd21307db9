"""A claim never takes more leads than asked, on either database.

PostgreSQL once claimed every dialable lead for ``n = 1``: the ``LIMIT ... FOR UPDATE SKIP LOCKED``
candidates sat in an ``IN (subquery)`` that the planner may re-run per scanned row, each run
skipping the rows the previous one had locked. (Found by a helper writing the robot-mode tests.)
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from dialer.store import queries as q
from dialer.store.schema import leads
from tests.store.conftest import NOW, add_leads


@pytest.mark.parametrize("n", [1, 2, 7])
def test_a_claim_takes_at_most_n_leads(engine: Engine, n: int) -> None:
    add_leads(engine, 12)
    with engine.begin() as conn:
        claimed = q.claim_leads(conn, "demo", n, NOW, "d")
    assert len(claimed) == n
    with engine.connect() as conn:
        dialling = conn.execute(
            select(func.count()).select_from(leads).where(leads.c.status == "dialling")
        ).scalar_one()
    assert dialling == n


def test_successive_claims_share_out_the_leads(engine: Engine) -> None:
    add_leads(engine, 5)
    got: list[int] = []
    for _ in range(7):
        with engine.begin() as conn:
            got += [lead.id for lead in q.claim_leads(conn, "demo", 1, NOW, "d")]
    assert sorted(got) == sorted(set(got)) and len(got) == 5
