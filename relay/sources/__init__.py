"""Sources: where syslog enters.  One module per kind; framing and parsing are not here.

Every source owns a ``SourceRuntime``: the parser for its protocol, the router the
pipeline compiled for it, and its counters.  A transport only takes bytes off the
socket, stamps the receive time (the wall clock, at receipt) and hands frames on, a
batch at a time: all that one read returned.  After a batch the destinations are told,
so that they write once per batch rather than once per message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from relay.config import SourceConfig
from relay.flow import FlowControl
from relay.message import LogMessage
from relay.parse import Parser, Peer

log = logging.getLogger("relay")


class SourceRuntime:
    """What every transport of one [[source]] shares."""

    def __init__(self, config: SourceConfig, parser: Parser,
                 route: Callable[[LogMessage], None], flow: FlowControl,
                 end_batch: Callable[[], None] = lambda: None):
        self.config = config
        self.name = config.name
        self.parser = parser
        self.route = route
        self.flow = flow
        self.end_batch = end_batch
        self.max_msg_size = config.max_msg_size
        self.received = 0
        self.errors = 0
        self.truncated = 0
        self.dropped = 0  # datagrams the kernel dropped (UDP cannot be paused)

    def deliver(self, frames: list[bytes], peer: Peer) -> None:
        """Parse and route a batch of frames that arrived together from one peer."""
        recvd_ns = time.time_ns()
        parse = self.parser.parse
        route = self.route
        start = 0
        while start < len(frames):
            i = start
            try:
                for i in range(start, len(frames)):
                    route(parse(frames[i], peer, recvd_ns))
                break
            except Exception:  # a bad message is counted and logged, never fatal
                self._failed(peer)
                start = i + 1
        self.received += len(frames)
        self.end_batch()

    def deliver_datagrams(self, datagrams: list[tuple[bytes, Peer]]) -> None:
        """Parse and route a batch of datagrams, each with its own peer."""
        recvd_ns = time.time_ns()
        parse = self.parser.parse
        route = self.route
        for frame, peer in datagrams:
            try:
                route(parse(frame, peer, recvd_ns))
            except Exception:  # a bad message is counted and logged, never fatal
                self._failed(peer)
        self.received += len(datagrams)
        self.end_batch()

    def _failed(self, peer: Peer) -> None:
        self.errors += 1
        log.exception("source %s: failed to process a message from %s", self.name,
                      peer.source_ip or "local")
