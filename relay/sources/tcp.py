"""The TCP source: a stream server; framing per connection from its first byte.

(The TLS source, relay.sources.tls, is the same server with TLS started per connection.)
"""

from __future__ import annotations

import asyncio

from relay.sources.base import SourceRuntime
from relay.sources.stream import StreamListener, StreamProtocol


async def start(runtime: SourceRuntime) -> StreamListener:
    listen = runtime.config.listen
    loop = asyncio.get_running_loop()
    if runtime.listen_socket is not None:  # bound and listening already: a worker's share
        server = await loop.create_server(lambda: StreamProtocol(runtime),
                                          sock=runtime.listen_socket, backlog=1024)
    else:
        server = await loop.create_server(
            lambda: StreamProtocol(runtime), listen.host, listen.port,
            reuse_address=True, backlog=1024)
    addresses = []
    for sock in server.sockets:
        host, port = sock.getsockname()[:2]
        addresses.append(f"{listen.scheme}://{host}:{port}")
    return StreamListener(server, addresses)
