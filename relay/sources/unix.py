"""The unix-socket sources: unix-stream (framed like TCP) and unix-dgram (like UDP)."""

from __future__ import annotations

import asyncio
import os
import socket
import stat

from relay.parse import local_peer
from relay.sources.base import SourceRuntime, log
from relay.sources.stream import StreamListener, StreamProtocol


def _clear_stale(path: str) -> None:
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


class UnixDgramProtocol(asyncio.DatagramProtocol):
    """The unix-dgram source: one datagram is one message, from the local host."""

    def __init__(self, runtime: SourceRuntime, addresses: list[str]):
        self.runtime = runtime
        self.peers = (local_peer(),)
        self.addresses = addresses
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not data:
            return
        self.runtime.deliver((data[: self.runtime.max_msg_size],), self.peers)

    def error_received(self, exc: Exception) -> None:
        log.warning("source %s: %s", self.runtime.name, exc)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def wait_closed(self) -> None:
        pass


async def start_stream(runtime: SourceRuntime) -> StreamListener:
    listen = runtime.config.listen
    _clear_stale(listen.path)
    server = await asyncio.get_running_loop().create_unix_server(
        lambda: StreamProtocol(runtime), listen.path)
    os.chmod(listen.path, 0o666)
    return StreamListener(server, [str(listen)])


async def start_dgram(runtime: SourceRuntime) -> UnixDgramProtocol:
    listen = runtime.config.listen
    _clear_stale(listen.path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(listen.path)
    os.chmod(listen.path, 0o666)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, max(runtime.config.so_rcvbuf, 0))
    except OSError:
        pass
    sock.setblocking(False)
    protocol = UnixDgramProtocol(runtime, [str(listen)])
    await asyncio.get_running_loop().create_datagram_endpoint(lambda: protocol, sock=sock)
    return protocol
