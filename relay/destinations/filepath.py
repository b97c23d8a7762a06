"""A file destination's path as a template: from a message to the name of the file it goes to.

``path = "/var/log/hosts/$HOST/$YEAR-$MONTH-$DAY.json"`` is compiled once with the
relay's template compiler and expanded for each message, as syslog-ng 3.38's file()
does, which formats its file name template without escaping anything:

* a macro value goes into the name as it is: a '/' in $HOST or $PROGRAM makes
  directories, an empty $PROGRAM gives ``out/host/.json``, and bytes that are not
  UTF-8 are written as they are;
* the name ends at a NUL, as the C string syslog-ng hands to open() does;
* a name holding ``../`` or ``/..`` anywhere is a "spurious path" and is refused (the
  message is not written).  This is syslog-ng's rule, a substring test, so it refuses
  ``a../b`` and ``a/..b`` as well as every ``..`` component: a sender that names itself
  ``../../etc`` writes nothing outside the tree.

Two expansions that name the same file (``out//p.json`` and ``out/./p.json``) are made
one key.  ``PathCache`` keeps what it made of the expansions it saw, so the test and
the normalisation run once per distinct name, not once per message.  Sans-IO: nothing
here opens a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from relay.message import LogMessage

SPURIOUS = (b"../", b"/..")  # syslog-ng's file-opener.c: refused anywhere in the name
CACHE_MAX = 4096  # distinct expansions remembered; past it the cache starts over


def file_name(expanded: bytes) -> str | None:
    """The file EXPANDED names (str, undecodable bytes as surrogates), or None when
    syslog-ng would refuse it as a spurious path or it is empty."""
    nul = expanded.find(b"\0")
    if nul >= 0:
        expanded = expanded[:nul]
    if not expanded or any(s in expanded for s in SPURIOUS) or expanded == b"..":
        return None
    return os.path.normpath(os.fsdecode(expanded))


class PathCache:
    """Expands a path template for a message; None for a refused name."""

    __slots__ = ("expand", "names")

    def __init__(self, expand: Callable[[LogMessage], bytes]):
        self.expand = expand
        self.names: dict[bytes, str | None] = {}

    def __call__(self, msg: LogMessage) -> tuple[str | None, bytes]:
        """(the file name or None, the expansion as it came, for the log)."""
        expanded = self.expand(msg)
        try:
            return self.names[expanded], expanded
        except KeyError:
            pass
        if len(self.names) >= CACHE_MAX:
            self.names.clear()
        name = self.names[expanded] = file_name(expanded)
        return name, expanded


def is_template(path: str) -> bool:
    """Whether PATH is expanded per message; a path without '$' is used as it is."""
    return "$" in path
