"""Property: the claim takes exactly the leads a plain reading of the rules would, in order."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from dialer.states import DialMode
from dialer.store import make_engine, upgrade
from dialer.store import queries as q
from dialer.store.schema import attempts, dnc_entries, leads
from tests.store.conftest import NOW

STATUSES = ["new", "retry", "callback", "done", "dialling", "rejected"]
TIER = {"callback": 0, "retry": 1, "new": 2}

lead_strategy = st.fixed_dictionaries(
    {
        "status": st.sampled_from(STATUSES),
        "priority": st.integers(0, 3),
        "due_in_min": st.none() | st.integers(-30, 30),
        "attempts_total": st.integers(0, 4),
        "called_hours_ago": st.lists(st.integers(1, 30), max_size=3),
        "cancelled_hours_ago": st.none() | st.integers(1, 30),
        "validated": st.booleans(),
        "dnc": st.booleans(),
    }
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=st.lists(lead_strategy, max_size=25), n=st.integers(1, 30))
def test_claim_matches_the_rules(tmp_path: Path, specs: list[dict[str, Any]], n: int) -> None:
    url = f"sqlite:///{tmp_path / 'prop.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(delete(dnc_entries))
        conn.execute(delete(attempts))
        conn.execute(delete(leads))
        q.apply_campaign(conn, "demo", DialMode.PREDICTIVE, {"name": "demo"}, NOW)
        ids = []
        for i, spec in enumerate(specs):
            due = spec["due_in_min"]
            row = conn.execute(
                insert(leads)
                .values(
                    campaign="demo",
                    phone_e164=f"+1212555{i:04d}",
                    status=spec["status"],
                    priority=spec["priority"],
                    next_call_at=None if due is None else NOW + timedelta(minutes=int(due)),
                    attempts_total=spec["attempts_total"],
                    validated_at=NOW if spec["validated"] else None,
                )
                .returning(leads.c.id)
            ).scalar_one()
            ids.append(row)
            called = [(h, "busy") for h in spec["called_hours_ago"]]
            if spec["cancelled_hours_ago"] is not None:
                called.append((spec["cancelled_hours_ago"], "cancelled"))  # never placed
            for hours, outcome in called:
                placed = NOW - timedelta(hours=hours)
                conn.execute(
                    insert(attempts).values(
                        id=str(uuid.uuid4()), lead_id=row, campaign="demo",
                        phone_e164=f"+1212555{i:04d}", state="ended", outcome=outcome,
                        placed_at=placed, created_at=placed,
                    )
                )  # fmt: skip
            if spec["dnc"]:
                q.add_dnc(conn, [f"+1212555{i:04d}"], NOW)

        got = q.claim_leads(conn, "demo", n, NOW, "d", max_attempts_total=3, max_attempts_per_day=2)
    engine.dispose()

    def eligible(spec: dict[str, Any]) -> bool:
        due = spec["due_in_min"]
        last_24h = sum(1 for h in spec["called_hours_ago"] if h < 24)
        return (
            spec["status"] in TIER
            and bool(spec["validated"])
            and not spec["dnc"]
            and (due is None or int(due) <= 0)
            and int(spec["attempts_total"]) < 3
            and last_24h < 2
        )

    def rank(i: int) -> tuple[int, int, bool, int, int]:
        spec = specs[i]
        due = spec["due_in_min"]
        return (
            TIER[str(spec["status"])],
            -int(spec["priority"]),
            due is not None,
            int(due) if due is not None else 0,
            i,
        )

    expected = sorted((i for i, s in enumerate(specs) if eligible(s)), key=rank)[:n]
    assert [c.id for c in got] == [ids[i] for i in expected]
    assert len({c.claim_token for c in got}) <= 1
