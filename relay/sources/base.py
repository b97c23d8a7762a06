"""What every source shares: its runtime (parser, router, counters) and the Listener shape.

A transport only takes bytes off the socket, stamps the receive time (the wall clock, at
receipt) and hands frames on, a batch at a time: all that one read returned.  After a
batch the destinations are told, so that they write once per batch rather than once per
message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from relay.config import SourceConfig
from relay.flow import FlowControl
from relay.message import LogMessage
from relay.parse import Parser, Peer

log = logging.getLogger("relay")


class Listener(Protocol):
    """A started source, whatever its kind."""

    #: what it listens on, as printed at start ("udp://127.0.0.1:5514")
    addresses: list[str]

    def close(self) -> None:
        """Stop taking new peers; a datagram socket is first read empty, so nothing that
        reached it is lost.  Connected peers are drained by the server afterwards."""

    async def wait_closed(self) -> None:
        """After the drain: stop what still reads (stdin) and wait, briefly, until closed."""


class Connection(Protocol):
    """A connected peer of a stream source, as the server drains it at shutdown."""

    transport: asyncio.Transport | None
    runtime: SourceRuntime


async def _nothing_to_wait_for() -> None:
    return None


class SourceRuntime:
    """What every transport of one [[source]] shares."""

    def __init__(self, config: SourceConfig, parser: Parser,
                 route: Callable[[LogMessage], None], flow: FlowControl,
                 end_batch: Callable[[], None] = lambda: None,
                 connections: set[Connection] | None = None):
        self.config = config
        self.name = config.name
        self.parser = parser
        self.route = route
        self.flow = flow
        self.end_batch = end_batch
        # the connected peers of every stream source of the data path (shared)
        self.connections: set[Connection] = set() if connections is None else connections
        # called when the source ends by itself (end of stdin)
        self.ended: Callable[[], None] = lambda: None
        # waits until every destination this source routes to has written what it was
        # given so far (a nats source acknowledges a batch only then)
        self.barrier: Callable[[], Awaitable[None]] = _nothing_to_wait_for
        self.max_msg_size = config.max_msg_size
        self.received = 0
        self.errors = 0
        self.truncated = 0
        self.dropped = 0  # datagrams the kernel dropped (UDP cannot be paused)

    def deliver(self, frames: Sequence[bytes], peers: Iterable[Peer]) -> None:
        """Parse and route a batch of frames that arrived together, each from its peer
        (a stream passes ``itertools.repeat(peer)``)."""
        recvd_ns = time.time_ns()
        parse = self.parser.parse
        route = self.route
        for frame, peer in zip(frames, peers, strict=False):  # peers may be repeat(peer)
            try:
                route(parse(frame, peer, recvd_ns))
            except Exception:  # a bad message is counted and logged, never fatal
                self.errors += 1
                log.exception("source %s: failed to process a message from %s", self.name,
                              peer.source_ip or "local")
        self.received += len(frames)
        self.end_batch()
