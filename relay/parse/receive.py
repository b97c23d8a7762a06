"""The receive second: what follows from the second a frame arrived in, kept for the last one.

Part of parsing (framing -> **parse** -> pipeline): every parser moves ``RECEIVE`` to the
second of the frame it is given, and the RFC 3164 shapes look their stamps up in it: a
BSD stamp has no year, so its meaning depends on the receive year and month.
"""

from __future__ import annotations

from relay.parse.stamp import CACHE_RESETTERS, MONTH_BY_LOWER, guess_year, local_info, local_to_unix


class ReceiveSecond:
    """What follows from the receive second alone, kept for the last second seen.

    ``gmtoff`` is the local UTC offset then; ``stamps`` maps the stamp text of the common
    shape to (seconds, offset), or to None for a stamp with no month, for that second's
    year and month (a stamp has no year: it is guessed from them).
    """

    __slots__ = ("sec", "gmtoff", "stamps", "_year_mon", "_by_month", "_years")

    def __init__(self) -> None:
        self.sec: int | None = None
        self.gmtoff = 0
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
        if len(stamps) > 4096:
            stamps.clear()
        mon = MONTH_BY_LOWER.get(stamp[:3].lower(), -1)
        found: tuple[int, int] | None = None
        if mon >= 0 and self.sec is not None:
            if len(stamp) == 20:
                found = local_to_unix(int(stamp[7:11]), mon, int(stamp[4:6]),
                                      int(stamp[12:14]), int(stamp[15:17]), int(stamp[18:20]))
            else:
                found = local_to_unix(self._years[mon], mon, int(stamp[4:6]), int(stamp[7:9]),
                                      int(stamp[10:12]), int(stamp[13:15]))
        stamps[stamp] = found
        return found

    def reset(self) -> None:
        self.sec = None
        self._year_mon = (0, -1)
        self._by_month.clear()
        self.stamps = {}


#: the receive second of the last message parsed, shared by every parser
RECEIVE = ReceiveSecond()
