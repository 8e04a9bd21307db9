"""sd_notify over a real AF_UNIX datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialer.daemon.systemd import SystemdNotifier


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    try:
        yield sock, path
    finally:
        sock.close()


def test_sends_ready_watchdog_stopping(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("running")
    assert sock.recv(4096) == b"READY=1\nSTATUS=running"
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1"


def test_abstract_namespace_socket() -> None:
    name = f"dialer-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(4096) == b"READY=1"


def test_without_systemd_everything_is_a_no_op() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog_interval_s is None


def test_missing_socket_fails_softly(tmp_path: Path) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.ready() is False
    assert notifier.watchdog() is False


def test_watchdog_interval_only_for_this_process() -> None:
    mine = SystemdNotifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_interval_s == 20.0
    assert SystemdNotifier({"WATCHDOG_USEC": "20000000"}).watchdog_interval_s == 20.0
    other = SystemdNotifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_interval_s is None
    assert SystemdNotifier({"WATCHDOG_USEC": "0"}).watchdog_interval_s is None
