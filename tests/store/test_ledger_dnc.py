"""Abandon ledger and DNC lists."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from dialer.states import LedgerKind
from dialer.store import queries as q
from tests.store.conftest import NOW


def test_ledger_window_and_idempotent_records(engine: Engine) -> None:
    with engine.begin() as conn:
        assert q.record_abandon_ledger(
            conn, "demo", LedgerKind.LIVE_ANSWER, NOW - timedelta(days=2), "a0"
        )
        assert q.record_abandon_ledger(conn, "demo", LedgerKind.LIVE_ANSWER, NOW, "a1")
        assert q.record_abandon_ledger(conn, "demo", LedgerKind.ABANDON, NOW, "a1")
        assert not q.record_abandon_ledger(conn, "demo", LedgerKind.ABANDON, NOW, "a1")
        assert q.record_abandon_ledger(conn, "other", LedgerKind.ABANDON, NOW, "b1")
        window = q.load_abandon_window(conn, "demo", NOW - timedelta(hours=24))
        counts = q.abandon_counts(conn, "demo", NOW - timedelta(days=30))
    assert window == [(NOW, LedgerKind.LIVE_ANSWER), (NOW, LedgerKind.ABANDON)]
    assert counts == (2, 1)


def test_dnc_global_and_per_campaign(engine: Engine) -> None:
    with engine.begin() as conn:
        assert q.add_dnc(conn, ["+12125550001", "+12125550001", "+12125550002"], NOW) == 2
        assert q.add_dnc(conn, ["+12125550001"], NOW) == 0
        assert q.add_dnc(conn, ["+12125550003"], NOW, campaign="demo", reason="asked") == 1
        assert q.add_dnc(conn, ["+12125550003"], NOW, campaign="demo") == 0
        numbers = ["+12125550001", "+12125550003", "+12125550009"]
        assert q.dnc_matches(conn, numbers, "demo") == {"+12125550001", "+12125550003"}
        assert q.dnc_matches(conn, numbers, "other") == {"+12125550001"}
        assert q.remove_dnc(conn, "+12125550003") == 0  # not on the global list
        assert q.remove_dnc(conn, "+12125550003", campaign="demo") == 1
        assert q.dnc_matches(conn, numbers, "demo") == {"+12125550001"}
