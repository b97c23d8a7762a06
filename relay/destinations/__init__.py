"""Destinations: where rendered messages go.  One module per destination kind.

They sit at the end of the data path: the pipeline calls ``send(msg)``, the destination
renders the message with its template and writes the bytes.  Each is bounded; stream
sources are paused through relay.flow when one fills up (subscribers drop instead).
Every kind is made the same way, ``cls(config, render, flow, named_filters)``, and found
here by its ``type``.
"""

from __future__ import annotations

from typing import Any

from relay.destinations.base import Destination
from relay.destinations.file import FileDestination
from relay.destinations.nats import NatsDestination
from relay.destinations.pipe import PipeDestination
from relay.destinations.program import ProgramDestination
from relay.destinations.stdout import StdoutDestination
from relay.destinations.subscribers import SubscribersDestination
from relay.destinations.web import WebDestination

#: destination type -> its class
DESTINATIONS: dict[str, type[Destination[Any]]] = {
    "file": FileDestination,
    "stdout": StdoutDestination,
    "subscribers": SubscribersDestination,
    "pipe": PipeDestination,
    "program": ProgramDestination,
    "nats": NatsDestination,
    "web": WebDestination,
}


def destination_class(kind: str) -> type[Destination[Any]]:
    try:
        return DESTINATIONS[kind]
    except KeyError:
        raise ValueError(f"unknown destination type {kind!r}") from None
