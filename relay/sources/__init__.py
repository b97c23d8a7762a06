"""Sources: where syslog enters.  One module per kind; framing and parsing are not here.

Every source owns a ``SourceRuntime``: the parser for its protocol, the router the
pipeline compiled for it, and its counters.  A transport only takes bytes off the
socket, stamps the receive time (the wall clock, at receipt) and hands frames on.
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
                 route: Callable[[LogMessage], None], flow: FlowControl):
        self.config = config
        self.name = config.name
        self.parser = parser
        self.route = route
        self.flow = flow
        self.max_msg_size = config.max_msg_size
        self.received = 0
        self.errors = 0
        self.truncated = 0
        self.dropped = 0

    def deliver(self, frames: list[bytes], peer: Peer) -> None:
        """Parse and route a batch of frames that arrived together."""
        recvd_ns = time.time_ns()
        parse = self.parser.parse
        route = self.route
        for frame in frames:
            try:
                route(parse(frame, peer, recvd_ns))
            except Exception:  # a bad message is counted and logged, never fatal
                self.errors += 1
                log.exception("source %s: failed to process a message from %s",
                              self.name, peer.source_ip or "local")
        self.received += len(frames)

    def deliver_one(self, frame: bytes, peer: Peer) -> None:
        if len(frame) > self.max_msg_size:
            frame = frame[: self.max_msg_size]
            self.truncated += 1
        try:
            self.route(self.parser.parse(frame, peer, time.time_ns()))
        except Exception:
            self.errors += 1
            log.exception("source %s: failed to process a message from %s",
                          self.name, peer.source_ip or "local")
        self.received += 1
