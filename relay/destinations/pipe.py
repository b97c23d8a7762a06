"""The pipe destination: template lines into an existing named pipe, like syslog-ng's pipe().

The FIFO is opened without blocking; while nobody reads it the lines are held back (up to
the bound, then flow control applies, see TransportDestination) and the open is retried,
so the relay carries on as soon as a reader returns.  A path that is not a FIFO is a
clear error at start.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import Mapping

from relay.config import PipeConfig
from relay.destinations.base import Filter, Render, log
from relay.destinations.transport import TransportDestination
from relay.errors import ConfigError
from relay.flow import FlowControl

RETRY = 0.2  # seconds between attempts to open a FIFO that has no reader


class PipeDestination(TransportDestination[PipeConfig]):
    def __init__(self, config: PipeConfig, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self._retry: asyncio.TimerHandle | None = None

    async def start(self) -> list[str]:
        await super().start()
        try:
            mode = os.stat(self.config.path).st_mode
        except OSError as exc:
            raise ConfigError(f"destination {self.name!r}: {self.config.path}: "
                              f"{exc.strerror} (create it with mkfifo)") from None
        if not stat.S_ISFIFO(mode):
            raise ConfigError(f"destination {self.name!r}: {self.config.path} is not a named "
                              "pipe (create one with mkfifo)")
        await self._open()
        return []

    async def _open(self) -> None:
        self._retry = None
        if self._stopping:
            return
        try:
            fd = os.open(self.config.path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                log.warning("destination %s: %s: %s", self.name, self.config.path, exc.strerror)
            self._schedule_retry()
            return
        log.info("destination %s: a reader opened %s", self.name, self.config.path)
        self.connected(fd)

    def _schedule_retry(self) -> None:
        if self._loop is not None and self._retry is None and not self._stopping:
            self._retry = self._loop.call_later(
                RETRY, lambda: self._loop.create_task(self._open()))  # type: ignore[union-attr]

    def reader_gone(self, exc: Exception | None) -> None:
        if not self._stopping:
            log.warning("destination %s: the reader of %s went away; holding lines back",
                        self.name, self.config.path)
            self._schedule_retry()

    def reopen(self) -> None:
        self.flush()

    async def _shut(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        await super()._shut()
