"""Fixtures for the daemon tests: promtool (installed on demand) and a free-port helper."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
import structlog


def _install_promtool() -> str | None:
    """Install Debian's ``prometheus`` package (it ships promtool) when running as root."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [
        "apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q",
        "--no-install-recommends", "prometheus",
    ]  # fmt: skip
    for attempt in range(2):
        if attempt == 1:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=300)
        done = subprocess.run(install, env=env, capture_output=True, timeout=600)
        if done.returncode == 0 and shutil.which("promtool"):
            return shutil.which("promtool")
    return None


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of ``promtool``; installs it with apt-get if missing, skips only if that fails."""
    path = shutil.which("promtool") or _install_promtool()
    if path is None:
        pytest.skip(
            "promtool is not installed and could not be installed "
            "(needs root and Debian's 'prometheus' package: apt-get install prometheus)"
        )
    return path


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Undo ``configure_logging`` after each test: its handler may point at a closed capture."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("sqlalchemy.engine", "panoramisk",
                                                                "asyncio")}  # fmt: skip
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
