"""deploy/: the systemd unit, the Grafana dashboard and the alert rules agree with the code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dialer.daemon.server import ExitCode
from dialer.obs.metrics import DialerMetrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "systemd" / "dialerd.service"
DASHBOARD = DEPLOY / "grafana" / "dialer-dashboard.json"
ALERTS = DEPLOY / "prometheus" / "dialer-alerts.yml"


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|min)?", value)
    assert match, value
    return float(match.group(1)) * (60 if match.group(2) == "min" else 1)


def exposed_metric_names() -> set[str]:
    metrics = DialerMetrics()
    metrics.add_campaign("demo", 0.03)
    metrics.add_ami_server("pbx-1")
    return set(re.findall(r"^(dialer_\w+?)(?:\{| )", metrics.render().decode(), re.MULTILINE))


def test_unit_lifecycle_settings_match_the_daemon() -> None:
    unit = unit_settings()
    assert unit["Type"] == ["notify"]
    assert unit["RestartPreventExitStatus"] == [str(int(ExitCode.CONFIG))]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    drain_flag = re.search(r"--drain-timeout (\S+)", unit["ExecStart"][0])
    assert drain_flag, "ExecStart must set --drain-timeout explicitly"
    drain = float(drain_flag.group(1))
    assert seconds(unit["TimeoutStopSec"][0]) > drain
    assert seconds(unit["WatchdogSec"][0]) >= 10  # the main loop ticks every second
    for hardening in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome"):
        assert hardening in unit


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    # Point ExecStart at an executable that exists here; the rest is verified as shipped.
    copy = tmp_path / "dialerd.service"
    copy.write_text(UNIT.read_text().replace("/opt/dialer/venv/bin/dialerd", sys.executable))
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    problems = [
        line for line in (done.stdout + done.stderr).splitlines() if "dialerd.service" in line
    ]
    assert problems == [], problems


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def test_dashboard_uses_only_metrics_the_daemon_exports() -> None:
    exported = exposed_metric_names()
    used = {name for expr in dashboard_expressions() for name in re.findall(r"dialer_\w+", expr)}
    histogram_parts = {n.removesuffix("_bucket") for n in used if n.endswith("_bucket")}
    assert used - exported == set()
    assert histogram_parts <= {n.removesuffix("_bucket") for n in exported}
    titles = " ".join(p["title"] for p in json.loads(DASHBOARD.read_text())["panels"]).lower()
    for topic in ("abandon rate", "seats by state", "lines in flight", "answer-to-seat", "outcome",
                  "ami"):  # fmt: skip
        assert topic in titles


def test_dashboard_and_alert_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:panel_{i}", "expr": expr.replace("$campaign", ".*")}
                    for i, expr in enumerate(dashboard_expressions())
                ],
            }
        ]
    }
    rules_file = tmp_path / "dashboard-rules.json"  # JSON is YAML
    rules_file.write_text(json.dumps(rules))
    for path in (rules_file, ALERTS):
        done = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_alerts_use_only_metrics_the_daemon_exports() -> None:
    exported = exposed_metric_names()
    used = set(re.findall(r"dialer_\w+", ALERTS.read_text()))
    assert {n.removesuffix("_bucket") for n in used} - {
        n.removesuffix("_bucket") for n in exported
    } == set()


AUDIT_UNITS = [
    DEPLOY / "systemd" / "dialer-audit.service",
    DEPLOY / "systemd" / "dialer-audit.timer",
]


def test_audit_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    copies = []
    for unit in AUDIT_UNITS:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text())
        copies.append(str(copy))
    done = subprocess.run([analyze, "verify", *copies], capture_output=True, text=True, timeout=60)
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if "dialer-audit" in line and "/opt/dialer/venv/bin/dialerctl" not in line
    ]
    assert problems == [], problems


def test_audit_unit_command_audits_yesterday(tmp_path: Path) -> None:
    """The unit's shell command, unescaped as systemd runs it, on an SQLite database: a clean
    audit of yesterday (exit 0), and exit 1 once the records hold a violation then."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from dialer.states import DialMode
    from dialer.store import make_engine, upgrade
    from dialer.store.campaigns import apply_campaign
    from dialer.store.schema import attempts

    unit = AUDIT_UNITS[0].read_text()
    (command,) = re.findall(r"^ExecStart=/bin/sh -c '(.*)'$", unit, re.M)
    dialerctl = Path(sys.executable).parent / "dialerctl"
    command = command.replace("$$", "$").replace("%%", "%")
    command = command.replace("/opt/dialer/venv/bin/dialerctl", str(dialerctl))
    url = f"sqlite:///{tmp_path / 'dialer.db'}"
    upgrade(url)
    env = {"PATH": "/usr/bin:/bin", "DIALER_DATABASE_URL": url, "COLUMNS": "160"}
    clean = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    yesterday = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0)
    yesterday -= timedelta(days=1)  # 04:00 UTC: the night before in New York
    engine = make_engine(url)
    with engine.begin() as conn:
        apply_campaign(conn, "c", DialMode.PREDICTIVE, {"caller_id": {"pool": "p"}}, yesterday)
        conn.execute(
            insert(attempts),
            {
                "id": "night",
                "lead_id": None,
                "campaign": "c",
                "phone_e164": "+12125550100",
                "placed_at": yesterday,
                "state": "ended",
                "outcome": "busy",
                "created_at": yesterday,
            },
        )
    engine.dispose()
    found = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "attempt night" in found.stdout and "calling_hours" in found.stdout
