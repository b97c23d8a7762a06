"""The UDP source reads what its socket holds before it parses it, and again between batches.

A burst that outruns parsing is taken out of the kernel's buffer (which drops what
overflows it) into the process, up to READ_AHEAD batches or READ_AHEAD_BYTES, and parsed
in the order it came.  Real sockets on loopback; no relay process.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from relay.config import SourceConfig
from relay.config.values import parse_listen
from relay.facts.allow import AllowList
from relay.flow import FlowControl
from relay.parse import Parser
from relay.sources import udp
from relay.sources.base import SourceRuntime


class _Runtime(SourceRuntime):
    def __init__(self) -> None:
        config = SourceConfig(name="s_udp", listen=parse_listen("udp://127.0.0.1:0"))
        super().__init__(config, Parser("rfc3164", "s_udp"), lambda msg: None, FlowControl())
        self.batches: list[list[bytes]] = []

    def deliver(self, frames: Sequence[bytes], peers: object) -> None:
        self.batches.append(list(frames))


def _pending(sock: socket.socket) -> bool:
    """Whether a datagram is still in SOCK's receive buffer."""
    try:
        sock.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    return True


@contextlib.asynccontextmanager
async def _reading() -> AsyncIterator[tuple[_Runtime, udp.UdpReader, socket.socket]]:
    """A reader on a fresh socket that reads when the test says, and a sender to it."""
    runtime = _Runtime()
    reader = await udp.start(runtime)
    reader.loop.remove_reader(reader.sock.fileno())  # read when the test says
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.connect(reader.sock.getsockname())
    try:
        yield runtime, reader, sender
    finally:
        sender.close()
        reader.close()


def _timer_left(reader: udp.UdpReader) -> float:
    """Seconds until the reader reads again by itself."""
    assert reader._resume is not None
    return reader._resume.when() - reader.loop.time()


def _cancel_timer(reader: udp.UdpReader) -> None:
    """The test reads from here on, not the timer."""
    if reader._resume is not None:
        reader._resume.cancel()
        reader._resume = None


def _sent(sender: socket.socket, n: int, size: int = 100) -> list[bytes]:
    out = []
    for i in range(n):
        line = b"<13>Jan  1 00:00:00 h p: %06d " % i
        line += b"x" * (size - len(line))
        sender.send(line)
        out.append(line)
    return out


@pytest.mark.asyncio
async def test_one_wakeup_reads_the_whole_burst_then_parses_it_in_order() -> None:
    async with _reading() as (runtime, reader, sender):
        sent = _sent(sender, 3000)
        await asyncio.sleep(0.05)
        reader._readable()
        got = [frame for batch in runtime.batches for frame in batch]
        assert got == sent
        assert len(runtime.batches) == -(-3000 // udp.BATCH)  # whole batches, then the rest
        assert not _pending(reader.sock)


def _count_reads(reader: udp.UdpReader, runtime: _Runtime) -> list[int]:
    """What was read and not yet parsed, each time a batch is parsed."""
    read = [0]
    held: list[int] = []
    plain_read, plain_deliver = reader._read, runtime.deliver

    def counted_read() -> tuple[list[bytes], list[Any]]:
        frames, peers = plain_read()
        read[0] += len(frames)
        return frames, peers

    def counted_deliver(frames: Sequence[bytes], peers: object) -> None:
        held.append(read[0] - sum(map(len, runtime.batches)))
        plain_deliver(frames, peers)

    reader._read = counted_read  # type: ignore[method-assign]
    runtime.deliver = counted_deliver  # type: ignore[method-assign]
    return held


@pytest.mark.asyncio
async def test_it_holds_at_most_read_ahead_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(udp, "READ_AHEAD_BYTES", 100 * udp.BATCH * 3)  # three batches
    async with _reading() as (runtime, reader, sender):
        held = _count_reads(reader, runtime)
        sent = _sent(sender, 2000)
        await asyncio.sleep(0.05)
        reader._readable()
        assert [frame for batch in runtime.batches for frame in batch] == sent
        assert max(held) == 3 * udp.BATCH  # read ahead, never more than the bytes allow


@pytest.mark.asyncio
async def test_it_holds_and_reads_at_most_read_ahead_batches_a_wakeup(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(udp, "READ_AHEAD", 3)
    async with _reading() as (runtime, reader, sender):
        held = _count_reads(reader, runtime)
        sent = _sent(sender, 6 * udp.BATCH)
        await asyncio.sleep(0.05)
        reader._readable()
        assert max(held) == 3 * udp.BATCH
        # three reads, then what is held is parsed and the loop has its turn
        assert [len(b) for b in runtime.batches] == [udp.BATCH] * 3
        assert _pending(reader.sock)
        reader._readable()
        assert [frame for batch in runtime.batches for frame in batch] == sent


@pytest.mark.asyncio
async def test_a_wakeup_that_found_less_than_a_batch_reads_again_after_coalesce() -> None:
    async with _reading() as (runtime, reader, sender):
        first = _sent(sender, 10)
        await asyncio.sleep(0.02)
        reader._readable()
        assert runtime.batches == [first]
        # not reading until then; the first wait after a quiet socket is the least: a
        # burst may be starting
        assert 0 < _timer_left(reader) <= udp.COALESCE
        second = _sent(sender, 10)
        await asyncio.sleep(0.05)  # the timer reads what came meanwhile, in one batch
        assert runtime.batches == [first, second]
        # a wakeup that found a whole batch reads on at once
        reader.loop.remove_reader(reader.sock.fileno())
        _cancel_timer(reader)
        _sent(sender, udp.BATCH + 5)
        await asyncio.sleep(0.02)
        reader._readable()
        assert reader._resume is None


@pytest.mark.asyncio
async def test_a_wakeup_that_found_nothing_waits_for_the_next_datagram() -> None:
    async with _reading() as (runtime, reader, sender):
        reader.loop.add_reader(reader.sock.fileno(), reader._readable)
        reader._readable()  # nothing there: no timer that would poll an idle socket
        assert reader._resume is None and runtime.batches == []
        first = _sent(sender, 3)
        await asyncio.sleep(0.02)  # the datagrams wake it; the wait after them ends
        assert runtime.batches == [first]
        # the read after the wait found nothing: no timer again, the reader is back
        assert reader._resume is None
        second = _sent(sender, 2)
        await asyncio.sleep(0.02)
        assert runtime.batches == [first, second]


@pytest.mark.asyncio
async def test_the_wait_grows_at_most_twofold_from_one_wakeup_to_the_next() -> None:
    async with _reading() as (runtime, reader, sender):
        waits = []
        for _ in range(4):  # a slow sender: each wait could be the most at once
            _sent(sender, 2)
            await asyncio.sleep(0.01)
            reader._readable()
            # the wait chosen (the timer's time left has already lost some to the clock)
            waits.append(reader._wait)
            assert 0 < _timer_left(reader) <= reader._wait
            _cancel_timer(reader)
        assert waits[0] <= udp.COALESCE * 1.01
        for before, after in zip(waits, waits[1:], strict=False):
            assert after <= 2 * before * 1.01
        assert waits[-1] > 1.5 * udp.COALESCE  # it does grow
        reader._readable()  # found nothing: the next wait is the least again
        _sent(sender, 2)
        await asyncio.sleep(0.01)
        reader._readable()
        assert _timer_left(reader) <= udp.COALESCE * 1.01


def test_the_wait_lets_about_a_batch_gather_within_its_bounds() -> None:
    big = 16 << 20
    # 50,000 datagrams/s: a batch takes 5.1 ms, so the most
    assert udp.coalesce_wait(50, 0.001, 150, big) == udp.COALESCE_MOST
    # 200,000/s: a batch takes 1.28 ms
    assert udp.coalesce_wait(200, 0.001, 150, big) == pytest.approx(udp.BATCH / 200_000)
    # a fast rate: the least
    assert udp.coalesce_wait(250, 0.0001, 150, big) == udp.COALESCE
    # a kernel's default 208 KiB buffer holds a few hundred such datagrams: a quarter of
    # that gathers, not a batch (at 20,000/s: about 2 ms rather than 5)
    held = 212992 // (udp.SKB_OVERHEAD + 150)
    assert udp.coalesce_wait(20, 0.001, 150, 212992) == pytest.approx(held // 4 / 20_000)
    # a larger datagram takes more of it
    assert udp.coalesce_wait(20, 0.001, 1500, 212992) < udp.coalesce_wait(20, 0.001, 150,
                                                                          212992)


@pytest.mark.asyncio
async def test_what_the_kernel_drops_is_counted_while_it_runs(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A full receive buffer drops datagrams: they are in ``dropped`` within DROPS_EVERY,
    not only at shutdown, and received + dropped is what was sent."""
    monkeypatch.setattr(udp, "DROPS_EVERY", 0.05)
    async with _reading() as (runtime, reader, sender):
        reader.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a tiny buffer
        sent = _sent(sender, 2000)
        assert runtime.dropped == 0
        await asyncio.sleep(0.2)  # not read meanwhile: the kernel dropped most of them
        assert runtime.dropped > 0
        assert "the kernel dropped" in caplog.text
    assert sum(map(len, runtime.batches)) + runtime.dropped == len(sent)


# -- a socket the workers share: who reads it (ReadShare, no IO) ---------------------------

def test_the_first_reader_asks_for_help_only_when_busy_and_stops_well_below() -> None:
    share = udp.ReadShare(True, 0.0)
    assert share.worked(0.0, 0.03) is False  # (the first window is not over yet)

    span = udp.HELP_WINDOW * 1.25

    def window(k: int, busy: float) -> bool:  # window K: BUSY of its SPAN seconds
        return share.worked(k * span + 0.03 - busy * span, k * span + 0.03)

    assert [window(k, 0.3) for k in (1, 2, 3)] == [False] * 3  # 30%: no help
    assert window(4, 0.8) is True  # 80%: help is asked for
    # helped, it does half the work: still asked for at 40% and 30%, dropped below 25%
    assert [window(k, b) for k, b in ((5, 0.4), (6, 0.3), (7, 0.2))] == [True, True, False]
    assert window(8, 0.5) is False  # and not asked for again until it is busy again
    assert window(9, 0.7) is True


def test_a_helper_reads_while_help_is_wanted_or_the_reader_has_gone_quiet() -> None:
    assert udp.ReadShare.helps(10.0, 9.999, True)
    assert not udp.ReadShare.helps(10.0, 9.999, False)
    assert not udp.ReadShare.helps(10.0, 10.0 - udp.STALE / 2, False)
    assert udp.ReadShare.helps(10.0, 10.0 - udp.STALE * 2, False)  # dead, or quiet


def test_the_readers_state_is_shared_through_the_table() -> None:
    from relay.sources.shared import SharedTable

    table = SharedTable()
    try:
        other = SharedTable(table.fd)  # another process maps the same memfd
        first, seen = table.count(3), other.count(3)
        assert seen.reader() == (0.0, False)
        first.beat(12.5, True)
        assert seen.reader() == (12.5, True)
        assert other.count(4).reader() == (0.0, False)
        first.step()
        assert seen.value == 1 and seen.reader() == (12.5, True)  # apart from the count
        other.map.close()
    finally:
        table.close()


@pytest.mark.asyncio
async def test_a_denied_sender_stays_dropped_when_the_map_of_senders_is_cleared() -> None:
    """The map of senders is cleared past 4,096 of them, here in the middle of a batch,
    right after a denied sender's datagram: that datagram is still dropped unparsed."""
    runtime = _Runtime()
    runtime.allow = AllowList(("127.0.0.1/32",))
    reader = await udp.start(runtime)
    reader.loop.remove_reader(reader.sock.fileno())
    senders = []
    try:
        for host in ("127.0.0.2", "127.0.0.1"):
            tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tx.bind((host, 0))
            tx.sendto(b"<13>Jan  1 00:00:00 h p: from " + host.encode(), reader.sock.getsockname())
            senders.append(tx)
        await asyncio.sleep(0.05)
        reader.peers.known.update({f"x{i}": udp.DENIED for i in range(4096)})
        reader._readable()
    finally:
        for tx in senders:
            tx.close()
        reader.close()
    assert runtime.batches == [[b"<13>Jan  1 00:00:00 h p: from 127.0.0.1"]]
    assert runtime.denied == 1
