"""Prometheus metrics of the dialer, in one private registry.

Everything an SRE alerts on: calls by outcome, live answers and abandons (so PromQL can compute
the abandon rate over any range), the regulatory-window abandon rate against the campaign's cap,
seats by state, lines in flight, the pacing policy's threshold and forecasts, answer-to-seat
latency, AMI connection state, database latency and dials refused by a compliance rule.

Label values are bounded: campaigns and Asterisk servers come from the validated configuration,
outcomes, seat states, reasons and database operations from fixed vocabularies below (anything
else is counted as ``other``). Never a phone number, lead or attempt id. Label sets are pre-created
when a campaign or server is added, so a series reads 0 instead of being absent.

Example::

    metrics = DialerMetrics()
    metrics.add_campaign("demo", abandon_cap=0.03)
    metrics.call_ended("demo", "busy")
    with metrics.time_db("claim_leads"):
        ...
    body = metrics.render()          # text exposition for /metrics
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from dialer.states import AttemptOutcome, SeatState

#: Attempt outcomes, as the attempts table records them (docs/database.md), plus ``other``.
CALL_OUTCOMES: Final = (*(o.value for o in AttemptOutcome), "other")

#: Seat states, as the seats table records them.
SEAT_STATES: Final = tuple(s.value for s in SeatState)

#: Why a compliance rule refused a dial (the verdicts of ``dialer.engine.leads.may_dial``).
REJECT_REASONS: Final = (
    "outside_calling_hours",
    "holiday",
    "dnc",
    "attempt_cap",
    "min_gap",
    "abandon_72h",
    "not_due",
    "no_caller_id",
    "line_limit",
    "other",
)

#: Database operations timed by :meth:`DialerMetrics.time_db`.
DB_OPERATIONS: Final = (
    "claim_leads",
    "release_lead",
    "create_attempt",
    "update_attempt",
    "finish_attempt",
    "abandon_ledger",
    "lease",
    "dnc_lookup",
    "seats",
    "health",
    "other",
)

#: Answer-to-seat latency buckets: the law allows 2 s, the product aims well below it.
ANSWER_TO_SEAT_BUCKETS: Final = (
    0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 5.0,
)  # fmt: skip

#: Database latency buckets: a healthy query is milliseconds; seconds mean trouble.
DB_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip

#: Pacing forecasts exported per campaign.
PACING_FORECASTS: Final = ("free_seats", "live_answers")


def _bounded(value: str, allowed: Iterable[str]) -> str:
    """``value`` if it is in the vocabulary, else ``other`` (keeps label cardinality bounded)."""
    return value if value in allowed else "other"


class DialerMetrics:
    """The dialer's metrics, registered in their own :class:`CollectorRegistry`.

    Campaigns and servers must be declared (:meth:`add_campaign`, :meth:`add_ami_server`) before
    their series are updated; updates for undeclared names raise ``KeyError`` so a typo or an
    unbounded value (a phone number passed as a campaign) fails loudly in tests, not in Prometheus.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # The *_created series double the exposition and nothing here uses them (process-wide).
        disable_created_metrics()
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._campaigns: set[str] = set()
        self._servers: set[str] = set()
        # None: never connected yet; True: up; False: lost after having been up.
        self._ami_state: dict[str, bool] = {}
        r = self.registry
        self.calls = Counter(
            "dialer_calls_total",
            "Calls ended, by campaign and outcome.",
            ["campaign", "outcome"],
            registry=r,
        )
        self.live_answers = Counter(
            "dialer_live_answers_total",
            "Calls answered by a person (the denominator of the abandon rate).",
            ["campaign"],
            registry=r,
        )
        self.abandons = Counter(
            "dialer_abandons_total",
            "Live answers that got no seat within the connect window (safe-harbour message).",
            ["campaign"],
            registry=r,
        )
        self.abandon_rate_window = Gauge(
            "dialer_abandon_rate_window",
            "Abandons / live answers over the campaign's regulatory window (24 h or 30 d).",
            ["campaign"],
            registry=r,
        )
        self.abandon_cap = Gauge(
            "dialer_abandon_cap",
            "The campaign's abandon-rate cap over its regulatory window (0.03 = 3%).",
            ["campaign"],
            registry=r,
        )
        self.seats = Gauge(
            "dialer_seats",
            "Seats by state.",
            ["campaign", "state"],
            registry=r,
        )
        self.lines_in_flight = Gauge(
            "dialer_lines_in_flight",
            "Calls placed and not yet ended (dialling, ringing, answered, connected).",
            ["campaign"],
            registry=r,
        )
        self.pacing_threshold = Gauge(
            "dialer_pacing_risk_threshold",
            "Abandon-risk budget the pacing policy currently allows per placed call.",
            ["campaign"],
            registry=r,
        )
        self.pacing_forecast = Gauge(
            "dialer_pacing_forecast",
            "Pacing forecasts over the answer horizon (free seats, live answers expected).",
            ["campaign", "quantity"],
            registry=r,
        )
        self.visible_answer_share = Gauge(
            "dialer_pacing_visible_answer_share",
            "Estimated share of the people who would answer that do so within the ring timeout "
            "(low: the timeout hides most answers, and pacing holds lines back for them).",
            ["campaign"],
            registry=r,
        )
        self.dials_placed = Counter(
            "dialer_dials_total",
            "Originates sent to Asterisk.",
            ["campaign"],
            registry=r,
        )
        self.dials_rejected = Counter(
            "dialer_dials_rejected_total",
            "Dials refused by a compliance rule, by reason.",
            ["campaign", "reason"],
            registry=r,
        )
        self.ring_trims = Counter(
            "dialer_ring_trims_total",
            "Unanswered calls hung up after the minimum ring because no seat was free for a "
            "late answer (predictive pacing's ring trim; recorded as no_answer).",
            ["campaign"],
            registry=r,
        )
        self.dial_breaker_open = Gauge(
            "dialer_dial_breaker_open",
            "1 while the dial-failure breaker holds the campaign's dialling back (most recent "
            "calls failed in the network: congestion, channel unavailable), else 0.",
            ["campaign"],
            registry=r,
        )
        self.dial_breaker_trips = Counter(
            "dialer_dial_breaker_trips_total",
            "Times the dial-failure breaker stopped the campaign's dialling.",
            ["campaign"],
            registry=r,
        )
        self.answer_to_seat = Histogram(
            "dialer_answer_to_seat_seconds",
            "Time from a live answer to the customer entering a seat's bridge.",
            ["campaign"],
            buckets=ANSWER_TO_SEAT_BUCKETS,
            registry=r,
        )
        self.ami_connected = Gauge(
            "dialer_ami_connected",
            "1 while the AMI connection to the Asterisk server is up and logged in, else 0.",
            ["server"],
            registry=r,
        )
        self.ami_reconnects = Counter(
            "dialer_ami_reconnects_total",
            "AMI connections re-established after a loss.",
            ["server"],
            registry=r,
        )
        self.db_latency = Histogram(
            "dialer_db_query_seconds",
            "Database round-trip time, by operation.",
            ["operation"],
            buckets=DB_BUCKETS,
            registry=r,
        )
        self.db_errors = Counter(
            "dialer_db_errors_total",
            "Database operations that raised, by operation.",
            ["operation"],
            registry=r,
        )
        self.config_reloads = Counter(
            "dialer_config_reloads_total",
            "Configuration reloads (SIGHUP), by result (applied or rejected).",
            ["result"],
            registry=r,
        )
        self.event_loop_lag = Gauge(
            "dialer_event_loop_lag_seconds",
            "How late the last event-loop probe woke up (a blocked loop delays every call).",
            registry=r,
        )
        self.draining = Gauge(
            "dialer_draining",
            "1 while the daemon drains in-flight calls before stopping.",
            registry=r,
        )
        for result in ("applied", "rejected"):
            self.config_reloads.labels(result=result)
        for operation in DB_OPERATIONS:
            self.db_latency.labels(operation=operation)
            self.db_errors.labels(operation=operation)

    # ------------------------------------------------------------------ declaration

    @property
    def ami_servers(self) -> frozenset[str]:
        """Asterisk servers whose series exist."""
        return frozenset(self._servers)

    @property
    def campaigns(self) -> frozenset[str]:
        """Campaigns whose series exist."""
        return frozenset(self._campaigns)

    def add_campaign(self, campaign: str, abandon_cap: float) -> None:
        """Create every series of ``campaign`` (idempotent; updates the cap)."""
        self._campaigns.add(campaign)
        for outcome in CALL_OUTCOMES:
            self.calls.labels(campaign=campaign, outcome=outcome)
        for state in SEAT_STATES:
            self.seats.labels(campaign=campaign, state=state)
        for reason in REJECT_REASONS:
            self.dials_rejected.labels(campaign=campaign, reason=reason)
        for quantity in PACING_FORECASTS:
            self.pacing_forecast.labels(campaign=campaign, quantity=quantity)
        self.live_answers.labels(campaign=campaign)
        self.abandons.labels(campaign=campaign)
        self.abandon_rate_window.labels(campaign=campaign)
        self.lines_in_flight.labels(campaign=campaign)
        self.pacing_threshold.labels(campaign=campaign)
        self.visible_answer_share.labels(campaign=campaign).set(1.0)
        self.dials_placed.labels(campaign=campaign)
        self.ring_trims.labels(campaign=campaign)
        self.dial_breaker_open.labels(campaign=campaign)
        self.dial_breaker_trips.labels(campaign=campaign)
        self.answer_to_seat.labels(campaign=campaign)
        self.abandon_cap.labels(campaign=campaign).set(abandon_cap)

    def remove_campaign(self, campaign: str) -> None:
        """Drop a campaign's series (after a reload removed it from the configuration)."""
        if campaign not in self._campaigns:
            return
        self._campaigns.discard(campaign)
        per_campaign = (
            self.live_answers, self.abandons, self.abandon_rate_window, self.abandon_cap,
            self.lines_in_flight, self.pacing_threshold, self.dials_placed, self.answer_to_seat,
            self.ring_trims, self.dial_breaker_open, self.dial_breaker_trips,
            self.visible_answer_share,
        )  # fmt: skip
        for metric in per_campaign:
            metric.remove(campaign)
        for outcome in CALL_OUTCOMES:
            self.calls.remove(campaign, outcome)
        for state in SEAT_STATES:
            self.seats.remove(campaign, state)
        for reason in REJECT_REASONS:
            self.dials_rejected.remove(campaign, reason)
        for quantity in PACING_FORECASTS:
            self.pacing_forecast.remove(campaign, quantity)

    def sync_campaigns(self, caps: Mapping[str, float]) -> None:
        """Make the declared campaigns exactly ``caps`` (name → abandon cap), as after a reload."""
        for campaign in self._campaigns - set(caps):
            self.remove_campaign(campaign)
        for campaign, cap in caps.items():
            self.add_campaign(campaign, cap)

    def add_ami_server(self, server: str) -> None:
        """Create the AMI series of ``server``; it starts disconnected."""
        self._servers.add(server)
        self.ami_connected.labels(server=server).set(0)
        self.ami_reconnects.labels(server=server)

    def _campaign(self, campaign: str) -> str:
        if campaign not in self._campaigns:
            raise KeyError(f"campaign {campaign!r} has no metrics: call add_campaign first")
        return campaign

    def _server(self, server: str) -> str:
        if server not in self._servers:
            raise KeyError(f"Asterisk server {server!r} has no metrics: call add_ami_server first")
        return server

    # ------------------------------------------------------------------ calls

    def dial_placed(self, campaign: str) -> None:
        """An Originate was sent."""
        self.dials_placed.labels(campaign=self._campaign(campaign)).inc()

    def dial_rejected(self, campaign: str, reason: str) -> None:
        """A compliance rule refused a dial; unknown reasons count as ``other``."""
        self.dials_rejected.labels(
            campaign=self._campaign(campaign), reason=_bounded(reason, REJECT_REASONS)
        ).inc()

    def ring_trimmed(self, campaign: str, calls: int = 1) -> None:
        """Ringing calls were hung up for want of a free seat (see :mod:`pacing.trim`)."""
        self.ring_trims.labels(campaign=self._campaign(campaign)).inc(calls)

    def dial_breaker(self, campaign: str, *, holding: bool, new_trips: int = 0) -> None:
        """The dial-failure breaker's state, and the trips since the last call."""
        campaign = self._campaign(campaign)
        self.dial_breaker_open.labels(campaign=campaign).set(1 if holding else 0)
        if new_trips > 0:
            self.dial_breaker_trips.labels(campaign=campaign).inc(new_trips)

    def call_ended(self, campaign: str, outcome: str) -> None:
        """A call's final outcome is known; unknown outcomes count as ``other``."""
        self.calls.labels(
            campaign=self._campaign(campaign), outcome=_bounded(outcome, CALL_OUTCOMES)
        ).inc()

    def live_answer(self, campaign: str) -> None:
        """A person answered (AMD said human or not sure, or AMD is off)."""
        self.live_answers.labels(campaign=self._campaign(campaign)).inc()

    def abandon(self, campaign: str) -> None:
        """A live answer was abandoned (no seat within the connect window)."""
        self.abandons.labels(campaign=self._campaign(campaign)).inc()

    def connected_to_seat(self, campaign: str, answer_to_seat_s: float) -> None:
        """A live answer reached a seat ``answer_to_seat_s`` seconds after the answer."""
        self.answer_to_seat.labels(campaign=self._campaign(campaign)).observe(answer_to_seat_s)

    # ------------------------------------------------------------------ state gauges

    def set_abandon_rate(self, campaign: str, rate: float) -> None:
        """The cumulative abandon rate over the regulatory window, as the ledger computes it."""
        self.abandon_rate_window.labels(campaign=self._campaign(campaign)).set(rate)

    def set_seats(self, campaign: str, counts: Mapping[str, int]) -> None:
        """Seats per state; states absent from ``counts`` are set to 0."""
        campaign = self._campaign(campaign)
        totals = dict.fromkeys(SEAT_STATES, 0)
        for state, count in counts.items():
            totals[_bounded(state, SEAT_STATES)] += count
        for state, count in totals.items():
            self.seats.labels(campaign=campaign, state=state).set(count)

    def set_lines_in_flight(self, campaign: str, lines: int) -> None:
        """Calls placed and not yet ended."""
        self.lines_in_flight.labels(campaign=self._campaign(campaign)).set(lines)

    def set_pacing(
        self,
        campaign: str,
        *,
        risk_threshold: float,
        free_seats: float,
        live_answers: float,
        visible_answer_share: float = 1.0,
    ) -> None:
        """The pacing policy's current risk budget, its forecasts over the answer horizon, and
        the share of answers the ring timeout lets through."""
        campaign = self._campaign(campaign)
        self.pacing_threshold.labels(campaign=campaign).set(risk_threshold)
        self.visible_answer_share.labels(campaign=campaign).set(visible_answer_share)
        self.pacing_forecast.labels(campaign=campaign, quantity="free_seats").set(free_seats)
        self.pacing_forecast.labels(campaign=campaign, quantity="live_answers").set(live_answers)

    # ------------------------------------------------------------------ infrastructure

    def set_ami_connected(self, server: str, connected: bool) -> None:
        """Record the AMI link state; an up-transition after a loss counts as a reconnect."""
        server = self._server(server)
        previous = self._ami_state.get(server)
        if connected and previous is False:
            self.ami_reconnects.labels(server=server).inc()
        if connected or previous is not None:
            self._ami_state[server] = connected
        self.ami_connected.labels(server=server).set(1 if connected else 0)

    @contextmanager
    def time_db(self, operation: str) -> Iterator[None]:
        """Time a database operation (and count it as an error if it raises)."""
        operation = _bounded(operation, DB_OPERATIONS)
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.db_errors.labels(operation=operation).inc()
            raise
        finally:
            self.db_latency.labels(operation=operation).observe(time.perf_counter() - started)

    def render(self) -> bytes:
        """The text exposition format of every metric (the body of ``/metrics``)."""
        return generate_latest(self.registry)

    content_type: Final = CONTENT_TYPE_LATEST
