"""Fixtures of the end-to-end tests: a private Asterisk sandbox for this session, promtool,
and the compliance audit of every test's database.

The sandbox is a separate instance (its own AMI port) from the telephony tests' one, so the two
areas can run in one session without sharing calls or seats. Tests skip with the reason when the
sandbox cannot run here (not root), and fail when it should (``DIALER_REQUIRE_ASTERISK`` set).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dialer.telephony.sandbox import AmiCredentials, Sandbox
from tests.e2e.harness import compliance_violations
from tests.support.asterisk import running_sandbox
from tests.support.promtool import find_or_install_promtool


@pytest.fixture(scope="session")
def e2e_sandbox() -> Iterator[Sandbox]:
    yield from running_sandbox()


@pytest.fixture(scope="session")
def e2e_credentials(e2e_sandbox: Sandbox) -> AmiCredentials:
    return e2e_sandbox.credentials()


@pytest.fixture(scope="session")
def e2e_promtool() -> str | None:
    """promtool if it is installed or installable, else None."""
    return find_or_install_promtool()


@pytest.fixture(autouse=True)
def compliance_audit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    """After every end-to-end test, the compliance audit over the database it dialled from
    (calling hours, DNC, attempt caps, 72-hour rule, minimum ring, the abandon cap at every
    abandon): the records of a real run must prove every rule was kept. A test that breaks a
    rule on purpose names it: ``@pytest.mark.audit_expects("abandon_cap")``."""
    yield
    urls = []
    if (tmp_path / "dialer.db").exists():
        urls.append(f"sqlite:///{tmp_path / 'dialer.db'}")
    postgres = request.node.funcargs.get("postgres_db_url")
    if isinstance(postgres, str):
        urls.append(postgres)
    marker = request.node.get_closest_marker("audit_expects")
    expected = set(marker.args) if marker else set()
    for url in urls:
        found = [line for line in compliance_violations(url)
                 if not any(f": {rule}: " in line for rule in expected)]  # fmt: skip
        assert not found, "compliance audit:\n" + "\n".join(found[:30])
