"""``asterisk-sandbox up|down|status|cli|env [--port N] [--root DIR]``.

``up`` installs Asterisk into the root if needed and starts an instance whose AMI listens on
127.0.0.1:PORT; ``env`` prints shell exports for the daemon (the secret included: that is what it
is for); nothing else prints the secret. The secret is ``$DIALER_AMI_SECRET`` when set at ``up``,
else generated once per instance and kept (mode 0600) in the instance directory.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from dialer.telephony.sandbox import Sandbox, SandboxError, default_root

SECRET_ENV = "DIALER_AMI_SECRET"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asterisk-sandbox", description="A real Asterisk 22 in a chroot for tests and demos."
    )
    parser.add_argument("command", choices=["up", "down", "status", "cli", "env"])
    parser.add_argument("args", nargs="*", help="for `cli`: the Asterisk CLI command")
    parser.add_argument("--port", type=int, default=5038, help="AMI port (default 5038)")
    parser.add_argument(
        "--root", type=Path, default=None, help=f"install root (default {default_root()})"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    options = build_parser().parse_intermixed_args(argv)
    secret = os.environ.get(SECRET_ENV) or None
    sandbox = Sandbox(options.root, ami_port=options.port, secret=secret)
    try:
        if options.command == "up":
            if not sandbox.is_installed():
                print(f"installing Asterisk into {sandbox.root} (about a minute)...", flush=True)
                took = sandbox.ensure_installed()
                print(f"installed in {took:.0f} s")
            started = time.monotonic()
            creds = sandbox.start()
            print(
                f"Asterisk up: AMI {creds.host}:{creds.port} user {creds.username} "
                f"(started in {time.monotonic() - started:.1f} s; secret in {sandbox.secret_file}; "
                f"`asterisk-sandbox env --port {creds.port}` prints it)"
            )
        elif options.command == "down":
            sandbox.stop()
            print(f"Asterisk on AMI port {options.port} stopped")
        elif options.command == "status":
            status = sandbox.status()
            if status.running:
                print(f"running (pid {status.pid}) AMI 127.0.0.1:{status.port} "
                      f"files {status.instance_dir}")
            else:
                print(f"not running (AMI port {status.port}; installed: {sandbox.is_installed()})")
                return 3
        elif options.command == "cli":
            if not options.args:
                print("asterisk-sandbox cli: give the CLI command, e.g. `core show channels`",
                      file=sys.stderr)
                return 2
            print(sandbox.cli(" ".join(options.args)), end="")
        elif options.command == "env":
            creds = sandbox.credentials()
            print(f"export DIALER_AMI_HOST={creds.host} DIALER_AMI_PORT={creds.port} "
                  f"DIALER_AMI_USERNAME={creds.username} {SECRET_ENV}={shlex.quote(creds.secret)}")
    except SandboxError as exc:
        print(f"asterisk-sandbox: {exc}", file=sys.stderr)
        return 1
    return 0
