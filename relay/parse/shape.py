"""What a parser that makes no message hands a renderer instead: the message's shape.

Part of parsing (framing -> **parse** -> pipeline).  Most lines of a source have one of a
few shapes: the same pair names in the same order, the same tags and flags.  For such a
line ``Parser.direct`` skips the ``LogMessage`` and calls a function made for its shape
with the few things that vary, as arguments.  A ``Shape`` says, for each attribute of
``LogMessage`` and each pair, how that function reads it: as a Python expression over
its parameters, or as a ``Fixed`` value that every message of the shape has.

The renderer (``relay.formatjson``) turns a template into such a function, or declines;
then the parser's ordinary path makes the message.  Both must give the same bytes.

The shape here is RFC 3164's COMMON (``relay.parse.rfc3164``), from a peer that is not
local: ``common_shapes`` says what its messages hold and ``direct_common`` reads a frame
into the arguments of their renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from relay.parse.localtime import LAST_BY_DAY
from relay.parse.peer import Peer
from relay.parse.receive import MINUTE_SECOND, RECEIVE
from relay.parse.rfc3164 import COMMON, COMMON_PRI, usec_of


class Fixed(NamedTuple):
    """A value every message of a shape has."""

    value: object


class Shape(NamedTuple):
    """The messages of one shape, as the parameters of the function that renders them."""

    #: the function's parameters, in order
    params: tuple[str, ...]
    #: LogMessage attribute -> an expression over the parameters, or its Fixed value
    attrs: Mapping[str, str | Fixed]
    #: pair name -> an expression over the parameters, or its Fixed value; in the order
    #: of the message's values (its pair names are exactly these)
    values: Mapping[str, str | Fixed]

    @property
    def ident(self) -> tuple[str, ...]:
        """The message's pair names in order, as ``tuple(msg.values)`` gives them."""
        return tuple(self.values)


def common_shapes(source: str, tag: str) -> tuple[Shape, Shape]:
    """The shapes of the messages of ``direct_common``: with a PID, and without (those
    ``OneMatch.parse`` makes of the COMMON shape for a source and its tag)."""
    attrs: dict[str, str | Fixed] = {
        "pri": "pri", "stamp_sec": "stamp_sec", "stamp_usec": "stamp_usec",
        "stamp_gmtoff": "stamp_gmtoff", "recvd_sec": "recvd_sec",
        "recvd_usec": "recvd_usec", "recvd_gmtoff": "recvd_gmtoff",
        "source_ip": "peer[0]", "proto": "peer[2]", "dest_ip": "peer[3]",
        "dest_port": "peer[4]", "tags": Fixed([tag]), "flags": Fixed(0),
        "seqnum": Fixed(0)}
    made = []
    for pid in (True, False):
        params = ("pri", "stamp_sec", "stamp_usec", "stamp_gmtoff", "recvd_sec",
                  "recvd_usec", "recvd_gmtoff", "peer", "program") + (
            ("pid",) if pid else ()) + ("hdr", "host", "message")
        values: dict[str, str | Fixed] = {"PROGRAM": "program"}
        if pid:
            values["PID"] = "pid"
        values.update({"LEGACY_MSGHDR": "hdr", "HOST": "host", "MESSAGE": "message",
                       "HOST_FROM": "peer[1]", "SOURCE": Fixed(source)})
        made.append(Shape(params, attrs, values))
    return made[0], made[1]

def direct_common(keep_hostname: bool, with_pid: Callable[..., bytes | None],
                  without_pid: Callable[..., bytes | None]
                  ) -> Callable[[bytes, Peer, int], bytes | None]:
    """What ``Parser.parse`` and a renderer give for the COMMON shape, without the message.

    ``with_pid`` and ``without_pid`` render the two ``common_shapes``, from the arguments
    they name.  The function returned gives their bytes, or None where ``parse``
    must make the message: another shape, a local peer (its SEQNUM is the
    destination's), a stamp the hour table does not hold, or a renderer that
    declined (bytes that were not UTF-8).  Calling ``parse`` after a None changes
    nothing that the call before changed.
    """
    match = COMMON.match
    now = RECEIVE
    minute_seconds = MINUTE_SECOND

    def direct(frame: bytes, peer: Peer, recvd_ns: int) -> bytes | None:
        if not peer[2]:  # local
            return None
        sec, ns = divmod(recvd_ns, 1_000_000_000)
        if now.sec != sec:
            now.move(sec)
        if frame and (frame[-1] == 10 or frame[-1] == 0):
            frame = frame.rstrip(b"\n\x00")
        s = frame.decode("utf-8", "surrogateescape")
        m = match(s)
        if m is None:
            return None
        pri, hour_text, minute_second, fraction, host, hdr, program, pid = m.groups()
        # the hour lookup of OneMatch.parse, once more (a call costs what it saves)
        hour = now.hours.get(hour_text)
        if hour is None:
            hour = now.hour_of(hour_text)
        seconds = minute_seconds.get(minute_second)
        if not hour or seconds is None:
            return None
        LAST_BY_DAY[0] = hour[2]
        if not keep_hostname:
            host = peer[1]
        if pid is None:
            return without_pid(COMMON_PRI[pri], hour[0] + seconds,
                               usec_of(fraction) if fraction else 0, hour[1], sec,
                               ns // 1000, now.gmtoff, peer, program, hdr, host,
                               s[m.end():])
        return with_pid(COMMON_PRI[pri], hour[0] + seconds,
                        usec_of(fraction) if fraction else 0, hour[1], sec, ns // 1000,
                        now.gmtoff, peer, program, pid, hdr, host, s[m.end():])

    return direct
