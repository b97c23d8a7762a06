"""The stdin source: newline-framed messages on standard input; EOF ends the source.

A pipe, socket or terminal is read by the event loop; a regular file is read in a
worker thread, since the loop cannot poll one.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from itertools import repeat

from relay.framing import StreamFramer
from relay.parse import local_peer
from relay.sources.base import SourceRuntime, log

CHUNK = 256 * 1024


async def read_stdin(runtime: SourceRuntime) -> None:
    """Read standard input to EOF, delivering frames as they come."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    # stdin is always newline-framed, like syslog-ng's stdin()
    framer = StreamFramer(runtime.max_msg_size, newline_only=True)
    peer = repeat(local_peer())
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


class StdinListener:
    """Standard input as a Listener: it has no peers to accept, so close() leaves it
    reading (as a connected peer is drained); wait_closed() stops it."""

    addresses = ["stdin://"]

    def __init__(self, runtime: SourceRuntime):
        self.runtime = runtime
        self.task = asyncio.get_running_loop().create_task(read_stdin(runtime))
        self.task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("source stdin: %s", task.exception())
        self.runtime.ended()

    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        if not self.task.done():
            self.task.cancel()


async def start(runtime: SourceRuntime) -> StdinListener:
    return StdinListener(runtime)
