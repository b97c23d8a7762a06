"""The file destination: appends lines to a file, rotates it by size, reopens on SIGHUP.

Rotation renames FILE to FILE.1 (after FILE.1 -> FILE.2 ... up to ``keep``) and, with
``compress = "gzip"``, compresses FILE.1 into FILE.1.gz in a worker thread, off the
event loop.  A rotation waits for the previous compression to finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import os
import shutil

from relay.config import DestinationConfig
from relay.destinations.base import BufferedDestination, Render, log
from relay.errors import ConfigError
from relay.flow import FlowControl


def _compress(src: str, dst: str) -> None:
    tmp = dst + ".tmp"
    with open(src, "rb") as fin, gzip.open(tmp, "wb", compresslevel=6) as fout:
        shutil.copyfileobj(fin, fout, 1024 * 1024)
    os.replace(tmp, dst)
    os.unlink(src)


class FileDestination(BufferedDestination):
    def __init__(self, config: DestinationConfig, render: Render, flow: FlowControl):
        super().__init__(config, render, flow)
        self.path = config.path
        self.rotate = config.rotate
        self._fd = -1
        self._bytes = 0
        self._compressing: asyncio.Future[None] | concurrent.futures.Future[None] | None = None
        self.rotations = 0

    async def start(self) -> list[str]:
        await super().start()
        self._open()
        return []

    def _open(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                               0o644)
        except OSError as exc:
            raise ConfigError(f"destination {self.name!r}: cannot open {self.path}: "
                              f"{exc.strerror}") from None
        self._bytes = os.fstat(self._fd).st_size

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def write(self, data: bytes) -> None:
        if self._fd < 0:
            self._open()
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self._bytes += len(data)
        if self.rotate is not None and self._bytes >= self.rotate.max_bytes:
            self._rotate()

    def _suffix(self, n: int) -> str:
        gz = ".gz" if self.rotate is not None and self.rotate.compress == "gzip" else ""
        return f"{self.path}.{n}{gz}"

    def _rotate(self) -> None:
        assert self.rotate is not None
        if self._compressing is not None and not self._compressing.done():
            return  # the previous FILE.1 is still being compressed: rotate on a later write
        keep = self.rotate.keep
        self._close()
        for n in range(keep, 0, -1):
            src = self._suffix(n)
            if os.path.exists(src):
                if n == keep:
                    os.unlink(src)
                else:
                    os.replace(src, self._suffix(n + 1))
        first = f"{self.path}.1"
        os.replace(self.path, first)
        self._open()
        self.rotations += 1
        if self.rotate.compress == "gzip" and self._loop is not None:
            self._compressing = self._loop.run_in_executor(
                None, _compress, first, first + ".gz")
            self._compressing.add_done_callback(self._compressed)

    def _compressed(self, fut: asyncio.Future[None] | concurrent.futures.Future[None]) -> None:
        exc = fut.exception()
        if exc is not None:
            log.error("destination %s: compressing %s.1 failed: %s", self.name, self.path, exc)

    def reopen(self) -> None:
        self.flush()
        self._close()
        self._open()

    async def stop(self) -> None:
        self.flush()
        self._close()
        if self._compressing is not None:
            await asyncio.wrap_future(self._compressing) if isinstance(
                self._compressing, concurrent.futures.Future) else await self._compressing
