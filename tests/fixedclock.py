"""The recording's clock: TZ=UTC and "now" held at 2025-03-01 12:00:00 UTC.

The public cases and the recorded corpora were made by a syslog-ng whose clock
libfaketime held there; tests that compare with them hold the relay's clock (the C_ and
P_ macros) at the same instant, with the local zone UTC.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import relay.macros
from relay.message import LogMessage
from relay.parse import Parser, Peer
from relay.parse.localtime import reset_caches

RECEIVED_NS = 1740830400 * 1_000_000_000  # 2025-03-01 12:00:00 UTC
# a UDP sender on loopback, as in the recordings
PEER = Peer("127.0.0.1", "127.0.0.1", 17, "127.0.0.1", 514)


@contextmanager
def local_zone(name: str) -> Iterator[None]:
    """The local time zone NAME (TZ), with every cache of local times emptied."""
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    reset_caches()
    try:
        yield
    finally:
        if old_tz is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old_tz
        time.tzset()
        reset_caches()


@contextmanager
def held_utc(now_ns: int = RECEIVED_NS) -> Iterator[None]:
    old_clock = relay.macros.clock
    relay.macros.clock = lambda: now_ns
    try:
        with local_zone("UTC"):
            yield
    finally:
        relay.macros.clock = old_clock


def parse_at(frame: bytes, peer: Peer = PEER, protocol: str = "rfc3164") -> LogMessage:
    """FRAME as a source named s_net received it at the recording's instant."""
    return Parser(protocol, "s_net").parse(frame, peer, RECEIVED_NS)
