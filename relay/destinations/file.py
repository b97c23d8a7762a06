"""The file destination: appends lines to a file, rotates it by size, reopens on SIGHUP.

Writes happen in one writer thread, in order, so the event loop never waits on the disk
and parsing goes on while the previous chunk is written (``os.write`` releases the
GIL).  Past ``queue_bytes`` not yet written, stream sources pause (relay.flow).

Rotation renames FILE to FILE.1 (after FILE.1 -> FILE.2 ... up to ``keep``) and, with
``compress = "gzip"``, compresses FILE.1 into FILE.1.gz in another thread.  A rotation
waits for the previous compression to finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import os
import shutil
from collections.abc import Mapping

from relay.config import FileConfig
from relay.destinations.base import BufferedDestination, Filter, Render, log
from relay.destinations.queue import WriteQueue
from relay.errors import ConfigError
from relay.flow import FlowControl


def _compress(src: str, dst: str) -> None:
    tmp = dst + ".tmp"
    with open(src, "rb") as fin, gzip.open(tmp, "wb", compresslevel=6) as fout:
        shutil.copyfileobj(fin, fout, 1024 * 1024)
    os.replace(tmp, dst)
    os.unlink(src)


class FileWriter:
    """The part that touches the file; every method runs in the writer thread."""

    def __init__(self, name: str, config: FileConfig):
        self.name = name
        self.path = config.path
        self.rotate = config.rotate
        self.fd = -1
        self.size = 0
        self.rotations = 0
        self.compressing: concurrent.futures.Future[None] | None = None
        self.compressor = concurrent.futures.ThreadPoolExecutor(1, f"relay-gzip-{name}")

    def open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                          0o644)
        self.size = os.fstat(self.fd).st_size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def reopen(self) -> None:
        self.close()
        self.open()

    def write(self, data: bytes) -> None:
        if self.fd < 0:
            self.open()
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        self.size += len(data)
        if self.rotate is not None and self.size >= self.rotate.max_bytes:
            self._rotate()

    def _suffix(self, n: int) -> str:
        gz = ".gz" if self.rotate is not None and self.rotate.compress == "gzip" else ""
        return f"{self.path}.{n}{gz}"

    def _rotate(self) -> None:
        assert self.rotate is not None
        if self.compressing is not None and not self.compressing.done():
            return  # the previous FILE.1 is still being compressed: rotate on a later write
        keep = self.rotate.keep
        self.close()
        for n in range(keep, 0, -1):
            src = self._suffix(n)
            if os.path.exists(src):
                if n == keep:
                    os.unlink(src)
                else:
                    os.replace(src, self._suffix(n + 1))
        first = f"{self.path}.1"
        os.replace(self.path, first)
        self.open()
        self.rotations += 1
        if self.rotate.compress == "gzip":
            self.compressing = self.compressor.submit(_compress, first, first + ".gz")
            self.compressing.add_done_callback(self._compressed)

    def _compressed(self, fut: concurrent.futures.Future[None]) -> None:
        exc = fut.exception()
        if exc is not None:
            log.error("destination %s: compressing %s.1 failed: %s", self.name, self.path, exc)

    def finish(self) -> None:
        self.close()
        self.compressor.shutdown(wait=True)


class FileDestination(BufferedDestination[FileConfig]):
    def __init__(self, config: FileConfig, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self.file = FileWriter(config.name, config)
        self._thread = concurrent.futures.ThreadPoolExecutor(1, f"relay-file-{config.name}")
        # bytes handed to the writer thread and not yet written
        self.queue = WriteQueue(self, flow, config.queue_bytes)
        self._last: concurrent.futures.Future[None] | None = None
        self.failed = False

    @property
    def rotations(self) -> int:
        return self.file.rotations

    async def start(self) -> list[str]:
        await super().start()
        try:
            self.file.open()
        except OSError as exc:
            raise ConfigError(f"destination {self.name!r}: cannot open {self.config.path}: "
                              f"{exc.strerror}") from None
        return []

    def write(self, data: bytes) -> None:
        self.queue.add(len(data))
        fut = self._thread.submit(self.file.write, data)
        self._last = fut
        loop = self._loop
        assert loop is not None
        size = len(data)
        fut.add_done_callback(lambda f: loop.call_soon_threadsafe(self._written, f, size))

    def _written(self, fut: concurrent.futures.Future[None], size: int) -> None:
        self.queue.remove(size)
        exc = fut.exception()
        if exc is not None and not self.failed:
            self.failed = True  # logged once; later writes retry (the disk may come back)
            log.error("destination %s: writing %s failed: %s", self.name, self.config.path, exc)
        elif exc is None:
            self.failed = False

    def queued(self) -> int:
        return self.queue.size + super().queued()

    async def flushed(self) -> None:
        # one writer thread writes in order: when the last chunk is written, all are
        self.flush()
        last = self._last
        if last is not None and not last.done():
            await asyncio.wrap_future(last)

    def reopen(self) -> None:
        self.flush()
        self._thread.submit(self.file.reopen)

    async def stop(self) -> None:
        self.flush()
        done = self._thread.submit(self.file.finish)
        await asyncio.wrap_future(done)
        self._thread.shutdown(wait=True)
