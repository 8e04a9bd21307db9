"""Asterisk killed mid-call and restarted; several servers in a pool. Uses a second sandbox
instance (its own port and directories) next to the session's, so the others are untouched."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from dialer.engine.events import (
    LOST_TRACK,
    CallAnswered,
    CallHungUp,
    CallRinging,
    FailReason,
    OriginateFailed,
)
from dialer.telephony.ami import AmiTelephony
from dialer.telephony.base import ServerConnected, ServerDisconnected
from dialer.telephony.pool import TelephonyPool
from dialer.telephony.sandbox import AmiCredentials, Sandbox, free_port
from dialer.telephony.sim_numbers import SimBehaviour, sim_number
from tests.telephony.conftest import ami_config
from tests.telephony.recorder import EventRecorder

pytestmark = [pytest.mark.asterisk, pytest.mark.integration]


@pytest.fixture(scope="module")
def second_sandbox(asterisk_sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox = Sandbox(asterisk_sandbox.root, ami_port=free_port())
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop(purge=True)


async def test_killed_asterisk_gives_reconnect_reconciliation_and_no_repeated_originate(
    second_sandbox: Sandbox,
) -> None:
    adapter = AmiTelephony(ami_config(second_sandbox.credentials(), name="doomed"))
    await adapter.start()
    recorder = EventRecorder(adapter.events())
    talking, ringing = f"talk-{uuid.uuid4().hex[:8]}", f"ring-{uuid.uuid4().hex[:8]}"
    await adapter.originate(
        talking, sim_number(SimBehaviour.HUMAN, 0, 120), "+15550009999", 30,
        variables={"DIALER_AMD": "0"},
    )
    await adapter.originate(ringing, sim_number(SimBehaviour.NO_ANSWER), "+15550009999", 60)
    await recorder.wait_for(lambda e: e == CallAnswered(talking))
    await recorder.wait_for(lambda e: e == CallRinging(ringing))

    second_sandbox.kill()
    await recorder.wait_for(lambda e: isinstance(e, ServerDisconnected))
    assert not adapter.connected
    second_sandbox.start()
    await recorder.wait_for(lambda e: e == ServerConnected(adapter.name, reconnect=True))

    assert await recorder.wait_terminal(talking) == CallHungUp(talking, 0, LOST_TRACK)
    assert await recorder.wait_terminal(ringing) == OriginateFailed(
        ringing, FailReason.FAILED, 0, LOST_TRACK
    )
    await asyncio.sleep(1.5)  # time for any re-sent action to reach Asterisk and show up
    assert adapter.sent_actions["Originate"] == 2
    assert await adapter.live_channels() == []
    assert adapter.reconnects == 1
    await adapter.close()
    await recorder.stop()


async def test_pool_spreads_calls_by_capacity_and_routes_actions(
    asterisk_credentials: AmiCredentials, second_sandbox: Sandbox
) -> None:
    second_sandbox.start()  # running already, or again after the crash test
    pool = TelephonyPool(
        [
            ami_config(asterisk_credentials, name="a", max_channels=1),
            ami_config(second_sandbox.credentials(), name="b", max_channels=1),
        ]
    )
    await pool.start()
    recorder = EventRecorder(pool.events())
    assert pool.free_capacity == 2
    ids = [f"pool-{i}-{uuid.uuid4().hex[:8]}" for i in range(3)]
    for call_id in ids:
        await pool.originate(call_id, sim_number(SimBehaviour.NO_ANSWER), "+15550009999", 30)
    assert await recorder.wait_terminal(ids[2]) == OriginateFailed(
        ids[2], FailReason.FAILED, 0, "no free capacity on any server"
    )
    for call_id in ids[:2]:
        await recorder.wait_for(lambda e, c=call_id: e == CallRinging(c))
    servers = {s.name for s in pool.servers.values() if s.calls_in_flight == 1}
    assert servers == {"a", "b"}
    assert {c.uniqueid for c in await pool.live_channels()} >= set(ids[:2])
    for call_id in ids[:2]:
        await pool.hangup(call_id)
        assert isinstance(await recorder.wait_terminal(call_id), OriginateFailed)
    assert pool.free_capacity == 2
    await pool.close()
    await recorder.stop()
