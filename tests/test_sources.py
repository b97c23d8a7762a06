"""Sources: one start(runtime) -> Listener per kind, found by the listen scheme."""

from __future__ import annotations

from itertools import repeat

from relay.config import SOURCE_SCHEMES, loads
from relay.flow import FlowControl
from relay.message import LogMessage
from relay.parse import Parser, local_peer
from relay.sources import STARTERS
from relay.sources.base import SourceRuntime


def test_every_scheme_has_a_starter() -> None:
    assert set(STARTERS) == set(SOURCE_SCHEMES)


def test_a_bad_message_is_counted_and_the_batch_goes_on() -> None:
    config = loads('[[source]]\nname = "s"\nlisten = "udp://127.0.0.1:0"\n')
    routed: list[LogMessage] = []
    ends: list[int] = []

    def route(msg: LogMessage) -> None:
        if msg.values.get("MESSAGE") == "bad":
            raise ValueError("a route that fails")
        routed.append(msg)

    runtime = SourceRuntime(config.sources[0], Parser("raw", "s"), route, FlowControl(),
                            lambda: ends.append(1))
    runtime.deliver([b"one", b"bad", b"two"], repeat(local_peer()))
    assert [m.values["MESSAGE"] for m in routed] == ["one", "two"]
    assert (runtime.received, runtime.errors, len(ends)) == (3, 1, 1)
