"""The program destination: template lines to a command's stdin, like syslog-ng's program().

The command runs under ``/bin/sh -c``.  When it exits the relay logs why and starts it
again after a backoff (0.5 s doubling to 30 s, reset once it has run for a while);
lines wait meanwhile (see TransportDestination).  Its stdin is a pipe whose write end
the relay writes without blocking.  At shutdown its stdin is closed and the relay waits
a short while for it to exit, then terminates it.  The first program starts once the
relay runs (``started``): after privileges were dropped, so it runs as the relay's user.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping

from relay.config import ProgramConfig
from relay.destinations.base import Filter, Render, log
from relay.destinations.transport import TransportDestination
from relay.flow import FlowControl

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
STABLE = 10.0  # seconds of running that reset the backoff
EXIT_WAIT = 5.0


class ProgramDestination(TransportDestination[ProgramConfig]):
    def __init__(self, config: ProgramConfig, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self._proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self.restarts = 0

    def started(self) -> None:
        if self._watch is None and self._loop is not None:
            self._watch = self._loop.create_task(self._supervise())

    async def _spawn(self) -> asyncio.subprocess.Process:
        read_end, write_end = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", self.config.command, stdin=read_end)
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        os.set_blocking(write_end, False)
        self.connected(write_end)
        return proc

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = BACKOFF_FIRST
        while not self._stopping:
            try:
                self._proc = await self._spawn()
            except OSError as exc:
                log.error("destination %s: cannot start %r: %s", self.name, self.config.command,
                          exc)
            else:
                started = loop.time()
                code = await self._proc.wait()
                self._disconnect(None)  # what it did not read waits for the next one
                if self._stopping:
                    return
                why = (f"killed by signal {-code}" if code < 0 else f"exited with status {code}")
                log.warning("destination %s: program %r %s; restarting in %.1fs", self.name,
                            self.config.command, why, backoff)
                if loop.time() - started >= STABLE:
                    backoff = BACKOFF_FIRST
            self.restarts += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _shut(self) -> None:
        proc = self._proc
        self._disconnect(None)  # its stdin ends
        if proc is not None and proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), EXIT_WAIT)
            except TimeoutError:
                log.warning("destination %s: program did not exit; terminating it", self.name)
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
        if self._watch is not None:
            self._watch.cancel()
