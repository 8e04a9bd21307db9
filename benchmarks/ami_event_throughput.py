"""How many AMI events per second the dialer's event path handles on one core.

A loopback AMI server (a separate process) replays a generated stream: for each call, the events
Asterisk 22 sends for an answered, AMD-checked call connected to a seat (Newchannel x2, Newstate,
DialBegin/End, OriginateResponse, UserEvent, ConfbridgeJoin/Leave, HangupRequest, Hangup x2,
plus noise for other calls), with the full channel snapshot headers real events carry. The client
is ``AmiTelephony`` with every call registered, so each event goes through parsing, routing and
normalization. Baseline in the same run: stock panoramisk 1.4 (``Manager`` with a ``*`` handler
that does nothing).

    .venv/bin/python benchmarks/ami_event_throughput.py [--calls 5000]

Prints events, wall seconds, events/s, client CPU seconds and events per CPU second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from panoramisk import Manager

from dialer.telephony.ami import AmiServerConfig, AmiTelephony

DONE = "BenchDone"


def snapshot(uid: str, channel: str, state: str, desc: str) -> str:
    return (
        f"Privilege: call,all\r\nChannel: {channel}\r\nChannelState: {state}\r\n"
        f"ChannelStateDesc: {desc}\r\nCallerIDNum: +15550009999\r\nCallerIDName: <unknown>\r\n"
        "ConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\nLanguage: en\r\n"
        "AccountCode: \r\nContext: dialer-answered\r\nExten: s\r\nPriority: 1\r\n"
        f"Uniqueid: {uid}\r\nLinkedid: {uid.split(';')[0]}\r\n"
    )


def call_events(i: int) -> list[str]:
    uid = f"bench-{i:08d}"
    one, two = f"Local/1550{i:06d}@sim-customers-{i:08x};1", f"Local/x-{i:08x};2"
    up1, up2 = snapshot(uid, one, "6", "Up"), snapshot(uid + ";2", two, "6", "Up")
    return [
        "Event: Newchannel\r\n" + snapshot(uid, one, "0", "Down"),
        "Event: Newchannel\r\n" + snapshot(uid + ";2", two, "4", "Ring"),
        "Event: DialBegin\r\n" + snapshot(uid, one, "0", "Down") + "DialString: x\r\n",
        "Event: Newstate\r\n" + snapshot(uid, one, "5", "Ringing"),
        "Event: Newstate\r\n" + up2,
        "Event: Newstate\r\n" + up1,
        "Event: DialEnd\r\n" + up1 + "DialStatus: ANSWER\r\n",
        f"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: a{i}\r\n"
        "Response: Success\r\n"
        f"Channel: {one}\r\nContext: dialer-answered\r\nExten: s\r\nApplication: \r\nData: \r\n"
        f"Reason: 4\r\nUniqueid: {uid}\r\nCallerIDNum: x\r\nCallerIDName: x\r\n",
        "Event: UserEvent\r\n" + up1 + "UserEvent: DialerAmd\r\nAmdStatus: HUMAN\r\n"
        "AmdCause: HUMAN-800-800\r\n",
        "Event: ConfbridgeJoin\r\n" + up1 + "Conference: dialer-seat-7\r\nAdmin: No\r\n",
        "Event: Newstate\r\n" + snapshot(f"other-{i}", "PJSIP/x", "6", "Up"),  # someone else
        "Event: ConfbridgeLeave\r\n" + up1 + "Conference: dialer-seat-7\r\nAdmin: No\r\n",
        "Event: SoftHangupRequest\r\n" + up2 + "Cause: 16\r\n",
        "Event: HangupRequest\r\n" + up1 + "Cause: 16\r\n",
        "Event: Hangup\r\n" + up1 + "Cause: 16\r\nCause-txt: Normal Clearing\r\n",
        "Event: Hangup\r\n" + up2 + "Cause: 16\r\nCause-txt: Normal Clearing\r\n",
    ]


def build_stream(calls: int) -> tuple[bytes, int]:
    blocks = []
    for i in range(calls):
        blocks.extend(call_events(i))
    blocks.append(f"Event: {DONE}\r\nPrivilege: system,all\r\n")
    data = "".join(block + "\r\n" for block in blocks).encode()
    return data, len(blocks)


def serve(port_queue: multiprocessing.Queue, stream: bytes) -> None:  # type: ignore[type-arg]
    """The loopback AMI server: login, then the whole stream as fast as TCP takes it."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port_queue.put(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        conn.sendall(b"Asterisk Call Manager/9.0.0\r\n")
        buffer = b""
        answered_channels = False
        while not answered_channels:  # Login, then the client's CoreShowChannels (if it asks)
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                break
            if not chunk:
                break
            buffer += chunk
            *blocks, buffer = buffer.split(b"\r\n\r\n")
            for block in blocks:
                fields = dict(
                    line.split(": ", 1) for line in block.decode().split("\r\n") if ": " in line
                )
                action, action_id = fields.get("Action", "").lower(), fields.get("ActionID", "")
                if action == "login":
                    conn.sendall(
                        f"Response: Success\r\nActionID: {action_id}\r\nMessage: Authentication "
                        "accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\n"
                        "Status: Fully Booted\r\n\r\n".encode()
                    )
                    conn.settimeout(0.5)  # stock panoramisk asks nothing more
                elif action == "coreshowchannels":
                    conn.sendall(
                        f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\n"
                        "Message: Channels will follow\r\n\r\nEvent: CoreShowChannelsComplete"
                        f"\r\nActionID: {action_id}\r\nEventList: Complete\r\nListItems: 0"
                        "\r\n\r\n".encode()
                    )
                    answered_channels = True
                else:
                    conn.sendall(f"Response: Success\r\nActionID: {action_id}\r\n\r\n".encode())
        conn.settimeout(None)
        time.sleep(0.3)
        view = memoryview(stream)
        for start in range(0, len(view), 65536):
            conn.sendall(view[start : start + 65536])
        time.sleep(1.0)
        conn.close()


async def run_dialer_client(port: int, calls: int, total: int) -> dict[str, float]:
    produced: list[object] = []
    config = AmiServerConfig("bench", "127.0.0.1", port, "bench", "bench", ping_interval_s=60)
    adapter = AmiTelephony(config, sink=produced.append)
    await adapter.start()  # the server waits 0.3 s before streaming: register the calls now
    for i in range(calls):
        adapter.tracker.expect_call(f"bench-{i:08d}")
    while adapter.events_received < 2:  # FullyBooted, then the stream's first event
        await asyncio.sleep(0)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while adapter.events_received < total - 1:  # FullyBooted is counted; BenchDone is last
        await asyncio.sleep(0.001)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await adapter.close()
    return {"wall_s": wall, "cpu_s": cpu, "normalized": float(len(produced))}


async def run_panoramisk_baseline(port: int, total: int) -> dict[str, float]:
    seen = 0
    done = asyncio.Event()

    def handler(_manager: object, message: object) -> None:
        nonlocal seen
        seen += 1
        if seen >= total:
            done.set()

    manager = Manager(
        loop=asyncio.get_running_loop(),
        host="127.0.0.1",
        port=port,
        username="bench",
        secret="bench",
        ping_delay=60,
    )
    manager.register_event("*", handler)
    await manager.connect()
    while seen < 2:
        await asyncio.sleep(0)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 120)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    manager.close()
    return {"wall_s": wall, "cpu_s": cpu, "seen": float(seen)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    options = parser.parse_args()
    stream, total = build_stream(options.calls)
    ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve, args=(ports, stream), daemon=True)
    server.start()
    port = ports.get(timeout=10)
    try:
        ours = asyncio.run(run_dialer_client(port, options.calls, total + 1))
        base = asyncio.run(run_panoramisk_baseline(port, total + 1))
    finally:
        server.terminate()
        server.join()
    mb = len(stream) / 1e6
    print(f"stream: {total} events, {mb:.1f} MB, {options.calls} calls")
    for name, result in (("dialer AmiTelephony", ours), ("stock panoramisk 1.4", base)):
        rate = total / result["wall_s"]
        per_cpu = total / result["cpu_s"] if result["cpu_s"] else float("inf")
        print(
            f"{name:22s} wall {result['wall_s']:.3f} s  {rate:10,.0f} events/s  "
            f"cpu {result['cpu_s']:.3f} s  {per_cpu:10,.0f} events/cpu-s"
        )
    print(f"normalized events produced: {ours['normalized']:.0f}")
    print(f"ratio dialer/panoramisk events per cpu-second: {base['cpu_s'] / ours['cpu_s']:.2f}")


if __name__ == "__main__":
    main()
