"""CLI fixtures: run dialerctl in-process against a real, migrated database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from dialer.cli.main import app

CONFIG = """\
asterisk:
  - {name: pbx, username: dialer, secret_env: DIALER_AMI_SECRET}
seats:
  s1: {endpoint: PJSIP/1001, name: Ann}
  s2: {endpoint: PJSIP/1002}
seat_groups:
  team: [s1, s2]
caller_id_pools:
  main:
    numbers: ["+12125550100", "+13125550101"]
campaigns:
  alpha:
    dial_mode: progressive
    seat_group: team
    caller_id: {pool: main}
    abandon: {cap: 0.03, window_s: 24h}
"""

Run = Callable[..., Result]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run("campaign", "status", db=url)``: invoke dialerctl, output captured."""
    monkeypatch.delenv("DIALER_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str, db: str | None = None) -> Result:
        argv = list(args) + (["--db", db] if db else [])
        return runner.invoke(app, argv, catch_exceptions=False)

    return invoke


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "campaigns.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def ready_db(run: Run, db_url: str, config_file: Path) -> str:
    """A migrated database (SQLite and PostgreSQL) with campaign alpha applied."""
    assert run("db", "upgrade", db=db_url).exit_code == 0
    result = run("campaign", "apply", str(config_file), db=db_url)
    assert result.exit_code == 0, result.output
    return db_url
