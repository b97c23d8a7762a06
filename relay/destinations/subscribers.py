"""The subscribers destination: a live feed of JSON lines to any number of TCP clients.

Every connected client gets the template output of every message that reaches this
destination.  A client may send a line holding a filter expression (the pipeline's
filter language); from then on it only gets what passes it.  An empty line clears it; a
bad expression gets one ``error: ...`` line back and the old filter stays.

A subscriber never exerts backpressure: each client has a bounded buffer; when it is
full the client's messages are dropped and counted, and a client that stays full for
``stall_timeout`` seconds is disconnected.  So a client that never reads blocks nobody.

What a client sends is only ever parsed by the filter parser, never evaluated, and a
filter line is bounded: one longer than MAX_FILTER_LINE gets an ``error:`` line and the
connection is closed, with no more of it buffered.  With ``listen = "tls://..."`` clients
connect over TLS (with ``tls_ca``, only those whose certificate it signed); SIGHUP reads
the certificate and key again for the clients that come next.

With worker processes (relay.workers) the clients stay here, and the workers filter and
render: the distinct expressions in use (``groups``, clients.Groups) go to every worker
through ``on_groups`` whenever they change, and ``deliver`` hands the lines a worker sent,
each with the groups it passed, to the clients whose expression that is.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from typing import cast

from relay.config import SubscribersConfig
from relay.destinations.base import Destination, Filter, Render, log
from relay.destinations.clients import Admission, ClientBuffer, Groups, compile_client_filter
from relay.flow import FlowControl
from relay.message import FLAG_LOCAL, LogMessage
from relay.sources.tls import server_context

MAX_FILTER_LINE = 64 * 1024
FLUSH_AT = 64 * 1024  # bytes pending for one client that are written at once


class Subscriber(asyncio.Protocol, ClientBuffer):
    def __init__(self, owner: SubscribersDestination):
        ClientBuffer.__init__(self)
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.filter: Callable[[LogMessage], bool] | None = None
        self.expr = ""  # the text of that filter ("" for none)
        self.sent = 0
        self._inbuf = bytearray()  # a filter line, until its newline comes
        self.peer = ""
        self.addr = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.addr = str(peer[0]) if isinstance(peer, tuple) else "local"
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "local"
        if not self.owner.admit(self):
            self.transport.abort()
            return
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.owner.clients.add(self)
        self.owner.regroup()

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.clients.discard(self)
        self.pending.clear()
        self.owner.regroup()

    def data_received(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        buf = self._inbuf
        scan = len(buf)  # what is already buffered holds no newline
        buf += data
        start = 0
        while (end := buf.find(b"\n", scan)) >= 0:
            if end - start > MAX_FILTER_LINE:
                self.too_long()
                return
            self.set_filter(buf[start:end].decode("utf-8", "replace").strip())
            start = scan = end + 1
        if len(buf) - start > MAX_FILTER_LINE:
            self.too_long()
            return
        del buf[:start]

    def too_long(self) -> None:
        self._inbuf.clear()
        log.warning("destination %s: closing subscriber %s: a filter line is longer than "
                    "%d bytes", self.owner.name, self.peer, MAX_FILTER_LINE)
        self.reply(b"error: filter line longer than %d bytes\n" % MAX_FILTER_LINE)
        if self.transport is not None:
            self.transport.close()

    def set_filter(self, expr: str) -> None:
        if not expr:
            self.filter = None
            self.expr = ""
            self.owner.regroup()
            log.info("destination %s: subscriber %s cleared its filter", self.owner.name,
                     self.peer)
            return
        try:
            self.filter = compile_client_filter(expr, self.owner.named_filters)
        except Exception as exc:  # a bad expression must never drop the connection
            self.reply(f"error: {exc}\n".encode())
            return
        self.expr = expr
        self.owner.regroup()
        log.info("destination %s: subscriber %s filters with %s", self.owner.name, self.peer,
                 expr)

    def reply(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def push(self, data: bytes, now: float, lines: int = 1) -> bool:
        """Take DATA (LINES lines) for the client, or drop it (False)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        if not self.offer(data, now, transport.get_write_buffer_size(),
                          self.owner.buffer_bytes, lines):
            return False
        if self.pending_size >= FLUSH_AT:
            # uvloop can run many reads before a call_soon callback: do not wait for it
            self.flush()
        return True

    def flush(self) -> None:
        lines = self.pending_lines
        pending = self.take()
        if pending and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(pending))
            self.sent += lines


class SubscribersDestination(Destination[SubscribersConfig]):
    def __init__(self, config: SubscribersConfig, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self.clients: set[Subscriber] = set()
        self.buffer_bytes = config.buffer_bytes
        self.admission = Admission(config.max_clients, config.allow)
        self.server: asyncio.AbstractServer | None = None
        self.tls: ssl.SSLContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reaper: asyncio.TimerHandle | None = None
        self.disconnected_stalled = 0
        self.groups = Groups()
        #: told of every change of ``groups`` (by the worker pool, which passes it on)
        self.on_groups: Callable[[SubscribersDestination], None] | None = None

    async def start(self) -> list[str]:
        loop = self._loop = asyncio.get_running_loop()
        listen = self.config.listen
        assert listen is not None
        if listen.scheme == "unix-stream":
            self.server = await loop.create_unix_server(lambda: Subscriber(self), listen.path)
            addresses = [str(listen)]
        else:
            if listen.scheme == "tls":
                self.tls = self._tls_context()
            self.server = await loop.create_server(lambda: Subscriber(self), listen.host,
                                                   listen.port, reuse_address=True,
                                                   ssl=self.tls)
            addresses = []
            for sock in self.server.sockets:
                host, port = sock.getsockname()[:2]
                addresses.append(f"{listen.scheme}://{host}:{port}")
        self._reaper = loop.call_later(1.0, self._reap)
        return addresses

    def _tls_context(self) -> ssl.SSLContext:
        c = self.config
        return server_context(c.tls_cert, c.tls_key, c.tls_ca,
                              "required" if c.tls_ca else "none")

    def reopen(self) -> None:
        """SIGHUP: read the TLS certificate and key again (checked first in a new
        context, so that a bad file leaves the old ones in use)."""
        if self.tls is None:
            return
        try:
            self._tls_context()
            self.tls.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        except (OSError, ssl.SSLError) as exc:
            log.error("destination %s: cannot reload the TLS certificate, keeping the old "
                      "one: %s", self.name, exc)
            return
        log.info("destination %s: TLS certificate reloaded", self.name)

    def admit(self, client: Subscriber) -> bool:
        reason = self.admission.refusal(client.addr, len(self.clients))
        if reason is not None:
            log.warning("destination %s: refusing %s: %s", self.name, client.peer, reason)
        return reason is None

    @property
    def refused(self) -> int:
        return self.admission.refused

    def idle(self) -> Callable[[], bool] | None:
        clients = self.clients
        return lambda: not clients  # (send renders nothing with no subscriber)

    def send(self, msg: LogMessage) -> None:
        if msg.flags & FLAG_LOCAL:
            self.number(msg)
        if not self.clients:
            return
        data = self.render(msg)
        now = 0.0
        for client in self.clients:
            if client.filter is not None and not client.filter(msg):
                continue
            if not client.push(data, now or (now := time.monotonic())):
                self.dropped += 1
        self.written += 1

    def regroup(self) -> None:
        """A client came, went or changed its filter: a new version of the groups, if
        that changed the expressions in use."""
        if self.groups.update(c.expr for c in self.clients) and self.on_groups is not None:
            self.on_groups(self)

    def deliver(self, version: int, offered: int, runs: list[tuple[int, int, bytes]]) -> None:
        """RUNS of lines from a worker, each (mask of the groups of VERSION they passed,
        lines, bytes); OFFERED messages were looked at for them.  The clients flush at
        the end."""
        exprs = self.groups.of(version)
        if exprs is None or not self.clients:
            return
        targets = [[c for c in self.clients if c.expr == expr] for expr in exprs]
        now = time.monotonic()
        for mask, lines, data in runs:
            for group, clients in enumerate(targets):
                if mask >> group & 1:
                    for client in clients:
                        if not client.push(data, now, lines):
                            self.dropped += lines
        self.written += offered
        self.end_batch()

    def end_batch(self) -> None:
        for client in self.clients:
            if client.pending:
                client.flush()

    async def flushed(self) -> None:
        """A line sent is in each client's buffer already: nothing to wait for."""

    def queued(self) -> int:
        return sum(c.pending_size + (c.transport.get_write_buffer_size() if c.transport else 0)
                   for c in self.clients)

    def _reap(self) -> None:
        now = time.monotonic()
        for client in list(self.clients):
            if client.stalled(now, self.config.stall_timeout):
                self.disconnected_stalled += 1
                log.warning("destination %s: disconnecting %s: stalled for %.0fs, %d dropped",
                            self.name, client.peer, now - client.full_since, client.dropped)
                if client.transport is not None:
                    client.transport.abort()
        assert self._loop is not None
        self._reaper = self._loop.call_later(1.0, self._reap)

    async def stop(self) -> None:
        self.end_batch()
        if self._reaper is not None:
            self._reaper.cancel()
        if self.server is not None:
            self.server.close()
        for client in list(self.clients):
            if client.transport is not None:
                client.transport.close()
        if self.server is not None:
            try:
                await asyncio.wait_for(self.server.wait_closed(), 1.0)
            except TimeoutError:
                pass
