"""The words for states and outcomes that the engine, the database, the CLI and the metrics share.

They are also what a CRM reads and writes: every database column holding one of these is guarded by
a CHECK constraint (``dialer.store.schema``), so a CRM that writes a word the dialer does not know
gets an error from the database instead of a lead that silently never dials.
"""

from __future__ import annotations

from enum import StrEnum


class CampaignState(StrEnum):
    """A campaign's desired state, set by an operator (dialerctl) or the CRM."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class CampaignActualState(StrEnum):
    """What the owning daemon reports it is doing; ``stopped`` when no daemon owns the campaign."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    DRAINING = "draining"  # no new calls; waiting for calls in flight to end
    BLOCKED = "blocked"  # wants to run but cannot (no Asterisk, no seats, database trouble)


class DialMode(StrEnum):
    PREDICTIVE = "predictive"
    PROGRESSIVE = "progressive"
    PREVIEW = "preview"
    ROBOT = "robot"


class LeadStatus(StrEnum):
    """Where a lead is in its life.

    ``new``, ``retry`` and ``callback`` are the dialable ones (when ``next_call_at`` is due);
    ``dialling`` means claimed by a daemon (an attempt is being placed or is live);
    the rest are final until someone changes them.
    """

    NEW = "new"
    DIALLING = "dialling"
    RETRY = "retry"
    CALLBACK = "callback"
    DONE = "done"  # contact made and dispositioned: no more calls
    NO_CONTACT = "no_contact"  # retries exhausted without reaching a person
    DNC = "dnc"  # the number is on a do-not-call list
    REJECTED = "rejected"  # the lead is unusable (bad number, duplicate...): see lead_rejects
    CANCELLED = "cancelled"  # withdrawn by the CRM or an operator


DIALABLE_LEAD_STATUSES = (LeadStatus.CALLBACK, LeadStatus.RETRY, LeadStatus.NEW)


class AttemptState(StrEnum):
    IN_FLIGHT = "in_flight"
    ENDED = "ended"


class AttemptOutcome(StrEnum):
    """How an attempt ended; written once when the call is over."""

    HUMAN = "human"  # answered by a person and connected to a seat
    MACHINE = "machine"  # answering machine detected
    ABANDONED = "abandoned"  # a person answered and no seat was connected in time
    ROBOT = "robot"  # answered and handled by the IVR (robot mode)
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    INVALID_NUMBER = "invalid_number"
    FAILED = "failed"  # channel unavailable, originate refused, server down
    CUSTOMER_HANGUP = "customer_hangup"  # answered, then hung up before a seat could take it
    CANCELLED = "cancelled"  # never placed (drain, lease lost, crash recovery)


class SeatState(StrEnum):
    """A seat's actual state, maintained by the daemon."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"  # picked for a call that is being connected
    TALKING = "talking"
    WRAPUP = "wrapup"
    PAUSED = "paused"
    PHONE_DOWN = "phone_down"  # logged in but its phone is not up in its bridge


class SeatRequest(StrEnum):
    """What an agent, an operator or the CRM asks a seat to be."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    PAUSED = "paused"


class CallerIdState(StrEnum):
    ACTIVE = "active"
    QUARANTINED = "quarantined"  # automatically benched: answer rate well below the pool's
    RETIRED = "retired"  # withdrawn by an operator


class LedgerKind(StrEnum):
    """One row of the abandon ledger: a live answer, or an abandoned call."""

    LIVE_ANSWER = "live_answer"
    ABANDON = "abandon"


class PreviewOfferState(StrEnum):
    """A preview-mode offer of one lead to one seat (table ``preview_offers``).

    ``offered`` → ``accepted`` (by the agent) → ``dialled`` (the daemon placed the call);
    ``offered`` → ``skipped`` (by the agent) or ``expired`` (nobody answered, ``on_timeout: skip``);
    ``offered`` → ``dialled`` directly on timeout with ``on_timeout: dial``;
    ``offered`` / ``accepted`` → ``withdrawn`` by the daemon (the seat left ready, the campaign
    paused or stopped, the lead may no longer be called).
    """

    OFFERED = "offered"
    ACCEPTED = "accepted"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    DIALLED = "dialled"


class TrialState(StrEnum):
    """A campaign's trial (table ``campaign_trials``): a stratified sample dialled first."""

    RUNNING = "running"  # the sample is being dialled
    COMPLETE = "complete"  # every sampled lead was settled; the campaign paused for review
    SKIPPED = "skipped"  # an operator chose to dial the whole list without (more) trial
    CANCELLED = "cancelled"  # reset by an operator: a new sample is drawn at the next run


class IvrResult(StrEnum):
    """What a robot-mode call did in the IVR."""

    PRESSED = "pressed"  # asked for a person (hand-over requested)
    NOT_PRESSED = "not_pressed"  # heard the message, asked for nobody


class InboundRoute(StrEnum):
    """Where an inbound call (a callback to a caller-ID pool number) was sent."""

    SAME_SEAT = "same_seat"  # the seat that made the bound outbound call
    INBOUND_GROUP = "inbound_group"  # an idle seat of the campaign's inbound_seat_group
    CLOSED = "closed"  # nobody free / no binding: the closed message


class InboundOutcome(StrEnum):
    """How an inbound call ended."""

    CONNECTED = "connected"  # reached a seat
    CLOSED = "closed"  # heard the closed message
    CALLER_HANGUP = "caller_hangup"  # hung up before a seat took it
