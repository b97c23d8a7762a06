"""One worker as the main process sees it: its process, its control socket, and the
main process's end of its data channel (a BufferedProtocol, relay.workers.channel), and
the Joiner that turns the small chunks of datagram batches into larger writes."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import time
from typing import Any, Protocol

import orjson

from relay.destinations.base import WRITE_LINES
from relay.flow import FlowControl
from relay.workers.channel import (
    DATA,
    DONE,
    FEED,
    LOCAL,
    READY,
    STATS,
    TURN_END,
    FrameReader,
    read_json,
)
from relay.workers.reorder import Reorder

log = logging.getLogger("relay")


class Pool(Protocol):
    """What a channel hands its frames to (relay.workers.pool.WorkerPool)."""

    flow: FlowControl
    reorder: Reorder

    def write(self, kind: int, name: str, lines: int, body: bytearray) -> None: ...

    def write_all(self, items: list[tuple[int, str, int, bytearray]]) -> None: ...

    def count(self) -> None: ...

    def worker_lost(self, worker: Worker) -> None: ...


class MainChannel(asyncio.BufferedProtocol):
    """The main process's end of one worker's data channel."""

    def __init__(self, pool: Pool, worker: Worker):
        self.pool = pool
        self.worker = worker
        self.reader = FrameReader()
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.pool.flow.register(self.transport)  # type: ignore[arg-type]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.reader.buffer()

    def buffer_updated(self, nbytes: int) -> None:
        for frame in self.reader.filled(nbytes):
            self.frame(*frame)

    def frame(self, kind: int, name: str, lines: int, body: bytearray, slot: int,
              number: int) -> None:
        if kind == DATA or kind == LOCAL or kind == FEED:
            if number:  # a batch of a shared UDP socket: written in the order read
                self.pool.write_all(self.pool.reorder.data(
                    slot, number, (kind, name, lines, body), time.monotonic()))
            else:
                self.pool.write(kind, name, lines, body)
        elif kind == TURN_END:
            self.pool.write_all(self.pool.reorder.end(slot, number, time.monotonic()))
        elif kind == STATS:
            self.worker.stats = read_json(body)
            self.pool.count()
        elif kind in (READY, DONE) and self.worker.answer is not None:
            if not self.worker.answer.done():
                self.worker.answer.set_result(read_json(body))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.pool.flow.unregister(self.transport)
        if not self.lost.done():
            self.lost.set_result(None)
        if self.worker.answer is not None and not self.worker.answer.done():
            self.worker.answer.set_result({"ok": False, "error": "the worker exited"})
        self.pool.worker_lost(self.worker)


class _Held:
    __slots__ = ("dest", "bodies", "lines")

    def __init__(self, dest: Any) -> None:
        self.dest = dest
        self.bodies: list[bytearray] = []
        self.lines = 0


class Joiner:
    """Chunks smaller than a write's worth (a datagram batch's lines), joined per
    destination into one write at the end of the loop's turn, or once they make
    WRITE_LINES; a full chunk (a stream's 512 lines) is written as it came, not copied.
    What is held is written before anything that comes after it."""

    def __init__(self) -> None:
        self.held: dict[str, _Held] = {}
        self.due = False

    def write(self, name: str, dest: Any, body: bytearray, lines: int) -> None:
        held = self.held.get(name)
        if lines >= WRITE_LINES:
            if held is not None:
                self.write_held(name)
            dest.write(body, lines)
            return
        if held is None:
            held = self.held[name] = _Held(dest)
        held.bodies.append(body)
        held.lines += lines
        if held.lines >= WRITE_LINES:
            self.write_held(name)
        elif not self.due:
            self.due = True
            asyncio.get_running_loop().call_soon(self.write_all)

    def held_bytes(self, name: str) -> int:
        held = self.held.get(name)
        return 0 if held is None else sum(map(len, held.bodies))

    def write_held(self, name: str) -> None:
        held = self.held.pop(name, None)
        if held is not None:
            bodies = held.bodies
            held.dest.write(bodies[0] if len(bodies) == 1 else b"".join(bodies), held.lines)

    def write_all(self) -> None:
        self.due = False
        for name in list(self.held):
            self.write_held(name)


class Worker:
    """One worker process, its two sockets to the main process and what it last said."""

    def __init__(self, n: int):
        self.n = n
        self.process: subprocess.Popen[bytes] | None = None
        self.control: socket.socket | None = None
        self.channel: MainChannel | None = None
        self.answer: asyncio.Future[Any] | None = None
        self.stats: dict[str, Any] = {}
        self.stopping = False
        self.handed = 0  # connections handed to it
        self.started = False  # it took its config and sockets: connections may follow

    @property
    def load(self) -> int:
        """Its open connections, as far as the main process knows."""
        reported = self.stats.get("handed", 0)
        active = sum(s.get("active", 0) for s in self.stats.get("sources", {}).values())
        return self.handed - (reported - active)

    def tell(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        assert self.control is not None
        socket.send_fds(self.control, [orjson.dumps(message)], fds or [])
