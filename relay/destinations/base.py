"""The destination interface, and the buffered writer that the writing destinations share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from relay.config import BufferedConfig, DestinationConfig
from relay.flow import FlowControl
from relay.message import FLAG_LOCAL, LogMessage

log = logging.getLogger("relay")

Render = Callable[[LogMessage], bytes]
Filter = Callable[[LogMessage], bool]
C = TypeVar("C", bound=DestinationConfig)
B = TypeVar("B", bound=BufferedConfig)

# Buffered writers write at the end of a batch (one read of a socket) once this many lines
# wait, and otherwise at least every flush_interval.
WRITE_LINES = 512


def _none_held() -> int:
    return 0


def as_from(flow: FlowControl, datagrams: bool, call: Callable[..., None], *args: Any) -> None:
    """CALL(*ARGS) with ``flow.datagrams`` set to DATAGRAMS (whether the lines it writes
    came from a datagram source) for the time of the call."""
    if flow.datagrams == datagrams:
        call(*args)
        return
    flow.datagrams = datagrams
    try:
        call(*args)
    finally:
        flow.datagrams = not datagrams


class Destination(Generic[C]):
    """Renders each message with its template and delivers the bytes."""

    def __init__(self, config: C, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        self.config: C = config
        self.name = config.name
        self.render = render
        self.flow = flow
        # what filter(NAME) names in a filter a destination compiles (subscribers)
        self.named_filters: Mapping[str, Filter] = named_filters or {}
        self.written = 0  # messages delivered (for a writer: whose last byte was written)
        self.dropped = 0  # messages lost on purpose (bounded buffers), counted
        self.seqnum = 0  # syslog-ng's writer sequence: stepped for local messages only
        # bytes of its lines held before they reach it (relay.workers: the main process's
        # datagram batches, joined or waiting for their turn); counted with queued()
        self.held_before: Callable[[], int] = _none_held

    def number(self, msg: LogMessage) -> None:
        """Give a local message (our own errors, local sources) this writer's next SEQNUM."""
        self.seqnum = self.seqnum + 1 if self.seqnum < 0x7FFFFFFF else 1
        msg.seqnum = self.seqnum

    def send(self, msg: LogMessage) -> None:
        raise NotImplementedError

    def direct_sink(self) -> Callable[[bytes], None] | None:
        """What takes the rendered line of a message that is not local in place of
        ``send`` (a source that renders without making the message hands it there),
        or None when ``send`` does more than render it and hold the line."""
        return None

    def direct_ready(self) -> Callable[[], bool] | None:
        """For a destination whose ``direct_sink`` may take lines only at times: a check
        that says whether it may right now (None: whenever it has a sink)."""
        return None

    def idle(self) -> Callable[[], bool] | None:
        """A check that says whether, right now, ``send`` would do nothing with a message
        that is not local (a feed without subscribers), so that a source may leave it
        out; None when it never would."""
        return None

    def end_batch(self) -> None:
        """The source finished a batch (one read): a good moment to write."""

    def flush(self) -> None:
        """Write what is held now, whatever its size (nothing, where nothing is held)."""

    async def start(self) -> list[str]:
        """Open what must be opened; return the addresses listened on, if any."""
        return []

    def created_paths(self) -> list[str]:
        """The files and directories start created (handed to the user the relay becomes)."""
        return []

    def started(self) -> None:
        """Every destination and source has started and privileges are dropped: start
        what runs on its own (a program destination's command)."""

    async def stop(self) -> None:
        """Flush everything and close."""

    def reopen(self) -> None:
        """SIGHUP: reopen files (for logrotate)."""

    def queued(self) -> int:
        """Bytes taken and not yet written (read by the metrics, not on the hot path)."""
        return 0

    async def flushed(self) -> None:
        """Wait until everything taken so far has been written (reached the kernel, the
        client's buffer or the ack): what a nats source waits for before it acks."""
        self.end_batch()
        while self.queued():
            await asyncio.sleep(0.002)


class BufferedDestination(Destination[B]):
    """Joins rendered lines and writes them in large chunks, at least every flush_interval."""

    def __init__(self, config: B, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self._buf: list[bytes] = []
        # where the buffer's lines came from, as (end, datagrams) runs: flow.datagrams
        # while they were taken (relay.destinations.queue drops only a datagram
        # source's lines, and a flush may come from a timer, after the delivery)
        self._runs: list[tuple[int, bool]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> list[str]:
        self._loop = asyncio.get_running_loop()
        return []

    def send(self, msg: LogMessage) -> None:
        if msg.flags & FLAG_LOCAL:
            self.number(msg)
        self._buf.append(self.render(msg))

    def direct_sink(self) -> Callable[[bytes], None] | None:
        return self._buf.append  # (send's own, for a message that is not local)

    def end_batch(self) -> None:
        self.mark()
        if len(self._buf) >= WRITE_LINES:
            self.flush()
        elif self._buf and self._timer is None and self._loop is not None:
            self._timer = self._loop.call_later(self.config.flush_interval, self.flush)

    def mark(self) -> None:
        """Note that the lines taken since the last mark came from the delivery going on
        now: a datagram source's while ``flow.datagrams`` is set."""
        taken, runs, datagrams = len(self._buf), self._runs, self.flow.datagrams
        if taken > (runs[-1][0] if runs else 0):
            if runs and runs[-1][1] == datagrams:
                runs[-1] = (taken, datagrams)
            else:
                runs.append((taken, datagrams))

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._buf:
            return
        self.mark()
        buf, start = self._buf, 0
        chunks = []  # (one run, unless a stream's lines and datagrams were taken in turns)
        for end, datagrams in self._runs:
            chunks.append((b"".join(buf[start:end]), end - start, datagrams))
            start = end
        buf.clear()
        self._runs.clear()
        for data, lines, datagrams in chunks:
            as_from(self.flow, datagrams, self.write, data, lines)

    def write(self, data: bytes, lines: int) -> None:
        """Write DATA, which holds LINES messages; count them in ``written`` once their
        bytes reached the kernel, or in ``dropped``."""
        raise NotImplementedError

    def queued(self) -> int:
        return sum(map(len, self._buf))

    async def flushed(self) -> None:
        self.flush()
        await super().flushed()

    async def stop(self) -> None:
        self.flush()
