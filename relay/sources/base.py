"""What every source shares: its runtime (parser, router, counters) and the Listener shape.

A transport only takes bytes off the socket, stamps the receive time (the wall clock, at
receipt) and hands frames on, a batch at a time: all that one read returned.  After a
batch the destinations are told, so that they write once per batch rather than once per
message.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from relay.config import SourceConfig
from relay.facts.allow import AllowList
from relay.flow import FlowControl
from relay.message import LogMessage
from relay.parse import Parser, Peer
from relay.parse.shape import Many
from relay.sources.shared import SharedCount

#: SourceRuntime.direct: the batch reader (relay.parse.shape.direct_readers: frames'
#: lines into the sink, the others to a callback); the sink; and whether the direct way
#: may be taken for the next batch (None: always)
Direct = tuple[Many, Callable[[bytes], None], Callable[[], bool] | None]

log = logging.getLogger("relay")
#: batches that take the message path after one whose frames were mostly of no shape the
#: direct way reads (RFC 5424 with structured data, say), before it is tried again
DIRECT_REST = 8
# Frames parsed and rendered before their lines are joined and handed on: a full read of a
# stream is thousands of lines, and rendering them all before joining any takes them out
# of the CPU's cache (in-process, 2,300 lines of a 256 KiB read cost a fifth more a line
# than the same lines 512 at a time)
SLICE = 512


class Turns(Protocol):
    """How the workers share one UDP socket (relay.workers): one reads at a time, and each
    batch it read gets the next number, by which the main process puts the batches back
    in the order they were read."""

    #: the socket's first reader (relay.sources.udp.ReadShare), which the others help
    first: bool

    def lock(self) -> None: ...

    def unlock(self) -> None:
        """(after ``take`` when the read found datagrams)"""

    def beat(self, now: float, help_wanted: bool) -> None:
        """(the first reader) It read at NOW, and does (not) want help."""

    def reader(self) -> tuple[float, bool]:
        """When the first reader last read, and whether it wants help."""

    def take(self) -> int:
        """The batch just read: its number."""

    def deliver(self, number: int, deliver: Callable[[], None]) -> None:
        """Run DELIVER (parse, route, render the batch), its lines tagged with NUMBER."""


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
        #: a datagram source: it cannot be paused (FlowControl.datagrams)
        self.datagram = config.listen.scheme in ("udp", "unix-dgram")
        self.end_batch = end_batch
        #: (render, sink, ready) when every message of this source goes, unchanged, to
        #: one destination that takes lines (and to others only while ``ready()`` says
        #: they would do nothing with it): ``render`` gives a frame's line without making
        #: its message (None for the frames it cannot), ``sink`` takes the line in place
        #: of ``route``
        self.direct: Direct | None = None
        self._direct_rest = 0  # batches still to take the message path (_deliver_direct)
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
        # everything this source dropped: datagrams the kernel dropped for a full buffer
        # (UDP cannot be paused), and every peer turned away (the three counters below)
        self.dropped = 0
        self.denied = 0  # connections and datagrams from outside ``allow``
        self.over_limit = 0  # connections closed at once: max_connections were open
        self.tls_refused = 0  # TLS handshakes that failed (no or a bad client certificate)
        self.idle_closed = 0  # connections closed after idle_timeout seconds of silence
        self.active = 0  # connections of this source open now
        self.allow = AllowList(config.allow)
        self.refusals = Throttle()
        #: a socket bound for this source elsewhere (a worker process is handed its
        #: share of the port): the source listens on it rather than binding its own
        self.listen_socket: socket.socket | None = None
        #: the count of open connections shared with the other workers (relay.workers),
        #: so that max_connections holds for the source as a whole
        self.shared_active: SharedCount | None = None
        #: a worker's stream source: its connections were admitted by the main process
        self.admitted_elsewhere = False
        #: a worker's UDP source: the socket is shared with the other workers
        self.turns: Turns | None = None
        #: whether this process counts the datagrams the kernel dropped (one per socket)
        self.counts_kernel_drops = True

    def admit(self, host: str) -> bool:
        """Whether a new connection from HOST may stay: it is in ``allow`` and fewer than
        max_connections are open.  A refusal is counted and logged (at most once a second)."""
        if self.admitted_elsewhere:  # the main process admitted it and handed it over
            self.active += 1
            return True
        if not self.allow(host):
            self.refuse("denied", "refusing %s: not in allow", host)
            return False
        shared = self.shared_active
        if (self.active >= self.config.max_connections if shared is None
                else not shared.take(self.config.max_connections)):
            self.refuse("over_limit", "refusing %s: max_connections (%d) are open", host,
                        self.config.max_connections)
            return False
        self.active += 1
        return True

    def release(self) -> None:
        """An admitted connection closed."""
        self.active -= 1
        if self.shared_active is not None:
            self.shared_active.give_back()

    def refuse(self, counter: str, why: str, *args: object) -> None:
        """Count a peer turned away in COUNTER (and in dropped), and log WHY."""
        setattr(self, counter, getattr(self, counter) + 1)
        self.dropped += 1
        self.refusals.warn("source %s: " + why, self.name, *args)

    def deliver_pairs(self, frames: Sequence[bytes], peers: Iterable[Peer],
                      pairs: dict[str, str], drop: tuple[str, ...] = ()) -> None:
        """deliver(), then PAIRS set on every message (and the names in DROP removed), over
        what the sender wrote: what the transport knows of the peer (a TLS client's
        certificate), which the sender cannot forge."""
        recvd_ns = time.time_ns()
        parse = self.parser.parse
        route = self.route
        for frame, peer in zip(frames, peers, strict=False):
            try:
                msg = parse(frame, peer, recvd_ns)
                for name in drop:
                    msg.values.pop(name, None)
                msg.values.update(pairs)
                route(msg)
            except Exception:  # a bad message is counted and logged, never fatal
                self._failed(peer)
        self.received += len(frames)
        self.end_batch()

    def deliver(self, frames: Sequence[bytes], peers: Iterable[Peer]) -> None:
        """Parse and route a batch of frames that arrived together, each from its peer
        (a stream passes ``itertools.repeat(peer)``), SLICE frames at a time, each slice
        ended (its lines joined and handed on) before the next is parsed."""
        recvd_ns = time.time_ns()
        flow = self.flow
        flow.datagrams = self.datagram
        try:
            if len(frames) <= SLICE:
                self._deliver(frames, peers, recvd_ns)
                return
            peers = iter(peers)  # (each slice takes its own peers from it)
            for at in range(0, len(frames), SLICE):
                self._deliver(frames[at:at + SLICE], peers, recvd_ns)
        finally:
            flow.datagrams = False

    def _deliver(self, frames: Sequence[bytes], peers: Iterable[Peer], recvd_ns: int) -> None:
        direct = self.direct
        if direct is not None and (direct[2] is None or direct[2]()):
            if not self._direct_rest:
                self._deliver_direct(frames, peers, recvd_ns, direct[0], direct[1])
                return
            self._direct_rest -= 1
        parse = self.parser.parse
        route = self.route
        for frame, peer in zip(frames, peers, strict=False):  # peers may be repeat(peer)
            try:
                route(parse(frame, peer, recvd_ns))
            except Exception:  # a bad message is counted and logged, never fatal
                self._failed(peer)
        self.received += len(frames)
        self.end_batch()

    def _deliver_direct(self, frames: Sequence[bytes], peers: Iterable[Peer], recvd_ns: int,
                        many: Many, sink: Callable[[bytes], None]) -> None:
        """deliver(), each frame rendered straight into the destination where it can be.
        A frame of another shape is read twice (by ``many``, then by the parser): after
        a batch of mostly such frames, the next DIRECT_REST batches take the message path."""
        parse = self.parser.parse
        route = self.route

        def other(frame: bytes, peer: Peer) -> None:
            route(parse(frame, peer, recvd_ns))

        missed = many(frames, peers, recvd_ns, sink, other, self._failed)
        if missed * 2 > len(frames):
            self._direct_rest = DIRECT_REST
        self.received += len(frames)
        self.end_batch()

    def _failed(self, peer: Peer) -> None:
        """A message that raised (while an exception is being handled): counted, logged."""
        self.errors += 1
        log.exception("source %s: failed to process a message from %s", self.name,
                      peer.source_ip or "local")


class Throttle:
    """A warning logged at most once a second; those held back are counted in the next."""

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self.next_at = 0.0
        self.held = 0

    def warn(self, fmt: str, *args: object) -> None:
        now = time.monotonic()
        if now < self.next_at:
            self.held += 1
            return
        if self.held:
            fmt += " (and %d more not logged)"
            args = (*args, self.held)
        log.warning(fmt, *args)
        self.held = 0
        self.next_at = now + self.interval
