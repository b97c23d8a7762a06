"""Throughput edge -> JetStream -> central, beside writing the file directly.

    python -m benchmarks.nats [--lines N]

One edge relay takes N RFC 3164 lines over one TCP connection and either writes them as
format-json to a file (``file``), or publishes each to the stream SYSLOG (``R1``: one
nats-server; ``R3``: a cluster of three, the stream replicated three times) while a
central relay, started once the edge is done (so that the two do not share the CPUs),
reads the stream with a durable consumer into a file.  Reported: msg/s from the first
byte sent to the last line on disk (file) or to the last message stored in the stream
(acked), and from the central relay's start to the last line in its file (central: its
start-up included).

Everything listens on 127.0.0.1; every process started here is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks.procs import relay_env, wait_for

LISTEN = re.compile(r"relay: listening on tcp://([\d.]+):(\d+)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


def _start_nodes(workdir: str, size: int) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    ports = [(_free_port(), _free_port()) for _ in range(size)]
    procs, urls = [], []
    for i, (port, cport) in enumerate(ports):
        conf = os.path.join(workdir, f"n{i}.conf")
        lines = [f"server_name: n{i}", f"listen: 127.0.0.1:{port}",
                 f'jetstream {{ store_dir: "{workdir}/store{i}" }}']
        if size > 1:
            routes = ", ".join(f'"nats-route://127.0.0.1:{c}"' for _, c in ports)
            lines.append(f"cluster {{ name: bench, listen: 127.0.0.1:{cport}, "
                         f"routes: [{routes}] }}")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        procs.append(subprocess.Popen(["nats-server", "-c", conf], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        urls.append(f"nats://127.0.0.1:{port}")
        wait_for(functools.partial(_accepting, port), 15, "nats-server")
    return procs, urls


async def _with_js(urls: list[str], work: Any) -> Any:
    import nats

    nc = await nats.connect(servers=urls)
    try:
        return await work(nc.jetstream(timeout=5))
    finally:
        await nc.close()


def _add_stream(urls: list[str], replicas: int) -> None:
    from nats.js.api import StreamConfig

    async def work(js: Any) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                await js.add_stream(StreamConfig(name="SYSLOG", subjects=["syslog.>"],
                                                 num_replicas=replicas))
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    asyncio.run(_with_js(urls, work))


def _stored(urls: list[str]) -> int:
    async def work(js: Any) -> int:
        return int((await js.stream_info("SYSLOG")).state.messages)

    return int(asyncio.run(_with_js(urls, work)))


def _relay(workdir: str, config: str) -> subprocess.Popen[bytes]:
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "relay.toml")
    with open(path, "w") as f:
        f.write(config)
    with open(os.path.join(workdir, "relay.stderr"), "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "relay", "--config", path],
                                cwd=workdir, stdout=subprocess.DEVNULL, stderr=err,
                                env=relay_env())


def _port_of(workdir: str) -> int:
    found: list[int] = []

    def listening() -> bool:
        with open(os.path.join(workdir, "relay.stderr")) as f:
            found[:] = [int(m.group(2)) for m in LISTEN.finditer(f.read())]
        return bool(found)

    wait_for(listening, 15, "the edge relay to listen")
    return found[0]


def _count(path: str) -> int:
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def _data(n: int) -> bytes:
    return b"".join(b"<%d>Jan  1 00:00:%02d host%d prog%d[%d]: message number %d from the "
                    b"benchmark\n" % (8 * (i % 24) + i % 8, i % 60, i % 50, i % 7, i, i)
                    for i in range(n))


SOURCE = '[[source]]\nname = "s"\nlisten = "tcp://127.0.0.1:0"\nprotocol = "rfc3164"\n'


def run(kind: str, n: int) -> dict[str, float]:
    data = _data(n)
    with tempfile.TemporaryDirectory(prefix="relay-bench-nats-") as workdir:
        procs: list[subprocess.Popen[bytes]] = []
        urls: list[str] = []
        try:
            if kind == "file":
                dest = '[[destination]]\nname = "d"\ntype = "file"\npath = "out.json"\n'
            else:
                nodes, urls = _start_nodes(workdir, 3 if kind == "R3" else 1)
                procs += nodes
                _add_stream(urls, 3 if kind == "R3" else 1)
                servers = ", ".join(f'"{u}"' for u in urls)
                dest = (f'[[destination]]\nname = "d"\ntype = "nats"\nservers = [{servers}]\n'
                        'stream = "SYSLOG"\n')
                central = (f'[[source]]\nname = "n"\nlisten = "{urls[0]}"\n'
                           f'servers = [{servers}]\nstream = "SYSLOG"\ndurable = "central"\n'
                           '[[destination]]\nname = "f"\ntype = "file"\npath = "out.json"\n'
                           '[[log]]\nsource = ["n"]\ndestination = ["f"]\n')
            edge = _relay(os.path.join(workdir, "edge"),
                          SOURCE + dest + '[[log]]\nsource = ["s"]\ndestination = ["d"]\n')
            procs.append(edge)
            port = _port_of(os.path.join(workdir, "edge"))
            start = time.monotonic()
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(data)
            result: dict[str, float] = {}
            if kind == "file":
                out = os.path.join(workdir, "edge", "out.json")
                wait_for(lambda: _count(out) >= n, 300, "the file")
                result["file msg/s"] = n / (time.monotonic() - start)
            else:
                wait_for(lambda: _stored(urls) >= n, 300, "the stream")
                result["acked msg/s"] = n / (time.monotonic() - start)
                # the central relay alone, so that the two do not share the CPUs
                start = time.monotonic()
                procs.append(_relay(os.path.join(workdir, "central"), central))
                out = os.path.join(workdir, "central", "out.json")
                wait_for(lambda: _count(out) >= n, 300, "the central file")
                result["central msg/s"] = n / (time.monotonic() - start)
            return result
        finally:
            for proc in reversed(procs):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nats")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--only", choices=("file", "R1", "R3"), action="append")
    args = parser.parse_args(argv)
    print(f"| setup ({args.lines} lines, one TCP connection) | file msg/s | acked msg/s | "
          "central msg/s |")
    print("| --- | --- | --- | --- |")
    for kind in args.only or ("file", "R1", "R3"):
        r = run(kind, args.lines)
        cells = [f"{r[k]:,.0f}" if k in r else "" for k in
                 ("file msg/s", "acked msg/s", "central msg/s")]
        print(f"| {kind} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
