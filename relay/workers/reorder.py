"""Putting the batches of a shared UDP socket back in the order they were read (no IO).

The workers read a UDP socket in turn, and number each batch as they read it (under a
lock, relay.sources.shared); each then parses and renders its batch on its own core, so
batches reach the main process out of order.  Reorder hands back what may be written
now: the lines of the batch whose turn it is at once, those of later batches once every
earlier one has ended (TURN_END).  A batch that never ends (its worker died while it
held it) is skipped after GIVE_UP seconds, so that the socket does not stall.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

GIVE_UP = 1.0  # seconds a missing batch may hold up the ones after it


class _Socket:
    __slots__ = ("next", "held", "ended", "since")

    def __init__(self) -> None:
        self.next = 1  # the batch whose turn it is
        self.held: dict[int, list[Any]] = {}  # later batches' lines, not yet written
        self.ended: set[int] = set()  # later batches that have ended
        self.since = 0.0  # when the turn last moved (or a later batch came), for stuck()


class Reorder:
    def __init__(self) -> None:
        self._sockets: dict[int, _Socket] = {}

    def _socket(self, slot: int) -> _Socket:
        found = self._sockets.get(slot)
        if found is None:
            found = self._sockets[slot] = _Socket()
        return found

    def data(self, slot: int, number: int, item: Any, now: float) -> list[Any]:
        """ITEM (lines of batch NUMBER): [ITEM] when it may be written now, else []."""
        sock = self._socket(slot)
        if number == sock.next:
            return [item]
        if number < sock.next:  # a batch given up on, late after all: write it anyway
            return [item]
        if not sock.held and not sock.ended:
            sock.since = now
        sock.held.setdefault(number, []).append(item)
        return []

    def end(self, slot: int, number: int, now: float) -> list[Any]:
        """Batch NUMBER has ended: what may be written now, in order."""
        sock = self._socket(slot)
        if number < sock.next:
            return []
        if not sock.held and not sock.ended:
            sock.since = now
        sock.ended.add(number)
        return self._advance(sock, now)

    def _advance(self, sock: _Socket, now: float) -> list[Any]:
        out: list[Any] = []
        while sock.next in sock.ended:
            sock.ended.discard(sock.next)
            sock.next += 1
            sock.since = now
            out += sock.held.pop(sock.next, ())
        return out

    def stuck(self, now: float) -> list[Any]:
        """Skip the batches that held up later ones for GIVE_UP seconds: what may be
        written now."""
        out = []
        for sock in self._sockets.values():
            if (sock.held or sock.ended) and now - sock.since >= GIVE_UP:
                out += self._skip(sock, now)
        return out

    def _skip(self, sock: _Socket, now: float) -> list[Any]:
        waiting = sorted(set(sock.held) | sock.ended)
        sock.next = waiting[0]
        out = sock.held.pop(sock.next, [])
        return out + self._advance(sock, now)

    def drain(self) -> list[Any]:
        """Everything held, in order, whatever is missing (the workers have all ended)."""
        out: list[Any] = []
        for sock in self._sockets.values():
            for number in sorted(sock.held):
                out += sock.held[number]
            sock.held.clear()
            sock.ended.clear()
        return out

    def waiting(self) -> Iterator[Any]:
        """Every item held, in no particular order."""
        for sock in self._sockets.values():
            for items in sock.held.values():
                yield from items

    def held(self) -> int:
        return sum(len(items) for sock in self._sockets.values() for items in sock.held.values())
