"""What a parser that makes no message hands a renderer instead: the message's shape.

Part of parsing (framing -> **parse** -> pipeline).  Most lines of a source have one of a
few shapes: the same pair names in the same order, the same tags and flags.  For such a
line ``Parser.direct`` skips the ``LogMessage`` and calls a function made for its shape
with the few things that vary, as arguments.  A ``Shape`` says, for each attribute of
``LogMessage`` and each pair, how that function reads it: as a Python expression over
its parameters, or as a ``Fixed`` value that every message of the shape has.

The renderer (``relay.formatjson``) turns a template into such a function, or declines;
then the parser's ordinary path makes the message.  Both must give the same bytes.

The shapes here are RFC 3164's COMMON (``relay.parse.rfc3164``) and the plainest case of
RFC 5424's (``relay.parse.rfc5424``), from a peer that is not local: ``common_shapes``
and ``rfc5424_shapes`` say what their messages hold, and ``direct_readers`` reads a frame into
the arguments of their renderers.
"""

from __future__ import annotations

import dis
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import FunctionType, MappingProxyType
from typing import NamedTuple

from relay.parse.localtime import LAST_BY_DAY, common_iso
from relay.parse.peer import Peer
from relay.parse.receive import HOUR_SECONDS, MINUTE_SECOND, RECEIVE
from relay.parse.rfc3164 import COMMON, COMMON_PRI, usec_of
from relay.parse.rfc5424 import COMMON as COMMON_5424


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
    #: macro name -> an expression over the parameters that is its text, for a macro a
    #: renderer would otherwise compute from the attributes (DATE, from the stamp's text)
    texts: Mapping[str, str] = MappingProxyType({})

    @property
    def ident(self) -> tuple[str, ...]:
        """The message's pair names in order, as ``tuple(msg.values)`` gives them."""
        return tuple(self.values)


#: what a parser that makes no message hands every shape's renderer first
_PARAMS = ("pri", "stamp_sec", "stamp_usec", "stamp_gmtoff", "recvd_sec", "recvd_usec",
           "recvd_gmtoff", "peer")


def _attrs(tag: str) -> dict[str, str | Fixed]:
    """The attributes of a message that is not local, from _PARAMS (and its one tag)."""
    attrs: dict[str, str | Fixed] = {name: name for name in _PARAMS if name != "peer"}
    attrs.update({"source_ip": "peer[0]", "proto": "peer[2]", "dest_ip": "peer[3]",
                  "dest_port": "peer[4]", "tags": Fixed([tag]), "flags": Fixed(0),
                  "seqnum": Fixed(0)})
    return attrs


def _shape(tag: str, source: str, pairs: tuple[tuple[str, str], ...],
           texts: Mapping[str, str] = MappingProxyType({})) -> Shape:
    """The shape whose pairs are PAIRS (name, parameter), then HOST_FROM and SOURCE, with
    the parameters TEXTS names after those of the pairs."""
    values: dict[str, str | Fixed] = dict(pairs)
    values.update({"HOST_FROM": "peer[1]", "SOURCE": Fixed(source)})
    params = _PARAMS + tuple(param for _, param in pairs)
    params += tuple(dict.fromkeys(texts.values()))
    return Shape(params, _attrs(tag), values, texts)


#: a BSD stamp's DATE (and S_DATE): "Mmm dd HH:MM:SS" of its own fields, since the stamps
#: the direct way writes are of days with one offset (relay.parse.receive.Day)
_STAMP_TEXTS = MappingProxyType({"DATE": "date", "S_DATE": "date"})


def common_shapes(source: str, tag: str) -> tuple[Shape, Shape]:
    """The RFC 3164 messages ``direct_readers`` write: with a PID, and without (those
    ``OneMatch.parse`` makes of the COMMON shape for a source and its tag)."""
    return (_shape(tag, source, (("PROGRAM", "program"), ("PID", "pid"),
                                 ("LEGACY_MSGHDR", "hdr"), ("HOST", "host"),
                                 ("MESSAGE", "message")), _STAMP_TEXTS),
            _shape(tag, source, (("PROGRAM", "program"), ("LEGACY_MSGHDR", "hdr"),
                                 ("HOST", "host"), ("MESSAGE", "message")), _STAMP_TEXTS))


def rfc5424_shapes(source: str, tag: str) -> tuple[Shape, Shape]:
    """The RFC 5424 messages ``direct_readers`` write: with a PROCID, and without.  Those of
    the common RFC 5424 shape (``relay.parse.rfc5424.COMMON``) with a HOSTNAME and an
    APP-NAME, no MSGID, no structured data and no BOM: what syslog-ng's syslog()
    destination sends of a BSD message."""
    return (_shape(tag, source, (("HOST", "host"), ("PROGRAM", "program"), ("PID", "pid"),
                                 ("MESSAGE", "message"))),
            _shape(tag, source, (("HOST", "host"), ("PROGRAM", "program"),
                                 ("MESSAGE", "message"))))


#: RFC 3164's COMMON with its stamp read as the day, "Mmm dd ", and the time, "HH:MM:SS"
#: of 00:00:00 to 23:59:59: what the direct way takes, whose DATE is the day's text and
#: the time, so that a stamp costs a lookup of its day whatever its hour (a line that
#: only COMMON takes goes the message's way, which knows what mktime() makes of "12:75")
_DIRECT_COMMON_PATTERN = COMMON.pattern.replace(
    "([A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:)([0-9][0-9]:[0-9][0-9])",
    "([A-Z][a-z][a-z] [ 0-9][0-9] )((?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])", 1
) + "((?s:.*))"  # and the message, the rest (a group costs less than a slice after it)
if _DIRECT_COMMON_PATTERN.count("([A-Z][a-z][a-z] [ 0-9][0-9] )") != 1:  # (not with -O)
    raise ImportError("relay.parse.rfc3164.COMMON's stamp is not the one the direct way reads")
DIRECT_COMMON = re.compile(_DIRECT_COMMON_PATTERN, COMMON.flags)


def reads(render: Callable[..., object], param: str) -> bool:
    """Whether RENDER may read its parameter PARAM: False only for a plain function whose
    code never loads it (a generated writer whose template shows no stamp_sec)."""
    if type(render) is not FunctionType:
        return True
    return any(i.opname.startswith("LOAD_") and i.argval == param
               for i in dis.get_instructions(render))


Render = Callable[..., bytes | None]
#: (frames, peers, recvd_ns, sink, other, failed) -> frames not written (direct_readers)
Many = Callable[[Sequence[bytes], Iterable[Peer], int, Callable[[bytes], None],
                 Callable[[bytes, Peer], None], Callable[[Peer], None]], int]


def direct_readers(keep_hostname: bool, common: tuple[Render, Render] | None,
                   rfc5424: tuple[Render, Render] | None
                   ) -> tuple[Callable[[bytes, Peer, int], bytes | None], Many]:
    """What ``Parser.parse`` and a renderer give for the shapes above, without the message:
    for one frame, and for a batch of frames (``Many``), which the sources use.

    ``common`` renders the two ``common_shapes`` (with a PID, without) and ``rfc5424``
    the two ``rfc5424_shapes``, from the arguments they name; None for a parser that
    does not read that protocol (RFC 3164's COMMON is tried first, as ``parse`` does: a
    line of the RFC 5424 shape never has an RFC 3164 one).  The frame way gives their
    bytes, or None where ``parse`` must make the message: another shape, a local peer
    (its SEQNUM is the destination's), a BSD stamp of a day with two offsets or none, or a
    renderer that declined (bytes that were not UTF-8).  Calling ``parse`` after a None
    changes nothing that the call before changed.

    The batch way puts each frame's line into ``sink``, in order, and hands each frame it
    cannot write to ``other`` (which makes and routes its message) at its place; a frame
    whose line or ``other`` raised goes to ``failed`` (with the exception being
    handled), and the rest go on.  It returns how many went to ``other`` or ``failed``.
    It reads the receive clock once per batch and the common RFC 3164 shape without a
    call per frame (in-process, a slice of 512 lines costs 3% to 12% less than frame by
    frame); the frame way is a batch of one."""
    match = DIRECT_COMMON.match if common is not None else None
    match_5424 = COMMON_5424.match if rfc5424 is not None else None
    with_pid, without_pid = common or (None, None)
    with_procid, without_procid = rfc5424 or (None, None)
    now = RECEIVE
    minute_seconds = MINUTE_SECOND
    hour_seconds = HOUR_SECONDS
    # whether a BSD stamp's seconds are written: if not, they are not computed, and 0 is
    # handed in their place (two table reads fewer a line)
    stamp_read = common is not None and any(reads(r, "stamp_sec") for r in common)

    def from_5424(s: str, peer: Peer, sec: int, usec: int) -> bytes | None:
        """The line of S if it has the RFC 5424 shape written directly, else None."""
        if match_5424 is None:
            return None
        m = match_5424(s)
        if m is None:
            return None
        pri, stamp, fraction, zone, host, program, pid, msgid, sd = m.groups()
        if msgid != "-" or sd != "-" or host == "-" or program == "-" or host[0] == "\x00":
            return None
        i = m.end() + 1
        if i < len(s) and s[i] == "\ufeff":  # (the BOM flags the message UTF-8)
            return None
        stamp_sec, gmtoff = common_iso(stamp, zone)
        if not keep_hostname:
            host = peer[1]
        if pid == "-":
            return without_procid(COMMON_PRI[pri], stamp_sec,  # type: ignore[misc]
                                  usec_of(fraction) if fraction else 0, gmtoff, sec,
                                  usec, now.gmtoff, peer, host, program, s[i:])
        return with_procid(COMMON_PRI[pri], stamp_sec,  # type: ignore[misc]
                           usec_of(fraction) if fraction else 0, gmtoff, sec, usec,
                           now.gmtoff, peer, host, program, pid, s[i:])

    def many(frames: Sequence[bytes], peers: Iterable[Peer], recvd_ns: int,
             sink: Callable[[bytes], None], other: Callable[[bytes, Peer], None],
             failed: Callable[[Peer], None]) -> int:
        sec, ns = divmod(recvd_ns, 1_000_000_000)
        if now.sec != sec:
            now.move(sec)
        usec = ns // 1000
        gmtoff = now.gmtoff
        days = now.days  # (day_of keeps what it converts in it)
        missed = 0
        for frame, peer in zip(frames, peers, strict=False):  # peers may be repeat(peer)
            try:
                line = None
                if peer[2]:  # (a local peer's SEQNUM is the destination's)
                    text = frame
                    if text and (text[-1] == 10 or text[-1] == 0):
                        text = text.rstrip(b"\n\x00")
                    s = text.decode("utf-8", "surrogateescape")
                    m = match(s) if match is not None else None
                    if m is None:
                        line = from_5424(s, peer, sec, usec)
                    else:
                        pri, day_text, time_text, fraction, host, hdr, program, pid, \
                            message = m.groups()
                        day = days.get(day_text)
                        if day is None:
                            day = now.day_of(day_text)
                        if day:
                            LAST_BY_DAY[0] = day
                            stamp_sec = (day[1] + hour_seconds[time_text[:2]]
                                         + minute_seconds[time_text[3:]]) if stamp_read else 0
                            if not keep_hostname:
                                host = peer[1]
                            if pid is None:
                                line = without_pid(  # type: ignore[misc]
                                    COMMON_PRI[pri], stamp_sec,
                                    usec_of(fraction) if fraction else 0, day[2], sec, usec,
                                    gmtoff, peer, program, hdr, host, message,
                                    day[3] + time_text)
                            else:
                                line = with_pid(  # type: ignore[misc]
                                    COMMON_PRI[pri], stamp_sec,
                                    usec_of(fraction) if fraction else 0, day[2], sec, usec,
                                    gmtoff, peer, program, pid, hdr, host, message,
                                    day[3] + time_text)
                if line is None:
                    other(frame, peer)
                    missed += 1
                else:
                    sink(line)
            except Exception:  # a bad message is counted and logged, never fatal
                missed += 1
                failed(peer)
        return missed

    def direct(frame: bytes, peer: Peer, recvd_ns: int) -> bytes | None:
        found: list[bytes] = []
        many((frame,), (peer,), recvd_ns, found.append, _leave, _reraise)
        return found[0] if found else None

    return direct, many


def _leave(frame: bytes, peer: Peer) -> None:
    pass


def _reraise(peer: Peer) -> None:
    raise  # noqa: PLE0704 (called while the exception is being handled: the frame way raises it)
