"""RFC 3164 ("BSD syslog") headers, with every heuristic of syslog-ng 3.38.

Part of parsing (framing -> **parse** -> pipeline): ``relay.parse.Parser`` strips the
frame, reads the PRI, and hands the rest of the text here; this module fills the
message's stamp and its HOST, PROGRAM, PID, LEGACY_MSGHDR and MESSAGE values.

What syslog-ng accepts is far wider than RFC 3164 section 4.1:

    MSG       = [CISCO-SEQ] *SP [SYNC] [STAMP *SP [AIX / REPEATED / [HOSTNAME 1*SP] TAG]]
                CONTENT
    CISCO-SEQ = *DIGIT ":" SP                 ; -> .SDATA.meta.sequenceId
    SYNC      = "*" / "."                     ; -> .SDATA.timeQuality.isSynced "0" / "1"
    STAMP     = see relay.parse.stamp (BSD, PIX/ASA, LinkSys, ISO 8601) [":"]
    AIX       = "Message forwarded from " HOSTNAME *(":" / SP) TAG
    REPEATED  = "last message repeated" ...   ; no hostname, no program
    HOSTNAME  = 1*255(%x21-5A / %x5C-7E / UTF8)   ; up to SP or "["; a ":" only as in IPv6
    TAG       = PROGRAM ["[" PID "]"] [":"] [SP]  ; PROGRAM up to SP, "[" or ":"

Without a stamp the rest is ``TAG CONTENT``.  Nothing here fails: a header that does not
fit simply leaves more text in MESSAGE.

Following syslog-ng rather than the RFC, every ``*SP`` above also skips NULs (its skipping
helper searches the character set like strchr, which matches the terminating NUL too), and
the AIX hostname ends at a NUL as well as at ":".
"""

from __future__ import annotations

import re

from relay.facts.names import DEFAULT_PRI
from relay.message import FLAG_LOCAL, LogMessage
from relay.parse.localtime import LAST_BY_DAY, common_iso, guess_year, to_unix
from relay.parse.peer import Peer
from relay.parse.receive import MINUTE_SECOND, RECEIVE
from relay.parse.stamp import scan_rfc3164

_AIX = "Message forwarded from "
_SP = " \x00"  # what syslog-ng's space skipping skips
_SP_COLON = " :\x00"
_REPEATED = "last message repeated"
_HEX_OR_COLON = frozenset("0123456789abcdefABCDEF:")
# up to the first SP or "[" (the hostname's end) / SP, "[" or ":" (the program's end)
_TOKEN = re.compile(r"[^ \[]*")
_PROGRAM = re.compile(r"[^ \[:]*")
_PID_END = re.compile(r"[^ \]:]*")


# The common shape, parsed in one match; anything else takes the general path below.
#   ["<" PRI ">"] MMM SP DD SP HH ":" MM ":" SS [("." / ",") 1*6DIGIT] SP HOSTNAME SP
#   PROGRAM ["[" PID "]"] [":"] [SP]
# Groups: PRI, the stamp in two ("Mmm dd HH:" and "MM:SS"), its fraction, HOSTNAME,
# LEGACY_MSGHDR, PROGRAM, PID.  The tag is
# parse_tag's, but for a "[" that opens no "[PID]" (parse_tag lets a PID end at SP or ":"
# without its "]") and a NUL in PROGRAM (which parse_tag keeps).  What would
# take another turn in the general path is left to it: a hostname of "Message" (AIX) or
# "last" ("last message repeated"), four digits and a space (a LinkSys "HH:MM:SS YYYY"
# stamp), a ":" in the hostname (IPv6), a NUL in the hostname or program (a leading one
# would be skipped), a fraction of more than six digits.
# A stamp whose month is not a month fails in stamp_of_common.
COMMON = re.compile(
    r"(?:<([0-9]{1,3})>)?([A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:)([0-9][0-9]:[0-9][0-9])"
    r"(?:[.,]([0-9]{1,6}))? "
    r"(?!(?:Message|last) |[0-9]{4}[ \t\n\v\f\r])([^ \[:\x00]{1,63}) "
    r"(([^ \[:\x00]++)(?:\[([^ \]:]*)\]|(?![\[\x00])):? ?)"
)
# The same with an ISO stamp (what loggen writes), which has no LinkSys form:
#   ["<" PRI ">"] DATE "T" TIME ["." 1*6DIGIT] ["Z" / ("+" / "-") HH ":" MM] SP HOSTNAME SP TAG
# Groups: PRI, the stamp without fraction and zone, the fraction, the zone, then as above.
COMMON_ISO = re.compile(
    r"(?:<([0-9]{1,3})>)?([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:[0-9]{2})? "
    r"(?!(?:Message|last) |[0-9]{4}[ \t\n\v\f\r])([^ \[:\x00]{1,63}) "
    r"(([^ \[:\x00]++)(?:\[([^ \]:]*)\]|(?![\[\x00])):? ?)"
)
# Further shapes, parsed in one match when COMMON and COMMON_ISO missed:
#   ["<" PRI ">"] [*DIGIT ":" SP] ["*" / "."] (BSD-STAMP [frac] / PIX-STAMP) [":"] SP
#   [HOSTNAME SP] PROGRAM ["[" PID "]"] ":" SP
# i.e. a Cisco sequence number and time mark, a PIX/ASA stamp "MMM DD YYYY HH:MM:SS", an
# empty PROGRAM after a hostname (ASA's "fw01 : %ASA-..."), or no hostname at all.  Each
# piece is taken whenever the general path would take it (so the regex cannot skip one
# and still match), and a word is left without a hostname only where scan_hostname finds
# none: it ends at "[", or at ":" without looking like IPv6 (1 to 4 hex digits, then ":",
# make the hostname "beef:").  Wider spacing, a LinkSys year, "Message " or "last " after
# the stamp take the general path, as above.
# (Giving back a PRI, a sequence id or a time mark can never lead to a match, as no stamp
# starts with "<", a digit, "*" or ".": the atomic group only fails sooner.)
# Groups: PRI, sequence id, time mark, BSD stamp, its fraction, PIX stamp, HOSTNAME,
# LEGACY_MSGHDR, PROGRAM, PID.
COMMON_EXTRA = re.compile(
    r"(?>(?:<([0-9]{1,3})>)?(?:([0-9]*+): )?([*.])?)"
    r"(?:([A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9])(?:[.,]([0-9]{1,6}))?"
    r"|([A-Z][a-z][a-z] [ 0-9][0-9] [0-9]{4} [0-9][0-9]:[0-9][0-9]:[0-9][0-9])):? "
    r"(?![0-9]{4}[ \t\n\v\f\r])"
    r"(?:(?!(?:Message|last) )([^ \[:\x00]{1,63}) )?"
    r"(((?(7)[^ \[:\x00]*|(?![0-9a-fA-F]{1,4}:)[^ \[:\x00]+))(?:\[([^ \]:]*)\])?: )"
)
# Headers without a stamp, parsed in one match when the shapes above missed:
#   ["<" PRI ">"] [*DIGIT ":" SP] ["*" / "."] PROGRAM ["[" PID "]"] ":" SP
# (ASA's "%ASA-6-302013: ..." without "logging timestamp").  Where a stamp scanner could
# start (SP at 3 and 6, or "-" at 4 and 7) the general path decides.  A "<" that opens
# no PRI of up to three digits ("<1234>", "<>", "<x>") is the general path's too.
# Groups: PRI, sequence id, time mark, LEGACY_MSGHDR, PROGRAM, PID.
COMMON_NO_STAMP = re.compile(
    r"(?>(?:<([0-9]{1,3})>|(?!<))(?:([0-9]*+): )?([*.])?)"
    r"(?!(?s:.{3} .{2} |.{4}-.{2}-))"
    r"(([^ \[:\x00]*)(?:\[([^ \]:]*)\])?: )"
)
#: PRI text of the common shape -> its number; None (no PRI at all) -> user.notice, the
#: default syslog-ng gives such a line (public log data sets are mostly stored that way)
COMMON_PRI: dict[str | None, int] = {
    f"{n:0{width}d}": n for width in (1, 2, 3) for n in range(10**width)}
COMMON_PRI[None] = DEFAULT_PRI
#: PRI texts of the kernel facility, whose local messages without a stamp are "kernel"'s
_KERNEL_PRI = frozenset(text for text, pri in COMMON_PRI.items() if pri & 0x3F8 == 0)
_new_message = object.__new__


def usec_of(fraction: str | None) -> int:
    """Microseconds of a stamp's fraction (up to six digits), 0 without one."""
    return int(fraction) * 10 ** (6 - len(fraction)) if fraction else 0


class OneMatch:
    """The shapes above, each read in one match into a whole message of one source.

    ``parse`` returns None where the general path (``parse_rfc3164``) must decide.  All
    shapes end in ``message``, which sets the values in the order the general path does.
    """

    __slots__ = ("source", "tag", "keep_hostname")

    def __init__(self, source: str, tag: str, keep_hostname: bool) -> None:
        self.source = source
        self.tag = tag
        self.keep_hostname = keep_hostname

    def parse(self, s: str, peer: Peer, sec: int, ns: int) -> LogMessage | None:
        """The message of ``s`` (after the PRI's frame was stripped), or None."""
        now = RECEIVE
        m = COMMON.match(s)
        if m is not None:
            pri, hour_text, minute_second, fraction, host, hdr, program, pid = m.groups()
            # the stamp's hour, then "MM:SS": the same cost whether its second was seen
            # before or not (as in stamp_of_common, which takes the rest; the direct way,
            # relay.parse.shape.direct_readers, looks up the day alone)
            hour = now.hours.get(hour_text)
            if hour is None:
                hour = now.hour_of(hour_text)
            seconds = MINUTE_SECOND.get(minute_second)
            if hour and seconds is not None:
                LAST_BY_DAY[0] = hour
                found: tuple[int, int] | None = (hour[0] + seconds, hour[1])
            else:  # a day that changes its offset, fields mktime() normalizes, no month
                stamp = hour_text + minute_second
                found = now.stamps.get(stamp) or now.stamp_of_common(stamp)
            if found is not None:
                return self.message(s, m.end(), peer, sec, ns, pri, None, None, found,
                                    usec_of(fraction), host, hdr, program, pid)
            # (a month that is none: COMMON_EXTRA and the general path decide)
        else:
            m = COMMON_ISO.match(s)
            if m is not None:
                pri, stamp, fraction, zone, host, hdr, program, pid = m.groups()
                return self.message(s, m.end(), peer, sec, ns, pri, None, None,
                                    common_iso(stamp, zone), usec_of(fraction), host, hdr,
                                    program, pid)
        m = COMMON_EXTRA.match(s)
        if m is not None:
            pri, seq, mark, stamp, fraction, pix, host, hdr, program, pid = m.groups()
            if stamp is None:
                stamp = pix
            found = now.stamps.get(stamp) or now.stamp_of_common(stamp)
            if found is None:
                return None
            return self.message(s, m.end(), peer, sec, ns, pri, seq, mark, found,
                                usec_of(fraction), host, hdr, program, pid)
        m = COMMON_NO_STAMP.match(s)
        # (a local kernel message without a stamp is the general path's)
        if m is None or (peer.proto == 0 and m[1] in _KERNEL_PRI):
            return None
        pri, seq, mark, hdr, program, pid = m.groups()
        return self.message(s, m.end(), peer, sec, ns, pri, seq, mark, (sec, now.gmtoff),
                            ns // 1000, None, hdr, program, pid)

    def message(self, s: str, end: int, peer: Peer, sec: int, ns: int, pri: str | None,
                seq: str | None, mark: str | None, found: tuple[int, int], usec: int,
                host: str | None, hdr: str, program: str, pid: str | None) -> LogMessage:
        """The message of an RFC 3164 header read in one match, MESSAGE from ``end``."""
        source_ip, host_from, proto, dest_ip, dest_port = peer
        msg = _new_message(LogMessage)
        # (the shapes' hostnames hold no NUL, so they never count as empty)
        if host is not None and not self.keep_hostname:
            host = host_from
        if seq is None and mark is None and host is not None:
            # the common case in one literal, which is quicker than item by item
            msg.values = (
                {"PROGRAM": program, "LEGACY_MSGHDR": hdr, "HOST": host, "MESSAGE": s[end:],
                 "HOST_FROM": host_from, "SOURCE": self.source} if pid is None else
                {"PROGRAM": program, "PID": pid, "LEGACY_MSGHDR": hdr, "HOST": host,
                 "MESSAGE": s[end:], "HOST_FROM": host_from, "SOURCE": self.source})
        else:
            values = msg.values = {}
            if seq is not None:
                values[".SDATA.meta.sequenceId"] = seq
            if mark is not None:
                values[".SDATA.timeQuality.isSynced"] = "0" if mark == "*" else "1"
            values["PROGRAM"] = program
            if pid is not None:
                values["PID"] = pid
            values["LEGACY_MSGHDR"] = hdr
            if host is not None:
                values["HOST"] = host
            values["MESSAGE"] = s[end:]
            values["HOST_FROM"] = host_from
            if host is None:
                values["HOST"] = host_from
            values["SOURCE"] = self.source
        msg.pri = COMMON_PRI[pri]
        msg.stamp_sec, msg.stamp_gmtoff = found
        msg.stamp_usec = usec
        msg.recvd_sec = sec
        msg.recvd_usec = ns // 1000
        msg.recvd_gmtoff = RECEIVE.gmtoff
        msg.tags = [self.tag]
        msg.source_ip = source_ip
        msg.proto = proto
        msg.dest_ip = dest_ip
        msg.dest_port = dest_port
        msg.flags = FLAG_LOCAL if proto == 0 else 0
        msg.seqnum = 0
        return msg


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogateescape"))


def scan_hostname(s: str, i: int, n: int) -> int:
    """The end of a hostname that starts at ``i`` (the SP after it), or -1 if none.

    A hostname runs up to SP or "[" and must be followed by SP.  A ":" ends it unless
    everything so far could be IPv6 (hex groups of at most 4 digits, fewer than 8
    colons); syslog-ng keeps at most 255 bytes, so a longer word is no hostname.
    """
    j = _TOKEN.match(s, i).end()  # type: ignore[union-attr]
    token = s[i:j]
    if ":" in token:
        segment = digits = 0
        failed = False
        for k, c in enumerate(token):
            if not failed:
                if c == ":":
                    digits = 0
                    segment += 1
                    failed = segment >= 8
                elif c in _HEX_OR_COLON:
                    digits += 1
                    failed = digits > 4
                else:
                    failed = True
            if failed and c == ":":
                j = i + k
                break
    if j >= n or s[j] != " ":
        return -1
    if j - i > 63 and _utf8_len(s[i:j]) > 255:
        return -1
    return j


def parse_tag(msg: LogMessage, s: str, i: int, n: int) -> int:
    """TAG = PROGRAM ["[" PID "]"] [":"] [SP]; sets PROGRAM, PID, LEGACY_MSGHDR."""
    values = msg.values
    j = _PROGRAM.match(s, i).end()  # type: ignore[union-attr]
    values["PROGRAM"] = s[i:j]
    if j < n and s[j] == "[":
        k = _PID_END.match(s, j + 1).end()  # type: ignore[union-attr]
        if k < n:
            values["PID"] = s[j + 1 : k]
            j = k
            if s[j] == "]":
                j += 1
        else:
            j = n
    if j < n and s[j] == ":":
        j += 1
    if j < n and s[j] == " ":
        j += 1
    values["LEGACY_MSGHDR"] = s[i:j]
    return j


def parse_rfc3164(msg: LogMessage, s: str, i: int, n: int, recvd_sec: int, local: bool) -> None:
    """Parse the header of ``s[i:n]`` (after the PRI) into ``msg``; the rest is MESSAGE."""
    values = msg.values
    # Cisco sequence number: *DIGIT ":" SP
    if i < n and s[i] in "0123456789:":
        j = i
        while j < n and "0" <= s[j] <= "9":
            j += 1
        if j + 1 < n and s[j] == ":" and s[j + 1] == " ":
            values[".SDATA.meta.sequenceId"] = s[i:j]
            i = j + 1
    while i < n and s[i] in _SP:
        i += 1
    if i < n:
        c = s[i]
        if c == "*":
            values[".SDATA.timeQuality.isSynced"] = "0"
            i += 1
        elif c == ".":
            values[".SDATA.timeQuality.isSynced"] = "1"
            i += 1

    w = scan_rfc3164(s, i, n) if n - i >= 15 else None
    if w is None:
        # no stamp: the stamp is the receive time, the text "PROGRAM[PID]: message"
        msg.stamp_sec = msg.recvd_sec
        msg.stamp_usec = msg.recvd_usec
        msg.stamp_gmtoff = msg.recvd_gmtoff
        if local and msg.pri & 0x3F8 == 0:
            values["PROGRAM"] = "kernel"
        else:
            i = parse_tag(msg, s, i, n)
        values["MESSAGE"] = s[i:n]
        return

    year = w.year if w.year >= 0 else guess_year(w.mon, recvd_sec)
    msg.stamp_sec, msg.stamp_gmtoff = to_unix(w, year)
    msg.stamp_usec = w.usec
    i = w.end
    while i < n and s[i] in _SP:
        i += 1
    host_start = host_end = -1
    if s.startswith(_AIX, i):
        i += len(_AIX)
        host_start = i
        while i < n and s[i] != ":" and s[i] != "\x00":
            i += 1
        host_end = i
        while i < n and s[i] in _SP_COLON:
            i += 1
    # syslog-ng wants one character more than the phrase ("sizeof" counts the NUL)
    if n - i > len(_REPEATED) and s.startswith(_REPEATED, i):
        pass
    else:
        if host_start < 0:
            j = scan_hostname(s, i, n)
            if j >= 0:
                host_start, host_end = i, j
                i = j + 1
                while i < n and s[i] in _SP:
                    i += 1
        i = parse_tag(msg, s, i, n)
    if host_start >= 0:
        values["HOST"] = s[host_start:host_end]
    values["MESSAGE"] = s[i:n]


__all__ = ["COMMON", "COMMON_EXTRA", "COMMON_ISO", "COMMON_NO_STAMP", "COMMON_PRI", "OneMatch",
           "parse_rfc3164", "parse_tag", "scan_hostname", "usec_of"]
