"""The stream protocol shared by TCP, TLS and unix-stream sources.

Bytes go through relay.framing (octet counting or newlines, decided by the first byte)
and the frames of one read are parsed and routed as one batch.  Reading pauses while a
destination is congested (relay.flow).  A framing error closes that connection only.
"""

from __future__ import annotations

import asyncio
import socket
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

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one
        self.transport = cast(asyncio.Transport, transport)
        self.peer = peer_of(transport)
        self.connections.add(self)
        self.runtime.flow.register(self.transport)

    def data_received(self, data: bytes) -> None:
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
            self.runtime.deliver(frames, repeat(self.peer))

    def eof_received(self) -> bool:
        frames = self.framer.close()
        if frames:
            self.runtime.deliver(frames, repeat(self.peer))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.runtime.truncated += self.framer.truncated
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
