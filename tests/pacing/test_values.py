"""``pacing.values.value``: built as plain slotted dataclasses, frozen to mypy."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api as mypy_api

from dialer.engine.events import CallAnswered, Originate
from pacing.budget import LedgerEntry, LedgerKind


def test_values_compare_and_hash_by_their_fields() -> None:
    a, b = CallAnswered("c1"), CallAnswered("c1")
    assert a == b and hash(a) == hash(b) and len({a, b, CallAnswered("c2")}) == 2
    assert LedgerEntry(1.0, LedgerKind.ABANDON, "c1") != LedgerEntry(
        1.0, LedgerKind.LIVE_ANSWER, "c1"
    )
    assert not hasattr(a, "__dict__")  # slotted


def test_mypy_rejects_assigning_a_field(tmp_path: Path) -> None:
    src = tmp_path / "mutate.py"
    src.write_text(
        textwrap.dedent(
            """
            from dialer.engine.events import Originate
            o = Originate("c1", "camp", None, "+15550100", "+15550199", 20.0)
            o.number = "+15550101"
            """
        )
    )
    out, _, status = mypy_api.run([str(src), "--no-incremental", "--follow-imports=silent"])
    assert status == 1, out
    assert 'Property "number" defined in "Originate" is read-only' in out
    # (and a correct use type-checks: the decorator keeps the constructor's signature)
    src.write_text(
        'from dialer.engine.events import Originate\nOriginate("c1", "camp", None, "1", "2", 1.0)\n'
    )
    out, _, status = mypy_api.run([str(src), "--no-incremental", "--follow-imports=silent"])
    assert status == 0, out
    assert Originate("c1", "camp", None, "1", "2", 1.0).timeout_s == 1.0
