"""The AMI client against a loopback AMI server that misbehaves on purpose (no Asterisk needed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.engine.events import LOST_TRACK, NOT_SENT, FailReason, InboundCall, OriginateFailed
from dialer.telephony.ami import AmiServerConfig, AmiTelephony, _backoff
from dialer.telephony.base import (
    AmiActionTimeout,
    AmiDisconnected,
    AmiLoginError,
    ServerConnected,
    ServerDisconnected,
)
from tests.telephony.fake_ami import FakeAmiServer
from tests.telephony.recorder import EventRecorder


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmiServer]:
    server = FakeAmiServer()
    server.port = await server.start()  # type: ignore[attr-defined]
    yield server
    await server.close()


def config(port: int, secret: str = "s3cret-value", **overrides: object) -> AmiServerConfig:
    settings: dict[str, object] = {
        "ping_interval_s": 0.2,
        "ping_timeout_s": 0.2,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.1,
        "action_timeout_s": 0.5,
        "login_timeout_s": 1.0,
    }
    settings.update(overrides)
    return AmiServerConfig("fake", "127.0.0.1", port, "dialer", secret, **settings)  # type: ignore[arg-type]


async def test_refused_login_raises_and_never_logs_the_secret(
    fake: FakeAmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = AmiTelephony(config(fake.port, secret="wrong-secret-xyz"))  # type: ignore[attr-defined]
    with pytest.raises(AmiLoginError, match="refused user 'dialer'") as info:
        await adapter.start()
    assert "wrong-secret-xyz" not in str(info.value)
    assert "wrong-secret-xyz" not in caplog.text
    assert "wrong-secret-xyz" not in repr(adapter.config)


async def test_unreachable_server_is_reported_not_awaited_forever() -> None:
    adapter = AmiTelephony(config(1, login_timeout_s=0.3))
    with pytest.raises(AmiDisconnected, match="did not answer a login"):
        await adapter.start()


async def test_originate_is_never_resent_after_a_reconnect(fake: FakeAmiServer) -> None:
    adapter = AmiTelephony(config(fake.port))  # type: ignore[attr-defined]
    await adapter.start()
    recorder = EventRecorder(adapter.events())
    fake.drop_after_originate = True
    await adapter.originate("call-acked", "+15550100001", "+15550009999", 20)
    await recorder.wait_for(lambda e: isinstance(e, ServerDisconnected))
    fake.drop_after_originate = False
    fake.answer_originate = False  # the next one gets no reply before the drop
    await recorder.wait_for(lambda e: e == ServerConnected("fake", reconnect=True))
    await recorder.wait_for(
        lambda e: e == OriginateFailed("call-acked", FailReason.FAILED, 0, LOST_TRACK)
    )
    await adapter.originate("call-unacked", "+15550100002", "+15550009999", 20)
    await asyncio.sleep(0.1)
    fake.drop_all()
    await recorder.wait_for(lambda e: e == ServerConnected("fake", reconnect=True) and
                            adapter.reconnects == 2)
    await recorder.wait_for(
        lambda e: e == OriginateFailed("call-unacked", FailReason.FAILED, 0, LOST_TRACK)
    )
    await asyncio.sleep(0.5)  # several more pings and FullyBooted: a re-send would show now
    originates = fake.actions("Originate")
    assert [a["ChannelId"] for _, a in originates] == ["call-acked", "call-unacked"]
    assert fake.connections == 3
    assert adapter.sent_actions["Originate"] == 2
    await adapter.close()
    await recorder.stop()


async def test_half_open_connection_is_detected_by_unanswered_pings(
    fake: FakeAmiServer,
) -> None:
    adapter = AmiTelephony(config(fake.port))  # type: ignore[attr-defined]
    await adapter.start()
    recorder = EventRecorder(adapter.events())
    fake.answer_pings = False
    _, lost = await recorder.wait_for(lambda e: isinstance(e, ServerDisconnected), 5)
    assert "ping" in lost.reason
    fake.answer_pings = True
    await recorder.wait_for(lambda e: e == ServerConnected("fake", reconnect=True), 5)
    assert fake.connections >= 2
    await adapter.close()
    await recorder.stop()


async def test_utf8_split_across_chunks_survives(fake: FakeAmiServer) -> None:
    # no pings: their replies would interleave with the byte-by-byte event
    adapter = AmiTelephony(config(fake.port, ping_interval_s=30))  # type: ignore[attr-defined]
    await adapter.start()
    recorder = EventRecorder(adapter.events())
    event = (
        "Event: UserEvent\r\nUserEvent: DialerInbound\r\nUniqueid: in-1\r\n"
        "Channel: PJSIP/trunk-0001\r\nCaller: Zoë 北京 +33612345678\r\nDialled: 15550100999\r\n\r\n"
    ).encode()
    await fake.send_raw(event, chunk=1)
    _, inbound = await recorder.wait_for(lambda e: isinstance(e, InboundCall))
    assert inbound == InboundCall("in-1", "Zoë 北京 +33612345678", "15550100999")
    await adapter.close()
    await recorder.stop()


async def test_every_action_has_a_timeout_and_fails_on_disconnect(fake: FakeAmiServer) -> None:
    adapter = AmiTelephony(config(fake.port, ping_interval_s=30))  # type: ignore[attr-defined]
    await adapter.start()
    fake.answer_pings = False
    with pytest.raises(AmiActionTimeout):
        await adapter._request({"Action": "Ping"})
    pending = asyncio.ensure_future(adapter._request({"Action": "Ping"}, timeout_s=30))
    await asyncio.sleep(0.05)
    fake.drop_all()
    with pytest.raises(AmiDisconnected):
        await asyncio.wait_for(pending, 2)
    await adapter.close()


async def test_originate_while_disconnected_fails_at_once(fake: FakeAmiServer) -> None:
    adapter = AmiTelephony(config(fake.port))  # type: ignore[attr-defined]
    await adapter.start(wait=False)
    recorder = EventRecorder(adapter.events())
    await adapter.originate("early", "+15550100001", "+15550009999", 20)
    _, failed = await recorder.wait_for(lambda e: isinstance(e, OriginateFailed))
    assert failed.reason is FailReason.FAILED and failed.detail.startswith(NOT_SENT)
    assert fake.actions("Originate") == []
    await adapter.close()
    await recorder.stop()


@given(st.integers(min_value=0, max_value=100), st.floats(0.01, 5), st.floats(5, 60))
def test_backoff_grows_but_stays_within_bounds(attempt: int, low: float, high: float) -> None:
    delay = _backoff(attempt, low, high)
    ceiling = min(high, low * 2**attempt)
    assert ceiling / 2 <= delay <= ceiling


async def test_one_disconnected_event_per_outage_not_per_retry(fake: FakeAmiServer) -> None:
    adapter = AmiTelephony(config(fake.port))  # type: ignore[attr-defined]
    await adapter.start()
    recorder = EventRecorder(adapter.events())
    await fake.close()  # stop listening: every reconnect attempt fails
    await recorder.wait_for(lambda e: isinstance(e, ServerDisconnected))
    await asyncio.sleep(0.6)  # several retries at 0.05-0.1 s
    downs = [e for _, e in recorder.events if isinstance(e, ServerDisconnected)]
    assert len(downs) == 1
    await adapter.close()
    await recorder.stop()
