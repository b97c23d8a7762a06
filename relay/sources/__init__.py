"""Sources: where syslog enters.  One module per kind; framing and parsing are not here.

Every kind of source is started the same way, ``await start(runtime) -> Listener`` (see
relay.sources.base), and found here by the scheme of its ``listen`` address.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from relay.sources import nats, stdin, tcp, tls, udp, unix
from relay.sources.base import Listener, SourceRuntime

Start = Callable[[SourceRuntime], Awaitable[Listener]]

#: listen scheme -> how that kind of source starts
STARTERS: dict[str, Start] = {
    "udp": udp.start,
    "tcp": tcp.start,
    "tls": tls.start,
    "unix-stream": unix.start_stream,
    "unix-dgram": unix.start_dgram,
    "stdin": stdin.start,
    "nats": nats.start,
}


async def start(runtime: SourceRuntime) -> Listener:
    """Start the source of RUNTIME; OSError when it cannot listen."""
    return await STARTERS[runtime.config.listen.scheme](runtime)


__all__ = ["STARTERS", "Listener", "SourceRuntime", "start"]
