"""The listening side of the sources the workers serve, in the main process.

A UDP source is bound once; the first worker reads that socket, the others in turn while
it asks for help (relay.workers.proxy.WorkerTurns), and the main process writes their
batches in the order they were read.  A TCP
source is bound once: the main process accepts, admits (``allow``, ``max_connections``,
the count shared with the workers) and hands each connection to the least busy worker,
so that 8 connections are 4 and 4, which the kernel's hash of SO_REUSEPORT does not
promise.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from relay.config import SourceConfig
from relay.flow import FlowControl
from relay.sources.base import SourceRuntime
from relay.sources.shared import SharedCount
from relay.sources.udp import set_rcvbuf

log = logging.getLogger("relay")


def bind(source: SourceConfig, count: int) -> list[socket.socket]:
    """COUNT sockets on the address of SOURCE, in one SO_REUSEPORT group."""
    listen = source.listen
    kind = socket.SOCK_STREAM if listen.scheme == "tcp" else socket.SOCK_DGRAM
    family, _, _, _, address = socket.getaddrinfo(listen.host, listen.port, type=kind,
                                                  flags=socket.AI_PASSIVE)[0]
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, kind)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if kind == socket.SOCK_DGRAM:
                set_rcvbuf(sock, source.so_rcvbuf)
            sock.bind(address)
            address = sock.getsockname()  # port 0: the others take the port it got
            if kind == socket.SOCK_STREAM:
                sock.listen(1024)
                sock.setblocking(False)
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


def address_of(source: SourceConfig, sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"{source.listen.scheme}://{host}:{port}"


class PoolListener:
    """A source the workers serve, as the main process's Listener.  A TCP source's
    connections are accepted here, admitted (``allow``, ``max_connections``) and handed
    to the least busy worker; a UDP source's sockets are read by the workers."""

    def __init__(self, config: SourceConfig, socks: list[socket.socket], flow: FlowControl,
                 active: SharedCount, hand: Callable[[str, socket.socket], bool]):
        self.hand = hand
        self.name = config.name
        self.addresses = [address_of(config, socks[0])]
        self.sock: socket.socket | None = None
        self.accepts = False
        if config.listen.scheme == "tcp":
            self.sock = socks[0]
            # the main process's own counters of the source: those it refused
            self.gate = SourceRuntime(config, None, lambda _: None, flow)  # type: ignore[arg-type]
            self.gate.shared_active = active
            self.loop = asyncio.get_running_loop()

    def accepting(self) -> None:
        """The workers know the source: accept (the kernel holds connections until then)."""
        if self.sock is not None and not self.accepts:
            self.accepts = True
            self.loop.add_reader(self.sock.fileno(), self._accept)

    def _accept(self) -> None:
        assert self.sock is not None
        for _ in range(64):
            try:
                conn, peer = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of descriptors: try again at the next wakeup
                log.warning("source %s: accepting: %s", self.name, exc)
                return
            host = str(peer[0]) if isinstance(peer, tuple) else ""
            if not self.gate.admit(host):
                conn.close()
                continue
            if not self.hand(self.name, conn):
                self.gate.release()
            conn.close()  # the worker has its own copy now

    def close(self) -> None:
        """Stop accepting; the workers drain their connections when told to stop."""
        if self.sock is not None:
            if self.accepts:
                self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    async def wait_closed(self) -> None:
        pass
