"""The writer that pipe and program share: buffered lines into a transport that may go away.

While the transport is down (a FIFO with no reader, a program restarting) lines are held
back in the destination's WriteQueue, so flow control applies as for a file.  Stopping is
the same for both: flush, let the transport's buffer drain (briefly), then close what the
kind opened (``_shut``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TypeVar

from relay.config import QueuedConfig
from relay.destinations.base import BufferedDestination, Filter, Render
from relay.destinations.queue import WriteQueue
from relay.flow import FlowControl

Q = TypeVar("Q", bound=QueuedConfig)
DRAIN_AT_STOP = 2.0  # seconds for the transport's buffer to empty at shutdown


class TransportDestination(BufferedDestination[Q]):
    """A buffered writer into an asyncio write transport that may come and go."""

    def __init__(self, config: Q, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self.transport: asyncio.WriteTransport | None = None
        self.queue = WriteQueue(self, flow, config.queue_bytes)
        self._poll: asyncio.TimerHandle | None = None
        self._stopping = False

    def _in_transport(self) -> int:
        t = self.transport
        return t.get_write_buffer_size() if t is not None and not t.is_closing() else 0

    def queued(self) -> int:
        return self._in_transport() + self.queue.size + super().queued()

    def write(self, data: bytes) -> None:
        t = self.transport
        if t is not None and not t.is_closing():
            t.write(data)
        elif not self.queue.hold(data):
            self.dropped += data.count(b"\n") or 1
        self._check()

    def connected(self, transport: asyncio.WriteTransport) -> None:
        self.transport = transport
        if self.queue.size:
            transport.write(self.queue.take())
        self._check()

    def _check(self) -> None:
        self.queue.check(self._in_transport())
        # the transport's buffer empties with no callback: look again while paused
        if self.flow.paused and self._poll is None and self._loop is not None:
            self._poll = self._loop.call_later(0.01, self._repoll)

    def _repoll(self) -> None:
        self._poll = None
        self._check()

    async def drain(self, timeout: float) -> None:
        """Wait (a bounded time) for the transport's buffer to empty."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (self.transport is not None and not self.transport.is_closing()
               and self.transport.get_write_buffer_size()
               and asyncio.get_running_loop().time() < deadline):
            await asyncio.sleep(0.01)
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None

    async def stop(self) -> None:
        self.flush()
        await self.drain(DRAIN_AT_STOP)
        self._stopping = True
        await self._shut()

    async def _shut(self) -> None:
        """Close what this kind of destination opened (the FIFO, the program)."""
        if self.transport is not None:
            self.transport.close()
