"""The pipeline: log paths route each parsed message to destinations.

It sits between parsing and the destinations.  syslog-ng's rules: every log path sees
every message of its sources in config order; a message passes a path when all of its
filters pass; ``final`` stops later paths for a message this path took; ``fallback``
paths only take messages that no other path took; ``catchall`` takes every source.
A path with rewrites works on its own copy, so a rewrite never leaks into another
path's message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from relay.message import LogMessage

Filter = Callable[[LogMessage], bool]
Rewrite = Callable[[LogMessage], None]
Send = Callable[[LogMessage], None]


@dataclass(frozen=True)
class LogPath:
    sources: frozenset[str]
    filters: tuple[Filter, ...]
    rewrites: tuple[Rewrite, ...]
    destinations: tuple[Send, ...]
    final: bool = False
    fallback: bool = False
    catchall: bool = False
    # filters that store matches ($0, $1, ...) write into the message: give them a copy
    isolate: bool = False

    def takes(self, source: str) -> bool:
        return self.catchall or source in self.sources


class Pipeline:
    """Routes messages; one precompiled route function per source."""

    def __init__(self, paths: Sequence[LogPath]):
        self.paths = tuple(paths)
        self.unrouted = 0

    def direct_sends(self, source: str) -> tuple[Send, ...] | None:
        """The destinations every message of SOURCE goes to, unchanged, when that is
        the whole of its routing: one path, with no filter and no rewrite."""
        regular = tuple(p for p in self.paths if p.takes(source) and not p.fallback)
        fallback = tuple(p for p in self.paths if p.takes(source) and p.fallback)
        if len(regular) == 1 and not fallback and not regular[0].filters \
                and not regular[0].rewrites and not regular[0].isolate:
            return regular[0].destinations
        return None

    def router(self, source: str) -> Callable[[LogMessage], None]:
        # The common case, one path with no filter and no rewrite: straight to its destinations.
        sends = self.direct_sends(source)
        if sends is not None:
            if len(sends) == 1:
                return sends[0]

            def route_direct(msg: LogMessage) -> None:
                for send in sends:
                    send(msg)

            return route_direct

        regular = tuple(p for p in self.paths if p.takes(source) and not p.fallback)
        fallback = tuple(p for p in self.paths if p.takes(source) and p.fallback)

        def route(msg: LogMessage) -> None:
            taken = _run(regular, msg)
            if not taken and fallback:
                taken = _run(fallback, msg)
            if not taken:
                self.unrouted += 1

        return route


def _run(paths: tuple[LogPath, ...], msg: LogMessage) -> bool:
    taken = False
    for path in paths:
        target = msg.copy() if path.isolate else msg
        for f in path.filters:
            if not f(target):
                break
        else:
            taken = True
            if path.rewrites and not path.isolate:
                target = msg.copy()
                for rewrite in path.rewrites:
                    rewrite(target)
            for send in path.destinations:
                send(target)
            if path.final:
                break
    return taken
