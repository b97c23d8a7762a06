"""Sources: where syslog enters.  One module per kind; framing and parsing are not here.

Every kind of source is started the same way, ``await start(runtime) -> Listener`` (see
relay.sources.base), and found here by the scheme of its ``listen`` address.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from relay.sources import stdin, tcp, tls, udp, unix
from relay.sources.base import Listener, SourceRuntime

Start = Callable[[SourceRuntime], Awaitable[Listener]]


async def _start_nats(runtime: SourceRuntime) -> Listener:
    # (imported on first use: nats-py costs a relay without NATS sources a slow start)
    from relay.sources import nats

    return await nats.start(runtime)


#: listen scheme -> how that kind of source starts
STARTERS: dict[str, Start] = {
    "udp": udp.start,
    "tcp": tcp.start,
    "tls": tls.start,
    "unix-stream": unix.start_stream,
    "unix-dgram": unix.start_dgram,
    "stdin": stdin.start,
    "nats": _start_nats,
}


async def start(runtime: SourceRuntime) -> Listener:
    """Start the source of RUNTIME; OSError when it cannot listen."""
    return await STARTERS[runtime.config.listen.scheme](runtime)


__all__ = ["STARTERS", "Listener", "SourceRuntime", "start"]
