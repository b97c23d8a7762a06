"""A count that worker processes share: the open connections of one source.

With worker processes (relay.workers) each one accepts its share of a stream source's
connections, but ``max_connections`` is the source's limit, not each worker's.  The
count lives in a small shared memory file (a memfd every worker maps), one 8-byte slot
per source, and a POSIX record lock on that slot makes a check-and-increment atomic
across the processes.  It is taken once per connection, never per message.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct

SLOTS = 512  # sources a relay can share counts for
_SLOT = struct.Struct("<q")


class SharedTable:
    """The memfd of every shared count; made by the main process, handed to workers."""

    def __init__(self, fd: int | None = None):
        if fd is None:
            fd = os.memfd_create("relay-counts", 0)  # inherited across exec (no CLOEXEC)
            os.ftruncate(fd, SLOTS * _SLOT.size)
        self.fd = fd
        self.map = mmap.mmap(fd, SLOTS * _SLOT.size, mmap.MAP_SHARED)

    def count(self, slot: int) -> SharedCount:
        if not 0 <= slot < SLOTS:
            raise ValueError(f"shared count slot {slot} out of range")
        return SharedCount(self, slot)

    def close(self) -> None:
        self.map.close()
        os.close(self.fd)


class SharedCount:
    __slots__ = ("table", "offset")

    def __init__(self, table: SharedTable, slot: int):
        self.table = table
        self.offset = slot * _SLOT.size

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

    def step(self) -> int:
        """The next number (1, 2, ...), while the slot is held."""
        now = int(_SLOT.unpack_from(self.table.map, self.offset)[0]) + 1
        _SLOT.pack_into(self.table.map, self.offset, now)
        return now
