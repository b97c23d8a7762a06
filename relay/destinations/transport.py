"""The writer that pipe and program share: lines into a file descriptor that may go away.

The destination writes into a non-blocking descriptor (a FIFO, a program's stdin) with
``os.write``, waiting for it to be writable when the kernel's buffer is full.  What is
not written yet stays in order in the destination's queue: while the descriptor is down
(a FIFO with no reader, a program restarting) lines are held back, and when a reader
returns writing resumes at the exact byte, so flow control applies as for a file.
``written`` counts the lines whose last byte ``os.write`` took.  Stopping is the same for
both kinds: flush, let the queue drain while the reader takes it (until DRAIN_AT_STOP
passes with nothing taken), then close what the kind opened
(``_shut``); what never found a reader is counted as dropped, and logged.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Mapping
from typing import TypeVar

from relay.config import QueuedConfig
from relay.destinations.base import BufferedDestination, Filter, Render, log
from relay.destinations.queue import WriteQueue
from relay.flow import FlowControl

Q = TypeVar("Q", bound=QueuedConfig)
DRAIN_AT_STOP = 2.0  # seconds without a byte taken after which shutdown gives up the queue


class _Chunk:
    """Joined lines, and how far they have been written."""

    __slots__ = ("data", "lines", "offset", "counted")

    def __init__(self, data: bytes, lines: int):
        self.data = data
        self.lines = lines
        self.offset = 0
        self.counted = 0  # lines of it already counted as written


class TransportDestination(BufferedDestination[Q]):
    """A buffered writer into a descriptor that may come and go."""

    def __init__(self, config: Q, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self.fd = -1
        self.queue = WriteQueue(self, flow, config.queue_bytes,
                                drop=config.when_full == "drop")
        self._chunks: deque[_Chunk] = deque()
        self._waiting = False  # for the descriptor to be writable
        self._stopping = False

    def queued(self) -> int:
        return self.queue.size + super().queued()

    def write(self, data: bytes, lines: int) -> None:
        if not self.queue.admit(len(data)):
            self.dropped += lines
            return
        self._chunks.append(_Chunk(data, lines))
        self.queue.add(len(data))
        if self.fd >= 0 and not self._waiting:
            self._send()

    def connected(self, fd: int) -> None:
        """A reader is there: write into FD (non-blocking, now ours to close)."""
        self.fd = fd
        assert self._loop is not None
        # the reader closing its end shows as an error event, reported as readable
        self._loop.add_reader(fd, self._reader_closed)
        self._send()

    def _send(self) -> None:
        chunks = self._chunks
        while chunks and self.fd >= 0:
            chunk = chunks[0]
            data = chunk.data
            try:
                n = os.write(self.fd, memoryview(data)[chunk.offset:])
            except BlockingIOError:
                n = 0
            except OSError as exc:  # EPIPE: the reader went away
                self._disconnect(exc)
                return
            if n == 0:
                self._wait_writable(True)
                return
            start = chunk.offset
            chunk.offset += n
            if chunk.offset == len(data):
                self.written += chunk.lines - chunk.counted
                chunks.popleft()
            else:
                lines = min(data.count(b"\n", start, chunk.offset), chunk.lines - chunk.counted)
                chunk.counted += lines
                self.written += lines
            self.queue.remove(n)
        self._wait_writable(False)

    def _wait_writable(self, wait: bool) -> None:
        if wait == self._waiting or self.fd < 0 or self._loop is None:
            return
        self._waiting = wait
        if wait:
            self._loop.add_writer(self.fd, self._send)
        else:
            self._loop.remove_writer(self.fd)

    def _reader_closed(self) -> None:
        self._disconnect(BrokenPipeError("the reader closed its end"))

    def _disconnect(self, exc: Exception | None) -> None:
        """Close our end; what is not written waits for the next reader, from the start of
        the line it was in, so that the next reader gets whole lines only."""
        if self.fd < 0:
            return
        self._wait_writable(False)
        assert self._loop is not None
        self._loop.remove_reader(self.fd)
        os.close(self.fd)
        self.fd = -1
        if self._chunks and self._chunks[0].offset:
            chunk = self._chunks[0]
            line_start = chunk.data.rfind(b"\n", 0, chunk.offset) + 1
            self.queue.add(chunk.offset - line_start)
            chunk.offset = line_start
        self.reader_gone(exc)

    def reader_gone(self, exc: Exception | None) -> None:
        """The descriptor is closed (the reader went away, or we stop)."""

    async def drain(self, timeout: float) -> None:
        """Wait for the queue to empty into the descriptor while the reader takes it: until
        TIMEOUT seconds pass with no byte taken (a reader that stopped, or none)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        left = self.queue.size
        while self._chunks and self.fd >= 0 and loop.time() < deadline:
            await asyncio.sleep(0.01)
            if self.queue.size < left:  # it reads: wait on
                left = self.queue.size
                deadline = loop.time() + timeout

    async def stop(self) -> None:
        self.flush()
        await self.drain(DRAIN_AT_STOP)
        self._stopping = True
        await self._shut()
        if self._chunks:
            lost = sum(c.lines - c.counted for c in self._chunks)
            self.dropped += lost
            log.warning("destination %s: %d lines (%d bytes) were never written: no reader "
                        "took them", self.name, lost, self.queue.size)
            self._chunks.clear()

    async def _shut(self) -> None:
        """Close what this kind of destination opened (the FIFO, the program's stdin)."""
        self._disconnect(None)
