"""The server: the lifecycle of the data path that relay.assemble builds from a Config.

Start: destinations first (so nothing is routed into a closed one), then the pipeline,
then the sources, printing one line per listening address.  SIGHUP reopens files.
SIGTERM/SIGINT: stop accepting, finish reading what connected peers already sent (until
EOF, or until they go quiet, within a short deadline), flush every destination, return.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from relay.assemble import DataPath, assemble
from relay.config import Config
from relay.destinations.base import Destination
from relay.errors import ConfigError, RelayError
from relay.flow import FlowControl
from relay.sources import SourceRuntime
from relay.sources.stream import StreamProtocol

log = logging.getLogger("relay")

DRAIN_DEADLINE = 2.0  # seconds to finish reading connected peers at shutdown
DRAIN_QUIET = 0.1  # a connection that sent nothing for this long is drained


class Relay:
    def __init__(self, config: Config):
        self.config = config
        self.flow = FlowControl()
        self.destinations: dict[str, Destination] = {}
        self.sources: dict[str, SourceRuntime] = {}
        self.servers: list[asyncio.AbstractServer] = []
        self.endpoints: list[Any] = []  # datagram endpoints: anything with close()
        self.connections: set[StreamProtocol] = set()
        self.addresses: list[str] = []
        self.stdin_task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()
        self.path: DataPath | None = None

    async def start(self) -> list[str]:
        self.path = path = assemble(self.config, self.flow)
        self.destinations = path.destinations
        self.sources = path.sources
        for dest in path.destinations.values():
            try:
                self.addresses += [f"{a} ({dest.name})" for a in await dest.start()]
            except OSError as exc:
                raise ConfigError(f"{self.config.path}: destination {dest.name!r}: cannot "
                                  f"listen on {dest.config.listen}: {exc.strerror}") from None
        for runtime in path.sources.values():
            await self._start_source(runtime)
        return self.addresses

    async def _start_source(self, runtime: SourceRuntime) -> None:
        s = runtime.config
        scheme = s.listen.scheme
        try:
            if scheme == "udp":
                from relay.sources.udp import start_udp

                transport, addrs = await start_udp(runtime)
                self.endpoints.append(transport)
            elif scheme in ("tcp", "tls"):
                from relay.sources.tcp import start_tcp

                server, addrs = await start_tcp(runtime, self.connections)
                self.servers.append(server)
            elif scheme.startswith("unix-"):
                from relay.sources.unix import start_unix

                obj, addrs = await start_unix(runtime, self.connections)
                if isinstance(obj, asyncio.AbstractServer):
                    self.servers.append(obj)
                else:
                    self.endpoints.append(obj)
            else:
                from relay.sources.stdin import read_stdin

                self.stdin_task = asyncio.get_running_loop().create_task(read_stdin(runtime))
                self.stdin_task.add_done_callback(self._stdin_done)
                addrs = ["stdin://"]
        except OSError as exc:
            raise ConfigError(f"{self.config.path}: source {s.name!r}: cannot listen on "
                              f"{s.listen}: {exc.strerror or exc}") from None
        self.addresses += [f"{a} ({s.name})" for a in addrs]

    def _stdin_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("source stdin: %s", task.exception())
        only_stdin = all(s.listen.scheme == "stdin" for s in self.config.sources)
        if only_stdin:
            self.stopping.set()

    def reopen(self) -> None:
        log.info("SIGHUP: reopening files")
        for dest in self.destinations.values():
            dest.reopen()

    async def stop(self) -> None:
        # 1. stop accepting
        for server in self.servers:
            server.close()
        for endpoint in self.endpoints:
            endpoint.close()
        # 2. finish reading what connected peers already sent
        await self._drain()
        if self.stdin_task is not None and not self.stdin_task.done():
            self.stdin_task.cancel()
        # 3. flush every destination
        for dest in self.destinations.values():
            try:
                await dest.stop()
            except Exception as exc:
                log.error("destination %s: %s", dest.name, exc)
        for server in self.servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 0.5)
            except TimeoutError:
                pass

    async def _drain(self) -> None:
        conns = list(self.connections)
        if not conns:
            return
        for c in conns:  # a paused connection must be read to its end too
            if c.transport is not None and not c.transport.is_closing():
                try:
                    c.transport.resume_reading()
                except RuntimeError:
                    pass
        deadline = time.monotonic() + DRAIN_DEADLINE
        received = sum(r.received for r in self.sources.values())
        quiet_since = time.monotonic()
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            now_received = sum(r.received for r in self.sources.values())
            if now_received != received:
                received, quiet_since = now_received, time.monotonic()
            elif time.monotonic() - quiet_since >= DRAIN_QUIET:
                break
        for c in list(self.connections):
            if c.transport is not None:
                # what is left in the framer is a partial frame the peer never finished
                c.transport.close()


async def serve(config: Config, *, ready: Callable[[list[str]], None] | None = None) -> int:
    relay = Relay(config)
    loop = asyncio.get_running_loop()
    try:
        addresses = await relay.start()
    except RelayError:
        await relay.stop()
        raise
    for address in addresses:
        print(f"relay: listening on {address}", file=sys.stderr, flush=True)
    if ready is not None:
        ready(addresses)
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, relay.stopping.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        loop.add_signal_handler(signal.SIGHUP, relay.reopen)
        installed.append(signal.SIGHUP)
    except (NotImplementedError, RuntimeError, ValueError):
        pass
    try:
        await relay.stopping.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await relay.stop()
    for name, r in relay.sources.items():
        log.info("source %s: %d received, %d errors, %d truncated, %d dropped by the kernel",
                 name, r.received, r.errors, r.truncated, r.dropped)
    for name, d in relay.destinations.items():
        log.info("destination %s: %d written, %d dropped", name, d.written, d.dropped)
    return 0


def run(config: Config) -> int:
    """Run the relay in the foreground on uvloop (asyncio when uvloop is missing)."""
    try:
        import uvloop

        runner: Callable[..., int] = uvloop.run
    except ImportError:
        runner = asyncio.run
    if os.environ.get("RELAY_LOOP") == "asyncio":
        runner = asyncio.run
    return runner(serve(config))
