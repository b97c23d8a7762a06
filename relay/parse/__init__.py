"""Parsing: one frame in, one ``LogMessage`` out, exactly as syslog-ng 3.38 makes it.

Data path: sources -> framing -> **parse** -> pipeline -> templates -> destinations.
A source hands each datagram (or each frame its framer cut) to ``Parser.parse`` together
with the ``Peer`` it came from and the wall-clock receive time; nothing here does I/O or
reads a clock.  The options are syslog-ng's ``keep-hostname(yes) chain-hostnames(no)
use-dns(no) use-fqdn(no)``.

    FRAME = [PRI] REST *(LF / NUL)     ; trailing LFs and NULs are dropped first
    PRI   = "<" *DIGIT ">"             ; "<>" is 0; no ">" means the PRI runs to the end;
                                       ; a non-digit inside is an error (see below)

``protocol``:
  - ``rfc3164``: syslog-ng's network(): everything is RFC 3164 (relay.parse.rfc3164).
  - ``auto``: syslog(): RFC 5424 (relay.parse.rfc5424) when version 1 follows the PRI,
    RFC 3164 otherwise.
  - ``rfc5424``: only RFC 5424 (syslog-ng's no-rfc3164-fallback).
  - ``json``: one format-json object per frame (relay.parse.json).
  - ``raw``: flags(no-parse): the whole frame is MESSAGE.

A frame that cannot be parsed becomes syslog-ng's own complaint: MESSAGE "Error processing
log message: <frame>" (with ">@<" marking where it went wrong), PROGRAM "syslog-ng", PID
our process id, PRI syslog.err, stamped with the receive time, flagged local.
"""

from __future__ import annotations

import os
import re
import socket
from typing import NamedTuple

from relay.message import FLAG_LOCAL, LogMessage, tag_id
from relay.parse.json import parse_json
from relay.parse.rfc3164 import (
    COMMON,
    COMMON_EXTRA,
    COMMON_ISO,
    COMMON_NO_STAMP,
    COMMON_PRI,
    RECEIVE,
    parse_rfc3164,
)
from relay.parse.rfc5424 import COMMON as COMMON_5424
from relay.parse.rfc5424 import NOT_5424, OK, parse_rfc5424
from relay.parse.rfc5424 import parse_common as parse_common_5424
from relay.parse.stamp import common_iso

PROTOCOLS = frozenset({"auto", "rfc3164", "rfc5424", "json", "raw"})
DEFAULT_PRI = 13  # user.notice, syslog-ng's default when a frame has no PRI
_ERROR_PRI = 43  # syslog.err
_DIGITS = frozenset("0123456789")
_new_message = object.__new__
#: PRI texts of the kernel facility, whose local messages without a stamp are "kernel"'s
_KERNEL_PRI = frozenset(text for text, pri in COMMON_PRI.items() if pri & 0x3F8 == 0)


class Peer(NamedTuple):
    """Where frames came from: one per connection, or per UDP sender address.

    For local sources (unix sockets, stdin, pipes) syslog-ng has no IP address: pass
    ``local_peer()``, whose SOURCEIP is "127.0.0.1" (what syslog-ng prints for a non-IP
    sender), HOST_FROM the short local host name and PROTO 0.  PROTO 0 is also what marks
    a message as local (syslog-ng's LP_LOCAL): such messages take SEQNUM from the
    destination's counter, and a kernel-facility message without a stamp gets PROGRAM
    "kernel".
    """

    source_ip: str  # SOURCEIP
    host_from: str  # HOST_FROM: with use_dns(no), the sender's address
    proto: int  # PROTO: 17 udp, 6 tcp, 0 unix/stdin
    dest_ip: str = ""  # DESTIP (syslog-ng prints "127.0.0.1" when there is none)
    dest_port: int = 0  # DESTPORT


def local_peer() -> Peer:
    """The peer of a local source (unix socket, stdin)."""
    return Peer("127.0.0.1", socket.gethostname().split(".", 1)[0], 0)


def parse_pri(s: str) -> tuple[int, int]:
    """(PRI, where the rest starts); PRI is -1 when "<...>" holds a non-digit."""
    if not s or s[0] != "<":
        return DEFAULT_PRI, 0
    j = s.find(">", 1)
    digits = s[1:j] if j >= 0 else s[1:]
    if not digits:
        return 0, (j + 1 if j >= 0 else len(s))
    if not (digits.isdigit() and digits.isascii()):
        return -1, 0
    # syslog-ng keeps the PRI in 16 bits
    return int(digits) & 0xFFFF, (j + 1 if j >= 0 else len(s))


def error_text(s: str, position: int) -> str:
    """syslog-ng's "Error processing log message" text for a frame that failed at
    ``position`` (0: no position known), a byte offset into the frame: the ">@<" goes one
    byte before it, even inside a character.  Like printf("%.*s"), each part stops at a
    NUL."""
    if position > 0:
        if s.isascii():
            head, tail = s[: position - 1], s[position - 1 :]
        else:
            data = s.encode("utf-8", "surrogateescape")
            head = data[: position - 1].decode("utf-8", "surrogateescape")
            tail = data[position - 1 :].decode("utf-8", "surrogateescape")
        head = head.split("\x00", 1)[0]
        tail = tail.split("\x00", 1)[0]
        return f"Error processing log message: {head}>@<{tail}"
    return "Error processing log message: " + s.split("\x00", 1)[0]


class Parser:
    """Turns frames of one source into messages.

    ``source`` is the source's name: SOURCE, and the tag ``.source.<name>``.  ``pid`` is
    the PID written into "Error processing log message" messages (default: ours).
    """

    __slots__ = ("protocol", "source", "keep_hostname", "pid", "_tag", "_kind", "_common",
                 "_common_5424")

    def __init__(
        self, protocol: str, source: str, *, keep_hostname: bool = True, pid: int | None = None
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}")
        self.protocol = protocol
        self.source = source
        self.keep_hostname = keep_hostname
        self.pid = str(os.getpid() if pid is None else pid)
        self._tag = ".source." + source
        tag_id(self._tag)
        self._kind = protocol
        # RFC 3164 may come: try the common shape first
        self._common = protocol in ("rfc3164", "auto")
        self._common_5424 = protocol in ("rfc5424", "auto")

    def parse(self, frame: bytes, peer: Peer, recvd_ns: int) -> LogMessage:
        """One frame -> one message; never raises on bad input."""
        sec, ns = divmod(recvd_ns, 1_000_000_000)
        now = RECEIVE
        if now.sec != sec:
            now.move(sec)
        if frame and (frame[-1] == 10 or frame[-1] == 0):
            frame = frame.rstrip(b"\n\x00")
        s = frame.decode("utf-8", "surrogateescape")
        if self._common:
            m = COMMON.match(s)
            if m is not None:
                pri, stamp, fraction, host, hdr, program, pid = m.groups()
                # (None: new, or no month, which is cheap to find again)
                found = now.stamps.get(stamp) or now.stamp_of_common(stamp)
                usec = int(fraction) * 10 ** (6 - len(fraction)) if fraction else 0
            else:
                m = COMMON_ISO.match(s)
                if m is not None:
                    pri, stamp, fraction, zone, host, hdr, program, pid = m.groups()
                    found = common_iso(stamp, zone)
                    usec = int(fraction) * 10 ** (6 - len(fraction)) if fraction else 0
            if m is not None and found is not None:
                # the whole message in one go: the common shape decides every field
                source_ip, host_from, proto, dest_ip, dest_port = peer
                msg = _new_message(LogMessage)
                # (COMMON's hostname holds no NUL, so it never counts as empty)
                if not self.keep_hostname:
                    host = host_from
                # (in the order the general path sets them)
                if pid is None:
                    msg.values = {"PROGRAM": program, "LEGACY_MSGHDR": hdr, "HOST": host,
                                  "MESSAGE": s[m.end():], "HOST_FROM": host_from,
                                  "SOURCE": self.source}
                else:
                    msg.values = {"PROGRAM": program, "PID": pid, "LEGACY_MSGHDR": hdr,
                                  "HOST": host, "MESSAGE": s[m.end():],
                                  "HOST_FROM": host_from, "SOURCE": self.source}
                msg.pri = COMMON_PRI[pri]
                msg.stamp_sec, msg.stamp_gmtoff = found
                msg.stamp_usec = usec
                msg.recvd_sec = sec
                msg.recvd_usec = ns // 1000
                msg.recvd_gmtoff = now.gmtoff
                msg.tags = [self._tag]
                msg.source_ip = source_ip
                msg.proto = proto
                msg.dest_ip = dest_ip
                msg.dest_port = dest_port
                msg.flags = FLAG_LOCAL if proto == 0 else 0
                msg.seqnum = 0
                return msg
        local = peer.proto == 0
        # (the shapes below exclude each other: the order only saves time)
        if self._common_5424:
            m = COMMON_5424.match(s)
            if m is not None:
                msg = LogMessage()
                msg.recvd_sec = sec
                msg.recvd_usec = ns // 1000
                msg.recvd_gmtoff = now.gmtoff
                parse_common_5424(msg, s, m)
                if local:
                    msg.flags |= FLAG_LOCAL
                return self._finish(msg, peer)
        if self._common:
            m = COMMON_EXTRA.match(s)
            if m is not None:
                extra = self._common_extra(s, m, peer, sec, ns)
                if extra is not None:
                    return extra
            else:
                m = COMMON_NO_STAMP.match(s)
                # (a local kernel message without a stamp is the general path's)
                if m is not None and (not local or m[1] not in _KERNEL_PRI):
                    return self._common_no_stamp(s, m, peer, sec, ns)
        msg = LogMessage()
        msg.recvd_sec = sec
        msg.recvd_usec = ns // 1000
        msg.recvd_gmtoff = now.gmtoff
        n = len(s)
        kind = self._kind
        if kind == "rfc3164" or kind == "auto" or kind == "rfc5424":
            pri, i = parse_pri(s)
            if pri < 0:
                return self._error(msg, s, 0, peer)
            msg.pri = pri
            if kind == "rfc3164":
                parse_rfc3164(msg, s, i, n, sec, local)
            else:
                r = parse_rfc5424(msg, s, i, n)
                if r == NOT_5424:
                    if kind == "rfc5424":
                        return self._error(msg, s, 0, peer)
                    msg.values.clear()
                    msg.flags = 0
                    parse_rfc3164(msg, s, i, n, sec, local)
                elif r != OK:
                    return self._error(msg, s, r, peer)
        elif kind == "raw":
            msg.values["MESSAGE"] = s
            msg.stamp_sec, msg.stamp_usec, msg.stamp_gmtoff = sec, msg.recvd_usec, msg.recvd_gmtoff
        else:
            parse_json(msg, s)
        if local:
            msg.flags |= FLAG_LOCAL
        return self._finish(msg, peer)

    def _common_extra(self, s: str, m: re.Match[str], peer: Peer, sec: int,
                      ns: int) -> LogMessage | None:
        """The message of a COMMON_EXTRA match, or None when its stamp has no month."""
        pri, seq, mark, stamp, fraction, pix, host, hdr, program, pid = m.groups()
        now = RECEIVE
        if stamp is None:
            stamp = pix
            usec = 0
        else:
            usec = int(fraction) * 10 ** (6 - len(fraction)) if fraction else 0
        found = now.stamps.get(stamp) or now.stamp_of_common(stamp)
        if found is None:
            return None
        return self._header_message(s, m.end(), peer, sec, ns, pri, seq, mark, found, usec,
                                    host, hdr, program, pid)

    def _common_no_stamp(self, s: str, m: re.Match[str], peer: Peer, sec: int,
                         ns: int) -> LogMessage:
        """The message of a COMMON_NO_STAMP match: stamped with the receive time."""
        pri, seq, mark, hdr, program, pid = m.groups()
        return self._header_message(s, m.end(), peer, sec, ns, pri, seq, mark,
                                    (sec, RECEIVE.gmtoff), ns // 1000, None, hdr, program, pid)

    def _header_message(self, s: str, end: int, peer: Peer, sec: int, ns: int,
                        pri: str | None, seq: str | None, mark: str | None,
                        found: tuple[int, int], usec: int, host: str | None, hdr: str,
                        program: str, pid: str | None) -> LogMessage:
        """The message of an RFC 3164 header read in one match, MESSAGE from ``end``."""
        source_ip, host_from, proto, dest_ip, dest_port = peer
        msg = _new_message(LogMessage)
        # (in the order the general path sets them)
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
            values["HOST"] = host if self.keep_hostname else host_from
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
        msg.tags = [self._tag]
        msg.source_ip = source_ip
        msg.proto = proto
        msg.dest_ip = dest_ip
        msg.dest_port = dest_port
        msg.flags = FLAG_LOCAL if proto == 0 else 0
        msg.seqnum = 0
        return msg

    def _finish(self, msg: LogMessage, peer: Peer) -> LogMessage:
        values = msg.values
        values["HOST_FROM"] = peer.host_from
        # syslog-ng takes a HOST whose first byte is NUL for an empty one
        host = values.get("HOST")
        if not self.keep_hostname or not host or host[0] == "\x00":
            values["HOST"] = peer.host_from
        values["SOURCE"] = self.source
        msg.tags.append(self._tag)
        msg.source_ip = peer.source_ip
        msg.proto = peer.proto
        msg.dest_ip = peer.dest_ip
        msg.dest_port = peer.dest_port
        return msg

    def _error(self, msg: LogMessage, s: str, position: int, peer: Peer) -> LogMessage:
        msg.values.clear()
        msg.stamp_sec, msg.stamp_usec, msg.stamp_gmtoff = (
            msg.recvd_sec,
            msg.recvd_usec,
            msg.recvd_gmtoff,
        )
        msg.values["HOST"] = ""
        msg.values["MESSAGE"] = error_text(s, position)
        msg.values["PROGRAM"] = "syslog-ng"
        msg.values["PID"] = self.pid
        msg.flags = FLAG_LOCAL
        msg.pri = _ERROR_PRI
        return self._finish(msg, peer)


__all__ = ["Parser", "Peer", "local_peer", "parse_pri", "error_text", "PROTOCOLS"]
