"""The server: builds the data path from a Config, runs it, and shuts it down cleanly.

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
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from relay.config import Config, SourceConfig
from relay.destinations import destination_class
from relay.destinations.base import Destination
from relay.errors import ConfigError, RelayError
from relay.flow import FlowControl
from relay.message import LogMessage
from relay.parse import Parser
from relay.pipeline import LogPath, Pipeline
from relay.sources import SourceRuntime
from relay.sources.stream import StreamProtocol

log = logging.getLogger("relay")

DRAIN_DEADLINE = 2.0  # seconds to finish reading connected peers at shutdown
DRAIN_QUIET = 0.1  # a connection that sent nothing for this long is drained


class SharedRender:
    """One compiled template shared by the destinations that use the same text.

    A message routed to several such destinations is rendered once.
    """

    __slots__ = ("_render", "_last", "_seq", "_out")

    def __init__(self, render: Callable[[LogMessage], bytes]):
        self._render = render
        self._last: LogMessage | None = None
        self._seq = 0
        self._out = b""

    def __call__(self, msg: LogMessage) -> bytes:
        # SEQNUM of a local message is per destination, so it is part of the key
        if msg is not self._last or msg.seqnum != self._seq:
            self._out = self._render(msg)
            self._last = msg
            self._seq = msg.seqnum
        return self._out


class _FilterTable(Mapping[str, Callable[[LogMessage], bool]]):
    """What filter(NAME) sees while one [[filter]] compiles.

    As in syslog-ng, a filter may name one defined later in the file: that reference is
    bound when it runs.  Every reference is recorded so that cycles can be refused.
    """

    def __init__(self, defined: set[str], compiled: dict[str, Callable[[LogMessage], bool]],
                 refs: set[str]):
        self.defined = defined
        self.compiled = compiled
        self.refs = refs

    def __getitem__(self, name: str) -> Callable[[LogMessage], bool]:
        if name not in self.defined:
            raise KeyError(name)
        self.refs.add(name)
        if name in self.compiled:
            return self.compiled[name]
        compiled = self.compiled
        return lambda msg: compiled[name](msg)

    def __iter__(self) -> Iterator[str]:
        return iter(self.defined)

    def __len__(self) -> int:
        return len(self.defined)


def compile_filters(config: Config) -> dict[str, Callable[[LogMessage], bool]]:
    if not config.filters:
        return {}
    from relay.errors import FilterError
    from relay.filter import compile_filter

    defined = {f.name for f in config.filters}
    compiled: dict[str, Callable[[LogMessage], bool]] = {}
    refs: dict[str, set[str]] = {}
    for f in config.filters:
        refs[f.name] = set()
        try:
            compiled[f.name] = compile_filter(
                f.expr, filters=_FilterTable(defined, compiled, refs[f.name]), name=f.name)
        except FilterError as exc:
            at = f", line {f.line}" if f.line else ""
            raise ConfigError(f"{config.path}{at}: [[filter]] {f.name!r} key 'expr': {exc}"
                              ) from None
    _refuse_cycles(config, refs)
    return compiled


def _refuse_cycles(config: Config, refs: dict[str, set[str]]) -> None:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join(path[path.index(name):] + [name])
            raise ConfigError(f"{config.path}: [[filter]] {name!r} refers to itself: {cycle}")
        state[name] = 1
        for ref in sorted(refs.get(name, ())):
            visit(ref, path + [name])
        state[name] = 2

    for name in refs:
        visit(name, [])


def compile_rewrites(config: Config) -> dict[str, Callable[[LogMessage], None]]:
    if not config.rewrites:
        return {}
    from relay.rewrite import compile_rewrite

    compiled = {}
    for r in config.rewrites:
        try:
            compiled[r.name] = compile_rewrite(r.name, dict(r.spec))
        except ConfigError as exc:
            raise ConfigError(f"{config.path}: [[rewrite]] {r.name!r}: {exc}") from None
    return compiled


def compile_renders(config: Config) -> dict[str, Callable[[LogMessage], bytes]]:
    """One render function per destination; destinations with the same template share one."""
    from relay.template import compile_template

    compiled: dict[str, Callable[[LogMessage], bytes]] = {}
    for d in config.destinations:
        if d.template not in compiled:
            try:
                compiled[d.template] = compile_template(d.template).render
            except ConfigError as exc:
                raise ConfigError(f"{config.path}: [[destination]] {d.name!r} key 'template': "
                                  f"{exc}") from None
    users: dict[str, int] = {}
    for d in config.destinations:
        users[d.template] = users.get(d.template, 0) + 1
    shared = {text: SharedRender(render) for text, render in compiled.items() if users[text] > 1}
    return {d.name: shared.get(d.template) or compiled[d.template] for d in config.destinations}


def check(config: Config) -> None:
    """Compile everything that can be compiled without opening a socket or a file."""
    compile_filters(config)
    compile_rewrites(config)
    compile_renders(config)
    for s in config.sources:
        Parser(s.protocol, s.name, keep_hostname=config.options.keep_hostname)


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
        self.pipeline: Pipeline | None = None
        self.batch_ends: list[Callable[[], None]] = []

    async def start(self) -> list[str]:
        config = self.config
        filters = compile_filters(config)
        rewrites = compile_rewrites(config)
        renders = compile_renders(config)
        for d in config.destinations:
            cls = destination_class(d.type)
            kwargs: dict[str, Any] = {}
            if d.type == "subscribers":
                kwargs["named_filters"] = filters
            dest = cls(d, renders[d.name], self.flow, **kwargs)
            self.destinations[d.name] = dest
            try:
                self.addresses += [f"{a} ({d.name})" for a in await dest.start()]
            except OSError as exc:
                raise ConfigError(f"{config.path}: destination {d.name!r}: cannot listen on "
                                  f"{d.listen}: {exc.strerror}") from None
        self.batch_ends = [d.end_batch for d in self.destinations.values()]
        paths = []
        storing = any("store-matches" in f.expr for f in config.filters)
        for lg in config.logs:
            paths.append(LogPath(
                sources=frozenset(lg.source),
                filters=tuple(filters[n] for n in lg.filter),
                rewrites=tuple(rewrites[n] for n in lg.rewrite),
                destinations=tuple(self.destinations[n].send for n in lg.destination),
                final="final" in lg.flags,
                fallback="fallback" in lg.flags,
                catchall="catchall" in lg.flags,
                isolate=storing and bool(lg.filter),
            ))
        self.pipeline = Pipeline(paths)
        for s in config.sources:
            await self._start_source(s)
        return self.addresses

    async def _start_source(self, s: SourceConfig) -> None:
        assert self.pipeline is not None
        parser = Parser(s.protocol, s.name, keep_hostname=self.config.options.keep_hostname)
        runtime = SourceRuntime(s, parser, self.pipeline.router(s.name), self.flow,
                                self._end_batch)
        self.sources[s.name] = runtime
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

    def _end_batch(self) -> None:
        for dest in self.batch_ends:
            dest()

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
