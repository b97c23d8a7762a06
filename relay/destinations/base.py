"""The destination interface, and the buffered writer that file-like destinations share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from relay.config import DestinationConfig
from relay.flow import FlowControl
from relay.message import LogMessage

log = logging.getLogger("relay")

Render = Callable[[LogMessage], bytes]

# Buffered writers write once this much is waiting, and at least every flush_interval.
WRITE_CHUNK = 256 * 1024


class Destination:
    """Renders each message with its template and delivers the bytes."""

    def __init__(self, config: DestinationConfig, render: Render, flow: FlowControl):
        self.config = config
        self.name = config.name
        self.render = render
        self.flow = flow
        self.written = 0  # messages handed on
        self.dropped = 0  # messages lost on purpose (bounded buffers), counted

    def send(self, msg: LogMessage) -> None:
        raise NotImplementedError

    async def start(self) -> list[str]:
        """Open what must be opened; return the addresses listened on, if any."""
        return []

    async def stop(self) -> None:
        """Flush everything and close."""

    def reopen(self) -> None:
        """SIGHUP: reopen files (for logrotate)."""


class BufferedDestination(Destination):
    """Joins rendered lines and writes them in large chunks, at least every flush_interval."""

    def __init__(self, config: DestinationConfig, render: Render, flow: FlowControl):
        super().__init__(config, render, flow)
        self._buf: list[bytes] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> list[str]:
        self._loop = asyncio.get_running_loop()
        return []

    def send(self, msg: LogMessage) -> None:
        data = self.render(msg)
        self._buf.append(data)
        self._size += len(data)
        self.written += 1
        if self._size >= WRITE_CHUNK:
            self.flush()
        elif self._timer is None and self._loop is not None:
            self._timer = self._loop.call_later(self.config.flush_interval, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._buf:
            return
        data = b"".join(self._buf)
        self._buf.clear()
        self._size = 0
        self.write(data)

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        self.flush()
