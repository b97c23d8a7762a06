"""The bounded queue every flow-controlled destination keeps: bytes not yet written.

A destination counts what it took and has not written (in a writer thread, in a
transport's buffer, or held back while its reader is away).  Past the high-water mark
(``queue_bytes``) it is congested and relay.flow pauses the stream sources; below the
low-water mark (half of it) it is relieved and they resume.  Nothing is lost that way;
only what datagram sources send, which cannot be paused, is dropped past twice the bound
(a stream paused in the middle of a read still delivers the rest of it, which is kept).

With ``when_full = "drop"`` the destination never pauses anyone: past the bound it drops
(and counts) what it is given, so the other destinations of its paths keep flowing.
"""

from __future__ import annotations

from relay.flow import FlowControl


class WriteQueue:
    """Bytes waiting to be written, held here or counted elsewhere, against water marks."""

    __slots__ = ("owner", "flow", "high", "low", "drop", "size", "_held")

    def __init__(self, owner: object, flow: FlowControl, high: int, *, drop: bool = False):
        self.owner = owner
        self.flow = flow
        self.high = high
        self.low = high // 2
        self.drop = drop  # when_full = "drop": past the bound, drop rather than pause
        self.size = 0  # bytes counted (held here or in flight elsewhere)
        self._held: list[bytes] = []

    def admit(self, n: int) -> bool:
        """Whether N more bytes may be taken.  When full means drop: while they fit under
        the bound (an empty queue takes a chunk larger than it).  Otherwise: anything
        from a source that can be paused (past the bound it is paused, but the read it
        was delivering is delivered whole), and from a datagram source
        (``flow.datagrams``) anything until the queue is past the bound and then what
        fits under twice the bound: the rest is dropped."""
        if self.drop:
            return not self.size or self.size + n <= self.high
        return (not self.flow.datagrams or self.size <= self.high
                or self.size + n <= 2 * self.high)

    # -- bytes written elsewhere (a writer thread): counted in, counted out ------------

    def add(self, n: int) -> None:
        self.size += n
        self.check()

    def remove(self, n: int) -> None:
        self.size -= n
        self.check()

    # -- bytes held here until there is somewhere to write them ------------------------

    def hold(self, data: bytes) -> bool:
        """Keep DATA for later; False (and nothing kept) when it may not be taken (admit)."""
        if not self.admit(len(data)):
            return False
        self._held.append(data)
        self.size += len(data)
        return True

    def take(self) -> bytes:
        """Everything held, in order; the queue forgets it."""
        data = b"".join(self._held)
        self.size -= len(data)
        self._held.clear()
        return data

    def check(self, elsewhere: int = 0) -> None:
        """Drive flow control from what is queued here plus ELSEWHERE (a transport's
        buffer, which empties with no callback to say so)."""
        queued = self.size + elsewhere
        if self.drop:
            return
        if queued > self.high:
            self.flow.congested(self.owner)
        elif queued < self.low:
            self.flow.relieved(self.owner)
