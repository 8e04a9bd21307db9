"""Every query the daemon and dialerctl run, in one namespace (``from dialer.store import queries
as q``). Each function takes a Connection inside the caller's transaction (``with
engine.begin() as conn``) and never commits by itself; asyncio code wraps calls with
``dialer.store.runner.transact``."""

from dialer.store.attempts import (
    ANSWERED_OUTCOMES,
    AttemptResult,
    LeadUpdate,
    NewAttempt,
    OutboxRequest,
    create_attempt,
    finish_attempt,
    get_attempt,
    in_flight_attempts,
    new_attempt_id,
    update_attempt,
)
from dialer.store.caller_ids import list_caller_ids, set_caller_id_state, upsert_caller_id
from dialer.store.campaigns import (
    apply_campaign,
    config_hash,
    get_campaign,
    list_campaigns,
    set_actual_state,
    set_desired_state,
)
from dialer.store.dialect import read_db_now
from dialer.store.dispositions import dispose_attempt
from dialer.store.dnc import add_dnc, dnc_entries_for, dnc_matches, remove_dnc
from dialer.store.followups import add_outbox, bind_callback, find_callback_binding
from dialer.store.leads import (
    CheckResult,
    ClaimedLead,
    check_new_leads,
    claim_leads,
    lead_counts,
    recover_stale_claims,
    release_lead,
)
from dialer.store.leases import Lease, current_lease, release_lease, renew_lease, take_lease
from dialer.store.ledger import abandon_counts, load_abandon_window, record_abandon_ledger
from dialer.store.seats import (
    list_seats,
    request_seat_state,
    seat_state_counts,
    set_seat_state,
    upsert_seat,
)

__all__ = [
    "ANSWERED_OUTCOMES",
    "AttemptResult",
    "CheckResult",
    "ClaimedLead",
    "LeadUpdate",
    "Lease",
    "NewAttempt",
    "OutboxRequest",
    "abandon_counts",
    "add_dnc",
    "add_outbox",
    "apply_campaign",
    "bind_callback",
    "check_new_leads",
    "claim_leads",
    "config_hash",
    "create_attempt",
    "current_lease",
    "dispose_attempt",
    "dnc_entries_for",
    "dnc_matches",
    "find_callback_binding",
    "finish_attempt",
    "get_attempt",
    "get_campaign",
    "in_flight_attempts",
    "lead_counts",
    "list_caller_ids",
    "list_campaigns",
    "list_seats",
    "load_abandon_window",
    "new_attempt_id",
    "read_db_now",
    "record_abandon_ledger",
    "recover_stale_claims",
    "release_lead",
    "release_lease",
    "remove_dnc",
    "renew_lease",
    "request_seat_state",
    "seat_state_counts",
    "set_actual_state",
    "set_caller_id_state",
    "set_desired_state",
    "set_seat_state",
    "take_lease",
    "update_attempt",
    "upsert_caller_id",
    "upsert_seat",
]
