"""The UDP source: one datagram is one message.  UDP cannot be paused, so it never blocks.

The socket is read in a tight loop while it has datagrams (up to a batch), and the
batch is parsed and routed together; a large receive buffer absorbs bursts meanwhile.
A datagram longer than max_msg_size is cut there, like syslog-ng's log-msg-size().
"""

from __future__ import annotations

import asyncio
import os
import socket

from relay.parse import Peer
from relay.sources import SourceRuntime, log

BATCH = 256  # datagrams read before they are processed


class UdpReader:
    def __init__(self, runtime: SourceRuntime, sock: socket.socket):
        self.runtime = runtime
        self.sock = sock
        host, port = sock.getsockname()[:2]
        self.dest_ip = str(host)
        self.dest_port = int(port)
        self.peers: dict[str, Peer] = {}
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(sock.fileno(), self._readable)
        self.closed = False

    def _peer(self, host: str) -> Peer:
        peer = self.peers.get(host)
        if peer is None:
            if len(self.peers) > 4096:
                self.peers.clear()
            peer = self.peers[host] = Peer(host, host, 17, self.dest_ip, self.dest_port)
        return peer

    def _readable(self) -> None:
        recvfrom = self.sock.recvfrom
        size = self.runtime.max_msg_size
        batch: list[tuple[bytes, Peer]] = []
        peers = self.peers
        try:
            for _ in range(BATCH):
                data, addr = recvfrom(size)
                if data:  # syslog-ng ignores empty datagrams too
                    peer = peers.get(addr[0]) or self._peer(addr[0])
                    batch.append((data, peer))
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            log.warning("source %s: %s", self.runtime.name, exc)
        if batch:
            self.runtime.deliver_datagrams(batch)

    def close(self) -> None:
        """Stop: what already waits in the socket's buffer is read first, not lost."""
        if not self.closed:
            self.closed = True
            self.loop.remove_reader(self.sock.fileno())
            before = -1
            while self.runtime.received != before:
                before = self.runtime.received
                self._readable()
            self.runtime.dropped += kernel_drops(self.sock)
            self.sock.close()

    def is_closing(self) -> bool:
        return self.closed


async def start_udp(runtime: SourceRuntime) -> tuple[UdpReader, list[str]]:
    listen = runtime.config.listen
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        set_rcvbuf(sock, runtime.config.so_rcvbuf)
        sock.bind((listen.host, listen.port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    host, port = sock.getsockname()[:2]
    return UdpReader(runtime, sock), [f"udp://{host}:{port}"]


def kernel_drops(sock: socket.socket) -> int:
    """Datagrams the kernel dropped for this socket (its receive buffer was full)."""
    try:
        inode = str(os.fstat(sock.fileno()).st_ino)
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            with open(table) as f:
                for line in f:
                    fields = line.split()
                    if len(fields) > 12 and fields[9] == inode:
                        return int(fields[-1])
    except (OSError, ValueError):
        pass
    return 0


def set_rcvbuf(sock: socket.socket, size: int) -> None:
    if size <= 0:
        return
    try:  # SO_RCVBUFFORCE passes rmem_max when we may; fall back to the capped request
        sock.setsockopt(socket.SOL_SOCKET, 33, size)  # SO_RCVBUFFORCE
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
