"""Timestamps of syslog headers: scanning them, and turning wall-clock time into UTC.

Part of parsing (framing -> **parse** -> pipeline): rfc3164 and rfc5424 call these to read
the stamp a sender wrote; ``relay.parse.localtime`` turns it into (seconds since the
epoch, offset), exactly as syslog-ng 3.38 does, quirks included.

Scanners take the decoded text, an index and the end index, and return a ``Wall`` (or
None when the text holds no stamp of that form); nothing is consumed on failure.
"""

from __future__ import annotations

from typing import NamedTuple

from relay.facts.names import MONTHS

# syslog-ng switches on the first letter as written (so it must be upper case), then
# compares all three letters ignoring case: "JAN" is January, "jan" is not a month.
MONTH_BY_LOWER = {m.lower(): i for i, m in enumerate(MONTHS)}
_DIGITS = frozenset("0123456789")
_SPACE = frozenset(" \t\n\v\f\r")  # C isspace()


class Wall(NamedTuple):
    """A scanned stamp: where it ends and its wall-clock fields.

    ``year`` is -1 when the stamp has none (BSD form); ``mon`` counts from 0;
    ``gmtoff`` is None when the stamp carries no zone.
    """

    end: int
    year: int
    mon: int
    mday: int
    hour: int
    min: int
    sec: int
    usec: int
    gmtoff: int | None


def _month(s: str, i: int) -> int:
    if s[i] not in "JFMASOND":
        return -1
    return MONTH_BY_LOWER.get(s[i : i + 3].lower(), -1)


def _num(field: str) -> int:
    """A fixed-width number field: leading spaces, then digits up to the width; -1 if not.

    syslog-ng's scan_positive_int: "  7" is 7, "   " is 0, "1 2" is not a number.
    """
    if field.isdigit() and field.isascii():
        return int(field)
    rest = field.lstrip(" ")
    if not rest:
        return 0
    if rest.isdigit() and rest.isascii():
        return int(rest)
    return -1


def _fraction(s: str, j: int, n: int) -> tuple[int, int]:
    """frac = ("." / ",") *DIGIT; only the first 6 digits count.  Returns (usec, end)."""
    if j < n and (s[j] == "." or s[j] == ","):
        j += 1
        frac = 0
        div = 1
        while j < n and div < 1000000 and s[j] in _DIGITS:
            frac = frac * 10 + ord(s[j]) - 48
            div *= 10
            j += 1
        while j < n and s[j] in _DIGITS:
            j += 1
        return frac * (1000000 // div), j
    return 0, j


def scan_iso(s: str, i: int, n: int) -> Wall | None:
    """ISO 8601 / RFC 3339 as syslog-ng reads it.

    stamp = 4DIGIT "-" 2DIGIT "-" 2DIGIT ("T" / SP) 2DIGIT ":" 2DIGIT ":" 2DIGIT
            [("." / ",") 1*DIGIT] ["Z" / ("+" / "-") 2DIGIT ":" 2DIGIT]
    Each number may start with spaces (syslog-ng's field scanner); no range checks: the
    conversion normalizes a month 13 or an hour 25 the way mktime() does.
    """
    if n - i < 19:
        return None
    if s[i + 4] != "-" or s[i + 7] != "-" or s[i + 13] != ":" or s[i + 16] != ":":
        return None
    t = s[i + 10]
    if t != "T" and t != " ":
        return None
    year = _num(s[i : i + 4])
    mon = _num(s[i + 5 : i + 7])
    mday = _num(s[i + 8 : i + 10])
    hour = _num(s[i + 11 : i + 13])
    minute = _num(s[i + 14 : i + 16])
    sec = _num(s[i + 17 : i + 19])
    if year < 0 or mon < 0 or mday < 0 or hour < 0 or minute < 0 or sec < 0:
        return None
    usec, j = _fraction(s, i + 19, n)
    gmtoff: int | None = None
    if j < n:
        c = s[j]
        if c == "Z":
            gmtoff = 0
            j += 1
        elif (
            (c == "+" or c == "-")
            and n - j >= 6
            and s[j + 1] in _DIGITS
            and s[j + 2] in _DIGITS
            and s[j + 3] == ":"
            and s[j + 4] in _DIGITS
            and s[j + 5] in _DIGITS
            and (n - j < 7 or s[j + 6] not in _DIGITS)
        ):
            off = int(s[j + 1 : j + 3]) * 3600 + int(s[j + 4 : j + 6]) * 60
            gmtoff = -off if c == "-" else off
            j += 6
    return Wall(j, year, mon - 1, mday, hour, minute, sec, usec, gmtoff)


def _scan_bsd(s: str, i: int, n: int) -> Wall | None:
    left = n - i
    if left < 15 or s[i + 3] != " " or s[i + 6] != " ":
        return None
    if (
        left >= 21
        and s[i + 11] == " "
        and s[i + 14] == ":"
        and s[i + 17] == ":"
        and (s[i + 20] == ":" or s[i + 20] == " ")
        and s[i + 7] in _DIGITS
        and s[i + 8] in _DIGITS
        and s[i + 9] in _DIGITS
        and s[i + 10] in _DIGITS
    ):
        # Cisco PIX/ASA: "MMM DD YYYY HH:MM:SS" [":"]  (no fraction)
        mon = _month(s, i)
        mday = _num(s[i + 4 : i + 6])
        year = _num(s[i + 7 : i + 11])
        hour = _num(s[i + 12 : i + 14])
        minute = _num(s[i + 15 : i + 17])
        sec = _num(s[i + 18 : i + 20])
        if mon < 0 or mday < 0 or year < 0 or hour < 0 or minute < 0 or sec < 0:
            return None
        j = i + 20
        if s[j] == ":":
            j += 1
        return Wall(j, year, mon, mday, hour, minute, sec, 0, None)
    if s[i + 9] != ":" or s[i + 12] != ":":
        return None
    if (
        left >= 21
        and s[i + 15] == " "
        and s[i + 16] in _DIGITS
        and s[i + 17] in _DIGITS
        and s[i + 18] in _DIGITS
        and s[i + 19] in _DIGITS
        and s[i + 20] in _SPACE
    ):
        # LinkSys: "MMM DD HH:MM:SS YYYY"  (no fraction)
        mon = _month(s, i)
        mday = _num(s[i + 4 : i + 6])
        hour = _num(s[i + 7 : i + 9])
        minute = _num(s[i + 10 : i + 12])
        sec = _num(s[i + 13 : i + 15])
        year = int(s[i + 16 : i + 20])
        if mon < 0 or mday < 0 or hour < 0 or minute < 0 or sec < 0:
            return None
        return Wall(i + 20, year, mon, mday, hour, minute, sec, 0, None)
    # RFC 3164: "MMM DD HH:MM:SS" [frac]; the year is guessed later
    mon = _month(s, i)
    mday = _num(s[i + 4 : i + 6])
    hour = _num(s[i + 7 : i + 9])
    minute = _num(s[i + 10 : i + 12])
    sec = _num(s[i + 13 : i + 15])
    if mon < 0 or mday < 0 or hour < 0 or minute < 0 or sec < 0:
        return None
    usec, j = _fraction(s, i + 15, n)
    return Wall(j, -1, mon, mday, hour, minute, sec, usec, None)


def scan_rfc3164(s: str, i: int, n: int) -> Wall | None:
    """The stamp of an RFC 3164 header: ISO when it looks like one, else BSD/PIX/LinkSys.

    A colon right after the stamp is skipped (Cisco), so that it is not mistaken for
    part of an IPv6 hostname.
    """
    left = n - i
    if (
        left >= 19
        and s[i + 4] == "-"
        and s[i + 7] == "-"
        and (s[i + 10] == "T" or s[i + 10] == " ")
        and s[i + 13] == ":"
        and s[i + 16] == ":"
    ):
        w = scan_iso(s, i, n)
    else:
        w = _scan_bsd(s, i, n)
    if w is None:
        return None
    if w.end < n and s[w.end] == ":":
        return w._replace(end=w.end + 1)
    return w
