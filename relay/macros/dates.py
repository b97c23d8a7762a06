"""The date macros' texts, computed from a stamp as syslog-ng 3.38 prints them.

Data path: parse -> pipeline -> **templates** -> destinations.  ``relay.macros`` hands
templates a getter per date macro; each getter reads one stamp of the message (seconds
since the epoch and a UTC offset) and asks this module for one field's text.

Cost must not depend on how varied the stamps are (archived logs, many senders), so
nothing computes all the fields of a second at once.  A field is a concatenation of
*parts*, each a table looked up by a number derived from the stamp:

- the *wall* time ``sec + gmtoff`` (the stamp as its own zone shows it): the day
  (``// 86400``) picks the texts that depend on the date, one table per field, each text
  computed on first use; the time of day picks from fixed tables ("HH:MM:", "SS", ...);
  a stamp ("Mar  1 12:00:00", ...) is the day's text, "HH:MM:" and "SS", so that a new
  second costs what a repeated one does (no table by second to fill);
- the *offset* ``gmtoff`` picks the zone text ("+02:00"), computed on first use.

Tables filled on use keep a bounded number of texts (``reset_caches`` empties them all).
``FIELD_PARTS`` describes every field that way (the format-json writer compiles the
description into its generated code), and ``FIELD_TEXT`` computes each field from
``(sec, gmtoff)``; the two agree (tests check it).  UNIXTIME, USEC and MSEC are plain
numbers and have no parts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from relay.facts.names import MONTH_NAMES, MONTHS, WEEKDAY_ABBREVS, WEEKDAY_NAMES

DAY = 86400
#: a part's number: from the wall time (sec + gmtoff) or from the offset alone
WALL = "wall"
OFFSET = "offset"

# entries a filled-on-first-use table keeps before it starts again (about 11 years of days)
_TABLE_LIMIT = 4096


class Part(NamedTuple):
    """``table[n // div % mod]`` (no ``% mod`` when ``mod`` is 0), where n is the stamp's
    wall time or its offset (``of``)."""

    table: Mapping[int, str] | Sequence[str]
    of: str
    div: int = 1
    mod: int = 0


class _FilledOnUse(dict[int, str]):
    """number -> text, computed by ``make`` the first time a number is looked up."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[int], str]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: int) -> str:
        if len(self) >= _TABLE_LIMIT:
            self.clear()
        text = self[key] = self.make(key)
        return text


#: every table filled on use, for reset_caches
_TABLES: list[dict[int, str]] = []


def _filled(make: Callable[[int], str]) -> _FilledOnUse:
    table = _FilledOnUse(make)
    _TABLES.append(table)
    return table


def reset_caches() -> None:
    """Forget every text computed so far (they depend on nothing that changes: this only
    frees them)."""
    for table in _TABLES:
        table.clear()
    _civil.cache_clear()


# --- the day ----------------------------------------------------------------------------


class _Civil(NamedTuple):
    year: int
    mon: int  # 1-12
    mday: int
    wday: int  # Sunday 0, as C's tm_wday
    yday: int  # from 0, as C's tm_yday


@lru_cache(maxsize=_TABLE_LIMIT)
def _civil(day: int) -> _Civil:
    t = time.gmtime(day * DAY)
    return _Civil(t.tm_year, t.tm_mon, t.tm_mday, (t.tm_wday + 1) % 7, t.tm_yday - 1)


def _isleap(y: int) -> bool:
    return (y % 4 == 0 and y % 100 != 0) or y % 400 == 0


def _iso_week(tm_year: int, wday: int, yday: int) -> int:
    # syslog-ng's arithmetic on struct tm fields (tm_year counts from 1900: its leap-year
    # test sees 2000 as 100, and we follow it)
    week = (yday - (wday - 1 + 7) % 7 + 7) // 7
    if (wday + 371 - yday - 2) % 7 <= 2:
        week += 1
    if week == 0:
        dec31 = (wday + 7 - yday - 1) % 7
        return 53 if dec31 == 4 or (dec31 == 5 and _isleap(tm_year - 1)) else 52
    if week == 53:
        jan1 = (wday + 371 - yday) % 7
        if jan1 != 4 and (jan1 != 3 or not _isleap(tm_year)):
            return 1
    return week


def _bsd_day(c: _Civil) -> str:
    return f"{MONTHS[c.mon - 1]} {c.mday:2d} "


# the texts that depend on the day, one table per field
_DAY_TEXTS: dict[str, Callable[[_Civil], str]] = {
    "BSD_DAY": _bsd_day,  # "Mar  1 ": DATE and STAMP before the time
    "FULL_DAY": lambda c: f"{c.year} {_bsd_day(c)}",
    "ISO_DAY": lambda c: f"{c.year}-{c.mon:02d}-{c.mday:02d}T",
    "YEAR": lambda c: f"{c.year:04d}",
    "YEAR_DAY": lambda c: f"{c.yday + 1:03d}",
    "MONTH": lambda c: f"{c.mon:02d}",
    "MONTH_WEEK": lambda c: str(c.mday // 7 + (1 if c.wday > 0 and c.mday % 7 >= c.wday else 0)),
    "MONTH_ABBREV": lambda c: MONTHS[c.mon - 1],
    "MONTH_NAME": lambda c: MONTH_NAMES[c.mon - 1],
    "DAY": lambda c: f"{c.mday:02d}",
    "WEEK_DAY": lambda c: str(c.wday + 1),
    "WEEK_DAY_ABBREV": lambda c: WEEKDAY_ABBREVS[c.wday],
    "WEEK_DAY_NAME": lambda c: WEEKDAY_NAMES[c.wday],
    "WEEK": lambda c: f"{(c.yday - (c.wday - 1 + 7) % 7 + 7) // 7:02d}",
    "ISOWEEK": lambda c: f"{_iso_week(c.year - 1900, c.wday, c.yday):02d}",
}


def _day_table(text: Callable[[_Civil], str]) -> _FilledOnUse:
    return _filled(lambda day: text(_civil(day)))


_BY_DAY = {name: _day_table(text) for name, text in _DAY_TEXTS.items()}

# --- the time of day and the zone -------------------------------------------------------

_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))
_HOUR_MINUTE = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(24 * 60))  # "HH:MM:"
_HOUR12 = tuple(f"{(h if h < 12 else h - 12) or 12:02d}" for h in range(24))
_AMPM = tuple("AM" if h < 12 else "PM" for h in range(24))


def _zone_text(gmtoff: int) -> str:
    a = -gmtoff if gmtoff < 0 else gmtoff
    return f"{'-' if gmtoff < 0 else '+'}{a // 3600:02d}:{a % 3600 // 60:02d}"


_ZONE = _filled(_zone_text)


# --- the fields -------------------------------------------------------------------------

_SS = Part(_TWO_DIGITS, WALL, 1, 60)
_HM = Part(_HOUR_MINUTE, WALL, 60, 1440)
_ZONE_PART = Part(_ZONE, OFFSET)


def _by_day(name: str) -> Part:
    return Part(_BY_DAY[name], WALL, DAY)


#: each date field but UNIXTIME, USEC and MSEC as the concatenation of its parts
FIELD_PARTS: dict[str, tuple[Part, ...]] = {
    # the stamps: the day's text, "HH:MM:" and "SS" (fixed tables but the day's), so that
    # a stamp costs the same whether its second was seen before or not
    "DATE": (_by_day("BSD_DAY"), _HM, _SS),
    "FULLDATE": (_by_day("FULL_DAY"), _HM, _SS),
    "ISODATE": (_by_day("ISO_DAY"), _HM, _SS, _ZONE_PART),
    "STAMP": (_by_day("BSD_DAY"), _HM, _SS),
    **{name: (_by_day(name),) for name in (
        "YEAR", "YEAR_DAY", "MONTH", "MONTH_WEEK", "MONTH_ABBREV", "MONTH_NAME", "DAY",
        "WEEK_DAY", "WEEK_DAY_ABBREV", "WEEK_DAY_NAME", "WEEK", "ISOWEEK")},
    "WEEKDAY": (_by_day("WEEK_DAY_ABBREV"),),
    "HOUR": (Part(_TWO_DIGITS, WALL, 3600, 24),),
    "HOUR12": (Part(_HOUR12, WALL, 3600, 24),),
    "MIN": (Part(_TWO_DIGITS, WALL, 60, 60),),
    "SEC": (_SS,),
    "AMPM": (Part(_AMPM, WALL, 3600, 24),),
    "TZOFFSET": (_ZONE_PART,),
    "TZ": (_ZONE_PART,),
}  # fmt: skip


def _compose(parts: tuple[Part, ...]) -> Callable[[int, int], str]:
    """The text of ``parts`` as a function of (sec, gmtoff), shaped for the common forms."""
    if len(parts) == 1:
        t, of, div, mod = parts[0]
        if of == OFFSET:
            return lambda sec, off: t[off]
        if div == 1 and not mod:
            return lambda sec, off: t[sec + off]
        if mod:
            return lambda sec, off: t[(sec + off) // div % mod]
        return lambda sec, off: t[(sec + off) // div]
    if parts[1:3] == (_HM, _SS) and parts[0][1:] == (WALL, DAY, 0):
        day, hm, ss, zone = parts[0].table, _HOUR_MINUTE, _TWO_DIGITS, _ZONE
        if len(parts) == 3:
            return lambda sec, off: (day[(sec + off) // DAY] + hm[(sec + off) // 60 % 1440]
                                     + ss[(sec + off) % 60])
        if len(parts) == 4 and parts[3] == _ZONE_PART:
            return lambda sec, off: (day[(sec + off) // DAY] + hm[(sec + off) // 60 % 1440]
                                     + ss[(sec + off) % 60] + zone[off])
    return lambda sec, off: evaluate(parts, sec, off)


def evaluate(parts: tuple[Part, ...], sec: int, gmtoff: int) -> str:
    """The text of ``parts`` for one stamp, read as ``Part`` says (the reference)."""
    out = []
    for table, of, div, mod in parts:
        n = (sec + gmtoff if of == WALL else gmtoff) // div
        out.append(table[n % mod if mod else n])
    return "".join(out)


def _unixtime(sec: int, gmtoff: int) -> str:
    # syslog-ng prints it as an unsigned 32-bit number
    return str(sec & 0xFFFFFFFF)


#: each date field but USEC and MSEC as a function of (sec, gmtoff)
FIELD_TEXT: dict[str, Callable[[int, int], str]] = {
    name: _compose(parts) for name, parts in FIELD_PARTS.items()
} | {"UNIXTIME": _unixtime}
