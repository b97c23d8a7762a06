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
from collections.abc import Callable

from relay.facts.names import DEFAULT_PRI, ERROR_PRI, PROTOCOLS
from relay.message import FLAG_LOCAL, LogMessage, tag_id
from relay.parse.json import parse_json
from relay.parse.peer import Peer, local_peer
from relay.parse.receive import RECEIVE
from relay.parse.rfc3164 import OneMatch, parse_rfc3164
from relay.parse.rfc5424 import COMMON as COMMON_5424
from relay.parse.rfc5424 import NOT_5424, OK, parse_rfc5424
from relay.parse.rfc5424 import parse_common as parse_common_5424
from relay.parse.shape import (
    Many,
    Shape,
    common_shapes,
    direct_readers,
    rfc5424_shapes,
)


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

    __slots__ = ("protocol", "source", "keep_hostname", "pid", "_tag", "_one_match",
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
        # RFC 3164 may come: try its common shapes first
        self._one_match = (OneMatch(source, self._tag, keep_hostname)
                           if protocol in ("rfc3164", "auto") else None)
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
        # the shapes that one match reads whole, then the general path
        if self._one_match is not None:
            msg = self._one_match.parse(s, peer, sec, ns)
            if msg is not None:
                return msg
        local = peer.proto == 0
        msg = LogMessage()
        msg.recvd_sec = sec
        msg.recvd_usec = ns // 1000
        msg.recvd_gmtoff = now.gmtoff
        if self._common_5424:
            m = COMMON_5424.match(s)
            if m is not None:
                parse_common_5424(msg, s, m)
                if local:
                    msg.flags |= FLAG_LOCAL
                return self._finish(msg, peer)
        kind = self.protocol
        if kind == "raw":
            msg.values["MESSAGE"] = s
            msg.stamp_sec, msg.stamp_usec, msg.stamp_gmtoff = sec, msg.recvd_usec, now.gmtoff
        elif kind == "json":
            parse_json(msg, s)
        else:
            pri, i = parse_pri(s)
            if pri < 0:
                return self._error(msg, s, 0, peer)
            msg.pri = pri
            n = len(s)
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
        if local:
            msg.flags |= FLAG_LOCAL
        return self._finish(msg, peer)

    def direct(self, make: Callable[[Shape], Callable[..., bytes | None] | None]
               ) -> Callable[[bytes, Peer, int], bytes | None] | None:
        """``(frame, peer, recvd_ns) -> bytes``: what ``parse`` and a renderer give, for
        the lines of the shapes this parser knows without a message; None for the others
        (then ``parse`` them).  ``make`` turns each ``Shape`` into its renderer, or None;
        with no renderer for every shape, or no shape, this returns None."""
        readers = self._direct_readers(make)
        return None if readers is None else readers[0]

    def direct_many(self, make: Callable[[Shape], Callable[..., bytes | None] | None]
                    ) -> Many | None:
        """What ``direct`` gives, for a batch of frames at once (shape.direct_readers)."""
        readers = self._direct_readers(make)
        return None if readers is None else readers[1]

    def _direct_readers(self, make: Callable[[Shape], Callable[..., bytes | None] | None]
                        ) -> tuple[Callable[[bytes, Peer, int], bytes | None], Many] | None:
        common = rfc5424 = None
        if self._one_match is not None:
            common = _both(make, common_shapes(self.source, self._tag))
        if self._common_5424:
            rfc5424 = _both(make, rfc5424_shapes(self.source, self._tag))
        if common is None and rfc5424 is None:
            return None
        return direct_readers(self.keep_hostname, common, rfc5424)

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
        msg.pri = ERROR_PRI
        return self._finish(msg, peer)


def _both(make: Callable[[Shape], Callable[..., bytes | None] | None],
          shapes: tuple[Shape, Shape]
          ) -> tuple[Callable[..., bytes | None], Callable[..., bytes | None]] | None:
    first, second = make(shapes[0]), make(shapes[1])
    return None if first is None or second is None else (first, second)


__all__ = ["Parser", "Peer", "local_peer", "parse_pri", "error_text", "PROTOCOLS"]
