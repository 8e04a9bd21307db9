"""The demo: the `demo` campaign of campaigns.yaml dialling live through a real Asterisk.

It brings up the Asterisk sandbox, makes a fresh embedded SQLite database (``var/demo.db``),
applies ``campaigns.yaml``, imports a list of leads whose numbers drive the sandbox's simulated
called parties (see docs/asterisk-sandbox.md), logs in the simulated seats, runs ``dialerd`` for a
couple of minutes while printing the campaign status, then prints the campaign and seat reports
and the compliance audit of every call it placed (the exit status is 1 if the audit finds a
violation). Everything goes through the same commands an operator uses (``dialerctl``, ``dialerd``).

The simulated parties are given a time zone (the lead's own ``time_zone`` field) where it is now
within the campaign's calling hours, so the demo dials at any hour; a few leads are placed in a zone
where it is night, and a few are on the DNC list, to show that those are never dialled. Where the
machine cannot run the sandbox (not root), the same campaign's pacing runs on the simulated PBX.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dialer.config import load_config
from dialer.config.models import CampaignConfig
from dialer.engine.leads import LeadView, may_dial
from dialer.telephony.sim_numbers import sim_number

ROOT = Path(__file__).resolve().parent.parent
CANDIDATE_ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "Pacific/Honolulu", "Pacific/Auckland", "Australia/Sydney", "Asia/Tokyo", "Asia/Shanghai",
    "Asia/Kolkata", "Asia/Dubai", "Europe/Moscow", "Europe/Berlin", "Europe/London",
    "Atlantic/Azores", "America/Sao_Paulo", "America/Halifax",
)  # fmt: skip


def say(text: str) -> None:
    print(f"\033[1m== {text}\033[0m", flush=True)


def zone_where(campaign: CampaignConfig, now: datetime, *, open_: bool) -> str:
    """A time zone where the campaign may (``open_``) or may not call for the next hour."""
    for zone in CANDIDATE_ZONES:
        probe = LeadView(id=0, phone_e164="+12125103012", time_zones=(zone,))
        if all(
            bool(may_dial(probe, campaign, now + timedelta(minutes=m), find_retry_at=False))
            == open_
            for m in (0, 30, 60)
        ):
            return zone
    raise RuntimeError(f"no candidate time zone is {'inside' if open_ else 'outside'} hours now")


def write_leads(path: Path, open_zone: str, night_zone: str, count: int, seed: int) -> list[str]:
    """A demo list: mostly simulated parties in ``open_zone``; returns the numbers meant for DNC."""
    rng = random.Random(seed)
    mix = [("1", 0.40), ("2", 0.15), ("3", 0.12), ("4", 0.08), ("5", 0.05), ("6", 0.05),
           ("7", 0.05), ("8", 0.10)]  # fmt: skip
    rows: list[dict[str, str]] = []
    used: set[str] = set()
    while len(rows) < count:
        behaviour = rng.choices([m[0] for m in mix], [m[1] for m in mix])[0]
        ring = rng.randint(1, 6)
        stay = rng.randint(8, 40) if behaviour == "1" else rng.randint(1, 6)
        number = sim_number(behaviour, ring, stay, prefix="+12125")
        if number in used:
            continue
        used.add(number)
        rows.append({"phone": number, "time_zone": open_zone, "priority": str(rng.randint(0, 5)),
                     "external_id": f"crm-{len(rows) + 1}", "behaviour": behaviour})  # fmt: skip
    night = [sim_number("1", 2, 10, prefix="+12125")[:-3] + f"{900 + i}" for i in range(3)]
    for i, number in enumerate(night):
        rows.append({"phone": number, "time_zone": night_zone, "priority": "9",
                     "external_id": f"crm-night-{i}", "behaviour": "out-of-hours"})  # fmt: skip
    dnc = [sim_number("1", 2, 10, prefix="+12125")[:-3] + f"{950 + i}" for i in range(3)]
    for i, number in enumerate(dnc):
        rows.append({"phone": number, "time_zone": open_zone, "priority": "9",
                     "external_id": f"crm-dnc-{i}", "behaviour": "dnc"})  # fmt: skip
    rows.append({"phone": "not a number", "time_zone": open_zone, "priority": "1",
                 "external_id": "crm-bad-1", "behaviour": "bad"})  # fmt: skip
    rows.append({"phone": rows[0]["phone"], "time_zone": open_zone, "priority": "1",
                 "external_id": "crm-dup-1", "behaviour": "duplicate"})  # fmt: skip
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return dnc


def run(cmd: list[str], env: dict[str, str], check: bool = True) -> int:
    print(f"$ {' '.join(cmd)}", flush=True)
    return subprocess.run(cmd, env=env, check=check).returncode


def simulated_demo() -> int:
    """No sandbox here: the demo campaign's pacing on the simulated PBX, same engine code."""
    scenario = ROOT / "simulations" / "scenarios" / "base-25.yaml"
    say("running the demo campaign on the simulated PBX (pacing-sim)")
    cmd = [sys.executable, "-m", "simulations.cli", "run", str(scenario), "--seeds", "1-3"]
    return subprocess.run(cmd, cwd=ROOT, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="how long to dial (default 2)")
    parser.add_argument("--leads", type=int, default=150, help="demo leads (default 150)")
    parser.add_argument("--config", type=Path, default=ROOT / "campaigns.yaml")
    parser.add_argument("--campaign", default="demo")
    parser.add_argument("--http-port", type=int, default=8090)
    args = parser.parse_args(argv)

    if os.geteuid() != 0:
        print("The Asterisk sandbox needs root (chroot, debootstrap); this user is not root.\n"
              "Running the same campaign's pacing on the simulated PBX instead.")  # fmt: skip
        return simulated_demo()

    from dialer.telephony.sandbox import Sandbox

    config = load_config(args.config)
    campaign = config.campaigns[args.campaign]
    server = config.asterisk[0]
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    db = var / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = dict(os.environ)
    env["DIALER_DATABASE_URL"] = f"sqlite:///{db}"
    bindir = Path(sys.executable).parent

    say(f"Asterisk sandbox on 127.0.0.1:{server.port} (installs on first use, ~1-2 minutes)")
    sandbox = Sandbox(ami_port=server.port, username=server.username)
    sandbox.ensure_installed()
    credentials = sandbox.start()
    if server.secret_env:
        env[server.secret_env] = credentials.secret
    daemon: subprocess.Popen[bytes] | None = None
    try:
        ctl = [str(bindir / "dialerctl")]
        say("database, configuration, leads, seats")
        run([*ctl, "db", "upgrade"], env)
        run([*ctl, "campaign", "apply", str(args.config)], env)
        now = datetime.now(UTC)
        open_zone = zone_where(campaign, now, open_=True)
        night_zone = zone_where(campaign, now, open_=False)
        print(f"simulated parties live in {open_zone} (in calling hours now); "
              f"3 leads in {night_zone} (outside hours) must not be dialled")  # fmt: skip
        leads_csv = var / "demo-leads.csv"
        dnc = write_leads(leads_csv, open_zone, night_zone, args.leads, seed=int(now.timestamp()))
        for number in dnc:
            run([*ctl, "dnc", "add", number, "--reason", "demo: asked not to be called"], env)
        run([*ctl, "leads", "import", args.campaign, str(leads_csv),
             "--rejects", str(var / "demo-leads.rejects.csv")], env)  # fmt: skip
        for seat in config.campaign_seats(args.campaign):
            run([*ctl, "seats", "login", seat.id], env)
        run([*ctl, "campaign", "start", args.campaign], env)

        say(f"dialerd: dialling for {args.minutes:g} minutes "
            f"(metrics on http://127.0.0.1:{args.http_port}/metrics)")  # fmt: skip
        log_path = var / "demo-dialerd.log"
        with log_path.open("wb") as log:
            daemon = subprocess.Popen(
                [str(bindir / "dialerd"), "--config", str(args.config),
                 "--http-port", str(args.http_port)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + args.minutes * 60
        while time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(min(20.0, max(0.0, deadline - time.monotonic())))
            run([*ctl, "campaign", "status", args.campaign], env, check=False)
        if daemon.poll() is not None:
            print(f"dialerd exited early with {daemon.returncode}; see {log_path}")
        say("stopping dialerd (SIGTERM: calls in flight finish first)")
        run([*ctl, "campaign", "pause", args.campaign], env, check=False)
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=90)
        say("report")
        run([*ctl, "report", "campaigns"], env, check=False)
        run([*ctl, "report", "seats"], env, check=False)
        say("compliance audit: every call against the rules, from the records")
        audit = run([*ctl, "report", "compliance", "--campaign", args.campaign], env, check=False)
        print(f"\ndaemon log: {log_path}   database: {db}   leads: {leads_csv}")
        return 0 if daemon.returncode == 0 and audit == 0 else 1
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
