"""The file destination: appends lines to a file, or to one file per expansion of its path.

Writes happen in one writer thread, in order, so the event loop never waits on the disk
and parsing goes on while the previous chunk is written (``os.write`` releases the
GIL).  Past ``queue_bytes`` not yet written, stream sources pause (relay.flow), or with
``when_full = "drop"`` the destination drops and counts instead; either way per
destination, whatever number of files it has open.

A fixed path (no '$') is one file (relay.destinations.filewriter), opened at start, and
``write(data, lines)`` takes chunks rendered elsewhere.  A path with '$' is a template
expanded per message (relay.destinations.filepath): a batch's lines are grouped by file
name and the writer thread writes each group to its file (relay.destinations.fileset),
closing files idle for ``time_reap`` seconds (a timer here asks it to) and the least
recently written past ``max_open_files``.  A spurious name (``..``) is refused as
syslog-ng refuses it: the message is dropped, counted in ``refused`` and logged at most
once a second.

A write that fails (a full disk, a quota, an I/O error) is retried with backoff and
resumes at the exact byte (relay.destinations.resume); meanwhile the queue grows, and
flow control does the rest.  ``written`` counts the lines whose last byte was written.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Mapping
from typing import Any

from relay.config import FileConfig
from relay.destinations import paths
from relay.destinations.base import (
    WRITE_LINES,
    BufferedDestination,
    Filter,
    Render,
    as_from,
    log,
)
from relay.destinations.filepath import PathCache, is_template
from relay.destinations.fileset import FileSet
from relay.destinations.filewriter import FileWriter
from relay.destinations.queue import WriteQueue
from relay.errors import ConfigError
from relay.filter import compile_filter
from relay.flow import FlowControl
from relay.message import FLAG_LOCAL, LogMessage
from relay.sources.base import Throttle
from relay.template import compile_template

__all__ = ["FileDestination", "FileWriter", "paths"]

STOP_GRACE = 5.0  # seconds a failing writer may go without progress at shutdown
REAP_EVERY = 5.0  # at most this long between two looks for idle files


class FileDestination(BufferedDestination[FileConfig]):
    def __init__(self, config: FileConfig, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self.file: FileWriter | None = None  # a fixed path
        self.files: FileSet | None = None  # a templated one
        self.paths: PathCache | None = None
        if is_template(config.path):
            self.paths = PathCache(compile_template(
                config.path, filter_compiler=compile_filter).render)
            self.files = FileSet(config.name, config)
        else:
            self.file = FileWriter(config.name, config)
        self.refused = 0  # messages whose expanded path was spurious (and were dropped)
        self._refusals = Throttle()
        # a templated path's batch: file name -> its rendered lines
        self._groups: dict[str, list[bytes]] = {}
        self._lines = 0
        self._datagrams = False  # whether they came from a datagram source (flow.datagrams)
        self._reaper: asyncio.TimerHandle | None = None
        self._thread = concurrent.futures.ThreadPoolExecutor(1, f"relay-file-{config.name}")
        # bytes handed to the writer thread and not yet written
        self.queue = WriteQueue(self, flow, config.queue_bytes,
                                drop=config.when_full == "drop")
        self._last: concurrent.futures.Future[int] | None = None  # the last chunk's write

    @property
    def rotations(self) -> int:
        return self.file.rotations if self.file is not None else self._set().rotations

    @property
    def open_files(self) -> int:
        if self.file is not None:
            return int(self.file.fd >= 0)
        return self._set().open_files

    def _set(self) -> FileSet:
        assert self.files is not None
        return self.files

    async def start(self) -> list[str]:
        await super().start()
        if self.file is None:
            self._reap_later()
            return []  # each file is opened when a line comes for it
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
        return list(self.file.created) if self.file is not None else []

    # -- a templated path: lines grouped by the file they go to ------------------------

    def direct_sink(self) -> Callable[[bytes], None] | None:
        return None if self.paths is not None else super().direct_sink()

    def send(self, msg: LogMessage) -> None:
        expand = self.paths
        if expand is None:
            super().send(msg)
            return
        if self._lines and self._datagrams != self.flow.datagrams:
            self.flush()  # (a stream's lines and a datagram source's are written apart)
        self._datagrams = self.flow.datagrams
        if msg.flags & FLAG_LOCAL:
            self.number(msg)
        name, expanded = expand(msg)
        if name is None:
            self.refused += 1
            self.dropped += 1
            self._refusals.warn("destination %s: refused the spurious path %r (%s); the "
                                "message is dropped", self.name, expanded, self.config.path)
            return
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = []
        group.append(self.render(msg))
        self._lines += 1

    def end_batch(self) -> None:
        if self.paths is None:
            super().end_batch()
        elif self._lines >= WRITE_LINES:
            self.flush()
        elif self._lines and self._timer is None and self._loop is not None:
            self._timer = self._loop.call_later(self.config.flush_interval, self.flush)

    def flush(self) -> None:
        if self.files is None:
            super().flush()
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        groups = [(name, b"".join(lines), len(lines)) for name, lines in self._groups.items()]
        lines = self._lines
        self._groups = {}
        self._lines = 0
        as_from(self.flow, self._datagrams, self._submit, sum(len(g[1]) for g in groups),
                lines, self.files.write, groups)

    def _reap_later(self) -> None:
        reap = self.config.time_reap
        if reap > 0 and self._loop is not None:
            self._reaper = self._loop.call_later(min(reap / 2, REAP_EVERY), self._reap)

    def _reap(self) -> None:
        self._thread.submit(self._set().reap, self.config.time_reap)
        self._reap_later()

    # -- writing ---------------------------------------------------------------------

    def write(self, data: bytes, lines: int) -> None:
        if self.file is None:
            raise TypeError(f"destination {self.name}: a templated path takes messages, "
                            "not rendered chunks")
        self._submit(len(data), lines, self.file.write, data, lines)

    def _submit(self, size: int, lines: int, write: Callable[..., int], *args: Any) -> None:
        if not self.queue.admit(size):
            self.dropped += lines
            return
        self.queue.add(size)
        fut = self._thread.submit(write, *args)
        self._last = fut
        loop = self._loop
        assert loop is not None
        fut.add_done_callback(lambda f: loop.call_soon_threadsafe(self._written, f, size, lines))

    def _written(self, fut: concurrent.futures.Future[int], size: int, lines: int) -> None:
        self.queue.remove(size)
        self.written = self._progress()
        exc = fut.exception()
        if exc is None:
            self.dropped += fut.result()
        else:  # not a failed write (those are retried): a bug, which must show
            self.dropped += lines
            log.error("destination %s: writing %s: %r; %d lines lost", self.name,
                      self.config.path, exc, lines)

    def _progress(self) -> int:
        return self.file.out.written if self.file is not None else self._set().written

    def _failing(self) -> OSError | None:
        return self.file.out.failing if self.file is not None else self._set().failing

    def queued(self) -> int:
        held = sum(len(line) for group in self._groups.values() for line in group)
        return self.queue.size + super().queued() + held

    async def flushed(self) -> None:
        # one writer thread writes in order: when the last chunk is written, all are
        self.flush()
        last = self._last
        if last is not None and not last.done():
            await asyncio.wrap_future(last)

    def reopen(self) -> None:
        self.flush()
        self._thread.submit(self.file.reopen if self.file is not None else self._set().reopen)

    async def stop(self) -> None:
        self.flush()
        if self._reaper is not None:
            self._reaper.cancel()
        files = self.file or self._set()
        done = asyncio.wrap_future(self._thread.submit(files.finish))
        while not done.done():
            before = self._written_so_far()
            await asyncio.wait([done], timeout=STOP_GRACE)
            if not done.done() and self._failing() is not None and \
                    self._written_so_far() == before:
                files.stop.set()  # the disk stays full: give up, and say so
        await done
        self._thread.shutdown(wait=True)
        self.written = self._progress()
        if files.lost:
            failing = self._failing()
            log.error("destination %s: %d lines were never written to %s (%s)", self.name,
                      files.lost, self.config.path,
                      failing.strerror if failing else "writing failed")

    def _written_so_far(self) -> int:
        return self.file.out.written if self.file is not None else self._set().progress()
