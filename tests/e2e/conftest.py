"""Fixtures of the end-to-end tests: a private Asterisk sandbox for this session, promtool.

The sandbox is a separate instance (its own AMI port) from the telephony tests' one, so the two
areas can run in one session without sharing calls or seats. Tests skip with the reason when the
sandbox cannot run here (not root), and fail when it should (``DIALER_REQUIRE_ASTERISK`` set).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dialer.telephony.sandbox import AmiCredentials, Sandbox
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
