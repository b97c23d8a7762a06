"""The receive second: what follows from the second a frame arrived in, kept for the last one.

Part of parsing (framing -> **parse** -> pipeline): every parser moves ``RECEIVE`` to the
second of the frame it is given, and the RFC 3164 shapes look their stamps up in it: a
BSD stamp has no year, so its meaning depends on the receive year and month.
"""

from __future__ import annotations

from relay.facts.names import MONTHS
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
HOUR_SECONDS = {f"{h:02d}": h * 3600 for h in range(24)}
MINUTE_SECOND = {f"{m:02d}:{s:02d}": m * 60 + s for m in range(60) for s in range(60)}
# stamps kept per receive month before starting again: few, since a small map stays in
# the CPU's cache, and those that come back are those of the last hours
_KEPT = 256
# hours kept: every hour of a year, since a new hour costs its conversion and an archive
# replayed (logs of a quiet host) may bring a new one every other line; this map is only
# as large as the hours that came
_HOURS_KEPT = 366 * 24

#: a day of the receive month's guess that keeps one UTC offset: (its year, its midnight
#: in seconds, the offset, "Mmm dd " as DATE shows it, with the month's own name and the
#: day padded with a space, its month from 0, its day of the month); itself what to show
#: mktime() for it (LAST_BY_DAY: on such a day any of its stamps, its midnight too, leaves
#: mktime() with the same offset); () when the day changes its offset or is no date, or
#: its month is none.  On such a day a stamp's DATE is the day's text and its "HH:MM:SS":
#: the direct way writes it so, with nothing else to read (relay.parse.shape), and a
#: replayed archive, whose lines may open a new hour every few lines, costs it no more
#: than live lines do (a year has 366 days, and 8,784 hours)
Day = tuple[int, int, int, str, int, int] | tuple[()]
#: an hour of such a day: (its start in seconds, the offset, its Day); also what to show
#: mktime() for it; () when the hour is none, or its day is ()
Hour = tuple[int, int, Day] | tuple[()]


class ReceiveSecond:
    """What follows from the receive second alone, kept for the last second seen.

    ``gmtoff`` is the local UTC offset then.  A BSD stamp has no year: it is guessed from
    the receive year and month, so what is kept holds for that month.  ``hours`` maps the
    "Mmm dd HH:" of a stamp to its Hour, so that a stamp of a known hour costs a lookup of
    its "MM:SS" and an addition, whether its second was seen before or not; ``days`` maps
    the "Mmm dd " of a stamp to its Day, for the direct way; ``stamps``
    maps the texts of the other stamps (a PIX/ASA stamp, one on a day that changes its
    offset, fields mktime() normalizes) to (seconds, offset), or to None with no month.
    """

    __slots__ = ("sec", "gmtoff", "hours", "days", "stamps", "_year_mon", "_by_month",
                 "_years")

    def __init__(self) -> None:
        self.sec: int | None = None
        self.gmtoff = 0
        self.hours: dict[str, Hour] = {}
        self.days: dict[str, Day] = {}
        self.stamps: dict[str, tuple[int, int] | None] = {}
        self._year_mon = (0, -1)
        self._by_month: dict[tuple[int, int], dict[str, tuple[int, int] | None]] = {}
        # the year guessed for a stamp of each month, this receive month
        self._years: tuple[int, ...] = ()
        CACHE_RESETTERS.append(self.reset)

    def move(self, sec: int) -> None:
        """Make ``sec`` the current receive second."""
        gmtoff, year, mon = local_info(sec)
        self.sec = sec
        self.gmtoff = gmtoff
        if (year, mon) != self._year_mon:
            self._year_mon = (year, mon)
            self._years = tuple(guess_year(m, sec) for m in range(12))
            self.hours = {}
            self.days = {}
            stamps = self._by_month.get((year, mon))
            if stamps is None:
                if len(self._by_month) > 16:
                    self._by_month.clear()
                stamps = self._by_month[year, mon] = {}
            self.stamps = stamps

    def hour_of(self, text: str) -> Hour:
        """The Hour of "Mmm dd HH:" (how a BSD stamp starts), kept in ``hours``."""
        hours = self.hours
        if len(hours) >= _HOURS_KEPT:
            hours.clear()
        found: Hour = ()
        day = self.days.get(text[:7])
        if day is None:
            day = self.day_of(text[:7])
        hour = HOUR_SECONDS.get(text[7:9])
        if day and hour is not None:
            found = (day[1] + hour, day[2], day)
        hours[text] = found
        return found

    def day_of(self, text: str) -> Day:
        """The Day of "Mmm dd " (how a BSD stamp starts), kept in ``days``."""
        days = self.days
        if len(days) >= 4096:
            days.clear()
        found: Day = ()
        mon = MONTH_BY_LOWER.get(text[:3].lower(), -1)
        if self.sec is not None and mon >= 0:
            year = self._years[mon]
            mday = int(text[4:6])
            day = uniform_day(year, mon, mday)
            if day is not None:
                found = (year, day[0], day[1], f"{MONTHS[mon]} {mday:2d} ", mon, mday)
        days[text] = found
        return found

    def stamp_of_common(self, stamp: str) -> tuple[int, int] | None:
        """(seconds, offset) of a BSD stamp "Mmm dd HH:MM:SS", or None if no month.

        Also takes the PIX/ASA stamps of COMMON_EXTRA, "MMM DD YYYY HH:MM:SS", which carry
        their year (and so do not depend on the receive second; they share the map).
        """
        if len(stamp) == 15 and self.sec is not None:
            hour = self.hours.get(stamp[:10])
            if hour is None:
                hour = self.hour_of(stamp[:10])
            seconds = MINUTE_SECOND.get(stamp[10:15])
            if hour and seconds is not None:
                LAST_BY_DAY[0] = hour
                return (hour[0] + seconds, hour[1])
        stamps = self.stamps
        if len(stamps) > _KEPT:
            stamps.clear()
        found: tuple[int, int] | None = None
        if self.sec is None:
            pass
        elif len(stamp) == 15:
            mon = MONTH_BY_LOWER.get(stamp[:3].lower(), -1)
            if mon >= 0:
                # a day that changes its offset, or fields that mktime() normalizes
                found = local_to_unix(self._years[mon], mon, int(stamp[4:6]), int(stamp[7:9]),
                                      int(stamp[10:12]), int(stamp[13:15]))
        else:
            mon = MONTH_BY_LOWER.get(stamp[:3].lower(), -1)
            if mon >= 0:
                found = local_to_unix(int(stamp[7:11]), mon, int(stamp[4:6]),
                                      int(stamp[12:14]), int(stamp[15:17]), int(stamp[18:20]))
        stamps[stamp] = found
        return found

    def reset(self) -> None:
        self.sec = None
        self.hours = {}
        self.days = {}
        self._year_mon = (0, -1)
        self._by_month.clear()
        self.stamps = {}


#: the receive second of the last message parsed, shared by every parser
RECEIVE = ReceiveSecond()
