"""Prometheus' ``promtool`` for tests that check the metrics exposition (daemon and e2e areas)."""

from __future__ import annotations

import os
import shutil
import subprocess


def find_or_install_promtool() -> str | None:
    """Path of ``promtool``: on the PATH, else installed from Debian's ``prometheus`` package when
    running as root; None when neither works."""
    found = shutil.which("promtool")
    if found:
        return found
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
