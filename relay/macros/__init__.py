"""Macros: what ``$NAME`` means for a message, exactly as syslog-ng 3.38 computes it.

Data path: parse -> pipeline -> **templates** -> destinations.  Templates and format-json
ask ``resolve(name)`` once, when they are compiled, for a getter; the getter turns a
``LogMessage`` into the text of that macro (or of that name-value pair, "" when unset).
The package reads:

* here: the table from names to getters, and the clock;
* ``dates``: the date fields' texts from a stamp;
* ``text``: SEQNUM, SDATA, MSGHDR, TAGS and the PRI's names;
* ``recipes``: how the common getters compute, as data, for format-json's generated
  writers.

Date macros come in five forms: plain and ``S_`` (the sender's stamp), ``R_`` (receive
time), ``C_`` (now, when the template runs) and ``P_`` (processing time; the relay does
not keep one, so like syslog-ng without one it is now).  Each is shown in the zone its
stamp carries.  Only the fields a template names are ever computed, and at the same cost
whatever the stamp (see ``dates``).

"Now" is ``clock()``, a module-level function returning nanoseconds since the epoch
(``time.time_ns`` by default).  Tests replace it: ``relay.macros.clock = lambda: ns``.

HOSTID, LOGHOST, SYSUPTIME and RUNID describe this host and process, not syslog-ng's.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable

from relay.facts.names import (
    DATE_FIELDS,
    DATE_PREFIXES,
    FACILITY_CODES,
    MACROS,
    PAIR_ALIASES,
    SEVERITY_CODES,
)
from relay.macros import dates, text
from relay.macros.dates import FIELD_TEXT
from relay.macros.text import msghdr, sdata, seqnum
from relay.message import LogMessage
from relay.parse.localtime import local_info

# FACILITY_CODES, SEVERITY_CODES and MACROS stay importable from here for their readers
# (relay.parse.json, relay.template); their home is relay.facts.names

Getter = Callable[[LogMessage], str]

#: "now" for C_ and P_ macros, in nanoseconds since the epoch; replace it in tests
clock: Callable[[], int] = time.time_ns

_START_NS = time.time_ns()


def reset_caches() -> None:
    """Forget every cached macro text (nothing cached goes stale: this frees memory)."""
    dates.reset_caches()
    text.TAGS_TEXTS.clear()


# --- dates ----------------------------------------------------------------------------


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
    compute = FIELD_TEXT[field]
    if prefix == "R_":
        return lambda m: compute(m.recvd_sec, m.recvd_gmtoff)
    if prefix in ("C_", "P_"):

        def now(m: LogMessage) -> str:
            sec, _, gmtoff = _now()
            return compute(sec, gmtoff)

        return now
    return lambda m: compute(m.stamp_sec, m.stamp_gmtoff)


# --- the rest -------------------------------------------------------------------------

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
    "FACILITY": text.facility,
    "FACILITY_NUM": lambda m: str((m.pri & 0x3F8) >> 3),
    "SEVERITY": text.severity,
    "PRIORITY": text.severity,
    "LEVEL": text.severity,
    "SEVERITY_NUM": lambda m: str(m.pri & 7),
    "LEVEL_NUM": lambda m: str(m.pri & 7),
    "TAG": lambda m: f"{m.pri:02x}",
    "TAGS": text.tags,
    "BSDTAG": text.bsdtag,
    "PRI": lambda m: str(m.pri),
    "SDATA": sdata,
    "MSGHDR": msghdr,
    "MSG": _pair("MESSAGE"),  # (pair_of says these three read a pair)
    "MESSAGE": _pair("MESSAGE"),
    "HOST": _pair("HOST"),
    "SOURCEIP": lambda m: m.source_ip or "127.0.0.1",
    "DESTIP": lambda m: m.dest_ip or "127.0.0.1",
    "DESTPORT": lambda m: str(m.dest_port if m.dest_ip else 0),
    "PROTO": lambda m: str(m.proto),
    "SEQNUM": text.seqnum_text,
    "CONTEXT_ID": lambda m: "",
    "_": lambda m: "",
    "RCPTID": lambda m: "",
    "UNIQID": lambda m: "",
    "RUNID": lambda m: _RUNID,
    "HOSTID": lambda m: _HOSTID,
    "LOGHOST": lambda m: _LOGHOST,
    "SYSUPTIME": _sysuptime,
}


def pair_of(name: str) -> str | None:
    """The pair whose value is the text of macro ``name`` (as ``resolve`` reads it), or
    None when the macro is computed otherwise."""
    alias = PAIR_ALIASES.get(name)
    if alias is not None:
        return alias
    if name in _FIXED:
        return _PAIR_MACROS.get(name)
    return None if name in MACROS else name


#: macros of _FIXED that read a pair
_PAIR_MACROS = {"MSG": "MESSAGE", "MESSAGE": "MESSAGE", "HOST": "HOST"}


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


__all__ = ["FACILITY_CODES", "MACROS", "SEVERITY_CODES", "Getter", "clock", "msghdr",
           "pair_of", "reset_caches", "resolve", "sdata", "seqnum"]
