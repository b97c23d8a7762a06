"""The unix-socket sources: unix-stream (framed like TCP) and unix-dgram (like UDP)."""

from __future__ import annotations

import asyncio
import os
import socket
import stat

from relay.parse import local_peer
from relay.sources import SourceRuntime, log
from relay.sources.stream import StreamProtocol


def _clear_stale(path: str) -> None:
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


class UnixDgramProtocol(asyncio.DatagramProtocol):
    def __init__(self, runtime: SourceRuntime):
        self.runtime = runtime
        self.peer = local_peer()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not data:
            return
        self.runtime.deliver_datagrams([(data[: self.runtime.max_msg_size], self.peer)])

    def error_received(self, exc: Exception) -> None:
        log.warning("source %s: %s", self.runtime.name, exc)


async def start_unix(runtime: SourceRuntime, connections: set[StreamProtocol]
                     ) -> tuple[asyncio.AbstractServer | asyncio.BaseTransport, list[str]]:
    listen = runtime.config.listen
    loop = asyncio.get_running_loop()
    _clear_stale(listen.path)
    if listen.scheme == "unix-stream":
        server = await loop.create_unix_server(
            lambda: StreamProtocol(runtime, connections), listen.path)
        os.chmod(listen.path, 0o666)
        return server, [str(listen)]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(listen.path)
    os.chmod(listen.path, 0o666)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, max(runtime.config.so_rcvbuf, 0))
    except OSError:
        pass
    sock.setblocking(False)
    transport, _ = await loop.create_datagram_endpoint(lambda: UnixDgramProtocol(runtime),
                                                       sock=sock)
    return transport, [str(listen)]
