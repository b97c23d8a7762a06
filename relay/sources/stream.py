"""The stream protocol shared by TCP, TLS and unix-stream sources.

Bytes go through relay.framing (octet counting or newlines, decided by the first byte)
and the frames of one read are parsed and routed as one batch.  Reading pauses while a
destination is congested (relay.flow).  A framing error closes that connection only.

A new connection is first admitted (SourceRuntime.admit: ``allow``, ``max_connections``)
or closed before any byte of it is read.  With ``idle_timeout``, one timer per
connection closes it after that many seconds of silence; a read only notes the time, and
the timer, when it fires, moves itself to the last read's deadline.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from itertools import repeat
from typing import cast

from relay.errors import ParseError
from relay.framing import StreamFramer
from relay.parse import Peer, local_peer
from relay.sources.base import SourceRuntime, log


class StreamListener:
    """A stream server (TCP, TLS, unix-stream) as a Listener."""

    def __init__(self, server: asyncio.AbstractServer, addresses: list[str]):
        self.server = server
        self.addresses = addresses

    def close(self) -> None:
        self.server.close()

    async def wait_closed(self) -> None:
        try:
            await asyncio.wait_for(self.server.wait_closed(), 0.5)
        except TimeoutError:
            pass


class StreamProtocol(asyncio.Protocol):
    def __init__(self, runtime: SourceRuntime):
        self.runtime = runtime
        self.connections = runtime.connections
        self.framer = StreamFramer(runtime.max_msg_size)
        self.transport: asyncio.Transport | None = None
        self.peer = Peer("", "", 0)
        self.counted = False  # in runtime.active
        # set on every message of the connection, over what the sender wrote (TLS)
        self.pairs: dict[str, str] | None = None
        self.drop: tuple[str, ...] = ()  # and these names removed
        self._idle: asyncio.TimerHandle | None = None
        self._heard = 0.0  # loop time of the last read, while idle_timeout is on
        self._clock: Callable[[], float] = time.monotonic

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.admit(transport):
            # uvloop's transports are not asyncio.Transport subclasses, but behave as one
            self.serve(cast(asyncio.Transport, transport))

    def admit(self, transport: asyncio.BaseTransport) -> bool:
        """Count the new connection in, or close it at once (allow, max_connections)."""
        self.peer = peer_of(transport)
        if not self.runtime.admit(self.peer.source_ip):
            cast(asyncio.Transport, transport).abort()
            return False
        self.counted = True
        return True

    def serve(self, transport: asyncio.Transport) -> None:
        """Start reading TRANSPORT: the connection, or the TLS session over it."""
        self.transport = transport
        self.connections.add(self)
        self.runtime.flow.register(transport)
        if self.runtime.config.idle_timeout:
            loop = asyncio.get_running_loop()
            self._clock = loop.time
            self._heard = loop.time()
            self._idle = loop.call_at(self._heard + self.runtime.config.idle_timeout,
                                      self._check_idle)

    def _check_idle(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        loop = asyncio.get_running_loop()
        if self.runtime.flow.paused:  # silent because the relay is not reading it
            self._heard = loop.time()
        deadline = self._heard + self.runtime.config.idle_timeout
        if deadline > loop.time():
            self._idle = loop.call_at(deadline, self._check_idle)
            return
        self._idle = None
        self.runtime.idle_closed += 1
        self.runtime.refusals.warn("source %s: closing connection from %s: silent for %gs",
                                   self.runtime.name, self.peer.source_ip or "local",
                                   self.runtime.config.idle_timeout)
        self.eof_received()  # what it sent without a final newline is a message too
        transport.close()

    def data_received(self, data: bytes) -> None:
        if self._idle is not None:
            self._heard = self._clock()
        try:
            frames = self.framer.feed(data)
        except ParseError as exc:
            self.runtime.errors += 1
            log.warning("source %s: closing connection from %s: %s", self.runtime.name,
                        self.peer.source_ip or "local", exc)
            if self.transport is not None:
                self.transport.close()
            return
        if frames:
            self.deliver(frames)

    def eof_received(self) -> bool:
        frames = self.framer.close()
        if frames:
            self.deliver(frames)
        return False

    def deliver(self, frames: list[bytes]) -> None:
        if self.pairs is None:
            self.runtime.deliver(frames, repeat(self.peer))
        else:
            self.runtime.deliver_pairs(frames, repeat(self.peer), self.pairs, self.drop)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.counted:
            self.counted = False
            self.runtime.release()
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        self.runtime.truncated += self.framer.truncated
        self.framer.truncated = 0
        self.connections.discard(self)
        if self.transport is not None:
            self.runtime.flow.unregister(self.transport)


def peer_of(transport: asyncio.BaseTransport) -> Peer:
    sock = transport.get_extra_info("socket")
    family = sock.family if sock is not None else socket.AF_UNIX
    if family in (socket.AF_INET, socket.AF_INET6):
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        host = str(peer[0])
        return Peer(host, host, 6, str(local[0]), int(local[1]))
    return local_peer()
