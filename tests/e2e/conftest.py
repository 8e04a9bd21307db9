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
from tests.e2e.harness import compliance_violations, crash_settled
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
    abandon): the records of a real run must prove every rule was kept.

    A test that kills the daemon on purpose may leave the one violation a crash can cause: a
    call answered when the daemon died is settled as an abandon (it may have been a person, and
    nobody took it), which a campaign with no abandon budget yet cannot afford. It says so with
    ``@pytest.mark.audit_allows_crash_abandons``; only abandons of calls settled after a restart
    are then let through."""
    yield
    urls = []
    if (tmp_path / "dialer.db").exists():
        urls.append(f"sqlite:///{tmp_path / 'dialer.db'}")
    postgres = request.node.funcargs.get("postgres_db_url")
    if isinstance(postgres, str):
        urls.append(postgres)
    crash_ok = request.node.get_closest_marker("audit_allows_crash_abandons") is not None
    for url in urls:
        found = compliance_violations(url)
        if crash_ok and found:
            settled = crash_settled(url)
            found = [f for f in found if not (f[0] == "abandon_cap" and f[1] in settled)]
        assert not found, "compliance audit:\n" + "\n".join(line for *_, line in found[:30])
