"""The frames on a worker's channel to the main process, encoded and read without IO.

A frame is a 19-byte header (kind, body length, name length, lines, turn slot, turn
number), a name and a body:

- ``DATA``: a destination's rendered lines: the destination's name, the number of lines
  and the bytes, which the main process writes as they are;
- ``LOCAL``: one local message (the relay's own parse error), pickled after its log path's
  filters and rewrites, for the destination named: the main process renders it, since
  its SEQNUM is the real destination's next number (one sequence, whichever worker
  parsed it, as syslog-ng numbers a destination's local messages);
- ``STATS``: the worker's counters, as JSON (absolute values, after every turn of the
  worker's loop that sent lines, every half second, and once more at the end);
- ``TURN_END``: the batch numbered (slot, number) of a UDP socket the workers share has
  sent all its DATA (frames tagged with that number), so the main process may write
  the next one (relay.workers.reorder);
- ``READY`` and ``DONE``: JSON answers to the main process's ``start`` and ``reload``
  ({"ok": true} or {"ok": false, "error": "..."}).

The reader is made for a BufferedProtocol: it hands out the exact part of a buffer the
next bytes go to (the header, the name, then the body in a buffer of its own size), so
that a chunk of lines is copied once, from the kernel, and never joined or sliced.

The main process talks to a worker on a second socket (SOCK_SEQPACKET, one JSON message
per packet, sockets passed along with SCM_RIGHTS): ``start``, ``reload``, ``conn`` (a
TCP connection handed over) and ``stop``.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

DATA, STATS, READY, DONE, LOCAL, TURN_END = 1, 2, 3, 4, 5, 6
_HEAD = struct.Struct("<BIHIIQ")
HEAD = _HEAD.size

Frame = tuple[int, str, int, bytearray, int, int]  # kind, name, lines, body, slot, number


def data_frame(name: bytes, lines: int, data: bytes, slot: int = 0,
               number: int = 0) -> list[bytes]:
    """A DATA frame as pieces to write together (the data is not copied); NUMBER > 0: the
    lines of that batch of the shared socket SLOT."""
    return [_HEAD.pack(DATA, len(data), len(name), lines, slot, number) + name, data]


def turn_end_frame(slot: int, number: int) -> bytes:
    return _HEAD.pack(TURN_END, 0, 0, 0, slot, number)


def local_frame(name: bytes, message: bytes, slot: int = 0, number: int = 0) -> list[bytes]:
    """A LOCAL frame: one pickled message for the destination NAME (tagged as DATA is)."""
    return [_HEAD.pack(LOCAL, len(message), len(name), 1, slot, number) + name, message]


def json_frame(kind: int, value: Any) -> bytes:
    body = orjson.dumps(value)
    return _HEAD.pack(kind, len(body), 0, 0, 0, 0) + body


class FrameReader:
    """Reads frames into buffers of their own size: ``buffer()`` is where the next bytes
    go, ``filled(n)`` says N bytes went there and returns the frame it completed, as
    (kind, name, lines, body, slot, number), or None."""

    def __init__(self) -> None:
        self._head = bytearray(HEAD)
        self._current = self._head
        self._view = memoryview(self._head)
        self._at = 0
        self._stage = 0  # 0 header, 1 name, 2 body
        self._kind = self._size = self._lines = self._slot = self._number = 0
        self._name = ""

    def buffer(self) -> memoryview:
        return self._view[self._at:]

    def filled(self, n: int) -> Frame | None:
        self._at += n
        if self._at < len(self._current):
            return None
        if self._stage == 0:
            (self._kind, self._size, name_size, self._lines, self._slot,
             self._number) = _HEAD.unpack(self._head)
            self._name = ""
            if name_size:
                self._next(1, bytearray(name_size))
                return None
        elif self._stage == 1:
            self._name = self._current.decode()
        if self._stage < 2:
            if self._size:
                self._next(2, bytearray(self._size))
                return None
            body = bytearray()
        else:
            body = self._current
        frame = (self._kind, self._name, self._lines, body, self._slot, self._number)
        self._next(0, self._head)
        return frame

    def _next(self, stage: int, buf: bytearray) -> None:
        self._stage, self._current, self._at = stage, buf, 0
        self._view = memoryview(buf)

    @property
    def pending(self) -> int:
        """Bytes of a frame read so far (0 between frames)."""
        return self._at + (HEAD if self._stage else 0)

    def feed(self, data: bytes) -> list[Frame]:
        """All DATA at once (for tests and for a plain Protocol): the frames it ends."""
        frames = []
        at = 0
        while at < len(data):
            buf = self.buffer()
            n = min(len(buf), len(data) - at)
            buf[:n] = data[at:at + n]
            at += n
            frame = self.filled(n)
            if frame is not None:
                frames.append(frame)
        return frames


def read_json(payload: bytes | bytearray) -> Any:
    return orjson.loads(payload)
