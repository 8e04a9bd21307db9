"""Dispositions and wrap-up: the agent's verdict on a call, and how long the seat's wrap-up took.

The CRM (or ``dialerctl attempts dispose``) records a disposition on an attempt — ``disposition``
and ``disposed_at``; a campaign whose wrap-up mode is ``disposition`` keeps the seat in wrap-up
until then (:func:`disposed_attempts` is what the daemon polls). When the wrap-up ends the daemon
writes ``wrapup_s`` (:func:`record_wrapup`) on the attempt, or on the inbound call the seat took.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select, update

from dialer.store.schema import attempts, inbound_calls, leads

MAX_DISPOSITION_LEN = 64


class BadDisposition(ValueError):
    """A disposition code the attempts table cannot take (empty, too long)."""


def check_disposition(code: str) -> str:
    """The code, stripped; raises :class:`BadDisposition` naming the problem."""
    text = code.strip()
    if not text:
        raise BadDisposition("a disposition cannot be empty")
    if len(text) > MAX_DISPOSITION_LEN:
        raise BadDisposition(
            f"disposition {text[:20]!r}... is {len(text)} characters "
            f"(allowed: at most {MAX_DISPOSITION_LEN})"
        )
    return text


def dispose_attempt(conn: Connection, attempt_id: str, code: str, now: datetime) -> bool:
    """Record the disposition of an attempt (and the lead's ``last_disposition``); a later one
    replaces it. False if there is no such attempt."""
    text = check_disposition(code)
    t = attempts.c
    row = conn.execute(
        update(attempts)
        .where(t.id == attempt_id)
        .values(disposition=text, disposed_at=now)
        .returning(t.lead_id)
    ).first()
    if row is None:
        return False
    if row.lead_id is not None:
        conn.execute(
            update(leads)
            .where(leads.c.id == row.lead_id)
            .values(last_disposition=text, updated_at=now)
        )
    return True


def disposed_attempts(conn: Connection, attempt_ids: Iterable[str]) -> set[str]:
    """Those of ``attempt_ids`` that have a disposition (written by the CRM in whatever way:
    ``disposed_at`` is not required)."""
    ids = list(dict.fromkeys(attempt_ids))
    if not ids:
        return set()
    t = attempts.c
    rows = conn.execute(select(t.id).where(t.id.in_(ids), t.disposition.is_not(None)))
    return {r.id for r in rows}


def record_wrapup(conn: Connection, call_id: str, wrapup_s: float) -> bool:
    """The seat's wrap-up after the call ``call_id`` (an attempt, else an inbound call) lasted
    ``wrapup_s``. False if neither exists."""
    value = round(max(0.0, wrapup_s), 3)
    done = conn.execute(update(attempts).where(attempts.c.id == call_id).values(wrapup_s=value))
    if done.rowcount == 1:
        return True
    done = conn.execute(
        update(inbound_calls).where(inbound_calls.c.id == call_id).values(wrapup_s=value)
    )
    return done.rowcount == 1


def attempt_dispositions(conn: Connection, call_ids: Iterable[str]) -> dict[str, bool]:
    """For each of ``call_ids`` that is an attempt: whether it has a disposition. Ids that are
    not attempts (inbound calls) are left out."""
    ids = list(dict.fromkeys(call_ids))
    if not ids:
        return {}
    t = attempts.c
    rows = conn.execute(select(t.id, t.disposition).where(t.id.in_(ids)))
    return {r.id: r.disposition is not None for r in rows}
