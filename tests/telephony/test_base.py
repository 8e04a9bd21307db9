"""The Telephony interface: engine commands map onto it; both adapters satisfy it."""

from __future__ import annotations

from typing import Any

from dialer.engine.events import ConnectToSeat, Hangup, Originate, PlaySafeHarbour, SendToIvr
from dialer.telephony.ami import AmdSettings, AmiServerConfig, AmiTelephony, digits_of
from dialer.telephony.base import Telephony, carry_out
from dialer.telephony.pool import TelephonyPool
from dialer.telephony.sim_numbers import SimBehaviour, decode_sim_number, sim_number


class RecordingTelephony:
    """Records which Telephony method each command reached."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        async def method(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))

        return method


async def test_every_engine_command_reaches_its_telephony_method() -> None:
    phone = RecordingTelephony()
    commands = [
        Originate("a1", "demo", 7, "+15550103012", "+15550009999", 20.0, "ast1", {"X": "1"}),
        ConnectToSeat("a1", "s1"),
        PlaySafeHarbour("a1"),
        SendToIvr("a1", "dialer-robot"),
        SendToIvr("a2", "survey", "start"),
        Hangup("a1", "drain"),
    ]
    for command in commands:
        await carry_out(phone, command)  # type: ignore[arg-type]
    assert phone.calls == [
        ("originate", ("a1", "+15550103012", "+15550009999", 20.0),
         {"variables": {"X": "1"}, "server": "ast1"}),
        ("connect_to_seat", ("a1", "s1"), {}),
        ("play_safe_harbour_and_hangup", ("a1",), {}),
        ("send_to_ivr", ("a1", "dialer-robot", "s"), {}),
        ("send_to_ivr", ("a2", "survey", "start"), {}),
        ("hangup", ("a1",), {}),
    ]


def test_adapters_implement_the_interface() -> None:
    config = AmiServerConfig("x", "127.0.0.1", 5038, "u", "secret")
    assert isinstance(AmiTelephony(config), Telephony)
    assert isinstance(TelephonyPool([config]), Telephony)


def test_amd_arguments_follow_asterisk_order() -> None:
    assert AmdSettings().as_args() == "2500,1500,800,3500,100,50,3,256,5000"


def test_sim_numbers_round_trip_and_fit_e164() -> None:
    number = sim_number(SimBehaviour.HUMAN, 3, 12)
    assert number == "+15550103012"
    assert digits_of(number) == "15550103012"
    party = decode_sim_number(number)
    assert party is not None and (party.behaviour, party.ring_s, party.stay_s) == (
        SimBehaviour.HUMAN, 3, 12)
    assert decode_sim_number("+1 555") is None


def test_dial_string_placeholders_match_the_config_file() -> None:
    from dialer.telephony.ami import amd_variables, dial_string_for

    assert dial_string_for("PJSIP/{e164}@trunk", "+15550103012") == "PJSIP/+15550103012@trunk"
    assert dial_string_for("Local/{digits}@sim-customers", "+15550103012") == (
        "Local/15550103012@sim-customers"
    )
    assert dial_string_for("SIP/{national}@gw", "+442079460000") == "SIP/2079460000@gw"
    assert amd_variables(None) == {"DIALER_AMD": "0"}
    assert amd_variables(AmdSettings())["DIALER_AMD_ARGS"].startswith("2500,")
