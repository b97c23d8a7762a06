"""The frames on a worker's channel to the main process, encoded and decoded without IO.

A frame is a 5-byte header (kind, payload length) and its payload:

- ``DATA``: a destination's rendered lines, ``<H name length><I lines>`` then the name
  and the bytes; the main process writes them as they are;
- ``STATS``: the worker's counters, as JSON (absolute values, sent every half second and
  once more at the end);
- ``READY`` and ``DONE``: JSON answers to the main process's ``start`` and ``reload``
  ({"ok": true} or {"ok": false, "error": "..."}).

The main process talks to a worker on a second socket (SOCK_SEQPACKET, one JSON message
per packet, listening sockets passed along with SCM_RIGHTS): ``start``, ``reload`` and
``stop``.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

DATA, STATS, READY, DONE = 1, 2, 3, 4
_HEAD = struct.Struct("<BI")
_DATA = struct.Struct("<HI")
HEAD = _HEAD.size


def data_frame(name: bytes, lines: int, data: bytes) -> list[bytes]:
    """A DATA frame as pieces to write together (the data is not copied)."""
    return [_HEAD.pack(DATA, _DATA.size + len(name) + len(data)),
            _DATA.pack(len(name), lines) + name, data]


def json_frame(kind: int, value: Any) -> bytes:
    body = orjson.dumps(value)
    return _HEAD.pack(kind, len(body)) + body


class Decoder:
    """Bytes in, whole frames out: ``feed(data) -> [(kind, payload), ...]``."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._buf
        buf += data
        frames = []
        at = 0
        end = len(buf)
        with memoryview(buf) as view:
            while end - at >= HEAD:
                kind, size = _HEAD.unpack_from(buf, at)
                if end - at - HEAD < size:
                    break
                frames.append((kind, bytes(view[at + HEAD:at + HEAD + size])))
                at += HEAD + size
        if at:
            del buf[:at]
        return frames

    @property
    def pending(self) -> int:
        return len(self._buf)


def read_data(payload: bytes) -> tuple[str, int, bytes]:
    """A DATA payload as (destination name, lines, bytes)."""
    size, lines = _DATA.unpack_from(payload, 0)
    start = _DATA.size
    return payload[start:start + size].decode(), lines, payload[start + size:]


def read_json(payload: bytes) -> Any:
    return orjson.loads(payload)
