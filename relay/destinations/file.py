"""The file destination: appends lines to a file, rotates it by size, reopens on SIGHUP.

Writes happen in one writer thread, in order, so the event loop never waits on the disk
and parsing goes on while the previous chunk is written (``os.write`` releases the
GIL).  Past ``queue_bytes`` not yet written, stream sources pause (relay.flow), or with
``when_full = "drop"`` the destination drops and counts instead.

A write that fails (a full disk, a quota, an I/O error) is retried with backoff and
resumes at the exact byte (relay.destinations.resume); meanwhile the queue grows, and
flow control does the rest.  ``written`` counts the lines whose last byte was written.

Rotation renames FILE to FILE.1 (after FILE.1 -> FILE.2 ... up to ``keep``) and, with
``compress = "gzip"``, compresses FILE.1 into FILE.1.gz in another thread.  A rotation
waits for the previous compression to finish.  A rotation that fails leaves the data
where it is (the writer carries on in FILE and tries again at a later write); a
compression that fails leaves FILE.1 as it is, removes its partial .gz and is retried.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import os
import threading
from collections.abc import Mapping

from relay.config import FileConfig
from relay.destinations import paths
from relay.destinations.base import BufferedDestination, Filter, Render, log
from relay.destinations.queue import WriteQueue
from relay.destinations.resume import BACKOFF_FIRST, BACKOFF_MAX, ResumingWriter
from relay.errors import ConfigError
from relay.flow import FlowControl

STOP_GRACE = 5.0  # seconds a failing writer may go without progress at shutdown
_SPACE = (errno.ENOSPC, errno.EDQUOT)  # the file is fine, the filesystem is full


class FileWriter:
    """The part that touches the file; every method runs in the writer thread."""

    def __init__(self, name: str, config: FileConfig):
        self.name = name
        self.config = config
        self.path = config.path
        self.rotate = config.rotate
        self.fd = -1
        self.size = 0
        self.rotations = 0
        self.created: list[str] = []  # files and directories this writer made
        self.lost = 0  # lines given up at shutdown while writing kept failing
        self.stop = threading.Event()  # set: give up retrying
        self.out = ResumingWriter(f"destination {name}: writing {self.path}", self._write_some,
                                  self._wait)
        self.rotate_failing: OSError | None = None
        self.compressing: concurrent.futures.Future[None] | None = None
        self.compressor = concurrent.futures.ThreadPoolExecutor(1, f"relay-gzip-{name}")

    def _wait(self, seconds: float) -> bool:
        return not self.stop.wait(seconds)

    def open(self) -> None:
        if self.config.create_dirs:
            paths.make_dirs(os.path.dirname(os.path.abspath(self.path)), self.config.dir_mode,
                            self.created)
        self.fd = paths.open_append(self.path, self.config.file_mode, self.created)
        self.size = os.fstat(self.fd).st_size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def reopen(self) -> None:
        self.close()
        try:
            self.open()
        except OSError:
            pass  # the next write opens it again, and retries and reports it

    def _write_some(self, view: memoryview) -> int:
        if self.fd < 0:
            self.open()
        try:
            n = os.write(self.fd, view)
        except OSError as exc:
            if exc.errno not in _SPACE:
                self.close()  # an I/O error: open the file again at the next attempt
            raise
        self.size += n
        return n

    def write(self, data: bytes, lines: int) -> int:
        """Write DATA (LINES messages) to its last byte; return the lines lost."""
        lost = self.out.write(data, lines)
        self.lost += lost
        if self.rotate is not None and self.size >= self.rotate.max_bytes:
            self._rotate()
        return lost

    def _suffix(self, n: int) -> str:
        gz = ".gz" if self.rotate is not None and self.rotate.compress == "gzip" else ""
        return f"{self.path}.{n}{gz}"

    def _rotate(self) -> None:
        assert self.rotate is not None
        if self.compressing is not None and not self.compressing.done():
            return  # the previous FILE.1 is still being compressed: rotate on a later write
        first = f"{self.path}.1"
        gzip = self.rotate.compress == "gzip"
        if gzip and os.path.exists(first):
            # a FILE.1 whose compression failed or was cut short: compress it first
            self._compress_later(first)
            return
        keep = self.rotate.keep
        try:
            for n in range(keep, 0, -1):
                src = self._suffix(n)
                if os.path.exists(src):
                    if n == keep:
                        os.unlink(src)
                    else:
                        os.replace(src, self._suffix(n + 1))
            os.replace(self.path, first)
        except OSError as exc:
            if self.rotate_failing is None:
                log.error("destination %s: rotating %s failed: %s; writing on to it and "
                          "trying again", self.name, self.path, exc.strerror or exc)
            self.rotate_failing = exc
            return
        if self.rotate_failing is not None:
            log.warning("destination %s: rotating %s works again", self.name, self.path)
            self.rotate_failing = None
        self.close()
        self.rotations += 1
        try:
            self.open()
        except OSError:
            pass  # the next write opens it, retrying and reporting it
        if gzip:
            self._compress_later(first)

    def _compress_later(self, src: str) -> None:
        self.compressing = self.compressor.submit(self._compress, src)

    def _compress(self, src: str) -> None:
        """In the compressor thread: SRC into SRC.gz, retried with backoff."""
        backoff = BACKOFF_FIRST
        failing: BaseException | None = None
        while True:
            try:
                paths.compress(src, src + ".gz", self.config.file_mode)
            except OSError as exc:
                if failing is None:
                    log.error("destination %s: compressing %s failed: %s; it stays as it is "
                              "and compressing is tried again", self.name, src,
                              exc.strerror or exc)
                failing = exc
                if not self._wait(backoff):
                    return
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            if failing is not None:
                log.warning("destination %s: compressing %s works again", self.name, src)
            return

    def finish(self) -> None:
        self.close()
        self.stop.set()  # a compression that keeps failing leaves FILE.1 uncompressed
        self.compressor.shutdown(wait=True)


class FileDestination(BufferedDestination[FileConfig]):
    def __init__(self, config: FileConfig, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self.file = FileWriter(config.name, config)
        self._thread = concurrent.futures.ThreadPoolExecutor(1, f"relay-file-{config.name}")
        # bytes handed to the writer thread and not yet written
        self.queue = WriteQueue(self, flow, config.queue_bytes,
                                drop=config.when_full == "drop")
        self._last: concurrent.futures.Future[int] | None = None  # the last chunk's write

    @property
    def rotations(self) -> int:
        return self.file.rotations

    async def start(self) -> list[str]:
        await super().start()
        path = self.config.path
        missing = paths.missing_directory(path)
        if missing and not self.config.create_dirs:
            raise ConfigError(f"destination {self.name!r}: cannot open {path}: the directory "
                              f"{missing} does not exist (create it, or set create_dirs = true)")
        try:
            self.file.open()
        except OSError as exc:
            raise ConfigError(f"destination {self.name!r}: cannot open {path}: "
                              f"{exc.strerror}") from None
        return []

    def created_paths(self) -> list[str]:
        return list(self.file.created)

    def write(self, data: bytes, lines: int) -> None:
        size = len(data)
        if not self.queue.admit(size):
            self.dropped += lines
            return
        self.queue.add(size)
        fut = self._thread.submit(self.file.write, data, lines)
        self._last = fut
        loop = self._loop
        assert loop is not None
        fut.add_done_callback(lambda f: loop.call_soon_threadsafe(self._written, f, size, lines))

    def _written(self, fut: concurrent.futures.Future[int], size: int, lines: int) -> None:
        self.queue.remove(size)
        self.written = self.file.out.written
        exc = fut.exception()
        if exc is None:
            self.dropped += fut.result()
        else:  # not a failed write (those are retried): a bug, which must show
            self.dropped += lines
            log.error("destination %s: writing %s: %r; %d lines lost", self.name,
                      self.config.path, exc, lines)

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
        done = asyncio.wrap_future(self._thread.submit(self.file.finish))
        out = self.file.out
        while not done.done():
            before = out.written
            await asyncio.wait([done], timeout=STOP_GRACE)
            if not done.done() and out.failing is not None and out.written == before:
                self.file.stop.set()  # the disk stays full: give up, and say so
        await done
        self._thread.shutdown(wait=True)
        self.written = out.written
        if self.file.lost:
            log.error("destination %s: %d lines were never written to %s (%s)", self.name,
                      self.file.lost, self.config.path,
                      out.failing.strerror if out.failing else "writing failed")
