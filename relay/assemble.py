"""Assemble: the data path built from a Config, ready to start, and nothing started.

Above the sources, destinations and the pipeline, below the lifecycle (relay.server).
``assemble(config)`` compiles the filters (refusing cycles), the rewrites and the
templates (one render shared by the destinations that use the same text), makes each
destination and source runtime, and links them with log paths.  It opens no socket and
no file, so it can run again for a new config (a reload) while the old path still runs.
``check(config)`` compiles the same things and throws the result away.

On a reload, ``assemble(new, flow, reuse=running)`` takes over from the running path the
destinations and source runtimes whose config did not change (the same dataclass value),
so that their files, queues, clients, sockets and connections live on; nothing running
is touched until ``activate()`` routes the reused runtimes through the new path.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from relay.config import Config
from relay.destinations import destination_class
from relay.destinations.base import Destination
from relay.errors import ConfigError, FilterError
from relay.filter import compile_filter, stores_matches
from relay.flow import FlowControl
from relay.message import LogMessage
from relay.parse import Parser
from relay.pipeline import LogPath, Pipeline
from relay.rewrite import compile_rewrite
from relay.sources.base import Connection, Direct, SourceRuntime
from relay.template import Template, compile_template

Filter = Callable[[LogMessage], bool]
Rewrite = Callable[[LogMessage], None]
Render = Callable[[LogMessage], bytes]
MakeDestination = Callable[..., Destination[Any]]


class SharedRender:
    """One compiled template shared by the destinations that use the same text.

    A message routed to several such destinations is rendered once.
    """

    __slots__ = ("_render", "_last", "_seq", "_out")

    def __init__(self, render: Render):
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


class _FilterTable(Mapping[str, Filter]):
    """What filter(NAME) sees while one [[filter]] compiles.

    As in syslog-ng, a filter may name one defined later in the file: that reference is
    bound when it runs.  Every reference is recorded so that cycles can be refused.
    """

    def __init__(self, defined: set[str], compiled: dict[str, Filter], refs: set[str]):
        self.defined = defined
        self.compiled = compiled
        self.refs = refs

    def __getitem__(self, name: str) -> Filter:
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


def compile_filters(config: Config) -> dict[str, Filter]:
    if not config.filters:
        return {}

    defined = {f.name for f in config.filters}
    compiled: dict[str, Filter] = {}
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


def compile_rewrites(config: Config) -> dict[str, Rewrite]:
    if not config.rewrites:
        return {}

    compiled = {}
    for r in config.rewrites:
        try:
            compiled[r.name] = compile_rewrite(r.name, r.spec)
        except ConfigError as exc:
            at = f", line {r.line}" if r.line else ""
            raise ConfigError(f"{config.path}{at}: [[rewrite]] {r.name!r}: {exc}") from None
    return compiled


def compile_templates(config: Config) -> dict[str, Template]:
    """The template of each destination, compiled once per text."""
    compiled: dict[str, Template] = {}
    for d in config.destinations:
        if d.template not in compiled:
            try:
                compiled[d.template] = compile_template(d.template,
                                                        filter_compiler=compile_filter)
            except ConfigError as exc:
                raise ConfigError(f"{config.path}: [[destination]] {d.name!r} key 'template': "
                                  f"{exc}") from None
    return {d.name: compiled[d.template] for d in config.destinations}


def compile_renders(config: Config,
                    templates: Mapping[str, Template] | None = None) -> dict[str, Render]:
    """One render function per destination; destinations with the same template share one."""
    if templates is None:
        templates = compile_templates(config)
    users: dict[str, int] = {}
    for d in config.destinations:
        users[d.template] = users.get(d.template, 0) + 1
    shared = {d.template: SharedRender(templates[d.name].render) for d in config.destinations
              if users[d.template] > 1}
    return {d.name: shared.get(d.template) or templates[d.name].render
            for d in config.destinations}


def _direct(source: str, parser: Parser, pipeline: Pipeline,
            destinations: Mapping[str, Destination[Any]],
            templates: Mapping[str, Template]) -> Direct | None:
    """How SOURCE's lines go straight to the destinations that take lines, rendered
    once without their message (SourceRuntime.direct), when its routing, destinations
    and template allow: the template is that of a destination that always takes lines
    (a file); the others it reaches must be idle at the time (a feed without clients),
    and those that take lines with that template only at times must be ready (a
    worker's feed whose clients do not filter)."""
    sends = pipeline.direct_sends(source)
    if sends is None:
        return None
    reached = [(name, dest, dest.direct_sink()) for send in sends
               for name, dest in destinations.items() if dest.send == send]
    takers = [(name, dest, sink) for name, dest, sink in reached if sink is not None]
    if not takers or len(reached) != len(sends):
        return None
    # the template of one that always takes lines (a file); a taker with another
    # template must be idle at the time, as those without a sink must
    lead = next((t for t in takers if t[1].idle() is None), takers[0])
    template = templates[lead[0]]
    idle = [dest for name, dest, sink in reached
            if sink is None or templates[name] is not template]
    takers = [t for t in takers if templates[t[0]] is template]
    checks = [dest.idle() for dest in idle]
    if None in checks:
        return None
    render = parser.direct_many(template.direct)
    if render is None:
        return None
    ready: list[Callable[[], bool]] = [check for check in checks if check is not None]
    ready += [check for _, dest, _ in takers if (check := dest.direct_ready()) is not None]
    sinks = tuple(sink for _, _, sink in takers)
    sink = sinks[0] if len(sinks) == 1 else functools.partial(_to_each, sinks)
    if len(ready) <= 1:
        return render, sink, ready[0] if ready else None
    return render, sink, lambda: all(check() for check in ready)


def _to_each(sinks: tuple[Callable[[bytes], None], ...], line: bytes) -> None:
    for sink in sinks:
        sink(line)


def _stores_matches(config: Config) -> bool:
    """Whether a filter may store matches ($0, $1, ...) into the message it looks at:
    then a path with filters must filter its own copy."""
    return any(stores_matches(f.expr) for f in config.filters)


def _parsers(config: Config) -> dict[str, Parser]:
    keep = config.options.keep_hostname
    return {s.name: Parser(s.protocol, s.name, keep_hostname=keep) for s in config.sources}


def check(config: Config) -> None:
    """Compile everything that can be compiled without opening a socket or a file."""
    compile_filters(config)
    compile_rewrites(config)
    compile_renders(config)
    _parsers(config)


@dataclass
class DataPath:
    """Everything one config makes, linked source to destination, not yet started."""

    config: Config
    flow: FlowControl
    destinations: dict[str, Destination[Any]]
    pipeline: Pipeline
    sources: dict[str, SourceRuntime] = field(default_factory=dict)
    #: the connected peers of its stream sources, which the server drains at shutdown
    connections: set[Connection] = field(default_factory=set)
    #: what each source's runtime is to use in this path: parser, route, end of batch,
    #: and its direct way to a destination (SourceRuntime.direct)
    wiring: dict[str, tuple[Parser, Callable[[LogMessage], None], Callable[[], None],
                            Direct | None]] = field(default_factory=dict)
    filters: dict[str, Filter] = field(default_factory=dict)
    #: what each source's runtime waits on before it acknowledges (a nats source)
    barriers: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)

    def activate(self) -> None:
        """Route every source through this path from its next batch on.  A batch runs
        in one go on the event loop, so the swap falls between two batches."""
        for name, (parser, route, end_batch, direct) in self.wiring.items():
            runtime = self.sources[name]
            runtime.parser, runtime.route, runtime.end_batch = parser, route, end_batch
            runtime.direct = direct
            runtime.barrier = self.barriers[name]
        for dest in self.destinations.values():
            dest.named_filters = self.filters


def assemble(config: Config, flow: FlowControl | None = None, *,
             reuse: DataPath | None = None,
             make_destination: MakeDestination | None = None) -> DataPath:
    """Build the data path of CONFIG; ConfigError when something in it does not compile.

    With REUSE (the running path), its destinations and source runtimes whose config is
    unchanged are taken over rather than made anew.  MAKE_DESTINATION makes each
    destination instead of its type's class (a worker process hands lines on)."""
    flow = flow or FlowControl()
    filters = compile_filters(config)
    rewrites = compile_rewrites(config)
    templates = compile_templates(config)
    renders = compile_renders(config, templates)
    parsers = _parsers(config)
    running = reuse.destinations if reuse is not None else {}
    destinations = {
        d.name: _unchanged(running, d.name, d)
        or (make_destination or destination_class(d.type))(d, renders[d.name], flow,
                                                           named_filters=filters)
        for d in config.destinations
    }
    storing = _stores_matches(config)
    paths = [
        LogPath(
            sources=frozenset(lg.source),
            filters=tuple(filters[n] for n in lg.filter),
            rewrites=tuple(rewrites[n] for n in lg.rewrite),
            destinations=tuple(destinations[n].send for n in lg.destination),
            final="final" in lg.flags,
            fallback="fallback" in lg.flags,
            catchall="catchall" in lg.flags,
            isolate=storing and bool(lg.filter),
        )
        for lg in config.logs
    ]
    data_path = DataPath(config, flow, destinations, Pipeline(paths), filters=filters)
    if reuse is not None:  # one set of connections across reloads, drained at shutdown
        data_path.connections = reuse.connections
    # a batch ends at every destination, bound once here rather than looked up per batch
    ends = tuple(d.end_batch for d in destinations.values())

    def end_batch() -> None:
        for end in ends:
            end()

    for s in config.sources:
        data_path.barriers[s.name] = _barrier(config, s.name, destinations)
        route = data_path.pipeline.router(s.name)
        direct = _direct(s.name, parsers[s.name], data_path.pipeline, destinations, templates)
        data_path.wiring[s.name] = (parsers[s.name], route, end_batch, direct)
        runtime = _unchanged(reuse.sources if reuse is not None else {}, s.name, s)
        if runtime is None:  # (a reused runtime keeps its wiring until activate)
            runtime = SourceRuntime(s, parsers[s.name], route, flow, end_batch,
                                    data_path.connections)
            runtime.direct = direct
        data_path.sources[s.name] = runtime
        runtime.barrier = data_path.barriers[s.name]
    return data_path


def _barrier(config: Config, source: str,
             destinations: Mapping[str, Destination[Any]]) -> Callable[[], Awaitable[None]]:
    """Wait until every destination a log path of SOURCE reaches has written all it took."""
    reached = tuple(destinations[name] for lg in config.logs
                    if source in lg.source or "catchall" in lg.flags
                    for name in dict.fromkeys(lg.destination))

    async def barrier() -> None:
        for dest in dict.fromkeys(reached):
            await dest.flushed()

    return barrier


T = TypeVar("T", Destination[Any], SourceRuntime)


def _unchanged(running: Mapping[str, T], name: str, config: object) -> T | None:
    """The running destination or source runtime NAME when its config is CONFIG."""
    found = running.get(name)
    return found if found is not None and found.config == config else None
