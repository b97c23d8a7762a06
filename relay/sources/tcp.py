"""The TCP (and TLS) source: a stream server; framing per connection from its first byte."""

from __future__ import annotations

import asyncio
import ssl

from relay.config import SourceConfig
from relay.sources.base import SourceRuntime
from relay.sources.stream import StreamListener, StreamProtocol


def tls_context(cfg: SourceConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cfg.tls_cert, cfg.tls_key)
    if cfg.tls_ca:
        ctx.load_verify_locations(cfg.tls_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


async def start(runtime: SourceRuntime) -> StreamListener:
    listen = runtime.config.listen
    loop = asyncio.get_running_loop()
    ctx = tls_context(runtime.config) if listen.scheme == "tls" else None
    server = await loop.create_server(
        lambda: StreamProtocol(runtime), listen.host, listen.port,
        reuse_address=True, ssl=ctx, backlog=1024)
    addresses = []
    for sock in server.sockets:
        host, port = sock.getsockname()[:2]
        addresses.append(f"{listen.scheme}://{host}:{port}")
    return StreamListener(server, addresses)
