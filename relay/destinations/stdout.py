"""The stdout destination: template output on standard output."""

from __future__ import annotations

import os
import sys

from relay.config import StdoutConfig
from relay.destinations.base import BufferedDestination, log


class StdoutDestination(BufferedDestination[StdoutConfig]):
    def write(self, data: bytes, lines: int) -> None:
        fd = sys.stdout.fileno()
        view = memoryview(data)
        try:
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except BlockingIOError:
            self.dropped += lines
            log.warning("destination %s: stdout would block; output dropped", self.name)
            return
        except BrokenPipeError:
            self.dropped += lines
            return
        self.written += lines
