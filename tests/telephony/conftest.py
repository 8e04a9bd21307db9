"""A real Asterisk for the telephony tests: one sandbox per test session, on a free port.

Installs Asterisk into the cache (``$DIALER_ASTERISK_ROOT`` or ``~/.cache/dialer/asterisk-root``)
the first time (about a minute), then starts in about a second. Tests that need it are marked
``asterisk``; they skip with the reason when the sandbox cannot run here (not root), and fail when
it should (``DIALER_REQUIRE_ASTERISK`` set).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from dialer.telephony.ami import AmdSettings, AmiServerConfig, AmiTelephony
from dialer.telephony.sandbox import AmiCredentials, Sandbox
from tests.support.asterisk import running_sandbox


@pytest.fixture(scope="session")
def asterisk_sandbox() -> Iterator[Sandbox]:
    yield from running_sandbox(purge=True)


@pytest.fixture(scope="session")
def asterisk_credentials(asterisk_sandbox: Sandbox) -> AmiCredentials:
    return asterisk_sandbox.credentials()


def ami_config(
    creds: AmiCredentials, name: str = "sandbox", **overrides: object
) -> AmiServerConfig:
    """A server config for the sandbox, with short timeouts suited to tests."""
    settings: dict[str, object] = {
        "ping_interval_s": 1.0,
        "ping_timeout_s": 1.0,
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 0.5,
        "amd": AmdSettings(),
    }
    settings.update(overrides)
    return AmiServerConfig(
        name, creds.host, creds.port, creds.username, creds.secret, **settings  # type: ignore[arg-type]
    )


@pytest.fixture
async def telephony(asterisk_credentials: AmiCredentials) -> AsyncIterator[AmiTelephony]:
    adapter = AmiTelephony(ami_config(asterisk_credentials))
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()
