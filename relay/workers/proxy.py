"""The worker's side of its channel: destinations that hand rendered lines to the main
process instead of writing them.

Each destination of the config is a ChannelDestination in a worker: it renders with the
destination's template and joins lines exactly as the real one does (relay.destinations
.base.BufferedDestination), and a chunk goes into the channel as a DATA frame, which the
main process passes to the real destination's ``write``.  A local message (a parse error)
goes alone, as a LOCAL frame, since the real destination gives its SEQNUM.  The channel's
transport pauses the worker's connections while its buffer is over HIGH (the main process
reads slowly because a destination is congested) and resumes them below LOW.  A datagram source
cannot be paused: past HARD bytes waiting, its chunks are dropped and counted.  A stream's
never are: a connection paused in the middle of a read still hands on the rest of it, so a
few hundred KiB per connection may go past HIGH, and they all go into the channel.

A subscribers destination is a FeedDestination: it renders only while the main process
says somebody subscribes, and sends each line with the client filters it passed
(relay.workers.feed) in FEED frames.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable, Mapping
from typing import Any

from relay.config import BufferedConfig, DestinationConfig, SubscribersConfig
from relay.destinations.base import BufferedDestination, Destination, Filter, Render
from relay.errors import ConfigError
from relay.flow import FlowControl
from relay.message import FLAG_LOCAL, LogMessage
from relay.sources.base import Throttle
from relay.sources.shared import SharedCount
from relay.workers import feed
from relay.workers.channel import (
    STATS,
    data_frame,
    feed_frame,
    json_frame,
    local_frame,
    turn_end_frame,
)

HIGH = 1024 * 1024
LOW = 256 * 1024
HARD = 64 * 1024 * 1024
# small frames (a datagram batch's lines, a turn's end) are joined into one write of
# WRITE_AT bytes, or after WRITE_DELAY: every write wakes the main process, which on
# shared cores costs more than the bytes (UDP at 100k msg/s, worker and main process:
# 64 KiB and 2 ms, 7.4-7.7 CPU us/msg in all; 256 KiB and 10 ms, 6.1-6.2)
WRITE_AT = 256 * 1024
WRITE_DELAY = 0.01


class ChannelProtocol(asyncio.Protocol):
    """The worker's end of the data channel."""

    def __init__(self, flow: FlowControl):
        self.flow = flow
        self.transport: asyncio.WriteTransport | None = None
        self.loop = asyncio.get_running_loop()
        self.lost = self.loop.create_future()
        #: the worker's counters: sent after the lines of every turn of the loop, so
        #: that the main process never counts lines written before they were received
        self.report: Callable[[], Any] | None = None
        self._report_due = False
        #: (slot, number) while a batch of a shared UDP socket is being delivered
        self.tag: tuple[int, int] = (0, 0)
        self._pending: list[bytes] = []  # frames sent, not yet handed to the transport
        self._pending_bytes = 0
        self._write_due: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport) or hasattr(transport, "write")
        self.transport = transport  # type: ignore[assignment]
        self.transport.set_write_buffer_limits(high=HIGH, low=LOW)  # type: ignore[union-attr]

    def pause_writing(self) -> None:
        self.flow.congested(self)

    def resume_writing(self) -> None:
        self.flow.relieved(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)
        self.flow.relieved(self)

    def refuses(self, datagrams: bool) -> bool:
        """Whether lines are dropped: a datagram source's (DATAGRAMS, as
        ``flow.datagrams`` says) past HARD bytes waiting, and anything once the channel is
        closed.  A stream's always go: its connections are paused instead."""
        if self.transport is None or self.transport.is_closing():
            return True
        return datagrams and self.transport.get_write_buffer_size() + self._pending_bytes > HARD

    def send(self, pieces: list[bytes]) -> None:
        """Queue PIECES: they go out in one write with what follows within WRITE_DELAY,
        or as soon as WRITE_AT bytes wait (a datagram batch is tens of KiB: one write,
        and one wakeup of the main process, per batch cost more than parsing it)."""
        if self.transport is None or self.transport.is_closing():
            return
        self._pending += pieces
        self._pending_bytes += sum(map(len, pieces))
        if self._pending_bytes >= WRITE_AT:
            # at once: a turn may read a connection many times over, and the transport's
            # pause_writing (flow control) must come while it does
            self.write_pending()
        else:
            self._write_soon()

    def _write_soon(self) -> None:
        if self._write_due is None:
            self._write_due = self.loop.call_later(WRITE_DELAY, self.write_pending)

    def write_pending(self) -> None:
        """Hand what was queued to the transport, the counters last if they are due."""
        if self._write_due is not None:
            self._write_due.cancel()
            self._write_due = None
        if self._report_due:
            self._report_due = False
            if self.report is not None:
                self._pending.append(json_frame(STATS, self.report()))
        if not self._pending:
            return
        pieces, self._pending, self._pending_bytes = self._pending, [], 0
        if self.transport is not None and not self.transport.is_closing():
            self.transport.writelines(pieces)

    def report_soon(self) -> None:
        """Send the counters after the lines sent so far (in the same write)."""
        if not self._report_due and self.report is not None:
            self._report_due = True
            self._write_soon()

    def send_report(self) -> None:
        self._report_due = False
        if self.report is not None:
            self.send_json(STATS, self.report())

    def send_json(self, kind: int, value: Any) -> None:
        self.send([json_frame(kind, value)])

    async def drained(self) -> None:
        """Until what was sent has left the buffer (or the channel is gone)."""
        self.write_pending()
        while (self.transport is not None and not self.transport.is_closing()
               and self.transport.get_write_buffer_size()):
            await asyncio.sleep(0.005)


class ChannelDestination(BufferedDestination[BufferedConfig]):
    def __init__(self, config: BufferedConfig, render: Render, flow: FlowControl,
                 channel: ChannelProtocol, named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self.channel = channel
        self._name = config.name.encode()
        self.warning = Throttle()

    def send(self, msg: LogMessage) -> None:
        if not msg.flags & FLAG_LOCAL:
            self._buf.append(self.render(msg))
            return
        self.flush()
        _send_local(self, self.channel, msg)

    def direct_sink(self) -> Callable[[bytes], None] | None:
        return super().direct_sink()  # (a message that is not local: held as send holds it)

    def end_batch(self) -> None:
        if self.channel.tag[1]:  # a batch of a shared socket: its turn flushes it next
            self.mark()
            return
        super().end_batch()

    def write(self, data: bytes, lines: int) -> None:
        if self.channel.refuses(self.flow.datagrams):
            self.dropped += lines
            self.warning.warn("destination %s: %d lines dropped: the main process is %d "
                              "bytes behind (datagrams cannot be paused)", self.name, lines,
                              HARD)
            return
        self.channel.send(data_frame(self._name, lines, data, *self.channel.tag))
        self.channel.report_soon()  # (written is counted where the lines reach the kernel:
        # by the real destination, in the main process)


def _send_local(dest: Destination[Any], channel: ChannelProtocol, msg: LogMessage) -> None:
    """A local message goes alone: its SEQNUM is the real destination's to give, so the
    main process renders it, after the lines before it (flushed already)."""
    if channel.refuses(dest.flow.datagrams):
        dest.dropped += 1
        return
    channel.send(local_frame(dest.name.encode(), pickle.dumps(msg), *channel.tag))
    channel.report_soon()


class FeedDestination(Destination[SubscribersConfig]):
    """A subscribers destination in a worker: the lines its subscribers' filters pass, each
    with their mask, to the main process, which owns the clients."""

    def __init__(self, config: SubscribersConfig, render: Render, flow: FlowControl,
                 channel: ChannelProtocol, named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self.channel = channel
        self._name = config.name.encode()
        self.groups = feed.FeedFilters(self.named_filters)
        self._lines: list[tuple[int, bytes]] = []
        self._offered = 0  # messages looked at since the last frame
        self._datagrams = False  # whether they came from a datagram source
        self.warning = Throttle()

    def set_groups(self, version: int, exprs: list[str]) -> None:
        """The main process's groups of VERSION (relay.workers.feed); what was filtered
        under the old ones goes first."""
        self.flush()
        self.groups.set(version, exprs)

    def direct_sink(self) -> Callable[[bytes], None] | None:
        return self._take_line

    def _take_line(self, line: bytes) -> None:
        """The direct way's line: while only clients without a filter subscribe (or
        nobody does, and it is dropped), it is what send would render."""
        if self.groups.filters:
            self._offered += 1
            self._lines.append((1, line))

    def direct_ready(self) -> Callable[[], bool] | None:
        groups = self.groups
        return lambda: groups.plain

    def idle(self) -> Callable[[], bool] | None:
        groups = self.groups
        return lambda: not groups.filters

    def send(self, msg: LogMessage) -> None:
        if msg.flags & FLAG_LOCAL:
            self.flush()
            _send_local(self, self.channel, msg)
            return
        if not self.groups.filters:
            return
        self._offered += 1
        mask = self.groups.mask(msg)
        if mask:
            self._lines.append((mask, self.render(msg)))

    def end_batch(self) -> None:
        if not self.channel.tag[1]:
            self.flush()
        elif self.flow.datagrams:  # a batch of a shared socket: its turn flushes it next
            self._datagrams = True

    def flush(self) -> None:
        datagrams, self._datagrams = self._datagrams or self.flow.datagrams, False
        if not self._offered:
            return
        lines, offered = self._lines, self._offered
        self._lines, self._offered = [], 0
        if self.channel.refuses(datagrams):
            self.dropped += len(lines)
            self.warning.warn("destination %s: %d lines dropped: the main process is %d "
                              "bytes behind (datagrams cannot be paused)", self.name,
                              len(lines), HARD)
            return
        body = feed.encode(self.groups.version, len(self.groups.filters), lines)
        self.channel.send(feed_frame(self._name, offered, body, *self.channel.tag))
        self.channel.report_soon()

    def queued(self) -> int:
        return sum(len(line) for _, line in self._lines)

    async def flushed(self) -> None:
        self.flush()

    async def stop(self) -> None:
        self.flush()


class WorkerTurns:
    """A UDP socket shared by the workers (relay.sources.base.Turns): read under the
    slot's lock, each batch numbered; its lines go out tagged with its number, then
    TURN_END, so that the main process writes the batches in the order they were read."""

    def __init__(self, count: SharedCount, slot: int, channel: ChannelProtocol,
                 flush: Callable[[], None], first: bool = True):
        self.first = first
        self.beat = count.beat
        self.reader = count.reader
        self.slot = slot
        self.channel = channel
        self.flush = flush
        self.lock = count.lock
        self.unlock = count.unlock
        self.take = count.step

    def deliver(self, number: int, deliver: Callable[[], None]) -> None:
        self.flush()  # what other sources left in the buffers goes out untagged first
        self.channel.tag = (self.slot, number)
        try:
            deliver()
            self.flush()
        finally:
            self.channel.tag = (0, 0)
        self.channel.send([turn_end_frame(self.slot, number)])


def factory(channel: ChannelProtocol):  # type: ignore[no-untyped-def]
    """What assemble makes a destination with, in a worker."""

    def make(config: DestinationConfig, render: Render, flow: FlowControl,
             named_filters: Mapping[str, Filter] | None = None) -> Destination[Any]:
        if isinstance(config, SubscribersConfig):
            return FeedDestination(config, render, flow, channel, named_filters)
        if not isinstance(config, BufferedConfig):
            raise ConfigError(f"destination {config.name!r} cannot be written by a worker")
        return ChannelDestination(config, render, flow, channel, named_filters)

    return make
