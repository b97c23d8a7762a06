"""A count that worker processes share: the open connections of one source.

With worker processes (relay.workers) each one accepts its share of a stream source's
connections, but ``max_connections`` is the source's limit, not each worker's.  The
count lives in a small shared memory file (a memfd every worker maps), one 8-byte slot
per source, and a POSIX record lock on that slot makes a check-and-increment atomic
across the processes.  It is taken once per connection, never per message.  Of a UDP
socket the workers share the slot numbers the batches read, and after the counts each
slot has the state of the socket's first reader (when it last read, whether it wants
help: relay.sources.udp.ReadShare), which the others read without a lock.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct

SLOTS = 512  # sources a relay can share counts for
_SLOT = struct.Struct("<q")
# after the counts: per slot, how a UDP socket's first reader is doing (SharedCount.beat)
_READER = struct.Struct("<dd")  # when it last read (time.monotonic), whether it wants help
_SIZE = SLOTS * (_SLOT.size + _READER.size)


class SharedTable:
    """The memfd of every shared count; made by the main process, handed to workers."""

    def __init__(self, fd: int | None = None):
        if fd is None:
            fd = os.memfd_create("relay-counts", 0)  # inherited across exec (no CLOEXEC)
            os.ftruncate(fd, _SIZE)
        self.fd = fd
        self.map = mmap.mmap(fd, _SIZE, mmap.MAP_SHARED)

    def count(self, slot: int) -> SharedCount:
        if not 0 <= slot < SLOTS:
            raise ValueError(f"shared count slot {slot} out of range")
        return SharedCount(self, slot)

    def close(self) -> None:
        self.map.close()
        os.close(self.fd)


class SharedCount:
    __slots__ = ("table", "offset", "_reader")

    def __init__(self, table: SharedTable, slot: int):
        self.table = table
        self.offset = slot * _SLOT.size
        self._reader = SLOTS * _SLOT.size + slot * _READER.size

    @property
    def value(self) -> int:
        return int(_SLOT.unpack_from(self.table.map, self.offset)[0])

    def _add(self, delta: int, most: int | None) -> bool:
        fd, at = self.table.fd, self.offset
        fcntl.lockf(fd, fcntl.LOCK_EX, _SLOT.size, at)
        try:
            now = _SLOT.unpack_from(self.table.map, at)[0]
            if most is not None and now >= most:
                return False
            _SLOT.pack_into(self.table.map, at, max(0, now + delta))
            return True
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, _SLOT.size, at)

    def take(self, most: int) -> bool:
        """Count one more, unless MOST are counted already."""
        return self._add(1, most)

    def give_back(self) -> None:
        self._add(-1, None)

    def reset(self) -> None:
        _SLOT.pack_into(self.table.map, self.offset, 0)

    # -- taking turns (a UDP socket the workers share) ------------------------------------

    def lock(self) -> None:
        """Hold the slot (blocking) until ``unlock``: one worker reads at a time."""
        fcntl.lockf(self.table.fd, fcntl.LOCK_EX, _SLOT.size, self.offset)

    def unlock(self) -> None:
        fcntl.lockf(self.table.fd, fcntl.LOCK_UN, _SLOT.size, self.offset)

    def beat(self, now: float, help_wanted: bool) -> None:
        """The first reader of the socket read at NOW, and does (not) want help."""
        _READER.pack_into(self.table.map, self._reader, now, 1.0 if help_wanted else 0.0)

    def reader(self) -> tuple[float, bool]:
        """When the first reader last read, and whether it wants help."""
        now, wanted = _READER.unpack_from(self.table.map, self._reader)
        return now, wanted > 0.0

    def step(self) -> int:
        """The next number (1, 2, ...), while the slot is held."""
        now = int(_SLOT.unpack_from(self.table.map, self.offset)[0]) + 1
        _SLOT.pack_into(self.table.map, self.offset, now)
        return now
