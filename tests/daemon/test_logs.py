"""JSON logs: one object per line, context merged, phone numbers masked, secrets never written."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from dialer.obs.logs import bind_call, bound_call, configure_logging, get_logger, mask_phone


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", stream=stream)
    yield stream


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_mask_phone_keeps_last_four_digits() -> None:
    assert mask_phone("+15551234567") == "+*******4567"
    assert mask_phone("+1 (555) 123-4567") == "+*******4567"
    assert mask_phone("020 7946 0018") == "*******0018"
    assert mask_phone("no digits") == "no digits"


@given(st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True))
def test_mask_phone_hides_all_but_four(number: str) -> None:
    masked = mask_phone(number)
    assert masked.endswith(number[-4:])
    assert sum(c.isdigit() for c in masked) == 4
    assert masked.startswith("+")


def test_structlog_event_is_one_json_line_with_context(captured: io.StringIO) -> None:
    log = get_logger("dialer.engine")
    with bound_call(campaign="demo", attempt="9f1c2d3e-aaaa-4bbb-8ccc-446655440000", seat="seat-1"):
        log.info("call_connected", wait_s=0.42)
    log.info("after")
    first, second = lines(captured)
    assert first["event"] == "call_connected"
    assert first["campaign"] == "demo"
    assert first["attempt"] == "9f1c2d3e-aaaa-4bbb-8ccc-446655440000"  # ids are not phone numbers
    assert first["seat"] == "seat-1"
    assert first["level"] == "info"
    assert first["logger"] == "dialer.engine"
    assert str(first["timestamp"]).endswith("Z")
    assert "campaign" not in second  # context left with the block


async def test_bind_call_is_per_task(captured: io.StringIO) -> None:
    log = get_logger("dialer.engine")

    async def call(attempt: str) -> None:
        bind_call(campaign="demo", attempt=attempt)
        await asyncio.sleep(0)
        log.info("ringing")

    await asyncio.gather(call("a-1"), call("a-2"))
    assert sorted(str(line["attempt"]) for line in lines(captured)) == ["a-1", "a-2"]


def test_phone_numbers_masked_in_fields_and_text(captured: io.StringIO) -> None:
    log = get_logger("dialer.telephony")
    log.info(
        "originate to +15551234567 via Local/15559876543@sim-customers",
        phone="+15551234567",
        number=15551234567,
        detail={"called": "+442079460018", "numbers": ["+33 1 23 45 67 89"]},
        placed_at="2026-11-25T16:30:10.123456+00:00",
        ring_s=17.25,
    )
    text = captured.getvalue()
    for secret_digits in ("5551234567", "5559876543", "2079460018", "23 45 67"):
        assert secret_digits not in text
    (line,) = lines(captured)
    assert line["phone"] == "+*******4567"
    assert line["number"] == "*******4567"
    assert line["detail"] == {"called": "+********0018", "numbers": ["+*******6789"]}
    assert line["event"] == "originate to +*******4567 via Local/*******6543@sim-customers"
    assert line["placed_at"] == "2026-11-25T16:30:10.123456+00:00"
    assert line["ring_s"] == 17.25


def test_secrets_never_written(captured: io.StringIO) -> None:
    log = get_logger("dialer.daemon")
    log.info(
        "connecting",
        secret="ami-s3cret",
        db_password="pg-s3cret",
        api_key="k-s3cret",
        url="postgresql+psycopg://dialer:pg-s3cret@db.internal:5432/dialer",
        server={"name": "pbx-1", "secret": "ami-s3cret"},
    )
    logging.getLogger("panoramisk.manager").warning(
        "Sending action: Action: Login\r\nUsername: dialer\r\nSecret: ami-s3cret\r\n"
    )
    logging.getLogger("sqlalchemy.pool").error("cannot connect to postgresql://u:pw-s3cret@h/db")
    text = captured.getvalue()
    assert "s3cret" not in text
    first, ami, sqla = lines(captured)
    assert first["secret"] == "***"
    assert first["url"] == "postgresql+psycopg://dialer:***@db.internal:5432/dialer"
    assert first["server"] == {"name": "pbx-1", "secret": "***"}
    assert "Secret: ***" in str(ami["event"])
    assert "Username: dialer" in str(ami["event"])
    assert sqla["event"] == "cannot connect to postgresql://u:***@h/db"


def test_stdlib_logs_go_through_the_same_json_pipeline(captured: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(campaign="demo")
    logging.getLogger("panoramisk").warning("AMI connection lost to %s", "127.0.0.1:5038")
    logging.getLogger("panoramisk").info("chatty per-message noise")  # raised to WARNING
    try:
        raise ValueError("bad AMI frame for +15551234567")
    except ValueError:
        logging.getLogger("dialer.telephony").exception("frame_rejected")
    ami, failure = lines(captured)
    assert ami == {
        "event": "AMI connection lost to 127.0.0.1:5038",
        "level": "warning",
        "logger": "panoramisk",
        "campaign": "demo",
        "timestamp": ami["timestamp"],
    }
    assert failure["level"] == "error"
    assert "ValueError: bad AMI frame for +*******4567" in str(failure["exception"])
    assert "5551234567" not in captured.getvalue()


def test_unknown_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        configure_logging("loud")
