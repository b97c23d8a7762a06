"""Wall-clock time into UTC, in the local zone, the way syslog-ng 3.38 does it.

Part of parsing (framing -> **parse** -> pipeline): a scanned stamp (``relay.parse.stamp``)
becomes (seconds since the epoch, UTC offset) here; a stamp without a year gets the
receive year, guessed as syslog-ng guesses it.  Answers that depend on the local zone are
cached; ``reset_caches`` forgets them after TZ changes.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable

from relay.parse.stamp import Wall

_to_unix_cache: dict[tuple[int, int, int, int, int, int, int | None], tuple[int, int]] = {}
_local_cache: dict[int, tuple[int, int, int]] = {}


#: functions that forget caches built on the local zone (reset_caches calls them)
CACHE_RESETTERS: list[Callable[[], None]] = []


def reset_caches() -> None:
    """Forget cached zone answers; call after changing TZ (and time.tzset())."""
    _to_unix_cache.clear()
    _local_cache.clear()
    _local_days.clear()
    LAST_BY_DAY[0] = None
    for reset in CACHE_RESETTERS:
        reset()


def local_info(sec: int) -> tuple[int, int, int]:
    """(UTC offset, year, month from 0) of the local zone at ``sec``; cached per second."""
    r = _local_cache.get(sec)
    if r is None:
        if len(_local_cache) > 4096:
            _local_cache.clear()
        lt = time.localtime(sec)
        r = (lt.tm_gmtoff, lt.tm_year, lt.tm_mon - 1)
        _local_cache[sec] = r
    return r


def to_unix(w: Wall, year: int) -> tuple[int, int]:
    """(seconds since the epoch, UTC offset) of wall-clock ``w`` in ``year``.

    syslog-ng's way: mktime() the fields as local time, then move by the local offset,
    by the stamp's own offset (the local zone's when it has none) and by however many
    hours mktime() normalized away, so that "25:14:15" lands a day later than a plain
    normalization would: syslog-ng does so, hence we do.

    On a day whose local offset does not change, mktime() is that day's midnight plus
    the seconds of the day, so such days are converted once (``_local_day``) and every
    stamp in them costs an addition: varied stamps cost what repeated ones do.
    """
    day = _uniform_day(year, w.mon, w.mday, w.hour, w.min, w.sec)
    if day is None:
        return _to_unix_by_mktime(w, year)
    LAST_BY_DAY[0] = (year, w.mon + 1, w.mday, w.hour, w.min, w.sec, 0, 0, -1)
    local_off = day[1]
    target = local_off if w.gmtoff is None else w.gmtoff
    return day[0] + w.hour * 3600 + w.min * 60 + w.sec + local_off - target, target


def local_to_unix(year: int, mon: int, mday: int, hour: int, minute: int,
                  sec: int) -> tuple[int, int]:
    """``to_unix`` of a stamp that carries no zone, from its fields."""
    day = _uniform_day(year, mon, mday, hour, minute, sec)
    if day is None:
        return _to_unix_by_mktime(Wall(0, year, mon, mday, hour, minute, sec, 0, None), year)
    LAST_BY_DAY[0] = (year, mon + 1, mday, hour, minute, sec, 0, 0, -1)
    return day[0] + hour * 3600 + minute * 60 + sec, day[1]


def _uniform_day(year: int, mon: int, mday: int, hour: int, minute: int,
                 sec: int) -> tuple[int, int] | None:
    """(mktime() of the day's midnight, its offset) when the day keeps one local offset
    and the fields need no normalizing; None otherwise."""
    if 0 <= hour < 24 and 0 <= minute < 60 and 0 <= sec < 60:
        return uniform_day(year, mon, mday)
    return None


def uniform_day(year: int, mon: int, mday: int) -> tuple[int, int] | None:
    """(mktime() of the day's midnight, its offset) when the day is a date of its month
    and keeps one local offset from midnight to midnight; None otherwise."""
    # (a day past the month's end is normalized by mktime: the slow path knows how)
    if 1 <= mday and (mday <= 28 or mday <= _days_in_month(year, mon)):
        day = _local_days.get((year, mon, mday)) or _local_day(year, mon, mday)
        if day[0]:
            return day[1], day[2]
    return None


#: what mktime() would have been asked last had every stamp gone through it, since it
#: was last asked (see _to_unix_by_mktime): None, its 9-tuple of fields, or the Hour or
#: the Day (relay.parse.receive) of a stamp the receive second converted by its day
LAST_BY_DAY: list[tuple[object, ...] | None] = [None]


def _days_in_month(year: int, mon: int) -> int:
    if mon == 1:
        return 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28
    return 30 if mon in (3, 5, 8, 10) else 31


# (year, month from 0, day) -> (whether the day keeps one local offset, mktime() of its
# midnight, that offset)
_local_days: dict[tuple[int, int, int], tuple[bool, int, int]] = {}


def _local_day(year: int, mon: int, mday: int) -> tuple[bool, int, int]:
    # (with localtime() only: mktime() keeps a guess from call to call, which decides
    # the ambiguous hour of a fall-back day, and the slow path must find it unchanged)
    if len(_local_days) > 4096:
        _local_days.clear()
    try:
        utc_midnight = calendar.timegm((year, mon + 1, mday, 0, 0, 0))
        offset = time.localtime(utc_midnight).tm_gmtoff
        midnight = utc_midnight - offset
        start = time.localtime(midnight)
        # one offset from 00:00:00 to 23:59:59 (a zone changes it at most once a day)
        end = time.localtime(midnight + 86399)
        uniform = (start.tm_hour == 0 and start.tm_min == 0 and start.tm_sec == 0
                   and start.tm_mday == mday and start.tm_gmtoff == offset
                   and end.tm_gmtoff == offset and end.tm_mday == mday)
        r = (uniform, midnight, offset)
    except (OverflowError, ValueError):
        r = (False, 0, 0)
    _local_days[year, mon, mday] = r
    return r


# mktime() starts from the offset of its previous answer, and that decides which of the
# two 01:30s of a fall-back night it returns: before it is asked again, it is shown the
# stamp it would have seen last had every stamp gone through it (LAST_BY_DAY), as in
# syslog-ng, which asks it for every stamp.
def _catch_up_mktime() -> None:
    last = LAST_BY_DAY[0]
    LAST_BY_DAY[0] = None
    if last is not None and len(last) == 3:  # an Hour: its Day says it
        last = last[2]  # type: ignore[assignment]
    if last is not None and len(last) == 6:  # a Day: its midnight says it
        year, _, _, _, mon, mday = last
        last = (year, mon + 1, mday, 0, 0, 0, 0, 0, -1)  # type: ignore[operator]
    if last is not None:
        time.mktime(last)  # type: ignore[arg-type]


def _to_unix_by_mktime(w: Wall, year: int) -> tuple[int, int]:
    key = (year, w.mon, w.mday, w.hour, w.min, w.sec, w.gmtoff)
    r = _to_unix_cache.get(key)
    if r is None:
        if len(_to_unix_cache) > 4096:
            _to_unix_cache.clear()
        _catch_up_mktime()
        try:
            t = int(time.mktime((year, w.mon + 1, w.mday, w.hour, w.min, w.sec, 0, 0, -1)))
            lt = time.localtime(t)
            local_off = lt.tm_gmtoff
            normalized_hour = lt.tm_hour
        except (OverflowError, ValueError):
            t, local_off, normalized_hour = -1, 0, w.hour
        target = local_off if w.gmtoff is None else w.gmtoff
        r = (t + local_off - (normalized_hour - w.hour) * 3600 - target, target)
        _to_unix_cache[key] = r
    return r


# "YYYY-MM-DDTHH:MM:SS" + zone text -> (seconds, offset), for the common shapes
_iso_cache: dict[str, tuple[int, int]] = {}
CACHE_RESETTERS.append(_iso_cache.clear)


def common_iso(stamp: str, zone: str | None) -> tuple[int, int]:
    """(seconds since the epoch, UTC offset) of an ISO stamp the common-shape regexes
    matched: ``stamp`` is "YYYY-MM-DDTHH:MM:SS" in digits, ``zone`` "Z", "+HH:MM",
    "-HH:MM" or None (the local zone); the fraction does not matter here."""
    key = stamp if zone is None else stamp + zone
    found = _iso_cache.get(key)
    if found is None:
        if len(_iso_cache) > 4096:
            _iso_cache.clear()
        gmtoff: int | None = None
        if zone is not None:
            gmtoff = 0 if zone == "Z" else int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
            if zone[0] == "-":
                gmtoff = -gmtoff
        year = int(stamp[0:4])
        w = Wall(0, year, int(stamp[5:7]) - 1, int(stamp[8:10]), int(stamp[11:13]),
                 int(stamp[14:16]), int(stamp[17:19]), 0, gmtoff)
        found = _iso_cache[key] = to_unix(w, year)
    return found


def guess_year(mon: int, recvd_sec: int) -> int:
    """The year of a stamp without one: the receive year, but December seen in January is
    last year's and January seen in December is next year's."""
    _, year, now_mon = local_info(recvd_sec)
    if mon == 11 and now_mon == 0:
        return year - 1
    if mon == 0 and now_mon == 11:
        return year + 1
    return year
