"""Trial mode for a campaign: draw the stratified sample when the campaign first runs, dial only
the sample, and pause the campaign for review when every sampled lead is settled.

The trial's state lives in the database (:mod:`dialer.store.trials`), so a restarted daemon (or
another one taking the campaign over) continues the same sample: the newest trial row of the
campaign says ``running`` (dial its sample), ``complete`` / ``skipped`` (dial the whole list) or
``cancelled`` / nothing (draw a new sample). Until that row has been read, a campaign with
``trial.enabled`` does not dial at all. On completion the campaign's desired state becomes
``paused`` and its actual state ``paused`` with the reason ``trial complete``; ``dialerctl report
trial`` shows the figures, and starting the campaign again dials the whole list.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from dialer.daemon.worker_base import WorkerBase, log, utc
from dialer.engine.trial import SampledLead
from dialer.states import CampaignState, TrialState
from dialer.store.campaigns import set_desired_state
from dialer.store.leads import check_new_leads
from dialer.store.trials import (
    add_seat_seconds,
    current_trial,
    dialable_population,
    draw_trial,
    finish_trial,
    trial_progress,
)

TRIAL_CHECK_S = 2.0
"""How often a running trial's progress is checked (and its seat time written)."""
TRIAL_COMPLETE = "trial complete"
STALE_RUN_REQUEST_S = 3.0
"""A ``running`` request this soon after the trial paused the campaign may come from a read made
before the pause was committed: it is ignored (the campaign loop repeats it if it stands)."""


class TrialKeeper(WorkerBase):
    """The trial part of :class:`~dialer.daemon.campaign_worker.CampaignWorker`."""

    trial_ready: bool
    pause_reason: str | None
    _next_trial_check: float
    _trial_seat_mark: float | None
    _trial_paused_at: float | None
    _trial_waiting: bool

    def _trial_init(self) -> None:
        self.trial_id = None
        self.trial_ready = not self.campaign.trial.enabled
        self.pause_reason = None
        self._next_trial_check = 0.0
        self._trial_seat_mark = None
        self._trial_paused_at = None
        self._trial_waiting = False

    def trial_paused_recently(self) -> bool:
        at = self._trial_paused_at
        return at is not None and time.monotonic() - at < STALE_RUN_REQUEST_S

    async def _trial_sync(self, now: float, *, force: bool = False) -> None:
        """Find (or draw) the campaign's trial; finish it when its sample is settled."""
        if not force and time.monotonic() < self._next_trial_check:
            return
        self._next_trial_check = time.monotonic() + TRIAL_CHECK_S
        settings = self.campaign.trial
        if not settings.enabled:
            self.trial_id, self.trial_ready = None, True
            return
        try:
            row = await self._db("other", current_trial, self.name)
            if row is None or row["state"] == TrialState.CANCELLED.value:
                seed = secrets.randbits(31)
                drawn = await self._db(
                    "other", draw_trial_job, self.name, settings.sample_fraction,
                    list(settings.stratify_by), seed, utc(now),
                )  # fmt: skip
                if drawn is None:
                    if not self._trial_waiting:
                        log.info("trial_waiting", detail="no dialable lead to sample yet")
                    self._trial_waiting = True
                    return  # nothing dials until there is a list to sample
                trial_id, sample, population = drawn
                self._trial_waiting = False
                self._log_draw(trial_id, seed, sample, population)
                self.trial_id = trial_id
            elif row["state"] == TrialState.RUNNING.value:
                if self.trial_id != row["id"]:
                    log.info("trial_continued", trial=row["id"], seed=row["seed"],
                             sample=row["sample_size"])  # fmt: skip
                self.trial_id = int(row["id"])
            else:
                self.trial_id = None
                if row["state"] == TrialState.COMPLETE.value and self.desired == "paused":
                    self.pause_reason = self.pause_reason or TRIAL_COMPLETE
            self.trial_ready = True
            if self.trial_id is not None:
                await self._trial_progress(now)
        except Exception as exc:
            self._db_trouble(exc)

    def _log_draw(
        self, trial_id: int, seed: int, sample: Sequence[SampledLead], population: int
    ) -> None:
        strata = Counter(s.stratum for s in sample)
        log.info("trial_started", trial=trial_id, seed=seed, population=population,
                 sample=len(sample), strata=dict(sorted(strata.items())))  # fmt: skip

    async def _trial_progress(self, now: float) -> None:
        trial_id = self.trial_id
        assert trial_id is not None
        mark, self._trial_seat_mark = self._trial_seat_mark, time.monotonic()
        if mark is not None:
            seconds = (time.monotonic() - mark) * self.runner.seats.logged_in_count
            if seconds > 0:
                await self._db("other", add_seat_seconds, trial_id, seconds)
        sampled, settled = await self._db("other", trial_progress, trial_id, self.name)
        if settled < sampled or self.calls:
            return
        done = await self._db("other", complete_trial_job, trial_id, self.name, utc(now))
        self.trial_id = None
        self._trial_seat_mark = None
        if done:
            log.info("trial_complete", trial=trial_id, sampled=sampled, action="campaign paused")
            self.set_desired("paused")
            self.pause_reason = TRIAL_COMPLETE
            self._trial_paused_at = time.monotonic()


def draw_trial_job(
    conn: Connection,
    campaign: str,
    fraction: float,
    stratify_by: list[str],
    seed: int,
    now: datetime,
) -> tuple[int, list[SampledLead], int] | None:
    """Check the leads the CRM inserted unchecked (they belong to the population too), then draw
    and store the trial; None (nothing stored) while the campaign has no dialable lead."""
    while True:
        checked = check_new_leads(conn, campaign, now)
        if not (checked.accepted or checked.rejected):
            break
    if not dialable_population(conn, campaign, stratify_by):
        return None
    return draw_trial(conn, campaign, fraction, stratify_by, seed, now)


def complete_trial_job(conn: Connection, trial_id: int, campaign: str, now: datetime) -> bool:
    """The trial is complete and the campaign asked to pause, in one transaction; False if the
    trial was no longer running (reset or skipped by an operator meanwhile)."""
    if not finish_trial(conn, trial_id, TrialState.COMPLETE, now, "every sampled lead settled"):
        return False
    set_desired_state(conn, campaign, CampaignState.PAUSED, now)
    return True
