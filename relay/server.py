"""The server: the lifecycle of the data path that relay.assemble builds from a Config.

Start: destinations first (so nothing is routed into a closed one), then the pipeline,
then the sources; then privileges are dropped (``[options] user``, relay.privileges),
what runs on its own starts (a program destination's command), and one line per
listening address is printed.  SIGHUP reopens files and reloads the config
(``Relay.reload``; what it keeps and replaces is in relay.reload).
SIGTERM/SIGINT: stop accepting, finish reading what connected peers already sent (until
EOF, or until they go quiet, within a short deadline that waits out congested
destinations), flush every destination, return.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from relay import config as config_mod
from relay import privileges
from relay.assemble import DataPath, assemble
from relay.config import Config
from relay.destinations.base import Destination
from relay.errors import ConfigError, RelayError
from relay.flow import FlowControl
from relay.notify import READY, STOPPING, notify, reloading
from relay.reload import Switch
from relay.sources import Listener, SourceRuntime
from relay.sources import start as start_source
from relay.sources.base import Connection
from relay.workers import plan as workers_plan
from relay.workers.pool import WorkerPool

if TYPE_CHECKING:
    from relay.metrics import MetricsServer

log = logging.getLogger("relay")

DRAIN_DEADLINE = 2.0  # seconds to finish reading connected peers at shutdown
DRAIN_QUIET = 0.1  # a connection that sent nothing for this long is drained
DRAIN_MOST = 30.0  # the drain's deadline, however long destinations were congested


class Relay:
    def __init__(self, config: Config):
        self.config = config
        self.flow = FlowControl()
        self.destinations: dict[str, Destination[Any]] = {}
        self.sources: dict[str, SourceRuntime] = {}
        self.listeners: dict[SourceRuntime, Listener] = {}
        self.connections: set[Connection] = set()
        self.addresses: list[str] = []
        self.stopping = asyncio.Event()
        self.path: DataPath | None = None
        self.state = "starting"  # then "running", then "stopping" (what /healthz says)
        self.reloads = {"ok": 0, "error": 0}
        self.metrics: MetricsServer | None = None
        self._switching = asyncio.Lock()  # one reload at a time, and none during stop
        self.pool: WorkerPool | None = None  # the worker processes, with workers > 1
        self._tasks: set[asyncio.Task[bool]] = set()

    async def start(self) -> list[str]:
        # the endpoint first, so that /healthz says 503 while the rest starts
        self.addresses += await self._start_metrics(self.config)
        self.path = path = self._assemble(self.config)
        self._adopt(path)
        self._say_where(self.config)
        if workers_plan.served(self.config):
            self.pool = WorkerPool(self.flow, self.config.options.workers, lambda: self.sources)
            await self.pool.spawn()
        self.addresses += await self._start_destinations(path.destinations.values())
        self.addresses += await self._start_sources(path.sources.values())
        if self.pool is not None:
            await self.pool.start(self.config, self.destinations)
        self.state = "running"
        return self.addresses

    def workers(self) -> tuple[int, list[dict[str, int]]]:
        """What the metrics say of the worker processes (relay.workers)."""
        if self.pool is None:
            return 0, []
        return self.pool.restarts, self.pool.report()

    def _assemble(self, config: Config, reuse: DataPath | None = None) -> DataPath:
        return assemble(config, self.flow, reuse=reuse)

    @staticmethod
    def _say_where(config: Config) -> None:
        if config.options.workers <= 1:
            return
        for source in config.sources:
            why = workers_plan.why_not(config, source.name)
            if why:
                log.info("source %s: served by the main process: %s", source.name, why)
            else:
                log.info("source %s: served by %d workers", source.name,
                         config.options.workers)

    def _adopt(self, path: DataPath) -> None:
        self.path, self.config = path, path.config
        self.destinations = path.destinations
        self.sources = path.sources
        self.connections = path.connections

    async def _start_metrics(self, config: Config) -> list[str]:
        if config.metrics is None:
            return []
        from relay.metrics import MetricsServer

        self.metrics = MetricsServer(config.metrics, self)
        try:
            return [f"{a} (metrics)" for a in await self.metrics.start()]
        except OSError as exc:
            self.metrics = None
            raise ConfigError(f"{config.path}: [metrics] key 'listen': cannot listen on "
                              f"{config.metrics.listen}: {exc.strerror or exc}") from None

    async def _stop_metrics(self) -> None:
        if self.metrics is not None:
            metrics, self.metrics = self.metrics, None
            await metrics.stop()

    async def _start_destinations(self, dests: Iterable[Destination[Any]]) -> list[str]:
        addresses = []
        for dest in dests:
            try:
                addresses += [f"{a} ({dest.name})" for a in await dest.start()]
            except OSError as exc:
                # only a destination that listens (subscribers) opens a socket
                where = getattr(dest.config, "listen", "")
                raise ConfigError(f"{self.config.path}: destination {dest.name!r}: cannot "
                                  f"listen on {where}: {exc.strerror}") from None
        return addresses

    async def _start_sources(self, runtimes: Iterable[SourceRuntime]) -> list[str]:
        addresses = []
        pool = self.pool
        for runtime in runtimes:
            runtime.ended = self._source_ended
            try:
                if pool is not None and runtime.name in workers_plan.served(self.config):
                    listener: Listener = pool.listen(self.config, runtime.name)
                else:
                    listener = await start_source(runtime)
            except OSError as exc:
                raise ConfigError(f"{self.config.path}: source {runtime.name!r}: cannot listen "
                                  f"on {runtime.config.listen}: {exc.strerror or exc}") from None
            self.listeners[runtime] = listener
            addresses += [f"{a} ({runtime.name})" for a in listener.addresses]
        return addresses

    def started(self) -> None:
        """Everything is open and privileges are dropped: start what runs on its own."""
        for dest in self.destinations.values():
            dest.started()

    def _source_ended(self) -> None:
        # a source ends by itself only at the end of stdin: with nothing else to read, stop
        if all(s.listen.scheme == "stdin" for s in self.config.sources):
            self.stopping.set()

    def reopen(self) -> None:
        log.info("SIGHUP: reopening files")
        for dest in self.destinations.values():
            dest.reopen()
        for listener in self.listeners.values():  # a TLS source reads its cert and key again
            reload_tls = getattr(listener, "reload_tls", None)
            if reload_tls is not None:
                reload_tls()

    def hangup(self) -> None:
        """SIGHUP: reopen the files, then reload the config (in a task).  systemd
        (Type=notify) hears RELOADING now and READY when the reload has ended."""
        notify(reloading())
        task = asyncio.get_running_loop().create_task(self.reload())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: notify(READY))

    async def reload(self) -> bool:
        """Read the config file again and apply it; False when it is refused (the running
        config stays).  See relay.reload for what is kept and what is replaced."""
        async with self._switching:
            if self.state != "running" or self.path is None:
                return False
            self.reopen()  # whatever the new config says, logrotate's files are reopened
            try:
                switch = await self.apply(config_mod.load(self.config.path))
            except ConfigError as exc:
                self.reloads["error"] += 1
                log.error("reload refused, the running config stays: %s", exc)
                return False
            self.reloads["ok"] += 1
            log.info("reloaded %s: %s", self.config.path, switch)
            return True

    async def apply(self, config: Config) -> Switch:
        """Switch the running data path to CONFIG's; ConfigError when it is refused."""
        assert self.path is not None
        new = self._assemble(config, reuse=self.path)
        switch = Switch(self.path, new)
        if self.pool is not None:
            kept = [r.name for r in new.sources.values() if r not in switch.fresh_sources]
            refusal = workers_plan.refusal(self.path.config, config, kept)
            if refusal:
                raise ConfigError(f"{config.path}: {refusal}")
        await self._switch(switch)
        return switch

    async def _switch(self, plan: Switch) -> None:
        # 1. start what is new, the old path still running; a listener on the address of
        #    one that goes away can only open once that one has closed
        closed = [self.listeners.pop(runtime) for runtime in plan.early]
        for listener in closed:
            listener.close()
            await listener.wait_closed()
        for dest in plan.early_destinations:
            await self._stop_destination(dest)
        old_config = self.config
        try:
            self.config = plan.new.config
            if plan.new.config.metrics != plan.old.config.metrics:
                await self._stop_metrics()
                addresses = await self._start_metrics(plan.new.config)
            else:
                addresses = []
            addresses += await self._start_destinations(plan.fresh_destinations)
            addresses += await self._start_sources(plan.fresh_sources)
        except ConfigError:
            self.config = old_config
            await self._undo(plan)
            raise
        self._announce(addresses)
        # 2. route every source through the new path from its next batch on
        plan.new.activate()
        self._adopt(plan.new)
        if self.pool is not None:
            served = tuple(r.name for r in plan.fresh_sources
                           if r.name in workers_plan.served(self.config))
            await self.pool.reload(self.config, served, self.destinations)
        # 3. what went away: stop accepting, read what its peers already sent, flush, close
        closed = [self.listeners.pop(r) for r in plan.gone_sources if r in self.listeners]
        for listener in closed:
            listener.close()
        await self._drain([c for c in self.connections if c.runtime in plan.gone_sources])
        for listener in closed:
            await listener.wait_closed()
        for dest in plan.gone_destinations:
            if dest not in plan.early_destinations:
                await self._stop_destination(dest)
            self.flow.relieved(dest)

    def _announce(self, addresses: list[str]) -> None:
        """Say what a reload started listening on (as serve() does at start)."""
        for address in addresses:
            print(f"relay: listening on {address}", file=sys.stderr, flush=True)

    async def _undo(self, plan: Switch) -> None:
        """A reload that failed to start: close what it started, reopen what it closed."""
        for runtime in plan.fresh_sources:
            listener = self.listeners.pop(runtime, None)
            if listener is not None:
                listener.close()
        await self._drain([c for c in self.connections if c.runtime in plan.fresh_sources])
        for dest in plan.fresh_destinations:
            await self._stop_destination(dest)
        addresses = []
        if self.metrics is None and self.config.metrics is not None:
            addresses += await self._start_metrics(self.config)
        addresses += await self._start_destinations(plan.early_destinations)
        addresses += await self._start_sources(plan.early)
        self._announce(addresses)

    async def _stop_destination(self, dest: Destination[Any]) -> None:
        try:
            await dest.stop()
        except Exception as exc:
            log.error("destination %s: %s", dest.name, exc)

    async def stop(self) -> None:
        self.state = "stopping"
        async with self._switching:
            # 1. stop accepting
            for listener in self.listeners.values():
                listener.close()
            # 2. finish reading what connected peers already sent (the workers' too)
            if self.pool is not None:
                await asyncio.gather(self._drain(list(self.connections)), self.pool.stop())
            else:
                await self._drain(list(self.connections))
            for listener in self.listeners.values():
                await listener.wait_closed()
            # 3. flush every destination
            for dest in self.destinations.values():
                await self._stop_destination(dest)
            await self._stop_metrics()

    async def _drain(self, conns: list[Connection]) -> None:
        if not conns:
            return
        if not self.flow.paused:  # a paused connection must be read to its end too; while
            for c in conns:       # a destination is congested, flow control resumes them
                if c.transport is not None and not c.transport.is_closing():
                    try:
                        c.transport.resume_reading()
                    except RuntimeError:
                        pass
        runtimes = {c.runtime for c in conns}
        start = time.monotonic()
        deadline = start + DRAIN_DEADLINE
        received = sum(r.received for r in runtimes)
        quiet_since = start
        while (any(c in self.connections for c in conns)
               and time.monotonic() < min(deadline, start + DRAIN_MOST)):
            await asyncio.sleep(0.02)
            if self.flow.paused:  # the relay is the slow one, not the peers: wait for it
                deadline += 0.02
                quiet_since = time.monotonic()
                continue
            now_received = sum(r.received for r in runtimes)
            if now_received != received:
                received, quiet_since = now_received, time.monotonic()
            elif time.monotonic() - quiet_since >= DRAIN_QUIET:
                break
        for c in conns:
            if c.transport is not None and c in self.connections:
                # what is left in the framer is a partial frame the peer never finished
                c.transport.close()


async def serve(config: Config, *, ready: Callable[[list[str]], None] | None = None) -> int:
    relay = Relay(config)
    loop = asyncio.get_running_loop()
    creds = privileges.resolve(config.options)
    try:
        addresses = await relay.start()
        # every port is bound, every file and key is open
        privileges.drop(creds, [p for d in relay.destinations.values()
                                for p in d.created_paths()])
    except RelayError:
        await relay.stop()
        raise
    relay.started()
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
        loop.add_signal_handler(signal.SIGHUP, relay.hangup)
        installed.append(signal.SIGHUP)
    except (NotImplementedError, RuntimeError, ValueError):
        pass
    notify(READY)  # only now: systemd may send SIGHUP as soon as it hears READY
    try:
        await relay.stopping.wait()
    finally:
        notify(STOPPING)
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
