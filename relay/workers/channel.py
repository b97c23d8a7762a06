"""The frames on a worker's channel to the main process, encoded and read without IO.

A frame is a 23-byte header (kind, body length, name length, lines, turn slot, turn
number), a name and a body:

- ``DATA``: a destination's rendered lines: the destination's name, the number of lines
  and the bytes, which the main process writes as they are;
- ``LOCAL``: one local message (the relay's own parse error), pickled after its log path's
  filters and rewrites, for the destination named: the main process renders it, since
  its SEQNUM is the real destination's next number (one sequence, whichever worker
  parsed it, as syslog-ng numbers a destination's local messages);
- ``FEED``: a subscribers destination's rendered lines, each with the set of the
  destination's client filters it passed (relay.workers.feed): the main process hands
  each line to the clients whose filter that is;
- ``STATS``: the worker's counters, as JSON (absolute values, after every turn of the
  worker's loop that sent lines, every half second, and once more at the end);
- ``TURN_END``: the batch numbered (slot, number) of a UDP socket the workers share has
  sent all its DATA (frames tagged with that number), so the main process may write
  the next one (relay.workers.reorder);
- ``READY`` and ``DONE``: JSON answers to the main process's ``start`` and ``reload``
  ({"ok": true} or {"ok": false, "error": "..."}).

The reader is made for a BufferedProtocol: small frames (a datagram batch's lines,
TURN_END, STATS) are read many at a time into one scratch buffer, and the body of a
large one (a chunk of 512 lines) into a buffer of its own size, so that such a chunk is
copied once, from the kernel, and never joined or sliced.

The main process talks to a worker on a second socket (SOCK_SEQPACKET, one JSON message
per packet, sockets passed along with SCM_RIGHTS): ``start``, ``reload``, ``conn`` (a
TCP connection handed over) and ``stop``.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

DATA, STATS, READY, DONE, LOCAL, TURN_END, FEED = 1, 2, 3, 4, 5, 6, 7
_HEAD = struct.Struct("<BIHIIQ")
HEAD = _HEAD.size
SCRATCH = 64 * 1024  # the reader's buffer for small frames

Frame = tuple[int, str, int, bytearray, int, int]  # kind, name, lines, body, slot, number


def data_frame(name: bytes, lines: int, data: bytes, slot: int = 0,
               number: int = 0) -> list[bytes]:
    """A DATA frame as pieces to write together (the data is not copied); NUMBER > 0: the
    lines of that batch of the shared socket SLOT."""
    return [_HEAD.pack(DATA, len(data), len(name), lines, slot, number) + name, data]


def feed_frame(name: bytes, offered: int, body: bytes, slot: int = 0,
               number: int = 0) -> list[bytes]:
    """A FEED frame: BODY (relay.workers.feed.encode) holds the lines of OFFERED messages
    that passed a client filter (tagged as DATA is)."""
    return [_HEAD.pack(FEED, len(body), len(name), offered, slot, number) + name, body]


def turn_end_frame(slot: int, number: int) -> bytes:
    return _HEAD.pack(TURN_END, 0, 0, 0, slot, number)


def local_frame(name: bytes, message: bytes, slot: int = 0, number: int = 0) -> list[bytes]:
    """A LOCAL frame: one pickled message for the destination NAME (tagged as DATA is)."""
    return [_HEAD.pack(LOCAL, len(message), len(name), 1, slot, number) + name, message]


def json_frame(kind: int, value: Any) -> bytes:
    body = orjson.dumps(value)
    return _HEAD.pack(kind, len(body), 0, 0, 0, 0) + body


class FrameReader:
    """Reads frames for a BufferedProtocol: ``buffer()`` is where the next bytes go,
    ``filled(n)`` says N bytes went there and returns the frames they completed.

    Small frames (a datagram batch's lines, TURN_END, STATS) are read many at a time into
    one scratch buffer and copied out; a frame too large for it (a chunk of 512 lines)
    gets a body buffer of its own size, which the kernel fills directly.
    """

    def __init__(self, scratch: int = SCRATCH) -> None:
        self._scratch = bytearray(scratch)
        self._view = memoryview(self._scratch)
        self._at = 0  # bytes held in the scratch buffer
        self._body: bytearray | None = None  # a large frame's body, being filled
        self._body_view = memoryview(b"")
        self._body_at = 0
        self._head: tuple[int, str, int, int, int] = (0, "", 0, 0, 0)

    def buffer(self) -> memoryview:
        if self._body is not None:
            return self._body_view[self._body_at:]
        return self._view[self._at:]

    def filled(self, n: int) -> list[Frame]:
        if self._body is not None:
            self._body_at += n
            if self._body_at < len(self._body):
                return []
            kind, name, lines, slot, number = self._head
            frame = (kind, name, lines, self._body, slot, number)
            self._body = None
            self._body_view = memoryview(b"")
            return [frame]
        self._at += n
        frames: list[Frame] = []
        buf, at, end = self._scratch, 0, self._at
        while end - at >= HEAD:
            kind, size, name_size, lines, slot, number = _HEAD.unpack_from(buf, at)
            body_at = at + HEAD + name_size
            if end - at >= HEAD + name_size + size:
                name = buf[at + HEAD:body_at].decode() if name_size else ""
                frames.append((kind, name, lines, buf[body_at:body_at + size], slot, number))
                at = body_at + size
            elif HEAD + name_size + size > len(buf) and end >= body_at:
                # too large for the scratch buffer: the body gets a buffer of its own
                self._head = (kind, buf[at + HEAD:body_at].decode(), lines, slot, number)
                body = self._body = bytearray(size)
                self._body_at = end - body_at
                body[:self._body_at] = buf[body_at:end]
                self._body_view = memoryview(body)
                at = end
                break
            else:
                break
        if at:  # what is left of a frame goes to the front
            buf[:end - at] = buf[at:end]
            self._at = end - at
        return frames

    @property
    def pending(self) -> int:
        """Bytes of a frame read so far (0 between frames)."""
        return self._at + (self._body_at if self._body is not None else 0)

    def feed(self, data: bytes) -> list[Frame]:
        """All DATA at once (for tests and for a plain Protocol): the frames it ends."""
        frames = []
        at = 0
        while at < len(data):
            buf = self.buffer()
            n = min(len(buf), len(data) - at)
            buf[:n] = data[at:at + n]
            at += n
            frames += self.filled(n)
        return frames


def read_json(payload: bytes | bytearray) -> Any:
    return orjson.loads(payload)
