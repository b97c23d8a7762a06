"""Flow control: destinations past their high-water mark pause the stream sources.

syslog-ng's flags(flow-control), made the default for stream sources: when any
destination's queue passes its high-water mark, every TCP and unix-stream connection
stops reading (``pause_reading``), so the senders' kernels hold the data; reading
resumes once every destination is below its low-water mark.  Nothing is lost.  UDP
cannot be paused: datagram sources drop and count instead (see the destinations).
"""

from __future__ import annotations

import asyncio


class FlowControl:
    def __init__(self) -> None:
        self._transports: set[asyncio.Transport] = set()
        self._congested: set[object] = set()
        self.pauses = 0
        #: whether what is being delivered comes from a datagram source, which cannot be
        #: paused (relay.destinations.queue drops past twice the bound only then: a stream
        #: paused in the middle of a read still delivers the rest of that read)
        self.datagrams = False

    @property
    def paused(self) -> bool:
        return bool(self._congested)

    def register(self, transport: asyncio.Transport) -> None:
        self._transports.add(transport)
        if self._congested:
            transport.pause_reading()

    def unregister(self, transport: asyncio.Transport) -> None:
        self._transports.discard(transport)

    def congested(self, who: object) -> None:
        """WHO's queue passed its high-water mark."""
        if who in self._congested:
            return
        first = not self._congested
        self._congested.add(who)
        if first:
            self.pauses += 1
            for transport in self._transports:
                if not transport.is_closing():
                    transport.pause_reading()

    def relieved(self, who: object) -> None:
        """WHO's queue fell below its low-water mark."""
        if who not in self._congested:
            return
        self._congested.discard(who)
        if not self._congested:
            for transport in self._transports:
                if not transport.is_closing():
                    transport.resume_reading()
