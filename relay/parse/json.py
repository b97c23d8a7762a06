"""JSON input: one object per frame, shaped as format-json writes it.

Part of parsing (framing -> **parse** -> pipeline), for sources with ``protocol = "json"``:
the relay can read what another relay (or syslog-ng's format-json) wrote.

    frame  = JSON object
    name   = key path joined with "."   ; {"a": {"b": "x"}} is the pair a.b
                                         ; a leading "_" is a leading "." (_SDATA -> .SDATA)
    value  = string as is; other scalars and arrays as their JSON text

Macros that format-json writes (DATE, FACILITY, PRIORITY, ...) are not name-value pairs:
they are read back into the PRI and the stamp where they say something (PRI, or FACILITY
with PRIORITY/LEVEL/SEVERITY; ISODATE, else DATE) and otherwise dropped.  MSG is MESSAGE.
A frame that is not a JSON object is kept whole as MESSAGE, like ``raw``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from relay.facts.names import DEFAULT_PRI, FACILITY_CODES, MACROS, SEVERITY_CODES
from relay.message import LogMessage
from relay.parse.localtime import guess_year, to_unix
from relay.parse.receive import RECEIVE
from relay.parse.stamp import scan_iso, scan_rfc3164

# pairs that share a name with a macro but are name-value pairs in syslog-ng
_PAIRS = frozenset({"HOST", "MESSAGE", "MSG"})
# a DATE as format-json writes it: the stamp of relay.parse.rfc3164's common shape
_BSD_STAMP = re.compile(r"[A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]")


def _flatten(prefix: str, obj: dict[str, Any], out: dict[str, str]) -> None:
    for key, value in obj.items():
        name = prefix + key
        if isinstance(value, dict):
            _flatten(name + ".", value, out)
        elif isinstance(value, str):
            out[name] = value
        elif value is None:
            out[name] = ""
        else:
            out[name] = orjson.dumps(value).decode()


def parse_json(msg: LogMessage, s: str) -> None:
    """Fill ``msg`` from the JSON object in ``s`` (or keep ``s`` as MESSAGE)."""
    try:
        obj = orjson.loads(s.encode("utf-8", "surrogateescape"))
    except orjson.JSONDecodeError:
        obj = None
    msg.stamp_sec, msg.stamp_usec, msg.stamp_gmtoff = (
        msg.recvd_sec,
        msg.recvd_usec,
        msg.recvd_gmtoff,
    )
    if not isinstance(obj, dict):
        msg.values["MESSAGE"] = s
        return
    flat: dict[str, str] = {}
    for key, value in obj.items():
        name = "." + key[1:] if key[:1] == "_" else key
        if type(value) is str:
            flat[name] = value
        elif isinstance(value, dict):
            _flatten(name + ".", value, flat)
        else:
            _flatten("", {name: value}, flat)
    pri = flat.get("PRI", "")
    if pri.isdigit() and pri.isascii():
        msg.pri = int(pri) & 0xFFFF
    else:
        fac = FACILITY_CODES.get(flat.get("FACILITY", ""), DEFAULT_PRI >> 3)
        sev_name = flat.get("PRIORITY") or flat.get("LEVEL") or flat.get("SEVERITY") or ""
        msg.pri = fac * 8 + SEVERITY_CODES.get(sev_name, DEFAULT_PRI & 7)
    stamp = flat.get("ISODATE")
    w = scan_iso(stamp, 0, len(stamp)) if stamp else None
    if w is None and flat.get("DATE"):
        date = flat["DATE"]
        if len(date) == 15 and RECEIVE.sec == msg.recvd_sec and _BSD_STAMP.match(date):
            found = RECEIVE.stamps.get(date) or RECEIVE.stamp_of_common(date)
            if found is not None:
                msg.stamp_sec, msg.stamp_gmtoff = found
                msg.stamp_usec = 0
        else:
            w = scan_rfc3164(date, 0, len(date))
    if w is not None:
        year = w.year if w.year >= 0 else guess_year(w.mon, msg.recvd_sec)
        msg.stamp_sec, msg.stamp_gmtoff = to_unix(w, year)
        msg.stamp_usec = w.usec
    values = msg.values
    for name, value in flat.items():
        if name in MACROS and name not in _PAIRS or (len(name) > 63 and len(name.encode()) > 255):
            continue  # macros are no pairs; syslog-ng stores no name over 255 bytes
        values["MESSAGE" if name == "MSG" else name] = value
