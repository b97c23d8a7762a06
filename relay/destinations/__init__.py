"""Destinations: where rendered messages go.  One module per destination kind.

They sit at the end of the data path: the pipeline calls ``send(msg)``, the destination
renders the message with its template and writes the bytes.  Each is bounded; stream
sources are paused through relay.flow when one fills up (subscribers drop instead).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relay.destinations.base import Destination


def destination_class(kind: str) -> type[Destination]:
    if kind == "file":
        from relay.destinations.file import FileDestination

        return FileDestination
    if kind == "stdout":
        from relay.destinations.stdout import StdoutDestination

        return StdoutDestination
    if kind == "subscribers":
        from relay.destinations.subscribers import SubscribersDestination

        return SubscribersDestination
    if kind == "pipe":
        from relay.destinations.pipe import PipeDestination

        return PipeDestination
    if kind == "program":
        from relay.destinations.program import ProgramDestination

        return ProgramDestination
    raise ValueError(f"unknown destination type {kind!r}")
