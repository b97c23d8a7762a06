"""A subscribers destination fed by the workers: the lines a worker renders for it, and
for whom (no IO).

The main process owns the destination's clients.  The distinct filter expressions they
use ("" for a client without one) are the destination's *groups*, numbered by a version
that steps at each change (relay.destinations.clients.Groups); the main process sends
them to every worker as ``{"op": "feed", "destination": NAME, "version": V, "groups":
[EXPR, ...]}``.  While a destination has no group (nobody subscribes), a worker renders
nothing for it.  Otherwise it runs each group's filter on a message and, when at least
one passes, renders the line and sends it with the mask of the groups it passed, in a
FEED frame whose body is::

    version (u32) | mask width in bytes (u8) | per run: lines (u32), bytes (u32), mask,
    the lines

where a run is lines that follow each other with the same mask.  The main process
hands each run to the clients whose expression is a group of its mask in that version.
"""

from __future__ import annotations

import itertools
import logging
import operator
import struct
from collections.abc import Callable, Mapping

from relay.destinations.clients import compile_client_filter
from relay.message import LogMessage

log = logging.getLogger("relay")

Filter = Callable[[LogMessage], bool]
_TOP = struct.Struct("<IB")
_RUN = struct.Struct("<II")  # lines, bytes


def width(groups: int) -> int:
    """Bytes of a mask of GROUPS bits (at least one)."""
    return max(1, (groups + 7) // 8)


def encode(version: int, groups: int, lines: list[tuple[int, bytes]]) -> bytes:
    """The body of a FEED frame: LINES, each (mask, line), filtered under VERSION; lines
    that follow each other with the same mask go as one run (so the main process hands a
    client a run at a time, not a line)."""
    size = width(groups)
    pieces = [_TOP.pack(version, size)]
    for mask, run in itertools.groupby(lines, key=operator.itemgetter(0)):
        texts = [line for _, line in run]
        data = b"".join(texts)
        pieces += (_RUN.pack(len(texts), len(data)), mask.to_bytes(size, "little"), data)
    return b"".join(pieces)


def decode(body: bytes | bytearray) -> tuple[int, list[tuple[int, int, bytes]]]:
    """(version, [(mask, lines, bytes), ...]) of a FEED frame's body, one item per run;
    ValueError when it is cut."""
    if len(body) < _TOP.size:
        raise ValueError("a feed body shorter than its header")
    version, size = _TOP.unpack_from(body, 0)
    view = memoryview(body)
    at, end = _TOP.size, len(body)
    runs = []
    while at < end:
        if end - at < _RUN.size + size:
            raise ValueError("a feed run cut short")
        count, length = _RUN.unpack_from(body, at)
        at += _RUN.size
        mask = int.from_bytes(view[at:at + size], "little")
        at += size
        if end - at < length:
            raise ValueError("a feed run cut short")
        runs.append((mask, count, bytes(view[at:at + length])))
        at += length
    return version, runs


def _nothing(msg: LogMessage) -> bool:
    return False


class FeedFilters:
    """A worker's copy of one destination's groups, compiled: ``mask(msg)``."""

    def __init__(self, named_filters: Mapping[str, Filter]):
        self.named_filters = named_filters
        self.version = 0
        self.filters: list[Filter | None] = []  # None: a client without a filter
        #: nobody filters (or nobody subscribes): every line goes as it is, with mask 1
        self.plain = True

    def set(self, version: int, exprs: list[str]) -> None:
        filters: list[Filter | None] = []
        for expr in exprs:
            if not expr:
                filters.append(None)
                continue
            try:
                filters.append(compile_client_filter(expr, self.named_filters))
            except Exception as exc:  # the main process compiled it: a config that changed
                log.warning("a subscriber's filter %r no longer compiles here (%s): its "
                            "group gets nothing", expr, exc)
                filters.append(_nothing)
        self.version, self.filters = version, filters
        self.plain = filters in ([], [None])

    def mask(self, msg: LogMessage) -> int:
        """The groups whose filter MSG passes, one bit each (0: nobody wants it)."""
        mask, bit = 0, 1
        for flt in self.filters:
            if flt is None or flt(msg):
                mask |= bit
            bit <<= 1
        return mask
