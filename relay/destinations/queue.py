"""The bounded queue every flow-controlled destination keeps: bytes not yet written.

A destination counts what it took and has not written (in a writer thread, in a
transport's buffer, or held back while its reader is away).  Past the high-water mark
(``queue_bytes``) it is congested and relay.flow pauses the stream sources; below the
low-water mark (half of it) it is relieved and they resume.  Nothing is lost that way;
only what datagram sources send, which cannot be paused, is dropped past twice the bound
by a destination that holds lines back.
"""

from __future__ import annotations

from relay.flow import FlowControl


class WriteQueue:
    """Bytes waiting to be written, held here or counted elsewhere, against water marks."""

    __slots__ = ("owner", "flow", "high", "low", "size", "_held")

    def __init__(self, owner: object, flow: FlowControl, high: int):
        self.owner = owner
        self.flow = flow
        self.high = high
        self.low = high // 2
        self.size = 0  # bytes counted (held here or in flight elsewhere)
        self._held: list[bytes] = []

    # -- bytes written elsewhere (a writer thread): counted in, counted out ------------

    def add(self, n: int) -> None:
        self.size += n
        self.check()

    def remove(self, n: int) -> None:
        self.size -= n
        self.check()

    # -- bytes held here until there is somewhere to write them ------------------------

    def hold(self, data: bytes) -> bool:
        """Keep DATA for later; False (and nothing kept) when that would pass twice the
        bound, since only datagram sources still send then."""
        if self.size + len(data) > 2 * self.high:
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
        if queued > self.high:
            self.flow.congested(self.owner)
        elif queued < self.low:
            self.flow.relieved(self.owner)
