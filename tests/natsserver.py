"""Real nats-server processes for tests: one JetStream node, or a cluster of three.

Every node gets free ports picked here (client and cluster routes), its own store
directory and config file; waits are on the client port accepting, never fixed sleeps.
The helpers that talk to JetStream use nats-py on their own event loop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from relayproc import need, wait_for

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


class NatsNode:
    def __init__(self, workdir: str, name: str, port: int, cluster_port: int = 0,
                 routes: list[int] | None = None):
        self.name = name
        self.port = port
        self.url = f"nats://127.0.0.1:{port}"
        self.store = os.path.join(workdir, f"store-{name}")
        self.config_path = os.path.join(workdir, f"{name}.conf")
        lines = [f"server_name: {name}", "listen: 127.0.0.1:" + str(port),
                 f'jetstream {{ store_dir: "{self.store}" }}']
        if cluster_port:
            route_urls = ", ".join(f'"nats-route://127.0.0.1:{p}"' for p in routes or ())
            lines.append(f"cluster {{ name: test, listen: 127.0.0.1:{cluster_port}, "
                         f"routes: [{route_urls}] }}")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([need("nats-server"), "-c", self.config_path],
                                         stdout=log, stderr=log)
        wait_for(lambda: _accepting(self.port) or self.proc is None
                 or self.proc.poll() is not None, 15, f"nats-server {self.name}")
        assert self.proc.poll() is None, open(self.log_path).read()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def single(workdir: str) -> list[NatsNode]:
    node = NatsNode(workdir, "n1", free_port())
    node.start()
    return [node]


def cluster(workdir: str, size: int = 3) -> list[NatsNode]:
    ports = [(free_port(), free_port()) for _ in range(size)]
    nodes = [NatsNode(workdir, f"n{i + 1}", port, cport, [c for _, c in ports])
             for i, (port, cport) in enumerate(ports)]
    for node in nodes:
        node.start()
    return nodes


def run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())


async def _js(servers: list[str]) -> Any:
    import nats

    nc = await nats.connect(servers=servers, connect_timeout=2, max_reconnect_attempts=2,
                            reconnect_time_wait=0.2)
    return nc, nc.jetstream(timeout=5)


def add_stream(servers: list[str], name: str = "SYSLOG", subjects: str = "syslog.>",
               replicas: int = 1, timeout: float = 30.0) -> None:
    """Create the stream; in a cluster, retry until JetStream has a meta leader."""
    from nats.js.api import StreamConfig

    async def work() -> None:
        nc, js = await _js(servers)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                try:
                    await js.add_stream(StreamConfig(name=name, subjects=[subjects],
                                                     num_replicas=replicas))
                    return
                except Exception:
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.2)
        finally:
            await nc.close()

    run(work)


def stream_info(servers: list[str], name: str = "SYSLOG") -> Any:
    async def work() -> Any:
        nc, js = await _js(servers)
        try:
            return await js.stream_info(name)
        finally:
            await nc.close()

    return run(work)


def subjects(servers: list[str], name: str = "SYSLOG") -> dict[str, int]:
    """Messages per subject in the stream."""
    async def work() -> dict[str, int]:
        nc, js = await _js(servers)
        try:
            info = await js.stream_info(name, subjects_filter=">")
            return dict(info.state.subjects or {})
        finally:
            await nc.close()

    return run(work)
