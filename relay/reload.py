"""What a reload (SIGHUP) changes: the running data path against the one the new config makes.

It sits above relay.assemble and below the lifecycle (relay.server), which carries the
plan out.  ``assemble(new, reuse=running)`` has already taken over every destination and
source runtime whose config is the same dataclass value, so what is left to do is:

- an unchanged source keeps its socket and its connections: its senders notice nothing;
  it is routed through the new path from its next batch on;
- a changed source is replaced: its new listener opens first and the old one closes after,
  unless both listen on the same address (or path, or stdin), where the old one must
  close first (a brief gap in accepting; a datagram sent in it is refused by the kernel);
  the old one's connections are drained as at shutdown, and their peers reconnect;
- a removed source stops accepting, and its connections are drained;
- an unchanged destination keeps its open file, queue, program or clients;
- a changed or removed destination is flushed and closed once nothing routes to it; a new
  or changed one is started before the swap (a subscribers destination on the address of
  the one it replaces starts after that one has stopped).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from relay.assemble import DataPath
from relay.config import SubscribersConfig, WebConfig
from relay.destinations.base import Destination
from relay.sources.base import SourceRuntime

T = TypeVar("T", Destination[Any], SourceRuntime)


def _gone(old: Mapping[str, T], new: Mapping[str, T]) -> list[T]:
    return [item for name, item in old.items() if new.get(name) is not item]


def _listen(dest: Destination[Any]) -> object:
    return dest.config.listen if isinstance(dest.config, SubscribersConfig | WebConfig) else None


class Switch:
    """The plan of one reload, from OLD (running) to NEW (assembled, not started)."""

    def __init__(self, old: DataPath, new: DataPath):
        self.old = old
        self.new = new
        self.gone_sources = _gone(old.sources, new.sources)
        self.fresh_sources = _gone(new.sources, old.sources)
        self.gone_destinations = _gone(old.destinations, new.destinations)
        self.fresh_destinations = _gone(new.destinations, old.destinations)
        taken = {r.config.listen for r in self.fresh_sources}
        #: sources to close before the new ones open: they hold the address
        self.early = [r for r in self.gone_sources if r.config.listen in taken]
        listened = {_listen(d) for d in self.fresh_destinations} - {None}
        #: destinations to stop before the new ones start
        self.early_destinations = [d for d in self.gone_destinations
                                   if _listen(d) in listened]

    def __str__(self) -> str:
        parts = []
        for kind, gone, fresh in (("sources", self.gone_sources, self.fresh_sources),
                                  ("destinations", self.gone_destinations,
                                   self.fresh_destinations)):
            was = {x.name for x in gone}
            now = {x.name for x in fresh}
            changes = ([f"+{n}" for n in sorted(now - was)] + [f"-{n}" for n in sorted(was - now)]
                       + [f"~{n}" for n in sorted(was & now)])
            if changes:
                parts.append(f"{kind} {' '.join(changes)}")
        return "; ".join(parts) or "sources and destinations unchanged"
