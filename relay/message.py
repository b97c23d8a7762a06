"""The message: what parsing produces and what the pipeline and templates read.

It mirrors syslog-ng's LogMessage: a PRI, three timestamps (the one the sender put in
the message, the receive time and the processing time), a set of name-value pairs
and tags.  Every value is a ``str``; bytes that are not UTF-8 are decoded with
``surrogateescape`` so that they survive unchanged to a plain-text output and can be
escaped as ``\\xNN`` by format-json.
"""

from __future__ import annotations

# Bits of LogMessage.flags (syslog-ng's LF_* message flags that change what macros say).
#: The message was made here or came from a local source (unix socket, stdin, pipe):
#: SEQNUM and the meta sequenceId of SDATA then come from the destination's own counter.
FLAG_LOCAL = 0x0001
#: The payload is known to be UTF-8 (an RFC 5424 BOM said so).
FLAG_UTF8 = 0x0002


class LogMessage:
    """One syslog message.

    ``values`` holds the name-value pairs: the built-in ones (HOST, HOST_FROM,
    PROGRAM, PID, MSGID, MESSAGE, LEGACY_MSGHDR, SOURCE) and any others
    (``.SDATA.id.param``, pairs set by rewrites, ...).  A name that is absent reads
    as the empty string.

    Timestamps are (seconds since the epoch, microseconds, UTC offset in seconds).
    """

    __slots__ = (
        "values",
        "pri",
        "stamp_sec",
        "stamp_usec",
        "stamp_gmtoff",
        "recvd_sec",
        "recvd_usec",
        "recvd_gmtoff",
        "tags",
        "source_ip",
        "proto",
        "dest_ip",
        "dest_port",
        "flags",
        "seqnum",
    )

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.pri: int = 13
        self.stamp_sec: int = 0
        self.stamp_usec: int = 0
        self.stamp_gmtoff: int = 0
        self.recvd_sec: int = 0
        self.recvd_usec: int = 0
        self.recvd_gmtoff: int = 0
        self.tags: list[str] = []
        self.source_ip: str = ""
        self.proto: int = 0
        self.dest_ip: str = ""
        self.dest_port: int = 0
        # FLAG_* bits above
        self.flags: int = 0
        # SEQNUM of a FLAG_LOCAL message: the destination sets it from its own counter
        # (1, 2, 3, ... per destination, stepped for each local message it writes), as
        # syslog-ng's writer does.  Other messages take SEQNUM from .SDATA.meta.sequenceId.
        self.seqnum: int = 0

    def copy(self) -> LogMessage:
        """A copy whose values and tags can be changed without touching this one."""
        new = LogMessage.__new__(LogMessage)
        for name in LogMessage.__slots__:
            setattr(new, name, getattr(self, name))
        new.values = dict(self.values)
        new.tags = list(self.tags)
        return new


# syslog-ng numbers every tag name the first time it meets one (the config's tags as it
# reads them, then each source's ".source.NAME" as it starts) and $TAGS lists a message's
# tags in that order, not in the order they were set.
TAG_IDS: dict[str, int] = {}


def tag_id(name: str) -> int:
    """The number of tag NAME, given on first use."""
    found = TAG_IDS.get(name)
    if found is None:
        found = TAG_IDS[name] = len(TAG_IDS)
    return found

