"""Macros: what ``$NAME`` means for a message, exactly as syslog-ng 3.38 computes it.

Data path: parse -> pipeline -> **templates** -> destinations.  Templates and format-json
ask ``resolve(name)`` once, when they are compiled, for a getter; the getter turns a
``LogMessage`` into the text of that macro (or of that name-value pair, "" when unset).

Date macros come in five forms: plain and ``S_`` (the sender's stamp), ``R_`` (receive
time), ``C_`` (now, when the template runs) and ``P_`` (processing time; the relay does
not keep one, so like syslog-ng without one it is now).  Each is shown in the zone its
stamp carries.  The text of every date field is computed once per (second, zone) and
cached; only USEC/MSEC look at the microseconds.

"Now" is ``clock()``, a module-level function returning nanoseconds since the epoch
(``time.time_ns`` by default).  Tests replace it: ``relay.macros.clock = lambda: ns``.

SEQNUM (and the meta sequenceId that SDATA adds) follow syslog-ng's writer: for a message
flagged local (``FLAG_LOCAL``: our own error messages, local sources) it is
``msg.seqnum``, which the destination sets from its own counter; for any other message
it is the number in ``.SDATA.meta.sequenceId``.  HOSTID, LOGHOST, SYSUPTIME and RUNID
describe this host and process, not syslog-ng's.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable

from relay.facts.cnum import strtol
from relay.facts.names import (
    DATE_FIELDS,
    DATE_PREFIXES,
    FACILITY_CODES,
    FACILITY_NAMES,
    MACROS,
    MONTH_NAMES,
    MONTHS,
    PAIR_ALIASES,
    SEVERITY_CODES,
    SEVERITY_NAMES,
    WEEKDAY_ABBREVS,
    WEEKDAY_NAMES,
)
from relay.message import FLAG_LOCAL, LogMessage, tag_id
from relay.parse.stamp import local_info

Getter = Callable[[LogMessage], str]

#: "now" for C_ and P_ macros, in nanoseconds since the epoch; replace it in tests
clock: Callable[[], int] = time.time_ns

_START_NS = time.time_ns()

# FACILITY_CODES, SEVERITY_CODES and MACROS stay importable from here for their readers
# (relay.parse.json, relay.template); their home is relay.facts.names


# --- dates ----------------------------------------------------------------------------


def _zone(gmtoff: int) -> str:
    a = -gmtoff if gmtoff < 0 else gmtoff
    return f"{'-' if gmtoff < 0 else '+'}{a // 3600:02d}:{a % 3600 // 60:02d}"


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


# index of each field in the per-second tuple; USEC and MSEC are not in it
_FIELD_INDEX = {f: i for i, f in enumerate(x for x in DATE_FIELDS if x not in ("USEC", "MSEC"))}
_second_cache: dict[tuple[int, int], tuple[str, ...]] = {}


def _second(sec: int, gmtoff: int) -> tuple[str, ...]:
    """Every date field but USEC/MSEC for one second shown at one UTC offset."""
    key = (sec, gmtoff)
    r = _second_cache.get(key)
    if r is not None:
        return r
    if len(_second_cache) > 1024:
        _second_cache.clear()
    t = time.gmtime(sec + gmtoff)
    year, mon, mday = t.tm_year, t.tm_mon, t.tm_mday
    hour, minute, s = t.tm_hour, t.tm_min, t.tm_sec
    wday = (t.tm_wday + 1) % 7
    yday = t.tm_yday - 1
    mabbr = MONTHS[mon - 1]
    hms = f"{hour:02d}:{minute:02d}:{s:02d}"
    zone = _zone(gmtoff)
    bsd = f"{mabbr} {mday:2d} {hms}"
    h12 = hour if hour < 12 else hour - 12
    fields = {
        "DATE": bsd,
        "FULLDATE": f"{year} {bsd}",
        "ISODATE": f"{year}-{mon:02d}-{mday:02d}T{hms}{zone}",
        "STAMP": bsd,
        "YEAR": f"{year:04d}",
        "YEAR_DAY": f"{yday + 1:03d}",
        "MONTH": f"{mon:02d}",
        "MONTH_WEEK": str(mday // 7 + (1 if wday > 0 and mday % 7 >= wday else 0)),
        "MONTH_ABBREV": mabbr,
        "MONTH_NAME": MONTH_NAMES[mon - 1],
        "DAY": f"{mday:02d}",
        "HOUR": f"{hour:02d}",
        "HOUR12": f"{h12 or 12:02d}",
        "MIN": f"{minute:02d}",
        "SEC": f"{s:02d}",
        "AMPM": "AM" if hour < 12 else "PM",
        "WEEKDAY": WEEKDAY_ABBREVS[wday],
        "WEEK_DAY": str(wday + 1),
        "WEEK_DAY_ABBREV": WEEKDAY_ABBREVS[wday],
        "WEEK_DAY_NAME": WEEKDAY_NAMES[wday],
        "WEEK": f"{(yday - (wday - 1 + 7) % 7 + 7) // 7:02d}",
        "ISOWEEK": f"{_iso_week(year - 1900, wday, yday):02d}",
        "TZOFFSET": zone,
        "TZ": zone,
        # syslog-ng prints it as an unsigned 32-bit number
        "UNIXTIME": str(sec & 0xFFFFFFFF),
    }
    r = tuple(fields[f] for f in _FIELD_INDEX)
    _second_cache[key] = r
    return r


def _now() -> tuple[int, int, int]:
    sec, ns = divmod(clock(), 1_000_000_000)
    return sec, ns // 1000, local_info(sec)[0]


def _date_getter(prefix: str, field: str) -> Getter:
    if field in ("USEC", "MSEC"):
        width, div = (6, 1) if field == "USEC" else (3, 1000)
        if prefix == "R_":
            return lambda m: f"{m.recvd_usec // div:0{width}d}"
        if prefix in ("C_", "P_"):
            return lambda m: f"{_now()[1] // div:0{width}d}"
        return lambda m: f"{m.stamp_usec // div:0{width}d}"
    idx = _FIELD_INDEX[field]
    cache = _second_cache
    if prefix == "R_":

        def recvd(m: LogMessage) -> str:
            r = cache.get((m.recvd_sec, m.recvd_gmtoff))
            return (r or _second(m.recvd_sec, m.recvd_gmtoff))[idx]

        return recvd
    if prefix in ("C_", "P_"):

        def now(m: LogMessage) -> str:
            sec, _, gmtoff = _now()
            return _second(sec, gmtoff)[idx]

        return now

    def stamp(m: LogMessage) -> str:
        r = cache.get((m.stamp_sec, m.stamp_gmtoff))
        return (r or _second(m.stamp_sec, m.stamp_gmtoff))[idx]

    return stamp


# --- the rest -------------------------------------------------------------------------


def facility(m: LogMessage) -> str:
    code = (m.pri & 0x3F8) >> 3
    return FACILITY_NAMES[code] if code < 24 else f"{code:x}"


def severity(m: LogMessage) -> str:
    return SEVERITY_NAMES[m.pri & 7]


def seqnum(m: LogMessage) -> int:
    """SEQNUM as a number (0: none): see the module docstring."""
    if m.flags & FLAG_LOCAL:
        return m.seqnum & 0xFFFFFFFF
    text = m.values.get(".SDATA.meta.sequenceId")
    return strtol(text) & 0xFFFFFFFF if text else 0


def _seqnum_text(m: LogMessage) -> str:
    if m.flags & FLAG_LOCAL:
        n = m.seqnum & 0xFFFFFFFF
    else:
        text = m.values.get(".SDATA.meta.sequenceId")
        if not text:
            return ""
        n = strtol(text) & 0xFFFFFFFF
    return str(n) if n else ""


_SD_KEY_BAD = frozenset('= []"')


def _sd_key(text: str) -> str:
    if text.isascii() and not any(c in _SD_KEY_BAD for c in text):
        return text
    out = []
    for b in text.encode("utf-8", "surrogateescape"):
        c = chr(b)
        out.append(f"%{b:02X}" if b >= 0x80 or c in _SD_KEY_BAD else c)
    return "".join(out)


def _sd_value(text: str) -> str:
    if '"' in text or "\\" in text or "]" in text:
        return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
    return text


def sdata(m: LogMessage) -> str:
    """SDATA: the .SDATA.* pairs as RFC 5424 structured data, in the order they were set."""
    values = m.values
    seq = seqnum(m)
    has_seq = bool(values.get(".SDATA.meta.sequenceId"))
    out: list[str] = []
    cur: str | None = None
    for name, value in values.items():
        if not name.startswith(".SDATA."):
            continue
        rest = name[7:]
        dot = rest.rfind(".")
        if dot >= 0:
            elem, param = rest[:dot], rest[dot + 1 :]
        else:
            elem, param = rest or "none", ""
        if elem != cur:
            if cur is not None:
                out.append("]")
            out.append("[" + _sd_key(elem))
            cur = elem
        if not has_seq and seq and rest.startswith("meta."):
            out.append(f' sequenceId="{_signed32(seq)}"')
            has_seq = True
        if param:
            out.append(f' {_sd_key(param)}="{_sd_value(value)}"')
    if cur is not None:
        out.append("]")
    if not has_seq and seq:
        out.append(f'[meta sequenceId="{_signed32(seq)}"]')
    return "".join(out)


def _signed32(n: int) -> int:
    return n - (1 << 32) if n >= 1 << 31 else n


def _bsdtag(m: LogMessage) -> str:
    # severity digit, then "A" + facility as one C char: past "Z" it is a raw byte
    b = (((m.pri & 0x3F8) >> 3) + 65) & 0xFF
    return f"{m.pri & 7}{chr(b) if b < 0x80 else chr(0xDC00 + b)}"


def msghdr(m: LogMessage) -> str:
    values = m.values
    hdr = values.get("LEGACY_MSGHDR")
    if hdr:
        return hdr
    program = values.get("PROGRAM")
    if not program:
        return ""
    pid = values.get("PID")
    return f"{program}[{pid}]: " if pid else program + ": "


_TAG_SPECIAL = frozenset(",\"'\\ \t\n\r")


def _tag_text(tag: str) -> str:
    # syslog-ng's str_repr: quote a tag that would not read back as one list item
    if not tag or any(c in _TAG_SPECIAL for c in tag):
        escaped = (
            tag.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            .replace("\r", "\\r").replace("\t", "\\t")
        )  # fmt: skip
        return f'"{escaped}"'
    return tag


def _join_tags(t: tuple[str, ...]) -> str:
    if len(t) == 1 and not any(c in _TAG_SPECIAL for c in t[0]):
        return t[0]
    return ",".join([_tag_text(x) for x in sorted(t, key=tag_id)])


# TAGS per list of tags: messages of one source share theirs
_tags_texts: dict[tuple[str, ...], str] = {}


def tags(m: LogMessage) -> str:
    key = tuple(m.tags)
    text = _tags_texts.get(key)
    if text is None:
        if len(_tags_texts) >= 1024:
            _tags_texts.clear()
        text = _tags_texts[key] = _join_tags(key)
    return text


# (the node name is what socket.gethostname() returns on Linux)
_HOSTNAME = os.uname().nodename
_LOGHOST = _HOSTNAME.split(".", 1)[0]
_HOSTID = f"{zlib.crc32(_HOSTNAME.encode()):08x}"
_RUNID = str(os.getpid())


def _sysuptime(m: LogMessage) -> str:
    return str((clock() - _START_NS) // 10_000_000)


def _pair(name: str) -> Getter:
    def get(m: LogMessage) -> str:
        return m.values.get(name, "")

    return get


_FIXED: dict[str, Getter] = {
    "FACILITY": facility,
    "FACILITY_NUM": lambda m: str((m.pri & 0x3F8) >> 3),
    "SEVERITY": severity,
    "PRIORITY": severity,
    "LEVEL": severity,
    "SEVERITY_NUM": lambda m: str(m.pri & 7),
    "LEVEL_NUM": lambda m: str(m.pri & 7),
    "TAG": lambda m: f"{m.pri:02x}",
    "TAGS": tags,
    "BSDTAG": _bsdtag,
    "PRI": lambda m: str(m.pri),
    "SDATA": sdata,
    "MSGHDR": msghdr,
    "MSG": _pair("MESSAGE"),
    "MESSAGE": _pair("MESSAGE"),
    "HOST": _pair("HOST"),
    "SOURCEIP": lambda m: m.source_ip or "127.0.0.1",
    "DESTIP": lambda m: m.dest_ip or "127.0.0.1",
    "DESTPORT": lambda m: str(m.dest_port if m.dest_ip else 0),
    "PROTO": lambda m: str(m.proto),
    "SEQNUM": _seqnum_text,
    "CONTEXT_ID": lambda m: "",
    "_": lambda m: "",
    "RCPTID": lambda m: "",
    "UNIQID": lambda m: "",
    "RUNID": lambda m: _RUNID,
    "HOSTID": lambda m: _HOSTID,
    "LOGHOST": lambda m: _LOGHOST,
    "SYSUPTIME": _sysuptime,
}


def resolve(name: str) -> Getter:
    """A getter for macro or name-value pair ``name`` ("" when the pair is unset)."""
    alias = PAIR_ALIASES.get(name)
    if alias is not None:
        return _pair(alias)
    getter = _FIXED.get(name)
    if getter is not None:
        return getter
    if name in MACROS:
        if name[:2] in DATE_PREFIXES and name[2:] in DATE_FIELDS:
            return _date_getter(name[:2], name[2:])
        return _date_getter("", name)
    return _pair(name)



# Expressions for code that format-json generates per set of pair names: each computes
# what the macro's getter returns, from ``msg``, without the cost of a call.  Names that
# the expressions use start with "_m_" and mean the same object in every expression.
_FACILITY_OF = tuple(FACILITY_NAMES[c] if c < 24 else f"{c:x}" for c in range(128))
_INLINE_NAMES: dict[str, object] = {
    "_m_facility": _FACILITY_OF,
    "_m_severity": SEVERITY_NAMES,
    "_m_second_cache": _second_cache,
    "_m_second": _second,
    "_m_tags_texts": _tags_texts,
    "_m_tags": tags,
    "_m_seqnum_text": _seqnum_text,
}
_INLINE: dict[str, str] = {
    "FACILITY": "_m_facility[msg.pri >> 3 & 127]",
    "SEVERITY": "_m_severity[msg.pri & 7]",
    "PRIORITY": "_m_severity[msg.pri & 7]",
    "LEVEL": "_m_severity[msg.pri & 7]",
    "SOURCEIP": "(msg.source_ip or '127.0.0.1')",
    "TAGS": "(_m_tags_texts.get(tuple(msg.tags)) or _m_tags(msg))",
    "SEQNUM": f"(_m_seqnum_text(msg) if msg.flags & {FLAG_LOCAL} "
              "or '.SDATA.meta.sequenceId' in msg.values else '')",
}
for _field, _idx in _FIELD_INDEX.items():
    _INLINE[_field] = _INLINE["S_" + _field] = (
        "(_m_second_cache.get((msg.stamp_sec, msg.stamp_gmtoff))"
        f" or _m_second(msg.stamp_sec, msg.stamp_gmtoff))[{_idx}]")


def inline(name: str) -> tuple[str, dict[str, object]] | None:
    """A Python expression over ``msg`` that equals ``resolve(name)(msg)``, and the names
    it needs; None for macros that have none."""
    expr = _INLINE.get(name)
    return None if expr is None else (expr, _INLINE_NAMES)


__all__ = ["FACILITY_CODES", "MACROS", "SEVERITY_CODES", "resolve", "inline", "clock",
           "seqnum", "sdata", "msghdr"]
