"""A private Asterisk sandbox instance for one test session (shared by the telephony and e2e areas).

Each caller gets its own instance on a free AMI port, so areas can run in one session without
sharing calls or seats. Skips with the reason when the sandbox cannot run here (not root), and
fails instead when ``DIALER_REQUIRE_ASTERISK`` is set (as ``bin/test`` does when run as root).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from dialer.telephony.sandbox import Sandbox, SandboxError, free_port


def running_sandbox(*, purge: bool = False, hold_s: int = 20) -> Iterator[Sandbox]:
    """Generator for a session fixture: install if needed, start, yield, stop."""
    sandbox = Sandbox(ami_port=free_port(), hold_s=hold_s)
    try:
        if os.geteuid() != 0:
            raise SandboxError("the Asterisk sandbox needs root (chroot)")
        sandbox.ensure_installed()
        sandbox.start()
    except SandboxError as exc:
        if os.environ.get("DIALER_REQUIRE_ASTERISK"):
            pytest.fail(f"Asterisk sandbox required but unavailable: {exc}")
        pytest.skip(f"Asterisk sandbox unavailable: {exc}")
    try:
        yield sandbox
    finally:
        sandbox.stop(purge=purge)
