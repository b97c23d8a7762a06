"""The web destination: the live feed over HTTP, as Server-Sent Events and a live-tail page.

It sits at the end of the data path, beside the subscribers destination, and shares its
client rules (relay.destinations.clients).  Every line it renders gets the next id (1, 2,
...) and goes into a ring of the last ``ring_lines`` lines, kept with the message so that
a client's filter can still look at it.  ``GET /events`` streams them::

    id: 42
    data: {"PROGRAM":"sshd",...}

A client that reconnects with ``Last-Event-ID: N`` (EventSource does it by itself) or asks
``?since=N`` first gets every line after N still in the ring (after an ``event: gap``
saying how many are gone when N is older than the ring), then the live ones: the replay
is taken and the client registered in one step of the event loop, so nothing is lost or
doubled between the two.  ``?backlog=N`` starts with the ring's last N lines that pass
``?filter=EXPR``.  ``GET /check?filter=EXPR`` says whether an expression compiles (400
with the parser's line and column when not); ``GET /`` is the live-tail page.

Live lines never wait for a client: one that cannot keep up loses lines (counted, and
told in an ``event: dropped`` with its total) and is disconnected after
``stall_timeout``.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from importlib import resources

import orjson
from aiohttp import web

from relay.config import WebConfig
from relay.destinations.base import Destination, Filter, Render, log
from relay.destinations.clients import Admission, ClientBuffer, compile_client_filter
from relay.errors import FilterError
from relay.flow import FlowControl
from relay.message import FLAG_LOCAL, LogMessage

KEEPALIVE = 15.0  # seconds between comments on an idle stream, so proxies keep it open
WRITE_CHUNK = 256 * 1024  # the replay is written in chunks of about this size
PAGE = "live-tail.html"


def ws_event(ident: int, line: bytes) -> bytes:
    """One WebSocket text message for a rendered line: {"id": N, "data": LINE}, the line
    without its newline (bytes that are no UTF-8 become U+FFFD: a text frame is UTF-8)."""
    text = line.rstrip(b"\n").decode("utf-8", "replace")
    return orjson.dumps({"id": ident, "data": text})


def event(ident: int, line: bytes) -> bytes:
    """One SSE event for a rendered line: its newline dropped, inner line breaks kept as
    more data fields (EventSource joins them with a newline)."""
    line = line.rstrip(b"\n")
    if b"\n" in line or b"\r" in line:
        line = line.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\ndata: ")
    return b"id: %d\ndata: %s\n\n" % (ident, line)


class FeedClient(ClientBuffer):
    """One /events stream: its filter, its bounded buffer, and a writer waiting for lines."""

    def __init__(self, peer: str, transport: asyncio.BaseTransport | None,
                 flt: Filter | None, encode: Callable[[int, bytes], bytes] = event):
        super().__init__()
        self.encode = encode  # event (SSE) or ws_event (WebSocket)
        self.peer = peer
        self.transport = transport
        self.filter = flt
        self.wake = asyncio.Event()
        self.closed = False
        self.sent = 0

    def in_transport(self) -> int:
        transport = self.transport
        if transport is None or transport.is_closing():
            return 0
        return transport.get_write_buffer_size()  # type: ignore[attr-defined, no-any-return]

    def close(self) -> None:
        self.closed = True
        self.wake.set()

    def abort(self) -> None:
        self.close()
        if self.transport is not None:
            self.transport.abort()  # type: ignore[attr-defined]


class WebDestination(Destination[WebConfig]):
    def __init__(self, config: WebConfig, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self.ring: deque[tuple[int, LogMessage, bytes]] = deque(maxlen=config.ring_lines)
        self.last_id = 0
        self.clients: set[FeedClient] = set()
        self.admission = Admission(config.max_clients, config.allow)
        self.disconnected_stalled = 0
        self.runner: web.AppRunner | None = None
        self._reaper: asyncio.TimerHandle | None = None

    # -- the data path ---------------------------------------------------------------

    def send(self, msg: LogMessage) -> None:
        if msg.flags & FLAG_LOCAL:
            self.number(msg)
        data = self.render(msg)
        self.last_id = ident = self.last_id + 1
        self.ring.append((ident, msg, data))
        if not self.clients:
            return
        frames: dict[Callable[[int, bytes], bytes], bytes] = {}
        now = 0.0
        limit = self.config.buffer_bytes
        for client in self.clients:
            if client.filter is not None and not client.filter(msg):
                continue
            frame = frames.get(client.encode)
            if frame is None:
                frame = frames[client.encode] = client.encode(ident, data)
            if not client.offer(frame, now or (now := time.monotonic()),
                                client.in_transport(), limit):
                self.dropped += 1
            elif not client.wake.is_set():
                client.wake.set()

    def queued(self) -> int:
        return sum(c.pending_size + c.in_transport() for c in self.clients)

    def replay(self, since: int | None, backlog: int, flt: Filter | None,
               encode: Callable[[int, bytes], bytes] = event) -> list[bytes]:
        """What a new client gets first: the lines after SINCE still in the ring (with a
        gap event for those gone), or else the last BACKLOG lines that pass FLT."""
        out: list[bytes] = []
        if since is not None:
            if since >= self.last_id:
                return out  # up to date (or ids from before a restart: nothing to replay)
            first = self.ring[0][0] if self.ring else self.last_id + 1
            if since < first - 1:
                gone = first - 1 - since
                out.append(b"event: gap\ndata: %d\n\n" % gone if encode is event
                           else b'{"gap":%d}' % gone)
            skip = max(0, since - first + 1)
            for ident, msg, data in list(self.ring)[skip:]:
                if flt is None or flt(msg):
                    out.append(encode(ident, data))
            return out
        if backlog > 0:
            for ident, msg, data in reversed(self.ring):
                if flt is None or flt(msg):
                    out.append(encode(ident, data))
                    if len(out) >= backlog:
                        break
            out.reverse()
        return out

    # -- HTTP ------------------------------------------------------------------------

    async def start(self) -> list[str]:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/events", self._events)
        app.router.add_get("/check", self._check)
        app.router.add_get("/ws", self._ws)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0,
                                    handler_cancellation=True)
        await self.runner.setup()
        context = None
        if self.config.tls_cert:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        site = web.TCPSite(self.runner, self.config.host, self.config.port,
                           ssl_context=context, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await self.stop()
            raise
        self._reaper = asyncio.get_running_loop().call_later(1.0, self._reap)
        scheme = "https" if context is not None else "http"
        addresses = []
        for address in self.runner.addresses:
            host, port = address[:2]
            addresses.append(f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}")
        return addresses

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for client in list(self.clients):
            client.close()
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.cleanup()

    def _reap(self) -> None:
        now = time.monotonic()
        for client in list(self.clients):
            if client.stalled(now, self.config.stall_timeout):
                self.disconnected_stalled += 1
                log.warning("destination %s: disconnecting %s: stalled for %.0fs, %d dropped",
                            self.name, client.peer, now - client.full_since, client.dropped)
                client.abort()
                self.clients.discard(client)
        self._reaper = asyncio.get_running_loop().call_later(1.0, self._reap)

    def _filter(self, request: web.Request) -> Filter | None:
        expr = request.query.get("filter", "").strip()
        if not expr:
            return None
        try:
            return compile_client_filter(expr, self.named_filters)
        except FilterError as exc:
            raise web.HTTPBadRequest(text=f"filter: {exc}\n") from None

    async def _check(self, request: web.Request) -> web.Response:
        self._filter(request)
        return web.Response(text="ok\n")

    async def _page(self, request: web.Request) -> web.Response:
        page = resources.files("relay.destinations").joinpath(PAGE).read_bytes()
        return web.Response(body=page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    def _refuse(self, request: web.Request) -> None:
        peer = request.remote or "local"
        reason = self.admission.refusal(peer, len(self.clients))
        if reason is not None:
            log.warning("destination %s: refusing %s: %s", self.name, peer, reason)
            if reason == "not in allow":
                raise web.HTTPForbidden(text=f"{reason}\n")
            raise web.HTTPServiceUnavailable(text=f"{reason}\n")

    @staticmethod
    def _number(request: web.Request, key: str) -> int | None:
        value = request.headers.get("Last-Event-ID") if key == "since" else None
        value = value or request.query.get(key)
        if value is None or value == "":
            return None
        try:
            number = int(value)
        except ValueError:
            raise web.HTTPBadRequest(text=f"{key}: not a number: {value!r}\n") from None
        if number < 0:
            raise web.HTTPBadRequest(text=f"{key}: cannot be negative\n")
        return number

    def _request(self, request: web.Request) -> tuple[Filter | None, int | None, int]:
        """What a feed request asks for: its filter, since and backlog (or an HTTP error
        for a client that is refused or asks wrongly)."""
        self._refuse(request)
        flt = self._filter(request)
        since = self._number(request, "since")
        backlog = min(self._number(request, "backlog") or 0, self.config.ring_lines)
        return flt, since, backlog

    async def _events(self, request: web.Request) -> web.StreamResponse:
        flt, since, backlog = self._request(request)
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no"})
        await response.prepare(request)
        # the replay and the registration happen in one step: no line between them
        first = self.replay(since, backlog, flt)
        client = FeedClient(f"{request.remote}", request.transport, flt)
        self.clients.add(client)
        try:
            await response.write(b": relay\nretry: 2000\n\n")
            for chunk in _chunks(first):
                await response.write(b"".join(chunk))
                self._count(client, len(chunk))
            await self._follow(client, response)
        except ConnectionError:
            pass  # the client went away
        finally:
            self.clients.discard(client)
            client.take()
        return response

    async def _follow(self, client: FeedClient, response: web.StreamResponse) -> None:
        told = 0
        while not client.closed:
            if not client.pending:
                client.wake.clear()
                try:
                    await asyncio.wait_for(client.wake.wait(), KEEPALIVE)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
            lines = client.take()
            if client.dropped != told:
                told = client.dropped
                lines.append(b"event: dropped\ndata: %d\n\n" % told)
                await response.write(b"".join(lines))
                self._count(client, len(lines) - 1)
            elif lines:
                await response.write(b"".join(lines))
                self._count(client, len(lines))

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        """/events over a WebSocket: one text message a line, {"id": N, "data": LINE};
        {"gap": K} and {"dropped": K} as the SSE events say them.  ?since=N resumes."""
        flt, since, backlog = self._request(request)
        ws = web.WebSocketResponse(heartbeat=KEEPALIVE)
        await ws.prepare(request)
        first = self.replay(since, backlog, flt, ws_event)
        client = FeedClient(f"{request.remote}", request.transport, flt, ws_event)
        self.clients.add(client)

        async def read() -> None:  # a close frame (or a dead peer) ends the feed
            async for _ in ws:
                pass
            client.close()

        reader = asyncio.get_running_loop().create_task(read())
        try:
            for frame in first:
                await ws.send_str(frame.decode())
                self._count(client, 1)
            told = 0
            while not client.closed and not ws.closed:
                if not client.pending:
                    client.wake.clear()
                    await client.wake.wait()
                    continue
                for frame in client.take():
                    await ws.send_str(frame.decode())
                    self._count(client, 1)
                if client.dropped != told:
                    told = client.dropped
                    await ws.send_str(f'{{"dropped":{told}}}')
        except ConnectionError:
            pass  # the client went away
        finally:
            self.clients.discard(client)
            client.take()
            reader.cancel()
            await ws.close()
        return ws

    def _count(self, client: FeedClient, lines: int) -> None:
        client.sent += lines
        self.written += lines


def _chunks(frames: list[bytes]) -> list[list[bytes]]:
    chunks: list[list[bytes]] = []
    size = WRITE_CHUNK
    for frame in frames:
        if size >= WRITE_CHUNK:
            chunks.append([])
            size = 0
        chunks[-1].append(frame)
        size += len(frame)
    return chunks
