"""Calls through the real sandboxed Asterisk: outcomes, seats, safe harbour, robot, callbacks."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from dialer.engine.events import (
    AmdResult,
    AmdStatus,
    CallAnswered,
    CallConnected,
    CallHungUp,
    CallRinging,
    CustomerLeftSeat,
    FailReason,
    InboundCall,
    OriginateFailed,
    SafeHarbourPlayed,
    SeatPhoneDown,
    SeatPhoneUp,
    SeatRequested,
)
from dialer.telephony.ami import AmiTelephony
from dialer.telephony.base import ActionFailed, TelephonyError
from dialer.telephony.sandbox import AmiCredentials, Sandbox
from dialer.telephony.sim_numbers import EXPECTED_CAUSE, SimBehaviour, sim_number
from tests.telephony.conftest import ami_config
from tests.telephony.recorder import EventRecorder

pytestmark = [pytest.mark.asterisk, pytest.mark.integration]

CALLER_ID = "+15550009999"
NO_AMD = {"DIALER_AMD": "0"}


def new_id(prefix: str = "call") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def terminal_events(events: list[object]) -> list[object]:
    return [e for e in events if isinstance(e, CallHungUp | OriginateFailed)]


async def test_every_simulated_outcome_is_classified_with_its_cause(
    telephony: AmiTelephony,
) -> None:
    recorder = EventRecorder(telephony.events())
    unanswered = {
        SimBehaviour.BUSY: FailReason.BUSY,
        SimBehaviour.NO_ANSWER: FailReason.NO_ANSWER,
        SimBehaviour.CONGESTION: FailReason.CONGESTION,
        SimBehaviour.INVALID: FailReason.INVALID_NUMBER,
        SimBehaviour.REJECTED: FailReason.FAILED,
    }
    answered = {
        SimBehaviour.HUMAN: AmdStatus.HUMAN,
        SimBehaviour.MACHINE: AmdStatus.MACHINE,
        SimBehaviour.EARLY_HANGUP: None,
        SimBehaviour.SILENT: AmdStatus.MACHINE,  # INITIALSILENCE
    }
    calls: dict[str, SimBehaviour] = {}
    for behaviour in [*unanswered, *answered]:
        call_id = new_id(behaviour.name.lower())
        calls[call_id] = behaviour
        stay = 3 if behaviour in (SimBehaviour.HUMAN, SimBehaviour.SILENT) else 1
        await telephony.originate(call_id, sim_number(behaviour, 1, stay), CALLER_ID, 4)

    for call_id, behaviour in calls.items():
        final = await recorder.wait_terminal(call_id, timeout_s=25)
        events = recorder.of_call(call_id)
        assert terminal_events(events) == [final], events
        assert events[-1] == final, "the terminal event must be the call's last"
        assert final.cause == EXPECTED_CAUSE[behaviour], (behaviour, final)
        assert CallRinging(call_id) in events
        if behaviour in unanswered:
            assert isinstance(final, OriginateFailed), events
            assert final.reason is unanswered[behaviour], (behaviour, final)
            assert not any(isinstance(e, CallAnswered) for e in events)
        else:
            assert isinstance(final, CallHungUp), events
            assert CallAnswered(call_id) in events
            amd = [e for e in events if isinstance(e, AmdResult)]
            expected = answered[behaviour]
            if expected is None:  # hung up before detection could finish
                assert not amd or amd[0].status is not AmdStatus.HUMAN, events
            else:
                assert [a.status for a in amd] == [expected], events
    assert len(telephony.tracker) == 0
    assert telephony.sent_actions["Originate"] == len(calls)
    await recorder.stop()


async def test_human_answer_enters_the_seat_bridge_and_seat_stays_up(
    telephony: AmiTelephony, asterisk_sandbox: Sandbox
) -> None:
    recorder = EventRecorder(telephony.events())
    await telephony.login_seat("t1", "Local/seat-t1@sim-seats")
    await recorder.wait_for(lambda e: e == SeatPhoneUp("t1"))
    call_id = new_id()
    await telephony.originate(
        call_id, sim_number(SimBehaviour.HUMAN, 1, 3), CALLER_ID, 10, variables=NO_AMD
    )
    answered_at, _ = await recorder.wait_for(lambda e: e == CallAnswered(call_id))
    await telephony.connect_to_seat(call_id, "t1")
    connected_at, _ = await recorder.wait_for(lambda e: e == CallConnected(call_id, "t1"))
    assert connected_at >= answered_at
    listing = asterisk_sandbox.cli("confbridge list dialer-seat-t1")
    assert telephony.tracker.channel_of(call_id) in listing
    assert "seat-t1@sim-seats" in listing

    final = await recorder.wait_terminal(call_id)
    assert final == CallHungUp(call_id, 16, "Normal Clearing")
    events = recorder.of_call(call_id)
    assert events.index(CustomerLeftSeat(call_id, "t1")) == len(events) - 2
    assert SeatPhoneDown("t1") not in [e for _, e in recorder.events]

    await telephony.logout_seat("t1")
    await recorder.wait_for(lambda e: e == SeatPhoneDown("t1"))
    await asyncio.sleep(0.3)  # the phone's Hangup follows its ConfbridgeLeave
    assert [e for _, e in recorder.events].count(SeatPhoneDown("t1")) == 1
    await recorder.stop()


async def test_safe_harbour_message_plays_on_an_abandoned_call(telephony: AmiTelephony) -> None:
    recorder = EventRecorder(telephony.events())
    call_id = new_id("abandon")
    await telephony.originate(
        call_id, sim_number(SimBehaviour.HUMAN, 0, 30), CALLER_ID, 10, variables=NO_AMD
    )
    await recorder.wait_for(lambda e: e == CallAnswered(call_id))
    await telephony.play_safe_harbour_and_hangup(call_id)
    final = await recorder.wait_terminal(call_id)
    events = recorder.of_call(call_id)
    assert SafeHarbourPlayed(call_id, completed=True) in events
    assert events.index(SafeHarbourPlayed(call_id, True)) < events.index(final)
    assert isinstance(final, CallHungUp) and final.cause == 16
    await recorder.stop()


async def test_robot_mode_caller_asks_for_a_person_and_gets_a_seat(
    telephony: AmiTelephony,
) -> None:
    recorder = EventRecorder(telephony.events())
    await telephony.login_seat("t2", "Local/seat-t2@sim-seats")
    await recorder.wait_for(lambda e: e == SeatPhoneUp("t2"))
    call_id = new_id("robot")
    await telephony.originate(
        call_id,
        sim_number(SimBehaviour.ROBOT_PRESSES_1, 0, 2),
        CALLER_ID,
        10,
        variables={**NO_AMD, "DIALER_ROBOT_MESSAGE": "beep"},
    )
    await recorder.wait_for(lambda e: e == CallAnswered(call_id))
    await telephony.send_to_ivr(call_id, "dialer-robot")
    await recorder.wait_for(lambda e: e == SeatRequested(call_id))
    await telephony.connect_to_seat(call_id, "t2")
    await recorder.wait_for(lambda e: e == CallConnected(call_id, "t2"))
    await telephony.hangup(call_id)
    final = await recorder.wait_terminal(call_id)
    assert isinstance(final, CallHungUp)
    await telephony.logout_seat("t2")
    await recorder.wait_for(lambda e: e == SeatPhoneDown("t2"))
    await recorder.stop()


async def test_inbound_callback_is_announced_and_routed_to_a_seat(
    telephony: AmiTelephony,
) -> None:
    recorder = EventRecorder(telephony.events())
    await telephony.login_seat("t3", "Local/seat-t3@sim-seats")
    await recorder.wait_for(lambda e: e == SeatPhoneUp("t3"))
    caller_leg = new_id("caller")
    # A simulated customer calls the pool number +1 555 010 0999 back.
    await telephony.originate(
        caller_leg,
        "+15550100999",
        "+15557654321",
        10,
        dial_string="Local/15550100999@dialer-inbound",
        context="sim-caller",
    )
    _, inbound = await recorder.wait_for(lambda e: isinstance(e, InboundCall))
    assert inbound.dialled_number == "15550100999"
    assert inbound.caller_number == "+15557654321"
    await telephony.connect_to_seat(inbound.call_id, "t3")
    await recorder.wait_for(lambda e: e == CallConnected(inbound.call_id, "t3"))
    await telephony.hangup(caller_leg)
    await recorder.wait_terminal(inbound.call_id)
    await recorder.wait_terminal(caller_leg)
    await telephony.logout_seat("t3")
    await recorder.wait_for(lambda e: e == SeatPhoneDown("t3"))
    await recorder.stop()


async def test_actions_on_unknown_calls_become_events_not_crashes(
    telephony: AmiTelephony,
) -> None:
    recorder = EventRecorder(telephony.events())
    await telephony.connect_to_seat("no-such-call", "t9")
    _, failed = await recorder.wait_for(lambda e: isinstance(e, ActionFailed))
    assert failed.call_id == "no-such-call"
    with pytest.raises(TelephonyError, match="seat id"):
        await telephony.connect_to_seat("no-such-call", "bad seat!")
    call_id = new_id()
    await telephony.originate(call_id, sim_number(SimBehaviour.BUSY), CALLER_ID, 5)
    with pytest.raises(TelephonyError, match="never dial twice"):
        await telephony.originate(call_id, sim_number(SimBehaviour.BUSY), CALLER_ID, 5)
    await recorder.wait_terminal(call_id)
    with pytest.raises(TelephonyError, match="never dial twice"):  # not even once it ended
        await telephony.originate(call_id, sim_number(SimBehaviour.BUSY), CALLER_ID, 5)
    assert telephony.sent_actions["Originate"] == 1
    await recorder.stop()


async def test_a_no_answer_call_rings_its_whole_timeout_after_call_set_up(
    telephony: AmiTelephony,
) -> None:
    """Asterisk's Originate timeout counts call set-up; the adapter adds an allowance for it, so
    the phone rings at least the call's timeout (the law's minimum ring is of ringing)."""
    recorder = EventRecorder(telephony.events())
    call_id = new_id()
    await telephony.originate(call_id, sim_number(SimBehaviour.NO_ANSWER), CALLER_ID, 2)
    rang_at, _ = await recorder.wait_for(lambda e: e == CallRinging(call_id))
    ended_at, final = await recorder.wait_for(
        lambda e: isinstance(e, OriginateFailed) and e.call_id == call_id, 20
    )
    allowance = telephony.config.ring_setup_allowance_s
    assert final.reason is FailReason.NO_ANSWER
    assert 2.0 + allowance - 1.0 <= ended_at - rang_at <= 2.0 + allowance + 1.5, ended_at - rang_at
    await recorder.stop()


async def test_live_channels_lists_a_ringing_call(telephony: AmiTelephony) -> None:
    recorder = EventRecorder(telephony.events())
    call_id = new_id()
    await telephony.originate(call_id, sim_number(SimBehaviour.NO_ANSWER), CALLER_ID, 20)
    await recorder.wait_for(lambda e: e == CallRinging(call_id))
    live = await telephony.live_channels()
    ours = [c for c in live if c.uniqueid == call_id]
    assert len(ours) == 1 and ours[0].state == 5
    await telephony.hangup(call_id)
    final = await recorder.wait_terminal(call_id)
    assert isinstance(final, OriginateFailed)
    await asyncio.sleep(0)
    await recorder.stop()


async def test_seat_nailed_up_before_a_restart_is_adopted_and_others_refused(
    telephony: AmiTelephony, asterisk_credentials: AmiCredentials
) -> None:
    recorder = EventRecorder(telephony.events())
    await telephony.login_seat("t4", "Local/seat-t4@sim-seats")
    await recorder.wait_for(lambda e: e == SeatPhoneUp("t4"))
    # a daemon started afresh, configured to take nailed-up seats over
    restarted = AmiTelephony(ami_config(asterisk_credentials, adopt_seats=True))
    await restarted.start()
    adopted = EventRecorder(restarted.events())
    await adopted.wait_for(lambda e: e == SeatPhoneUp("t4"))
    assert restarted.tracker.seat_is_up("t4")
    call_id = new_id()
    await restarted.originate(
        call_id, sim_number(SimBehaviour.HUMAN, 0, 5), CALLER_ID, 10, variables=NO_AMD
    )
    await adopted.wait_for(lambda e: e == CallAnswered(call_id))
    await restarted.connect_to_seat(call_id, "nobody")
    _, refused = await adopted.wait_for(lambda e: isinstance(e, ActionFailed))
    assert refused.call_id == call_id and "not nailed up" in refused.message
    await restarted.connect_to_seat(call_id, "t4")
    await adopted.wait_for(lambda e: e == CallConnected(call_id, "t4"))
    await restarted.hangup(call_id)
    await adopted.wait_terminal(call_id)
    await restarted.logout_seat("t4")
    await recorder.wait_for(lambda e: e == SeatPhoneDown("t4"))
    await restarted.close()
    await adopted.stop()
    await recorder.stop()


async def test_logging_a_seat_in_again_replaces_its_phone_call(telephony: AmiTelephony) -> None:
    recorder = EventRecorder(telephony.events())
    await telephony.login_seat("t5", "Local/seat-t5@sim-seats")
    await recorder.wait_for(lambda e: e == SeatPhoneUp("t5"))
    first = telephony.tracker.seat_channel("t5")
    await telephony.logout_seat("t5")
    await telephony.login_seat("t5", "Local/seat-t5@sim-seats")  # at once, as after PHONE_DOWN
    await asyncio.sleep(0.5)
    assert telephony.tracker.seat_is_up("t5")
    assert telephony.tracker.seat_channel("t5") not in (None, first)
    live = {c.channel for c in await telephony.live_channels()}
    assert first not in live
    await telephony.logout_seat("t5")
    await recorder.wait_for(lambda e: e == SeatPhoneDown("t5"))
    await recorder.stop()
