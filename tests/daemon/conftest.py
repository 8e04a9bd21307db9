"""Fixtures for the daemon tests: promtool (installed on demand) and a free-port helper."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from tests.support.promtool import find_or_install_promtool


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of ``promtool``; installs it with apt-get if missing, skips only if that fails."""
    path = find_or_install_promtool()
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
