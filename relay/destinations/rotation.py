"""Where a rotating file is cut, and when: the arithmetic of rotation, with no I/O.

Size: a file never holds more than ``max_bytes``, except a single line longer than
that, which is written whole into a file of its own.  A chunk of lines that does not
fit is cut at its last newline that does, so the cut falls between lines, inside a
write batch when need be, and no line is split or doubled.

Time: ``every = "1d"`` or ``"1h"`` rotates at the next local midnight or the next full
hour in the relay's time zone (TZ), a local day found with mktime, so that a day
with a DST change is 23 or 25 hours long.
"""

from __future__ import annotations

import time

EVERY = ("1d", "1h")


def piece_end(data: bytes, offset: int, size: int, max_bytes: int) -> tuple[int, bool]:
    """How far from OFFSET to write into a file of SIZE bytes: (end, rotate first).

    ``rotate first`` means the file is not empty and not even the next line fits: rotate,
    then ask again.  Otherwise ``data[offset:end]`` is written; when ``end`` is short of
    the data's end, the file is full and rotates after that piece.
    """
    room = max_bytes - size
    if len(data) - offset <= room:
        return len(data), False
    if room > 0:
        newline = data.rfind(b"\n", offset, offset + room)
        if newline >= 0:
            return newline + 1, False
    if size > 0:
        return offset, True
    newline = data.find(b"\n", offset)  # one line longer than max_bytes: whole, alone
    return (len(data) if newline < 0 else newline + 1), False


def next_boundary(now: float, every: str) -> float:
    """The first local midnight (every "1d") or full hour ("1h") after NOW."""
    if every == "1h":
        return period_start(now, every) + 3600
    t = time.localtime(now)
    if every == "1d":
        return time.mktime((t.tm_year, t.tm_mon, t.tm_mday + 1, 0, 0, 0, 0, 0, -1))
    raise ValueError(f"unknown rotation period {every!r}")


def period_start(now: float, every: str) -> float:
    """The boundary that began the period NOW is in."""
    t = time.localtime(now)
    if every == "1h":
        return now - (t.tm_min * 60 + t.tm_sec) - (now % 1)
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))
