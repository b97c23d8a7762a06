"""The UDP source: one datagram is one message.  UDP cannot be paused, so it never blocks."""

from __future__ import annotations

import asyncio
import socket

from relay.parse import Peer
from relay.sources import SourceRuntime, log


class UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, runtime: SourceRuntime, dest_ip: str, dest_port: int):
        self.runtime = runtime
        self.dest_ip = dest_ip
        self.dest_port = dest_port
        self.peers: dict[str, Peer] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if not data:  # syslog-ng ignores empty datagrams too
            return
        host = str(addr[0])
        peer = self.peers.get(host)
        if peer is None:
            if len(self.peers) > 4096:
                self.peers.clear()
            peer = self.peers[host] = Peer(host, host, 17, self.dest_ip, self.dest_port)
        self.runtime.deliver_one(data, peer)

    def error_received(self, exc: Exception) -> None:
        log.warning("source %s: %s", self.runtime.name, exc)


async def start_udp(runtime: SourceRuntime) -> tuple[asyncio.BaseTransport, list[str]]:
    listen = runtime.config.listen
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _set_rcvbuf(sock, runtime.config.so_rcvbuf)
        sock.bind((listen.host, listen.port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    host, port = sock.getsockname()[:2]
    transport, _ = await loop.create_datagram_endpoint(
        lambda: UdpProtocol(runtime, host, port), sock=sock)
    return transport, [f"udp://{host}:{port}"]


def _set_rcvbuf(sock: socket.socket, size: int) -> None:
    if size <= 0:
        return
    try:  # SO_RCVBUFFORCE passes rmem_max when we may; fall back to the capped request
        sock.setsockopt(socket.SOL_SOCKET, 33, size)  # SO_RCVBUFFORCE
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
