"""Destinations: where rendered messages go.  One module per destination kind.

They sit at the end of the data path: the pipeline calls ``send(msg)``, the destination
renders the message with its template and writes the bytes.  Each is bounded; stream
sources are paused through relay.flow when one fills up (subscribers drop instead).
Every kind is made the same way, ``cls(config, render, flow, named_filters)``, and found
here by its ``type``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relay.destinations.base import Destination
from relay.destinations.file import FileDestination
from relay.destinations.pipe import PipeDestination
from relay.destinations.program import ProgramDestination
from relay.destinations.stdout import StdoutDestination
from relay.destinations.subscribers import SubscribersDestination

#: destination type -> its class
DESTINATIONS: dict[str, type[Destination[Any]]] = {
    "file": FileDestination,
    "stdout": StdoutDestination,
    "subscribers": SubscribersDestination,
    "pipe": PipeDestination,
    "program": ProgramDestination,
}


# (imported on first use: NATS and the web feed bring nats-py and aiohttp, whose import
# costs a relay that uses neither a few hundred milliseconds of CPU at every start)
def _nats() -> type[Destination[Any]]:
    from relay.destinations.nats import NatsDestination

    return NatsDestination


def _web() -> type[Destination[Any]]:
    from relay.destinations.web import WebDestination

    return WebDestination


_LATER: dict[str, Callable[[], type[Destination[Any]]]] = {"nats": _nats, "web": _web}
#: every destination type
KINDS = frozenset(DESTINATIONS) | frozenset(_LATER)


def destination_class(kind: str) -> type[Destination[Any]]:
    cls = DESTINATIONS.get(kind)
    if cls is None:
        later = _LATER.get(kind)
        if later is None:
            raise ValueError(f"unknown destination type {kind!r}")
        cls = DESTINATIONS[kind] = later()
    return cls
