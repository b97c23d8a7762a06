"""The message: what parsing produces and what the pipeline and templates read.

It mirrors syslog-ng's LogMessage: a PRI, three timestamps (the one the sender put in
the message, the receive time and the processing time), a set of name-value pairs
and tags.  Every value is a ``str``; bytes that are not UTF-8 are decoded with
``surrogateescape`` so that they survive unchanged to a plain-text output and can be
escaped as ``\\xNN`` by format-json.
"""

from __future__ import annotations


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
        # parser-specific bits (e.g. which syntax produced the message); see relay.parse
        self.flags: int = 0
        self.seqnum: int = 0

    def copy(self) -> LogMessage:
        """A copy whose values and tags can be changed without touching this one."""
        new = LogMessage.__new__(LogMessage)
        for name in LogMessage.__slots__:
            setattr(new, name, getattr(self, name))
        new.values = dict(self.values)
        new.tags = list(self.tags)
        return new
