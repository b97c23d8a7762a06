"""The stdin source: newline-framed messages on standard input; EOF ends the source.

A pipe, socket or terminal is read by the event loop; a regular file is read in a
worker thread, since the loop cannot poll one.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys

from relay.framing import StreamFramer
from relay.parse import local_peer
from relay.sources import SourceRuntime

CHUNK = 256 * 1024


async def read_stdin(runtime: SourceRuntime) -> None:
    """Read standard input to EOF, delivering frames as they come."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    # stdin is always newline-framed, like syslog-ng's stdin()
    framer = StreamFramer(runtime.max_msg_size, newline_only=True)
    peer = local_peer()
    transport = None
    if stat.S_ISREG(os.fstat(fd).st_mode):

        async def read() -> bytes:
            return await loop.run_in_executor(None, os.read, fd, CHUNK)
    else:
        reader = asyncio.StreamReader(limit=CHUNK)
        protocol = asyncio.StreamReaderProtocol(reader)
        pipe = os.fdopen(fd, "rb", 0, closefd=False)
        transport, _ = await loop.connect_read_pipe(lambda: protocol, pipe)

        async def read() -> bytes:
            return await reader.read(CHUNK)
    try:
        while data := await read():
            frames = framer.feed(data)
            if frames:
                runtime.deliver(frames, peer)
    finally:
        if transport is not None:
            transport.close()
    rest = framer.close()
    if rest:
        runtime.deliver(rest, peer)
