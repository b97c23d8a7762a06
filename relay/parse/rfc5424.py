"""RFC 5424 ("syslog protocol") messages, read as syslog-ng 3.38 reads them.

Part of parsing (framing -> **parse** -> pipeline): ``relay.parse.Parser`` reads the PRI
and hands the rest here when the source speaks RFC 5424 (``auto``/``rfc5424``).

    SYSLOG-MSG      = HEADER SP STRUCTURED-DATA [SP MSG]
    HEADER          = PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
    VERSION         = "1"                       ; anything else: RFC 3164 (or an error)
    TIMESTAMP       = NILVALUE / FULL-DATE "T" FULL-TIME     ; see relay.parse.stamp
    HOSTNAME        = NILVALUE / 1*255PRINTUSASCII
    APP-NAME        = NILVALUE / 1*48PRINTUSASCII   ; syslog-ng: longer is cut, not refused
    PROCID          = NILVALUE / 1*128PRINTUSASCII  ; likewise
    MSGID           = NILVALUE / 1*32PRINTUSASCII   ; likewise
    STRUCTURED-DATA = NILVALUE / 1*SD-ELEMENT
    SD-ELEMENT      = "[" SD-ID *(SP SD-PARAM) "]"
    SD-PARAM        = PARAM-NAME "=" %d34 PARAM-VALUE %d34
    SD-ID, PARAM-NAME = 1*PRINTUSASCII except "=", SP, "]", %d34  ; syslog-ng: any length
    PARAM-VALUE     = UTF-8-STRING ; '"', '\\' and ']' escaped with '\\'
    MSG             = [BOM] *OCTET               ; the BOM is dropped
    NILVALUE        = "-"

syslog-ng leaves a header column out when it is exactly "-", and keeps other printable
or not text as it is (it does not check PRINTUSASCII).  SD params become
``.SDATA.<SD-ID>.<PARAM-NAME>``; an element without params becomes ``.SDATA.<SD-ID>``.
"""

from __future__ import annotations

import re

from relay.message import FLAG_UTF8, LogMessage
from relay.parse.localtime import common_iso, to_unix
from relay.parse.rfc3164 import COMMON_PRI, scan_hostname
from relay.parse.stamp import scan_iso

#: returned when the text is no RFC 5424 at all (version missing or not 1)
NOT_5424 = -2
#: returned when the message parsed
OK = -1

SD_VALUE_MAX = 65535  # syslog-ng's sdata-param-value-max default
_SD_NAME_BAD = frozenset('= ]"')


def _cut_bytes(text: str, limit: int) -> str:
    if len(text) <= limit and (
        text.isascii() or len(text.encode("utf-8", "surrogateescape")) <= limit
    ):
        return text
    return text.encode("utf-8", "surrogateescape")[:limit].decode("utf-8", "surrogateescape")


def _is_sd_name_char(c: str) -> bool:
    return c < "\x80" and c not in _SD_NAME_BAD


def parse_sd(msg: LogMessage, s: str, i: int, n: int) -> tuple[int, bool]:
    """STRUCTURED-DATA at ``i``: (where it ends or failed, whether it parsed)."""
    if i >= n:
        return i, True
    if s[i] == "-":
        return i + 1, True
    if s[i] != "[":
        return i, True
    values = msg.values
    i += 1
    while True:
        # SD-ID
        start = i
        while i < n and s[i] != " " and s[i] != "]":
            if not _is_sd_name_char(s[i]) or i - start >= 248:
                return i, False
            i += 1
        if i == start:
            return i, False
        sd_id = s[start:i]
        # syslog-ng stores no value whose name is longer than 255 bytes
        if i < n and s[i] == "]" and len(sd_id) <= 248:
            values[".SDATA." + sd_id] = ""
        prefix = ".SDATA." + sd_id + "."
        while i < n and s[i] != "]":
            if s[i] != " ":
                return i, False
            i += 1
            # PARAM-NAME
            start = i
            if i >= n or not _is_sd_name_char(s[i]):
                return i, False
            while i < n and s[i] != "=":
                if not _is_sd_name_char(s[i]) or i - start >= 255 - len(sd_id):
                    return i, False
                i += 1
            name = s[start:i]
            if i >= n:
                return i, False
            i += 1  # "="
            if i >= n or s[i] != '"':
                return i, False
            i += 1
            # PARAM-VALUE: backslash escapes '"', '\\' and ']'; before anything else it stays
            parts: list[str] = []
            start = i
            while i < n:
                c = s[i]
                if c == '"':
                    break
                if c == "\\":
                    if i + 1 >= n:
                        i += 1
                        break
                    nxt = s[i + 1]
                    parts.append(s[start:i])
                    if nxt == '"' or nxt == "]" or nxt == "\\":
                        parts.append(nxt)
                    else:
                        parts.append("\\" + nxt)
                    i += 2
                    start = i
                    continue
                if c == "]":
                    return i + 1, False
                i += 1
            if i >= n:
                return i, False
            parts.append(s[start:i])
            value = "".join(parts)
            if len(value) > SD_VALUE_MAX // 4:
                value = _cut_bytes(value, SD_VALUE_MAX)
            i += 1  # closing quote
            if len(prefix) + len(name) <= 255:
                values[prefix + name] = value
        if i >= n:
            return i, False
        i += 1  # "]"
        if i < n and s[i] == "[":
            i += 1
            if i < n:
                continue
        return i, True


# The common shape, parsed in one match (the general path below takes everything else):
#   "<" PRI ">1" SP DATE "T" TIME ["." 1*6DIGIT] ["Z" / ("+" / "-") HH ":" MM] SP
#   HOSTNAME SP APP-NAME SP PROCID SP MSGID SP ("-" / 1*SD-ELEMENT) (SP / end)
# with ASCII header fields short enough that no limit cuts them (HOSTNAME without ":")
# and SD names of at most 32 characters; a zone may be missing (the local one then).  A
# backslash in an SD value pairs with the character after it, as in parse_sd.
_SD_NAME = r"[!#-<>-\\^-~]{1,32}"  # PRINTUSASCII but '=', ']' and '"'
_SD_VALUE = r'[^"\\\]]*+(?:\\[\s\S][^"\\\]]*+)*+'
COMMON = re.compile(
    r"<([0-9]{1,3})>1 "
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,6}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})? "
    r"([^ \[:]{1,63}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) "
    rf'(-|(?:\[{_SD_NAME}(?: {_SD_NAME}="{_SD_VALUE}")*\])+)(?= |\Z)'
)
# The pieces of an SD that COMMON matched, in order: an SD-ID (with "]" when the element
# has no params) or one SD-PARAM; the "]" closing an element with params is skipped.
_SD_PIECE = re.compile(rf'\[({_SD_NAME})(\]?)| ({_SD_NAME})="({_SD_VALUE})"')
_SD_ESCAPED = re.compile(r'\\(["\\\]])')


def _escaped_char(m: re.Match[str]) -> str:
    return m[1]



def parse_common(msg: LogMessage, s: str, m: re.Match[str]) -> None:
    """Fill ``msg`` (PRI, stamp, header values, SD, MESSAGE) from a match of COMMON."""
    pri, stamp, fraction, zone, host, program, pid, msgid, sd = m.groups()
    msg.pri = COMMON_PRI[pri]
    found = common_iso(stamp, zone)
    msg.stamp_sec, msg.stamp_gmtoff = found
    if fraction is not None:
        msg.stamp_usec = int(fraction) * 10 ** (6 - len(fraction))
    values = msg.values
    if host != "-":
        values["HOST"] = host
    if program != "-":
        values["PROGRAM"] = program
    if pid != "-":
        values["PID"] = pid
    if msgid != "-":
        values["MSGID"] = msgid
    if sd != "-":
        # (values with escapes, or long enough to be cut, only in a long or escaped SD)
        plain = len(sd) <= SD_VALUE_MAX // 4 and "\\" not in sd
        prefix = ""
        for sd_id, closed, name, value in _SD_PIECE.findall(sd):
            if sd_id:
                prefix = ".SDATA." + sd_id + "."
                if closed:
                    values[".SDATA." + sd_id] = ""
            else:
                if not plain:
                    value = _SD_ESCAPED.sub(_escaped_char, value)
                    if len(value) > SD_VALUE_MAX // 4:
                        value = _cut_bytes(value, SD_VALUE_MAX)
                values[prefix + name] = value
    i = m.end() + 1
    if i < len(s) and s[i] == "\ufeff":
        msg.flags |= FLAG_UTF8
        i += 1
    values["MESSAGE"] = s[i:]


def _byte_offset(s: str, i: int) -> int:
    """Where character ``i`` of ``s`` starts in the frame's bytes."""
    head = s[:i]
    return i if head.isascii() else len(head.encode("utf-8", "surrogateescape"))


def parse_rfc5424(msg: LogMessage, s: str, i: int, n: int) -> int:
    """Parse ``s[i:n]`` (just after the PRI) into ``msg``.

    Returns OK, NOT_5424 (no version 1: the caller falls back to RFC 3164 or fails),
    or where the message stopped making sense, as a byte offset into the encoded ``s``
    (for syslog-ng's "Error processing log message" text, which marks it by byte).
    """
    # VERSION: digits up to SP or the end
    j = s.find(" ", i)
    if j < 0:
        j = n
    version = s[i:j]
    if version != "1":
        if not (version.isascii() and version.isdigit()) or int(version) != 1:
            return NOT_5424
    i = j
    if i >= n or s[i] != " ":
        return _byte_offset(s, i)
    i += 1
    values = msg.values
    # TIMESTAMP
    if i < n and s[i] == "-":
        msg.stamp_sec = msg.recvd_sec
        msg.stamp_usec = msg.recvd_usec
        msg.stamp_gmtoff = msg.recvd_gmtoff
        i += 1
    else:
        w = scan_iso(s, i, n)
        if w is None:
            return _byte_offset(s, i)
        msg.stamp_sec, msg.stamp_gmtoff = to_unix(w, w.year)
        msg.stamp_usec = w.usec
        i = w.end
    if i >= n or s[i] != " ":
        return _byte_offset(s, i)
    i += 1
    # HOSTNAME
    j = scan_hostname(s, i, n)
    if j < 0:
        # syslog-ng steps one byte past the hostname's start, even into a character
        return _byte_offset(s, i) + 1
    if j - i != 1 or s[i] != "-":
        values["HOST"] = s[i:j]
    i = j + 1
    # APP-NAME, PROCID, MSGID
    for name, limit in (("PROGRAM", 48), ("PID", 128), ("MSGID", 32)):
        j = s.find(" ", i)
        if j < 0:
            return _byte_offset(s, n)
        if j - i != 1 or s[i] != "-":
            values[name] = _cut_bytes(s[i:j], limit)
        i = j + 1
    # STRUCTURED-DATA
    i, ok = parse_sd(msg, s, i, n)
    if not ok:
        return _byte_offset(s, i)
    if i < n:
        if s[i] != " ":
            return _byte_offset(s, i)
        i += 1
        if i < n and s[i] == "\ufeff":
            msg.flags |= FLAG_UTF8
            i += 1
    values["MESSAGE"] = s[i:n]
    return OK
