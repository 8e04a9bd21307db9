"""The trunk's calls-per-second limit (a token bucket, pure)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.engine.events import CallRinging, FailReason, OriginateFailed
from dialer.telephony.ami import AmiTelephony
from dialer.telephony.call_rate import CallRateLimit
from dialer.telephony.pool import TelephonyPool
from dialer.telephony.sandbox import AmiCredentials
from dialer.telephony.sim_numbers import SimBehaviour, sim_number
from tests.telephony.conftest import ami_config
from tests.telephony.recorder import EventRecorder


def test_a_burst_then_the_rate() -> None:
    limit = CallRateLimit(5.0)
    assert limit.available(0.0) == 5
    assert [limit.take(0.0) for _ in range(5)] == [0.0] * 5
    assert limit.available(0.0) == 0
    assert limit.take(0.0) == pytest.approx(0.2)  # the sixth waits for the next token
    assert limit.available(0.2) == 0  # (that token is spoken for)
    assert limit.available(0.6) == 2
    assert limit.available(60.0) == 5  # never more than the burst
    for _ in range(8):
        limit.take(60.0)
    assert limit.available(60.0) == 0  # (three calls wait: never a negative count)


def test_slow_rates_still_let_one_call_through() -> None:
    limit = CallRateLimit(0.5)
    assert limit.available(0.0) == 1
    assert limit.take(0.0) == 0.0
    assert limit.take(0.0) == pytest.approx(2.0)


@pytest.mark.parametrize("rate", [0.0, -1.0, float("inf"), float("nan")])
def test_a_rate_that_is_not_a_positive_number_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="calls per second"):
        CallRateLimit(rate)


@given(
    rate=st.floats(0.5, 50.0),
    gaps=st.lists(st.floats(0.0, 0.5), min_size=1, max_size=300),
)
def test_no_window_ever_starts_more_calls_than_the_rate_allows(
    rate: float, gaps: list[float]
) -> None:
    # Calls asked for at arbitrary moments start when take() says; over any interval of length
    # T at most burst + rate * T of them start.
    limit = CallRateLimit(rate)
    now, starts = 0.0, []
    for gap in gaps:
        now += gap
        starts.append(now + limit.take(now))
    starts.sort()
    for i, a in enumerate(starts):
        for j in range(i, len(starts)):
            span = starts[j] - a
            assert j - i + 1 <= limit.burst + rate * span + 1e-6


# ------------------------------------------------------------------ on the real Asterisk


@pytest.mark.asterisk
@pytest.mark.integration
async def test_the_server_spaces_originates_to_its_calls_per_second(
    asterisk_credentials: AmiCredentials,
) -> None:
    adapter = AmiTelephony(ami_config(asterisk_credentials, max_calls_per_second=4.0))
    await adapter.start()
    recorder = EventRecorder(adapter.events())
    try:
        assert adapter.free_capacity == 4  # the burst, not the 200 channels
        ids = [f"cps-{uuid.uuid4().hex[:10]}" for _ in range(12)]
        t0 = time.monotonic()
        for call_id in ids:
            await adapter.originate(call_id, sim_number(SimBehaviour.BUSY, 0, 0), "+15550009999", 5)
        sent_in = time.monotonic() - t0
        assert adapter.free_capacity == 0
        finals = [await recorder.wait_terminal(call_id, timeout_s=20) for call_id in ids]
        rang = sorted(
            t for t, e in recorder.events if isinstance(e, CallRinging) and e.call_id in ids
        )
    finally:
        await recorder.stop()
        await adapter.close()
    assert all(isinstance(f, OriginateFailed) and f.reason is FailReason.BUSY for f in finals)
    # 4 at once, then one every 0.25 s: the last 8 take 2 s to go out, and Asterisk saw them so.
    assert sent_in >= 1.9, sent_in
    assert len(rang) == 12 and rang[-1] - rang[0] >= 1.6, rang
    print(f"\n[calls per second] 12 Originates at 4/s: sent over {sent_in:.2f} s, "
          f"ringing over {rang[-1] - rang[0]:.2f} s")  # fmt: skip


@pytest.mark.asterisk
@pytest.mark.integration
async def test_campaigns_racing_for_the_same_tokens_wait_rather_than_fail(
    asterisk_credentials: AmiCredentials,
) -> None:
    # Two campaigns read free_capacity == 2 at once and both send their calls: the pool must not
    # refuse the second pair (a failed attempt for each lead), the server spaces them instead.
    pool = TelephonyPool([ami_config(asterisk_credentials, max_calls_per_second=2.0)])
    await pool.start()
    recorder = EventRecorder(pool.events())
    try:
        assert pool.free_capacity == 2
        ids = [f"race-{uuid.uuid4().hex[:10]}" for _ in range(4)]
        busy = sim_number(SimBehaviour.BUSY, 0, 0)

        async def campaign(calls: list[str]) -> None:
            for call_id in calls:
                await pool.originate(call_id, busy, "+15550009999", 5)

        t0 = time.monotonic()
        await asyncio.gather(campaign(ids[:2]), campaign(ids[2:]))
        sent_in = time.monotonic() - t0
        finals = [await recorder.wait_terminal(call_id, timeout_s=20) for call_id in ids]
    finally:
        await recorder.stop()
        await pool.close()
    assert all(isinstance(f, OriginateFailed) and f.reason is FailReason.BUSY for f in finals), (
        finals
    )
    assert sent_in >= 0.9, sent_in  # 2 at once, then one every 0.5 s
