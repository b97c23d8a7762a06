"""The receive second: what follows from the second a frame arrived in, kept for the last one.

Part of parsing (framing -> **parse** -> pipeline): every parser moves ``RECEIVE`` to the
second of the frame it is given, and the RFC 3164 shapes look their stamps up in it: a
BSD stamp has no year, so its meaning depends on the receive year and month.
"""

from __future__ import annotations

from relay.parse.localtime import (
    CACHE_RESETTERS,
    LAST_BY_DAY,
    guess_year,
    local_info,
    local_to_unix,
    uniform_day,
)
from relay.parse.stamp import MONTH_BY_LOWER

# the fields of a BSD stamp's time, read without int(): "HH" -> seconds, "MM:SS" -> seconds
_HOUR = {f"{h:02d}": h * 3600 for h in range(24)}
_MINUTE_SECOND = {f"{m:02d}:{s:02d}": m * 60 + s for m in range(60) for s in range(60)}
# stamps kept per receive month before starting again: few, since a small map stays in
# the CPU's cache (with 4,096, a new stamp of archived logs cost 0.2 us more to look up)
# and the stamps that come back are those of the last seconds
_STAMPS_KEPT = 256
# no hour yet (no stamp starts with a NUL)
_NO_HOUR = ("\x00", 0, 0, 0)


class ReceiveSecond:
    """What follows from the receive second alone, kept for the last second seen.

    ``gmtoff`` is the local UTC offset then; ``stamps`` maps the stamp text of the common
    shape to (seconds, offset), or to None for a stamp with no month, for that second's
    year and month (a stamp has no year: it is guessed from them).
    """

    __slots__ = ("sec", "gmtoff", "stamps", "_year_mon", "_by_month", "_years", "_days",
                 "_hour")

    def __init__(self) -> None:
        self.sec: int | None = None
        self.gmtoff = 0
        self.stamps: dict[str, tuple[int, int] | None] = {}
        self._year_mon = (0, -1)
        self._by_month: dict[tuple[int, int], dict[str, tuple[int, int] | None]] = {}
        # the year guessed for a stamp of each month, this receive month
        self._years: tuple[int, ...] = ()
        # "Mmm dd" -> (guessed year, midnight, offset) of that day, None when it changes
        # its offset (or is no date): a new stamp on a known day costs an addition
        self._days: dict[str, tuple[int, int, int] | None] = {}
        # the hour of the last stamp converted by its day: ("Mmm dd HH:", year, the hour's
        # start, offset), so that the next new stamp of that hour costs one lookup
        self._hour: tuple[str, int, int, int] = _NO_HOUR
        CACHE_RESETTERS.append(self.reset)

    def move(self, sec: int) -> None:
        """Make ``sec`` the current receive second."""
        gmtoff, year, mon = local_info(sec)
        self.sec = sec
        self.gmtoff = gmtoff
        if (year, mon) != self._year_mon:
            self._year_mon = (year, mon)
            self._years = tuple(guess_year(m, sec) for m in range(12))
            self._days = {}
            self._hour = _NO_HOUR
            stamps = self._by_month.get((year, mon))
            if stamps is None:
                if len(self._by_month) > 16:
                    self._by_month.clear()
                stamps = self._by_month[year, mon] = {}
            self.stamps = stamps

    def stamp_of_common(self, stamp: str) -> tuple[int, int] | None:
        """(seconds, offset) of the stamp text of a COMMON match, or None if no month.

        Also takes the PIX/ASA stamps of COMMON_EXTRA, "MMM DD YYYY HH:MM:SS", which carry
        their year (and so do not depend on the receive second; they share the map).
        """
        stamps = self.stamps
        if len(stamps) > _STAMPS_KEPT:
            stamps.clear()
        found: tuple[int, int] | None = None
        if self.sec is None:
            pass
        elif len(stamp) == 15:
            hour = self._hour
            minute_second = _MINUTE_SECOND.get(stamp[10:15])
            if minute_second is not None and stamp.startswith(hour[0]):
                LAST_BY_DAY[0] = (hour[1], stamp)
                found = stamps[stamp] = (hour[2] + minute_second, hour[3])
                return found
            day: tuple[int, int, int] | int | None = self._days.get(stamp[:6], 0)
            if day == 0:
                mon = MONTH_BY_LOWER.get(stamp[:3].lower(), -1)
                day = self._day(stamp[:6], mon) if mon >= 0 else 0
            h = _HOUR.get(stamp[7:9])
            if type(day) is tuple and h is not None and minute_second is not None:
                LAST_BY_DAY[0] = (day[0], stamp)
                self._hour = (stamp[:10], day[0], day[1] + h, day[2])
                found = (day[1] + h + minute_second, day[2])
            elif day != 0:
                # a day that changes its offset, or fields that mktime() normalizes
                mon = MONTH_BY_LOWER[stamp[:3].lower()]
                found = local_to_unix(self._years[mon], mon, int(stamp[4:6]), int(stamp[7:9]),
                                      int(stamp[10:12]), int(stamp[13:15]))
        else:
            mon = MONTH_BY_LOWER.get(stamp[:3].lower(), -1)
            if mon >= 0:
                found = local_to_unix(int(stamp[7:11]), mon, int(stamp[4:6]),
                                      int(stamp[12:14]), int(stamp[15:17]), int(stamp[18:20]))
        stamps[stamp] = found
        return found

    def _day(self, text: str, mon: int) -> tuple[int, int, int] | None:
        """The day of "Mmm dd" this receive month: (guessed year, midnight, offset), or
        None when it changes its offset or is no date."""
        if len(self._days) >= 4096:
            self._days.clear()
        year = self._years[mon]
        day = uniform_day(year, mon, int(text[4:6]))
        found = self._days[text] = None if day is None else (year, day[0], day[1])
        return found

    def reset(self) -> None:
        self.sec = None
        self._days = {}
        self._hour = _NO_HOUR
        self._year_mon = (0, -1)
        self._by_month.clear()
        self.stamps = {}


#: the receive second of the last message parsed, shared by every parser
RECEIVE = ReceiveSecond()
