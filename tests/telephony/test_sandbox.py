"""The Asterisk sandbox: config rendering, clear errors, and the real instance's controls."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dialer.telephony.asterisk import TEMPLATES_DIR
from dialer.telephony.sandbox import Sandbox, SandboxError, free_port, render_template

REPO = Path(__file__).resolve().parents[2]


def test_every_template_renders_without_leftover_placeholders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "usr/lib/x86_64-linux-gnu/asterisk/modules").mkdir(parents=True)
    sandbox = Sandbox(root, ami_port=6001, secret="not-a-real-secret")
    sandbox.write_config()
    etc = sandbox.instance_dir / "etc"
    rendered = {p.name: p.read_text() for p in etc.iterdir()}
    assert {p.name for p in TEMPLATES_DIR.glob("*.conf")} <= set(rendered)
    assert not any("{{" in text for text in rendered.values())
    assert "port = 6001" in rendered["manager.conf"]
    assert "bindaddr = 127.0.0.1" in rendered["manager.conf"]
    assert "secret = not-a-real-secret" in rendered["manager.conf"]
    assert "/srv/dialer-sandbox/ami-6001/run" in rendered["asterisk.conf"]
    assert "astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules" in rendered["asterisk.conf"]
    assert (etc / "manager.conf").stat().st_mode & 0o077 == 0


def test_unknown_placeholder_is_an_error_naming_file_and_line() -> None:
    with pytest.raises(SandboxError, match=r"x.conf:2: unknown placeholder"):
        render_template("[a]\nport = {{nope}}\n", {"port": "1"}, "x.conf")


def test_generated_secret_is_kept_private_and_reused(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, ami_port=6002)
    first = sandbox.secret()
    assert len(first) >= 24
    assert Sandbox(tmp_path, ami_port=6002).secret() == first
    assert sandbox.secret_file.stat().st_mode & 0o077 == 0
    assert first not in repr(sandbox.credentials())


def test_start_without_root_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(SandboxError, match="must run as root"):
        Sandbox(tmp_path, ami_port=6003).start()


@pytest.mark.asterisk
def test_taken_port_is_a_clear_error(asterisk_sandbox: Sandbox) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(SandboxError, match=f"AMI port {port} is taken"):
            Sandbox(asterisk_sandbox.root, ami_port=port).start()


@pytest.mark.asterisk
def test_status_cli_and_idempotent_start(asterisk_sandbox: Sandbox) -> None:
    status = asterisk_sandbox.status()
    assert status.running and status.pid is not None
    assert asterisk_sandbox.start() == asterisk_sandbox.credentials()  # already running: reuse
    assert "Asterisk 22" in asterisk_sandbox.cli("core show version")
    assert "sim-customers" in asterisk_sandbox.cli("dialplan show sim-customers")
    stopped = Sandbox(asterisk_sandbox.root, ami_port=free_port())
    assert not stopped.status().running
    with pytest.raises(SandboxError, match="not running"):
        stopped.cli("core show version")


@pytest.mark.asterisk
def test_command_line_tool_reports_status_from_another_process(
    asterisk_sandbox: Sandbox,
) -> None:
    command = [sys.executable, str(REPO / "bin/asterisk-sandbox"), "status",
               "--port", str(asterisk_sandbox.ami_port), "--root", str(asterisk_sandbox.root)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert f"running (pid {asterisk_sandbox.pid()})" in result.stdout
    assert asterisk_sandbox.secret() not in result.stdout
