"""One file a file destination writes: open, append to the last byte, rotate, compress.

Every method but the compression runs in the destination's writer thread.  A chunk is
written through relay.destinations.resume, so a full disk is retried and resumed at the
exact byte.  With ``rotate``, the chunk is cut between lines where the file would pass
``max_bytes`` (relay.destinations.rotation): the file rotates there, inside the chunk,
and the rest goes to the new file.  ``every`` rotates at the first write after a local
midnight or full hour.

Rotation renames FILE.N to FILE.N+1 (removing FILE.``keep``) and FILE to FILE.1.  With
``compress = "gzip"`` FILE is renamed FILE.rotated-NS instead, and the compressor thread
turns it into FILE.1.gz (shifting the older .gz files then), so the writer never waits
for gzip; rotated files are compressed in the order they were cut.  A rotation that
fails leaves the data where it is (the writer carries on in FILE and tries again at the
next write); a compression that fails removes its partial .gz, leaves the rotated file
as it is and is retried with backoff, and at the next rotation after a stop gave up.
"""

from __future__ import annotations

import collections
import concurrent.futures
import errno
import logging
import os
import threading
import time

from relay.config import FileConfig
from relay.destinations import paths
from relay.destinations.resume import BACKOFF_FIRST, BACKOFF_MAX, ResumingWriter
from relay.destinations.rotation import next_boundary, period_start, piece_end

log = logging.getLogger("relay")
SPACE = (errno.ENOSPC, errno.EDQUOT)  # the file is fine, the filesystem is full


class FileWriter:
    """The part that touches one file; every method runs in the writer thread."""

    def __init__(self, name: str, config: FileConfig, path: str | None = None, *,
                 compressor: concurrent.futures.ThreadPoolExecutor | None = None,
                 stop: threading.Event | None = None):
        self.name = name
        self.config = config
        self.path = config.path if path is None else path
        self.rotate = config.rotate
        self.fd = -1
        self.size = 0
        self.rotations = 0
        self.last_write = time.monotonic()  # when a chunk last came (time_reap)
        self.boundary = 0.0  # every: the next local midnight or hour
        self.clock = time.time  # (tests hold it still)
        self.created: list[str] = []  # files and directories this writer made
        self.lost = 0  # lines given up at shutdown while writing kept failing
        self.stop = stop or threading.Event()  # set: give up retrying
        self.out = ResumingWriter(f"destination {name}: writing {self.path}", self._write_some,
                                  self._wait)
        self.rotate_failing: OSError | None = None
        self.compressing: concurrent.futures.Future[None] | None = None
        self.pending: collections.deque[str] = collections.deque()  # rotated, not yet .gz
        self._own_compressor = compressor is None
        self.compressor = compressor or concurrent.futures.ThreadPoolExecutor(
            1, f"relay-gzip-{name}")

    def _wait(self, seconds: float) -> bool:
        return not self.stop.wait(seconds)

    def open(self) -> None:
        if self.config.create_dirs:
            paths.make_dirs(os.path.dirname(os.path.abspath(self.path)), self.config.dir_mode,
                            self.created)
        self.fd = paths.open_append(self.path, self.config.file_mode, self.created)
        st = os.fstat(self.fd)
        self.size = st.st_size
        every = self.rotate.every if self.rotate is not None else ""
        if every:
            now = self.clock()
            # a file left from an earlier period rotates at its first write
            stale = self.size and st.st_mtime < period_start(now, every)
            self.boundary = now if stale else next_boundary(now, every)

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
            if exc.errno not in SPACE:
                self.close()  # an I/O error: open the file again at the next attempt
            raise
        self.size += n
        return n

    def write(self, data: bytes, lines: int) -> int:
        """Write DATA (LINES messages) to its last byte; return the lines lost."""
        self.last_write = time.monotonic()
        rotate = self.rotate
        if rotate is None:
            lost = self.out.write(data, lines)
            self.lost += lost
            return lost
        if rotate.every and self.clock() >= self.boundary:
            if self.size:
                self._rotate()
            self.boundary = next_boundary(self.clock(), rotate.every)
        lost = 0
        offset = 0
        while offset < len(data):
            end, first = piece_end(data, offset, self.size, rotate.max_bytes)
            if first:
                if self._rotate():
                    continue
                end = len(data)  # rotating fails: keep everything in FILE meanwhile
            # the messages of this piece: its newlines, and all that is left at the end
            n = lines if end == len(data) else min(data.count(b"\n", offset, end), lines)
            lost += self.out.write(data[offset:end] if offset or end < len(data) else data, n)
            lines -= n
            offset = end
            if self.size >= rotate.max_bytes and not self._rotate():
                if offset < len(data):
                    lost += self.out.write(data[offset:], lines)
                break
        self.lost += lost
        return lost

    def _rotate(self) -> bool:
        """FILE becomes FILE.1 (or waits for gzip); whether it did."""
        assert self.rotate is not None
        gzip = self.rotate.compress == "gzip"
        try:
            if gzip:
                rotated = f"{self.path}.rotated-{time.time_ns()}"
                os.replace(self.path, rotated)
            else:
                shift(self.path, self.rotate.keep, "")
                os.replace(self.path, f"{self.path}.1")
        except OSError as exc:
            if self.rotate_failing is None:
                log.error("destination %s: rotating %s failed: %s; writing on to it and "
                          "trying again", self.name, self.path, exc.strerror or exc)
            self.rotate_failing = exc
            return False
        if self.rotate_failing is not None:
            log.warning("destination %s: rotating %s works again", self.name, self.path)
            self.rotate_failing = None
        self.close()
        self.size = 0
        self.rotations += 1
        try:
            self.open()
        except OSError:
            pass  # the next write opens it, retrying and reporting it
        if gzip:
            self.pending.append(rotated)
            self.compressing = self.compressor.submit(self._compress_pending)
        return True

    def _compress_pending(self) -> None:
        """In the compressor thread: each rotated file, oldest first, into FILE.1.gz."""
        while self.pending:
            if not self._compress(self.pending[0]):
                return  # told to stop while failing: the next rotation tries again
            self.pending.popleft()

    def _compress(self, src: str) -> bool:
        backoff = BACKOFF_FIRST
        failing: BaseException | None = None
        keep = self.rotate.keep if self.rotate is not None else 1
        while True:
            try:
                if not os.path.exists(src) and not os.path.exists(src + ".gz"):
                    return True  # removed meanwhile, by someone else
                if os.path.exists(src):
                    paths.compress(src, src + ".gz", self.config.file_mode)
                shift(self.path, keep, ".gz")
                os.replace(src + ".gz", f"{self.path}.1.gz")
            except OSError as exc:
                if failing is None:
                    log.error("destination %s: compressing %s failed: %s; it stays as it is "
                              "and compressing is tried again", self.name, src,
                              exc.strerror or exc)
                failing = exc
                if not self._wait(backoff):
                    return False
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            if failing is not None:
                log.warning("destination %s: compressing %s works again", self.name, src)
            return True

    def finish(self) -> None:
        """Close the file; a writer that owns its compressor waits for it (a compression
        that keeps failing leaves the rotated file uncompressed)."""
        self.close()
        if self._own_compressor:
            self.stop.set()
            self.compressor.shutdown(wait=True)


def shift(path: str, keep: int, suffix: str) -> None:
    """PATH.N+SUFFIX -> PATH.N+1+SUFFIX, from N = KEEP - 1 down; PATH.KEEP is removed."""
    for n in range(keep, 0, -1):
        src = f"{path}.{n}{suffix}"
        if os.path.exists(src):
            if n == keep:
                os.unlink(src)
            else:
                os.replace(src, f"{path}.{n + 1}{suffix}")
