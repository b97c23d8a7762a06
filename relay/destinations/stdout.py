"""The stdout destination: template output on standard output."""

from __future__ import annotations

import os
import sys

from relay.config import StdoutConfig
from relay.destinations.base import BufferedDestination, log


class StdoutDestination(BufferedDestination[StdoutConfig]):
    def write(self, data: bytes) -> None:
        fd = sys.stdout.fileno()
        view = memoryview(data)
        try:
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except BlockingIOError:
            self.dropped += 1
            log.warning("destination %s: stdout would block; output dropped", self.name)
        except BrokenPipeError:
            self.dropped += 1
