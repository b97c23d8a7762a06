"""What the live-feed destinations (subscribers, web) share about their clients.

A feed never slows the data path down: each client has a bounded buffer, lines that do
not fit are dropped and counted, and a client that stays full for ``stall_timeout`` is
disconnected.  Who may connect is bounded too (``max_clients``, ``allow`` CIDRs), and a
client may narrow its feed with a filter in syslog-ng's language.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping

from relay.facts.allow import AllowList
from relay.filter import compile_filter
from relay.message import LogMessage

Filter = Callable[[LogMessage], bool]


def compile_client_filter(expr: str, named_filters: Mapping[str, Filter]) -> Filter:
    """A client's filter expression, compiled; FilterError (line, column) when it is bad.

    filter(NAME) names the config's [[filter]] tables, as in a log path.  The expression
    comes from the network, so it may not read files or the environment (untrusted)."""
    return compile_filter(expr, filters=named_filters, untrusted=True)


class Admission:
    """max_clients and the allow list (CIDRs; empty allows every address)."""

    def __init__(self, max_clients: int, allow: tuple[str, ...]):
        self.max_clients = max_clients
        self.allow = AllowList(allow)
        self.refused = 0

    def refusal(self, addr: str, connected: int) -> str | None:
        """Why a client from ADDR ("local" for a unix socket) is refused, or None."""
        if connected >= self.max_clients:
            reason: str | None = "max_clients reached"
        elif addr != "local" and not self.allow(addr):
            reason = "not in allow"
        else:
            reason = None
        if reason is not None:
            self.refused += 1
        return reason


class ClientBuffer:
    """One client's lines not yet handed to its transport, bounded by a byte limit that
    also counts what the transport itself still holds."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.pending_lines = 0
        self.full_since = 0.0  # when it first had to drop, 0 while it keeps up
        self.dropped = 0

    def offer(self, data: bytes, now: float, in_transport: int, limit: int,
              lines: int = 1) -> bool:
        """Take DATA (LINES lines), or drop it (counted) when that would pass LIMIT; False
        when dropped."""
        if in_transport + self.pending_size + len(data) > limit:
            self.dropped += lines
            if not self.full_since:
                self.full_since = now
            return False
        self.full_since = 0.0
        self.pending.append(data)
        self.pending_size += len(data)
        self.pending_lines += lines
        return True

    def take(self) -> list[bytes]:
        """Everything pending, in order; the buffer forgets it."""
        pending, self.pending = self.pending, []
        self.pending_size = self.pending_lines = 0
        return pending

    def stalled(self, now: float, timeout: float) -> bool:
        """Whether it has been full (dropping) for TIMEOUT seconds."""
        return bool(self.full_since) and now - self.full_since >= timeout


class Groups:
    """The distinct filter expressions a feed's clients use ("" for none), as numbered
    versions: what worker processes render the feed for (relay.workers.feed).  A line a
    worker sends names the version it was filtered under, so the main process can tell
    which expression each of its group bits stood for, even after the clients changed."""

    KEEP = 64  # versions remembered; a line filtered under an older one is not delivered
    #: version numbers are unique in the process, so that a line filtered for a feed that
    #: a reload replaced is never read with the groups of the one that took its name
    _numbers = itertools.count(1)

    def __init__(self) -> None:
        self.version = 0
        self.exprs: tuple[str, ...] = ()
        self._known: dict[int, tuple[str, ...]] = {0: ()}

    def update(self, exprs: Iterable[str]) -> bool:
        """Take the expressions in use now; True when that makes a new version."""
        now = tuple(sorted(set(exprs)))
        if now == self.exprs:
            return False
        self.version = next(self._numbers)
        self.exprs = now
        self._known[self.version] = now
        if len(self._known) > self.KEEP:
            del self._known[min(self._known)]
        return True

    def of(self, version: int) -> tuple[str, ...] | None:
        """The expressions of VERSION, in group order (None: too old, or unknown)."""
        return self._known.get(version)
