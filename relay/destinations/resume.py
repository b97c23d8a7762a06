"""Writing a chunk of lines completely, through a full disk: retry with backoff, resume.

The file destination's writer thread hands every chunk (whole lines, joined) to
``ResumingWriter.write``.  A write that fails (ENOSPC, EDQUOT, EIO, ...) wrote nothing
and a short one wrote a prefix; either way the next attempt starts at the first byte
not yet written, so no line is cut in half or written twice.  Failures are retried
after 1 s, doubling to 30 s, and logged once per episode (with the cause) and once
when writing works again.  Only a stop gives up, after one last attempt; what is left
is returned as lost, for the caller to count and report.

``written`` counts lines whose last byte reached the kernel: the newlines written, up
to the number of messages in the chunk (a message may hold a newline of its own), and
the whole chunk once its last byte is written.  No I/O happens here but the write
function the caller passes, so the logic is tested with one that fails on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("relay")

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0

#: writes a prefix of the bytes it is given, returns how many; raises OSError
Write = Callable[[memoryview], int]
#: waits up to that many seconds; False when the writer must stop instead of retrying
Wait = Callable[[float], bool]


class ResumingWriter:
    """Writes chunks in order, each to its last byte, retrying failures with backoff."""

    def __init__(self, what: str, write: Write, wait: Wait):
        self.what = what  # "destination d_file: writing /var/log/relay.json", for the log
        self._write = write
        self._wait = wait
        self.written = 0  # lines whose last byte was written
        self.failing: OSError | None = None  # the error of the current episode, if any
        self.episodes = 0

    def write(self, data: bytes, messages: int) -> int:
        """Write all of DATA, which holds MESSAGES lines; return how many were lost (only
        when told to stop while failing)."""
        view = memoryview(data)
        offset = 0
        counted = 0
        backoff = BACKOFF_FIRST
        stopping = False
        while offset < len(data):
            try:
                n = self._write(view[offset:])
                if n <= 0:  # a regular file does not do this; do not spin on it
                    raise OSError(0, "the write wrote nothing")
            except OSError as exc:
                self._failed(exc, backoff)
                if stopping:
                    break
                if not self._wait(backoff):
                    stopping = True  # one last attempt, then give up
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            if offset + n >= len(data):  # the rest: its lines are what was not counted
                offset += n
                break
            lines = min(data.count(b"\n", offset, offset + n), messages - counted)
            offset += n
            counted += lines
            self.written += lines
        if offset >= len(data):
            self.written += messages - counted
            if self.failing is not None:
                self._recovered()
            return 0
        return messages - counted

    def _failed(self, exc: OSError, backoff: float) -> None:
        if self.failing is None:
            self.episodes += 1
            log.error("%s failed: %s; retrying (every %.0f s up to %.0f s) and holding "
                      "lines back meanwhile", self.what, exc.strerror or exc, backoff,
                      BACKOFF_MAX)
        self.failing = exc

    def _recovered(self) -> None:
        log.warning("%s works again after %s", self.what,
                    self.failing.strerror if self.failing else "a failure")
        self.failing = None
