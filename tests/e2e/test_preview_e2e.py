"""Preview dialling end to end: a real dialerd, the Asterisk sandbox, SQLite.

The test plays the agents' desktops: it reads the offers the daemon makes (``preview_offers``),
skips some (through ``dialerctl preview skip``), accepts the rest (through the database as a CRM
would, and through ``dialerctl preview accept --seat``), pauses a seat that holds an offer, and
checks that nothing is dialled before its accept, that accepted calls reach the offering seat,
that skipped and withdrawn leads come back and are offered again, that there are no abandons and
that every attempt carries its seat.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dialer.store import make_engine
from dialer.store.preview import decide_offer, list_offers
from dialer.store.schema import preview_offers
from dialer.telephony.sandbox import AmiCredentials, free_port
from dialer.telephony.sim_numbers import SimBehaviour as B
from tests.e2e import harness as h

pytestmark = [pytest.mark.asterisk, pytest.mark.integration, pytest.mark.slow]

SKIP_RETRY_S = 6
MIX = {B.HUMAN: 6, B.BUSY: 2, B.MACHINE: 1, B.NO_ANSWER: 1}


def dialerctl(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialer.cli.main", *args, "--db", db_url],
        cwd=h.ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


class Desktops:
    """The agents: skip the first offer of two leads, withdraw one offer by pausing its seat,
    accept everything else; check nothing of an undecided offer is ever dialled."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.engine = make_engine(db_url)
        self.decided: dict[int, str] = {}
        self.skipped_at: dict[int, datetime] = {}  # lead -> when its offer was skipped
        self.paused_offer: int | None = None
        self.accepts = 0

    def step(self) -> None:
        with self.engine.connect() as conn:
            offers = list_offers(conn, campaign="look", open_only=True)
        snap = h.snapshot(self.db_url)
        live = {a["lead_id"] for a in snap.attempts if a["state"] == "in_flight"}
        for offer in offers:
            if offer["state"] != "offered":
                continue
            assert offer["lead_id"] not in live, f"lead {offer['lead_id']} dialled before accept"
            if offer["id"] in self.decided or offer["id"] == self.paused_offer:
                continue
            self.decide(offer)
        if self.paused_offer is not None:
            state = next(o["state"] for o in self.all_offers() if o["id"] == self.paused_offer)
            if state == "withdrawn":
                h.request_seat(self.db_url, "v2", "ready")
                self.decided[self.paused_offer] = "withdrawn"
                self.paused_offer = None

    def decide(self, offer: Any) -> None:
        offer_id, lead_id = int(offer["id"]), int(offer["lead_id"])
        if len(self.skipped_at) < 2 and lead_id not in self.skipped_at:
            done = dialerctl(self.db_url, "preview", "skip", str(offer_id), "--reason", "busy day")
            assert done.returncode == 0, done.stderr
            self.skipped_at[lead_id] = datetime.now(UTC)
            self.decided[offer_id] = "skip"
            return
        if (
            offer["seat_id"] == "v2"
            and self.accepts >= 3
            and "withdrawn" not in self.decided.values()
        ):
            if self.paused_offer is None:
                self.paused_offer = offer_id
                h.request_seat(self.db_url, "v2", "paused")  # the agent walks away
            return
        if self.accepts % 2 == 0:
            done = dialerctl(self.db_url, "preview", "accept", "--seat", offer["seat_id"])
            assert done.returncode == 0, done.stderr
        else:
            with self.engine.begin() as conn:
                decide_offer(conn, offer_id, True, datetime.now(UTC))
        self.accepts += 1
        self.decided[offer_id] = "accept"

    def all_offers(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(preview_offers)).mappings()]

    def close(self) -> None:
        self.engine.dispose()


def test_preview_campaign_end_to_end(tmp_path: Path, e2e_credentials: AmiCredentials) -> None:
    """Two seats, ten leads (+1 DNC): offers, skips, a withdrawn offer, accepted calls."""
    started = time.monotonic()
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    config = tmp_path / "campaigns.yaml"
    text = h.config_yaml(e2e_credentials, {"look": {"mode": "preview", "seats": ["v1", "v2"]}})
    text += f"    preview:\n      offer_timeout_s: 120\n      skip_retry_s: {SKIP_RETRY_S}\n"
    config.write_text(text)
    mix = h.lead_mix(MIX, dnc=1, seed=11)
    h.prepare_database(db_url, config, {"look": mix})
    daemon = h.start_daemon(config, db_url, e2e_credentials, tmp_path / "dialerd.log", free_port())
    desktops = Desktops(db_url)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert daemon.alive(), daemon.log_tail()
            desktops.step()
            if h.progress(db_url)[:2] == (0, 0) and desktops.paused_offer is None:
                break
            time.sleep(0.3)
        assert h.progress(db_url)[:2] == (0, 0), f"not done: {h.progress(db_url)}\n" + (
            daemon.log_tail()
        )
        listing = dialerctl(db_url, "preview", "list", "--all", "--json")
        assert listing.returncode == 0, listing.stderr
    finally:
        code = daemon.stop()
        desktops.close()
    assert code == 0, daemon.log_tail()
    snap = h.snapshot(db_url)
    offers = desktops.all_offers()
    by_attempt = {o["attempt_id"]: o for o in offers if o["attempt_id"] is not None}
    dnc_lead = next(lead["id"] for lead in snap.leads if h.is_dnc(lead, snap.dnc))
    assert all(o["lead_id"] != dnc_lead for o in offers), "a DNC lead was offered"

    # every call was accepted first, placed for the offering seat, and bridged to it
    assert len(snap.attempts) == sum(MIX.values())
    for a in snap.attempts:
        offer = by_attempt.get(a["id"])
        assert offer is not None, f"attempt {a['id']} has no accepted offer"
        assert offer["state"] == "dialled" and offer["lead_id"] == a["lead_id"]
        assert offer["decided_at"] is not None and offer["decided_at"] <= a["placed_at"]
        assert a["seat_id"] == offer["seat_id"], "the call reached another seat"
    assert all(a["seat_id"] for a in snap.attempts), "an attempt without its seat"
    humans = [a for a in snap.attempts if a["outcome"] == "human"]
    assert len(humans) == MIX[B.HUMAN] and all(a["connected_at"] for a in humans)

    # no abandons: the seat was waiting for its call
    assert not [a for a in snap.attempts if a["outcome"] in ("abandoned", "customer_hangup")]
    assert not [r for r in snap.ledger if r["kind"] == "abandon"]

    # a seat had one call at a time
    by_seat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in snap.attempts:
        by_seat[a["seat_id"]].append(a)
    for seat, calls in by_seat.items():
        for first, second in pairwise(sorted(calls, key=lambda a: a["placed_at"])):
            assert first["ended_at"] <= second["placed_at"], f"seat {seat}: overlapping calls"

    # skipped leads came back after skip_retry_s and were offered (and dialled) again
    assert len(desktops.skipped_at) == 2
    for lead_id, skipped in desktops.skipped_at.items():
        mine = sorted((o for o in offers if o["lead_id"] == lead_id), key=lambda o: o["id"])
        assert mine[0]["state"] == "skipped" and mine[0]["closed_at"] is not None
        assert mine[0]["reason"] == "busy day"
        again = [o for o in mine[1:] if o["state"] == "dialled"]
        assert again, f"skipped lead {lead_id} was not offered again"
        assert (again[0]["offered_at"] - skipped).total_seconds() >= SKIP_RETRY_S - 1

    # the paused seat lost its offer; the lead went back and was dialled for a seat later
    withdrawn = [o for o in offers if o["state"] == "withdrawn"]
    assert len(withdrawn) == 1 and withdrawn[0]["seat_id"] == "v2"
    assert withdrawn[0]["reason"] == "seat paused"
    assert any(
        o["lead_id"] == withdrawn[0]["lead_id"] and o["state"] == "dialled" for o in offers
    ), "the withdrawn offer's lead was lost"
    assert all(lead["status"] != "dialling" for lead in snap.leads), "a lead left claimed"
    assert all(o["closed_at"] is not None for o in offers), "an offer left open"
    print(
        f"\n[preview] {len(snap.attempts)} calls, {len(offers)} offers "
        f"({sum(1 for o in offers if o['state'] == 'skipped')} skipped, {len(withdrawn)} "
        f"withdrawn) in {time.monotonic() - started:.0f} s; outcomes {dict(snap.outcomes())}"
    )
