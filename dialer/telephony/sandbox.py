"""A real Asterisk 22 for tests and the demo, in a Debian sid chroot outside the repository.

Install once (``debootstrap`` of Debian sid with the ``asterisk`` package, about a minute and
500 MB), then start instances from the cache in about a second. Each instance is named after its
AMI port and keeps its configuration, control socket, logs, spool and astdb in a private directory
inside the root (``/srv/dialer-sandbox/ami-<port>``), so several instances on different ports can
run from one root at once. The instance's state (pid, port, user) sits next to it, so ``down`` and
``status`` work from another process.

Configuration is rendered from the templates in ``dialer/telephony/asterisk/templates``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dialer.telephony.asterisk import TEMPLATES_DIR

DEFAULT_USERNAME = "dialer"
SANDBOX_DIR_IN_ROOT = "/srv/dialer-sandbox"
DEFAULT_SAFE_HARBOUR_SOUND = "im-sorry&please-try-call-later"
_CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}


class SandboxError(RuntimeError):
    """The sandbox cannot be installed, started, reached or stopped; the message says why."""


def default_root() -> Path:
    """``$DIALER_ASTERISK_ROOT``, else ``~/.cache/dialer/asterisk-root``."""
    env = os.environ.get("DIALER_ASTERISK_ROOT")
    return Path(env) if env else Path.home() / ".cache" / "dialer" / "asterisk-root"


@dataclass(frozen=True, slots=True)
class AmiCredentials:
    """Where and how to log in to an Asterisk Manager Interface. The secret never prints."""

    host: str
    port: int
    username: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    """What ``status`` reports about one instance."""

    running: bool
    port: int
    pid: int | None
    instance_dir: Path
    log_file: Path


def render_template(text: str, values: Mapping[str, str], source: str = "template") -> str:
    """Replace ``{{name}}`` placeholders (Asterisk's own ``${...}`` stays untouched)."""
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        line_no = text[: text.index("{{")].count("\n") + 1
        raise SandboxError(f"{source}:{line_no}: unknown placeholder in template")
    return text


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if nothing listens on ``host:port`` (a bind would succeed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _pid_is_asterisk(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmd:
            return b"asterisk" in cmd.read()
    except OSError:
        return False


def ami_login_ok(creds: AmiCredentials, timeout_s: float = 2.0) -> bool:
    """Log in to AMI with a plain socket and wait for ``FullyBooted``; False if not (yet) possible.

    Raises ``SandboxError`` when Asterisk answers but refuses the credentials.
    """
    try:
        with socket.create_connection((creds.host, creds.port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            reader = sock.makefile("rb")
            banner = reader.readline()
            if not banner.startswith(b"Asterisk Call Manager/"):
                return False
            login = (
                f"Action: Login\r\nUsername: {creds.username}\r\nSecret: {creds.secret}\r\n"
                "Events: system\r\nActionID: probe\r\n\r\n"
            )
            sock.sendall(login.encode())
            deadline = time.monotonic() + timeout_s
            message: dict[str, str] = {}
            while time.monotonic() < deadline:
                line = reader.readline()
                if not line:
                    return False
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                if text:
                    key, _, value = text.partition(": ")
                    message[key] = value
                    continue
                if message.get("Response") == "Error":
                    raise SandboxError(
                        f"AMI on {creds.host}:{creds.port} refused user {creds.username!r}: "
                        f"{message.get('Message', '')}"
                    )
                if message.get("Event") == "FullyBooted":
                    sock.sendall(b"Action: Logoff\r\n\r\n")
                    return True
                message = {}
    except OSError:
        return False
    return False


class Sandbox:
    """One Asterisk instance in a chroot, reachable over AMI on ``127.0.0.1:ami_port``.

    >>> sandbox = Sandbox(ami_port=free_port())
    >>> sandbox.ensure_installed()
    >>> creds = sandbox.start()     # doctest: +SKIP
    >>> sandbox.cli("core show channels")  # doctest: +SKIP
    >>> sandbox.stop()              # doctest: +SKIP
    """

    _children: dict[int, subprocess.Popen[bytes]] = {}  # noqa: RUF012 - started by this process

    def __init__(
        self,
        root: Path | str | None = None,
        ami_port: int = 5038,
        *,
        username: str = DEFAULT_USERNAME,
        secret: str | None = None,
        hold_s: int = 30,
        safe_harbour_sound: str = DEFAULT_SAFE_HARBOUR_SOUND,
        templates_dir: Path = TEMPLATES_DIR,
    ) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.ami_port = int(ami_port)
        self.username = username
        self._secret = secret
        self.hold_s = hold_s
        self.safe_harbour_sound = safe_harbour_sound
        self.templates_dir = templates_dir
        self.instance = f"ami-{self.ami_port}"
        self.instance_dir_in_root = f"{SANDBOX_DIR_IN_ROOT}/{self.instance}"
        self.instance_dir = self.root / self.instance_dir_in_root.lstrip("/")
        self.state_file = self.instance_dir / "state.json"
        self.secret_file = self.instance_dir / "secret"
        self.log_file = self.instance_dir / "asterisk.out"
        self.conf_in_root = f"{self.instance_dir_in_root}/etc/asterisk.conf"

    # ------------------------------------------------------------------ install

    def is_installed(self) -> bool:
        """True when the root holds a complete install (a half install is never renamed in)."""
        return (self.root / "usr/sbin/asterisk").exists()

    def ensure_installed(self) -> float:
        """Install Asterisk into the root unless it is there; return the seconds it took
        (0 if cached).

        Runs ``debootstrap --variant=minbase --include=asterisk,asterisk-core-sounds-en sid`` into
        ``ROOT.tmp`` and renames it to ``ROOT`` only when it succeeded; concurrent callers wait on
        a lock file instead of installing twice.
        """
        if self.is_installed():
            return 0.0
        self._require_root("install Asterisk with debootstrap")
        self.root.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.root.parent / f"{self.root.name}.lock"
        started = time.monotonic()
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.is_installed():
                return 0.0
            self._ensure_debootstrap()
            tmp = self.root.parent / f"{self.root.name}.tmp"
            if tmp.exists():
                shutil.rmtree(tmp)
            command = [
                "debootstrap",
                "--variant=minbase",
                "--include=asterisk,asterisk-core-sounds-en",
                "sid",
                str(tmp),
            ]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
                raise SandboxError(
                    f"debootstrap of Debian sid into {tmp} failed (exit {result.returncode}):\n"
                    f"{tail}"
                )
            if not (tmp / "usr/sbin/asterisk").exists():
                raise SandboxError(f"debootstrap finished but {tmp}/usr/sbin/asterisk is missing")
            tmp.rename(self.root)
        return time.monotonic() - started

    @staticmethod
    def _require_root(what: str) -> None:
        if os.geteuid() != 0:
            raise SandboxError(f"must run as root to {what} (chroot and debootstrap need it)")

    @staticmethod
    def _ensure_debootstrap() -> None:
        if shutil.which("debootstrap"):
            return
        result = subprocess.run(
            ["apt-get", "install", "-y", "debootstrap"], capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or not shutil.which("debootstrap"):
            raise SandboxError(
                "debootstrap is not installed and `apt-get install -y debootstrap` failed:\n"
                + "\n".join(result.stderr.splitlines()[-5:])
            )

    # ------------------------------------------------------------------ config

    def _module_dir_in_root(self) -> str:
        for candidate in sorted((self.root / "usr/lib").glob("*/asterisk/modules")):
            return "/" + str(candidate.relative_to(self.root))
        return "/usr/lib/asterisk/modules"

    def secret(self) -> str:
        """The AMI secret: given, else kept in the instance directory (mode 0600), else new."""
        if self._secret is not None:
            return self._secret
        if self.secret_file.exists():
            return self.secret_file.read_text().strip()
        value = secrets.token_urlsafe(24)
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(value)
        return value

    def credentials(self) -> AmiCredentials:
        """How to reach this instance's AMI."""
        return AmiCredentials("127.0.0.1", self.ami_port, self.username, self.secret())

    def write_config(self) -> None:
        """Render every ``*.conf`` template into the instance's private ``etc`` directory."""
        etc = self.instance_dir / "etc"
        for sub in ("etc", "run", "log", "spool", "db", "cache"):
            (self.instance_dir / sub).mkdir(parents=True, exist_ok=True)
        values = {
            "instance": self.instance,
            "instance_dir": self.instance_dir_in_root,
            "module_dir": self._module_dir_in_root(),
            "ami_port": str(self.ami_port),
            "ami_username": self.username,
            "ami_secret": self.secret(),
            "hold_s": str(self.hold_s),
            "safe_harbour_sound": self.safe_harbour_sound,
        }
        for source in sorted(self.templates_dir.glob("*.conf")):
            name = source.name
            text = render_template(source.read_text(), values, str(source))
            target = etc / name
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(text)

    # ------------------------------------------------------------------ run

    def _read_state(self) -> dict[str, object] | None:
        try:
            data = json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def pid(self) -> int | None:
        """The running instance's pid, or None."""
        state = self._read_state()
        if not state:
            return None
        pid = state.get("pid")
        if isinstance(pid, int) and _pid_alive(pid) and _pid_is_asterisk(pid):
            return pid
        return None

    def status(self) -> SandboxStatus:
        """Whether the instance runs, with its pid and where its files are."""
        pid = self.pid()
        return SandboxStatus(pid is not None, self.ami_port, pid, self.instance_dir, self.log_file)

    def start(self, timeout_s: float = 20.0) -> AmiCredentials:
        """Start the instance (or find it running) and return once AMI accepts a login."""
        self._require_root("start Asterisk in a chroot")
        if not self.is_installed():
            raise SandboxError(f"Asterisk is not installed in {self.root}: run ensure_installed()")
        if self.pid() is not None:
            creds = self.credentials()
            if ami_login_ok(creds):
                return creds
            raise SandboxError(f"instance {self.instance} runs (pid {self.pid()}) but AMI is down")
        if not port_is_free(self.ami_port):
            raise SandboxError(f"AMI port {self.ami_port} is taken by another process")
        creds = self.credentials()
        self.write_config()
        log = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child process
        try:
            process = subprocess.Popen(
                ["chroot", str(self.root), "/usr/sbin/asterisk", "-f", "-C", self.conf_in_root],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=_CLEAN_ENV,
            )
        finally:
            log.close()
        self._children[process.pid] = process
        state = {"pid": process.pid, "port": self.ami_port, "username": self.username}
        self.state_file.write_text(json.dumps(state))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SandboxError(
                    f"Asterisk exited with code {process.returncode} during start; "
                    f"last lines of {self.log_file}:\n{self._log_tail()}"
                )
            if ami_login_ok(creds, timeout_s=1.0):
                return creds
            time.sleep(0.05)
        self.stop()
        raise SandboxError(
            f"AMI on port {self.ami_port} did not accept a login within {timeout_s:.0f} s; "
            f"last lines of {self.log_file}:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 15) -> str:
        messages = self.instance_dir / "log" / "messages.log"
        text = ""
        for path in (self.log_file, messages):
            with contextlib.suppress(OSError):
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text.strip()

    def _wait_exit(self, pid: int, timeout_s: float) -> bool:
        child = self._children.get(pid)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if child is not None:
                if child.poll() is not None:
                    self._children.pop(pid, None)
                    return True
            elif not _pid_alive(pid):
                return True
            time.sleep(0.02)
        return False

    def stop(self, timeout_s: float = 10.0, purge: bool = False) -> None:
        """Stop the instance: ``core stop now``, then SIGTERM, then SIGKILL (no-op if stopped).
        ``purge`` also deletes the instance's directory (config, logs, secret): for throw-away
        instances on random ports."""
        self._stop(timeout_s)
        if purge:
            shutil.rmtree(self.instance_dir, ignore_errors=True)

    def _stop(self, timeout_s: float) -> None:
        pid = self.pid()
        if pid is None:
            self.state_file.unlink(missing_ok=True)
            return
        with contextlib.suppress(SandboxError, subprocess.TimeoutExpired):
            self.cli("core stop now", timeout_s=min(timeout_s, 5.0))
        if not self._wait_exit(pid, timeout_s / 2):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not self._wait_exit(pid, timeout_s / 2):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self._wait_exit(pid, 5.0)
        self.state_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the instance, as a crash would (for tests of reconnection)."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        self._wait_exit(pid, 5.0)
        self.state_file.unlink(missing_ok=True)

    def cli(self, command: str, timeout_s: float = 10.0) -> str:
        """Run one Asterisk CLI command in the running instance and return its output."""
        if self.pid() is None:
            raise SandboxError(f"instance {self.instance} is not running")
        result = subprocess.run(
            ["chroot", str(self.root), "/usr/sbin/asterisk", "-C", self.conf_in_root,
             "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=_CLEAN_ENV,
            check=False,
        )
        if result.returncode != 0:
            raise SandboxError(f"asterisk -rx {command!r} failed: {result.stderr.strip()}")
        return result.stdout
