"""The files of a file destination whose path is a template: one per expansion, as needed.

The destination groups each batch's lines by file name (relay.destinations.filepath)
and hands the groups to ``FileSet.write`` in its writer thread, which writes each group
to its own file (relay.destinations.filewriter: full-disk resume, rotation per file),
opening it, and its directories with ``create_dirs``, the first time.  Past
``max_open_files`` the least recently written file is closed; ``reap`` closes those
idle for ``time_reap`` seconds.  A closed file is opened again when a line comes for it.

A file that cannot be opened for another reason than a full disk (a missing directory
without create_dirs, a permission, a name too long) does not hold the others back: its
lines are dropped, counted, and logged at most once a second.  Every method runs in the
writer thread but the properties the event loop reads (plain integers, a reference).
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
import time

from relay.config import FileConfig
from relay.destinations.filewriter import SPACE, FileWriter
from relay.sources.base import Throttle


class FileSet:
    """The open files of one destination, least recently written first."""

    def __init__(self, name: str, config: FileConfig):
        self.name = name
        self.config = config
        self.files: collections.OrderedDict[str, FileWriter] = collections.OrderedDict()
        self.stop = threading.Event()  # set: give up retrying
        self.compressor = concurrent.futures.ThreadPoolExecutor(1, f"relay-gzip-{name}")
        self.written = 0  # lines whose last byte was written, in every file
        self.lost = 0  # lines given up at shutdown while writing kept failing
        self.rotations = 0
        self.open_files = 0
        self.current: FileWriter | None = None  # the file being written now
        self._cannot_open = Throttle()

    @property
    def failing(self) -> OSError | None:
        current = self.current
        return current.out.failing if current is not None else None

    def progress(self) -> int:
        current = self.current
        return self.written + (current.out.written if current is not None else 0)

    def write(self, groups: list[tuple[str, bytes, int]]) -> int:
        """Write each (file name, lines joined, how many) to its file; the lines lost."""
        lost = 0
        for path, data, lines in groups:
            writer = self._writer(path)
            if writer is None:
                lost += lines
                continue
            before, rotations = writer.out.written, writer.rotations
            self.current = writer
            try:
                gone = writer.write(data, lines)
            finally:
                self.current = None
            lost += gone
            self.lost += gone
            self.written += writer.out.written - before
            self.rotations += writer.rotations - rotations
        return lost

    def _writer(self, path: str) -> FileWriter | None:
        writer = self.files.get(path)
        if writer is not None:
            self.files.move_to_end(path)
            return writer
        writer = FileWriter(self.name, self.config, path, compressor=self.compressor,
                            stop=self.stop)
        try:
            writer.open()
        except OSError as exc:
            if exc.errno not in SPACE:
                self._cannot_open.warn("destination %s: cannot open %s: %s; its lines are "
                                       "dropped", self.name, path, exc.strerror or exc)
                return None
            # a full disk: the writer retries opening it as it retries writing
        self.files[path] = writer
        while len(self.files) > self.config.max_open_files:
            _, oldest = self.files.popitem(last=False)
            oldest.finish()
        self.open_files = len(self.files)
        return writer

    def reap(self, idle: float) -> None:
        """Close the files nothing was written to for IDLE seconds."""
        now = time.monotonic()
        for path, writer in list(self.files.items()):
            if now - writer.last_write >= idle:
                del self.files[path]
                writer.finish()
        self.open_files = len(self.files)

    def reopen(self) -> None:
        for writer in self.files.values():
            writer.reopen()
        self.open_files = sum(w.fd >= 0 for w in self.files.values())

    def finish(self) -> None:
        for writer in self.files.values():
            writer.finish()
        self.files.clear()
        self.open_files = 0
        self.stop.set()  # a compression that keeps failing leaves its file uncompressed
        self.compressor.shutdown(wait=True)

