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
from relay.sources import Listener, SourceRuntime
from relay.sources import start as start_source
from relay.sources.base import Connection

log = logging.getLogger("relay")

DRAIN_DEADLINE = 2.0  # seconds to finish reading connected peers at shutdown
DRAIN_QUIET = 0.1  # a connection that sent nothing for this long is drained


class Relay:
    def __init__(self, config: Config):
        self.config = config
        self.flow = FlowControl()
        self.destinations: dict[str, Destination[Any]] = {}
        self.sources: dict[str, SourceRuntime] = {}
        self.listeners: list[Listener] = []
        self.connections: set[Connection] = set()
        self.addresses: list[str] = []
        self.stopping = asyncio.Event()
        self.path: DataPath | None = None

    async def start(self) -> list[str]:
        self.path = path = assemble(self.config, self.flow)
        self.destinations = path.destinations
        self.sources = path.sources
        self.connections = path.connections
        for dest in path.destinations.values():
            try:
                self.addresses += [f"{a} ({dest.name})" for a in await dest.start()]
            except OSError as exc:
                # only a destination that listens (subscribers) opens a socket
                where = getattr(dest.config, "listen", "")
                raise ConfigError(f"{self.config.path}: destination {dest.name!r}: cannot "
                                  f"listen on {where}: {exc.strerror}") from None
        for runtime in path.sources.values():
            runtime.ended = self._source_ended
            try:
                listener = await start_source(runtime)
            except OSError as exc:
                raise ConfigError(f"{self.config.path}: source {runtime.name!r}: cannot listen "
                                  f"on {runtime.config.listen}: {exc.strerror or exc}") from None
            self.listeners.append(listener)
            self.addresses += [f"{a} ({runtime.name})" for a in listener.addresses]
        return self.addresses

    def _source_ended(self) -> None:
        # a source ends by itself only at the end of stdin: with nothing else to read, stop
        if all(s.listen.scheme == "stdin" for s in self.config.sources):
            self.stopping.set()

    def reopen(self) -> None:
        log.info("SIGHUP: reopening files")
        for dest in self.destinations.values():
            dest.reopen()
        for listener in self.listeners:  # a TLS source reads its certificate and key again
            reload_tls = getattr(listener, "reload_tls", None)
            if reload_tls is not None:
                reload_tls()

    async def stop(self) -> None:
        # 1. stop accepting
        for listener in self.listeners:
            listener.close()
        # 2. finish reading what connected peers already sent
        await self._drain()
        for listener in self.listeners:
            await listener.wait_closed()
        # 3. flush every destination
        for dest in self.destinations.values():
            try:
                await dest.stop()
            except Exception as exc:
                log.error("destination %s: %s", dest.name, exc)

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
        refused = r.denied + r.over_limit + r.tls_refused
        log.info("source %s: %d received, %d errors, %d truncated, %d dropped by the kernel, "
                 "%d refused (%d not in allow, %d over max_connections, %d TLS), %d closed idle",
                 name, r.received, r.errors, r.truncated, r.dropped - refused, refused,
                 r.denied, r.over_limit, r.tls_refused, r.idle_closed)
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
