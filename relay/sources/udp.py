"""The UDP source: one datagram is one message.  UDP cannot be paused, so it never blocks.

The socket is read in a tight loop while it has datagrams, in batches (one recvmmsg call
each: relay.sources.datagrams) that are parsed and routed together once the socket is
read empty or enough is held (UdpReader says why this is not a DatagramProtocol, and
_readable why it reads ahead).  A wakeup that found less
than a batch waits before it reads again (coalesce_wait: about the time a batch takes to
come at the rate it saw, from COALESCE, 1 ms, to COALESCE_MOST, 5 ms, and at most twice
the wait before, so that a quiet socket is read at once and a burst that starts after it
does not overflow the buffer), so that a wakeup takes many datagrams, not a few; a wakeup
that found none waits for the next datagram.
A datagram from a sender outside ``allow`` is dropped before it is parsed.  A large
receive buffer (SO_RCVBUFFORCE when allowed) absorbs bursts; what the kernel still drops
for a full buffer is counted in ``dropped`` within DROPS_EVERY (1 s), and logged.  A
datagram longer than max_msg_size is cut there, like syslog-ng's log-msg-size().

Of a socket the workers share (relay.workers) the first worker is the reader; the others
read it too only while the reader asks for help or has not read for STALE seconds (it
died, or the socket was quiet): ReadShare says when.  Two processes woken for every few
datagrams cost more than one doing it all (6.0 against 4.7-4.9 CPU us/msg at 50k and
100k msg/s of one sender), so help is asked for only when the reader is busy.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Hashable

from relay.parse import Peer
from relay.sources import datagrams
from relay.sources.base import SourceRuntime, log
from relay.sources.datagrams import BATCH

# read and not yet parsed, at most: batches, and bytes (what a large receive buffer holds);
# also the reads of one wakeup, so that it parses at most READ_AHEAD batches (32,768
# datagrams, a fraction of a second) before the rest of the loop has its turn
READ_AHEAD = 128
READ_AHEAD_BYTES = 16 << 20
COALESCE = 0.001  # seconds a wakeup that found the socket nearly empty waits, at least
COALESCE_MOST = 0.005  # and at most
SKB_OVERHEAD = 1024  # bytes of receive buffer a datagram takes beyond its own (730 to
# 1,300 measured on loopback, for 100 to 1,000 bytes)
DROPS_EVERY = 1.0  # seconds between two reads of what the kernel dropped
# a socket the workers share (ReadShare)
HELP_WINDOW = 0.1  # seconds over which the reader measures how busy it is
HELP_ON = 0.6  # the share of its time spent reading and parsing above which it asks for help
HELP_OFF = 0.25  # and below which, helped, it no longer does
STALE = 0.02  # seconds since the reader last read after which the others read too
NAP = 0.01  # seconds a helper that was not needed leaves the socket alone


#: what _Peers knows of a sender outside ``allow``: its datagrams are dropped unread
DENIED = Peer("", "", -1)


class _Peers:
    """One Peer per sender (the reader's key for its address), kept (boundedly) so a
    datagram costs a dict lookup; a sender that ``allow`` does not take is kept as
    DENIED, and ``denied`` counts the senders ever denied (never reset, so that a batch
    whose senders were denied before the map was cleared is still sifted)."""

    def __init__(self, sock: socket.socket, runtime: SourceRuntime,
                 host: Callable[[Hashable], str]):
        host_, port = sock.getsockname()[:2]
        self.dest_ip = str(host_)
        self.dest_port = int(port)
        self.allow = runtime.allow
        self.host = host
        self.known: dict[Hashable, Peer] = {}
        self.denied = 0

    def new(self, sender: Hashable) -> Peer:
        if len(self.known) > 4096:
            self.known.clear()
        host = self.host(sender)
        if not self.allow(host):
            peer = self.known[sender] = DENIED
            self.denied += 1
        else:
            peer = self.known[sender] = Peer(host, host, 17, self.dest_ip, self.dest_port)
        return peer


class ReadShare:
    """When the workers that share a socket read it (no IO).

    The first reader always reads, and counts the time it spends reading and parsing: over
    each HELP_WINDOW it asks for help when that was more than HELP_ON of the window, and
    stops asking when it was less than HELP_OFF (helped, it does half the work, so the two
    marks are far apart, or help would come and go).  Another reader reads while help is
    asked for, or when the reader has not read for STALE seconds; otherwise it leaves the
    socket for NAP seconds.
    """

    def __init__(self, first: bool, now: float):
        self.first = first
        self.since = now
        self.busy = 0.0
        self.wanted = False

    def worked(self, start: float, end: float) -> bool:
        """The reader read and parsed from START to END: whether it wants help now."""
        self.busy += end - start
        span = end - self.since
        if span >= HELP_WINDOW:
            self.wanted = self.busy > span * (HELP_OFF if self.wanted else HELP_ON)
            self.busy = 0.0
            self.since = end
        return self.wanted

    @staticmethod
    def helps(now: float, last_read: float, wanted: bool) -> bool:
        """Whether another reader reads now, the reader having read at LAST_READ."""
        return wanted or now - last_read > STALE


class UdpReader:
    """The UDP source as a Listener: a reader on the socket, not a DatagramProtocol.

    Measured (loggen --dgram --read-file on the workload at 100,000 msg/s for 10 s into a
    file destination, 2 shared cores, both variants in one run, 3 times): this loop wrote
    88-90% of what loggen sent at 5.5-7.1 CPU us/msg; a DatagramProtocol (uvloop calls
    datagram_received once per datagram, so each one is its own batch) wrote 75-88% at
    7.0-8.1 us/msg.  Reading up to BATCH datagrams per wakeup and routing them as one
    batch (one clock read, one end of batch for the destinations) is what wins.
    """

    def __init__(self, runtime: SourceRuntime, sock: socket.socket):
        self.runtime = runtime
        self.sock = sock
        self.datagrams = datagrams.reader(sock, runtime.max_msg_size, BATCH)
        self.peers = _Peers(sock, runtime, self.datagrams.host)
        host, port = sock.getsockname()[:2]
        self.addresses = [f"udp://{host}:{port}"]
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(sock.fileno(), self._readable)
        self.closed = False
        self._resume: asyncio.TimerHandle | None = None
        self._rcvbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self._last_read = self.loop.time()  # when the last wakeup had read the socket empty
        self._wait = COALESCE / 2  # the last wait (half the least after a quiet socket)
        # what the kernel dropped for a full buffer, counted in dropped as it happens
        # (by one process per socket)
        self._drops_seen = kernel_drops(sock)
        self._drops_due: asyncio.TimerHandle | None = None
        turns = runtime.turns
        self.share = ReadShare(turns.first, time.monotonic()) if turns is not None else None
        if runtime.counts_kernel_drops:
            self._drops_due = self.loop.call_later(DROPS_EVERY, self._count_drops)

    def _readable(self) -> None:
        """Read what the socket holds before parsing it, and read again between batches.

        Parsing costs several times what reading does, so a burst is taken out of the
        kernel's buffer, which drops what overflows it, into this process's memory: the
        socket is read until it is empty, or READ_AHEAD batches (READ_AHEAD_BYTES) are
        held, and, until a read finds it empty, read again after each batch parsed.
        Beyond that the kernel's buffer holds the rest.  Once the socket was read empty,
        what comes while the batches held are parsed waits for the next wakeup, which
        the coalescing delays: reading it at once took a few datagrams a read (at 100,000
        msg/s, 15 a read against 166 after; 5.9-7.2 CPU us/msg against 4.8-5.1).
        Batches are parsed in the order they were read.  After READ_AHEAD reads the
        wakeup parses what it holds and ends, so that a steady flow does not keep the
        rest of the loop waiting.
        """
        turns = self.runtime.turns
        share = self.share
        started = 0.0
        if turns is not None and share is not None and not self.closed:
            started = time.monotonic()
            if not share.first and not share.helps(started, *turns.reader()):
                self.loop.remove_reader(self.sock.fileno())  # not needed: the reader copes
                self._resume = self.loop.call_later(NAP, self._resume_reading)
                return
        runtime = self.runtime
        held: deque[tuple[int, list[bytes], list[Peer], int]] = deque()
        held_bytes = total = total_bytes = 0
        reads = READ_AHEAD  # then the loop's other work has its turn
        while True:
            while reads and held_bytes < READ_AHEAD_BYTES:
                reads -= 1
                if turns is None:
                    frames, peers = self._read()
                    number = 0
                else:
                    turns.lock()  # a worker's share of the socket: read in turn, numbered
                    try:
                        frames, peers = self._read()
                        number = turns.take() if frames else 0
                    finally:
                        turns.unlock()
                if frames:
                    total += len(frames)
                    size = sum(map(len, frames))
                    total_bytes += size
                    held.append((number, frames, peers, size))
                    held_bytes += size
                if len(frames) < BATCH:
                    # read empty (or a sender was denied: the next wakeup reads on); what
                    # comes while the batches held are parsed waits for the next wakeup
                    reads = 0
                    break
            if not held:
                now = self.loop.time()
                if 0 < total < BATCH and not self.closed:
                    # the socket had less than a batch: let the next datagrams gather
                    # rather than wake for each few
                    self.loop.remove_reader(self.sock.fileno())
                    wait = self._wait = min(2 * self._wait, coalesce_wait(
                        total, now - self._last_read, total_bytes // total, self._rcvbuf))
                    self._resume = self.loop.call_later(wait, self._resume_reading)
                elif total == 0:
                    self._wait = COALESCE / 2
                self._last_read = now
                if started and share is not None and share.first and turns is not None:
                    end = time.monotonic()
                    turns.beat(end, share.worked(started, end))
                return
            number, frames, peers, size = held.popleft()
            held_bytes -= size
            if turns is None:
                runtime.deliver(frames, peers)
            else:
                turns.deliver(number, functools.partial(runtime.deliver, frames, peers))

    def _count_drops(self) -> None:
        """Count in ``dropped`` what the kernel dropped since the last look, and warn."""
        now = kernel_drops(self.sock)
        new, self._drops_seen = now - self._drops_seen, now
        if new > 0:
            self.runtime.dropped += new
            self.runtime.refusals.warn("source %s: the kernel dropped %d datagrams: its "
                                       "receive buffer was full (so_rcvbuf)",
                                       self.runtime.name, new)
        if not self.closed:
            self._drops_due = self.loop.call_later(DROPS_EVERY, self._count_drops)

    def _resume_reading(self) -> None:
        self._resume = None
        if not self.closed:
            self.loop.add_reader(self.sock.fileno(), self._readable)
            self._readable()

    def _read(self) -> tuple[list[bytes], list[Peer]]:
        try:
            frames, senders = self.datagrams.read()
        except OSError as exc:
            log.warning("source %s: %s", self.runtime.name, exc)
            return [], []
        known = self.peers.known
        new = self.peers.new
        peers = [known.get(sender) or new(sender) for sender in senders]
        if self.peers.denied:  # a sender outside ``allow``: its datagrams go unread
            kept: tuple[list[bytes], list[Peer]] = ([], [])
            for frame, peer, sender in zip(frames, peers, senders, strict=True):
                if peer is DENIED:
                    self.runtime.refuse("denied", "dropping datagrams from %s: not in allow",
                                        self.datagrams.host(sender))
                else:
                    kept[0].append(frame)
                    kept[1].append(peer)
            return kept
        return frames, peers

    def close(self) -> None:
        """Stop: what already waits in the socket's buffer is read first, not lost."""
        if not self.closed:
            self.closed = True
            if self._resume is not None:
                self._resume.cancel()
            self.loop.remove_reader(self.sock.fileno())
            before = -1
            while self.runtime.received + self.runtime.denied != before:
                before = self.runtime.received + self.runtime.denied
                self._readable()
            if self._drops_due is not None:
                self._drops_due.cancel()
            if self.runtime.counts_kernel_drops:
                self._count_drops()
            self.sock.close()

    async def wait_closed(self) -> None:
        pass


async def start(runtime: SourceRuntime) -> UdpReader:
    if runtime.listen_socket is not None:  # bound already: a worker's share of the port
        runtime.listen_socket.setblocking(False)
        return UdpReader(runtime, runtime.listen_socket)
    listen = runtime.config.listen
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        set_rcvbuf(sock, runtime.config.so_rcvbuf)
        sock.bind((listen.host, listen.port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return UdpReader(runtime, sock)


def coalesce_wait(found: int, elapsed: float, size: int, rcvbuf: int) -> float:
    """Seconds a wakeup that found FOUND datagrams (of SIZE bytes on average) ELAPSED
    seconds after the last one waits before it reads again.

    Long enough for about a batch to gather at the rate it saw, but for no more than a
    quarter of what the receive buffer (RCVBUF bytes) holds of such datagrams, so that a
    rise in the rate does not overflow it meanwhile; from COALESCE to COALESCE_MOST.  Of
    several workers reading one socket in turn each sees its share of the rate and waits
    that much longer, so the socket is still read about once a batch has come.
    """
    gather = min(BATCH, rcvbuf // (SKB_OVERHEAD + size) // 4)
    wait = gather * elapsed / found
    return min(COALESCE_MOST, max(COALESCE, wait))


def kernel_drops(sock: socket.socket) -> int:
    """Datagrams the kernel dropped for this socket (its receive buffer was full)."""
    try:
        inode = str(os.fstat(sock.fileno()).st_ino)
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            with open(table) as f:
                for line in f:
                    fields = line.split()
                    if len(fields) > 12 and fields[9] == inode:
                        return int(fields[-1])
    except (OSError, ValueError):
        pass
    return 0


def set_rcvbuf(sock: socket.socket, size: int) -> None:
    if size <= 0:
        return
    try:  # SO_RCVBUFFORCE passes rmem_max when we may; fall back to the capped request
        sock.setsockopt(socket.SOL_SOCKET, 33, size)  # SO_RCVBUFFORCE
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
