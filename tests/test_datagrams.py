"""Reading datagrams a batch at a time (relay.sources.datagrams): recvmmsg gives exactly
what a loop of recvfrom gives."""

from __future__ import annotations

import errno
import socket
import time

import pytest

from relay.sources import datagrams
from relay.sources.datagrams import Recvfrom, Recvmmsg


def _receiver(family: int = socket.AF_INET, host: str = "127.0.0.1") -> socket.socket:
    rx = socket.socket(family, socket.SOCK_DGRAM)
    rx.bind((host, 0))
    rx.setblocking(False)
    return rx


@pytest.fixture
def rx():
    sock = _receiver()
    yield sock
    sock.close()


def _send(rx: socket.socket, items: list[tuple[str, bytes]]) -> None:
    """Each payload from its own source address, in order; wait until all are queued."""
    family = rx.family
    senders: dict[str, socket.socket] = {}
    for host, payload in items:
        tx = senders.get(host)
        if tx is None:
            tx = senders[host] = socket.socket(family, socket.SOCK_DGRAM)
            tx.bind((host, 0))
        tx.sendto(payload, rx.getsockname())
    for tx in senders.values():
        tx.close()
    time.sleep(0.05)  # (loopback delivers at once; this is for a loaded machine)


def _read_all(reader: Recvfrom | Recvmmsg) -> list[tuple[bytes, str]]:
    out: list[tuple[bytes, str]] = []
    while True:
        frames, senders = reader.read()
        out += [(f, reader.host(s)) for f, s in zip(frames, senders, strict=True)]
        if not frames:
            return out


ITEMS = [("127.0.0.1", b"<13>one"), ("127.0.0.2", b"<13>two"), ("127.0.0.1", b""),
         ("127.0.0.3", b"x" * 300), ("127.0.0.2", b"<13>\xff\x00last")]


def test_the_reader_of_a_linux_system_is_recvmmsg(rx):
    """(The relay runs on Linux, whose C library has recvmmsg.)"""
    assert isinstance(datagrams.reader(rx, 1024), Recvmmsg)


@pytest.mark.parametrize("kind", [Recvfrom, Recvmmsg])
def test_datagrams_in_order_with_their_senders_cut_at_size_empty_ones_left_out(kind, rx):
    _send(rx, ITEMS)
    got = _read_all(kind(rx, 100, batch=2))
    expected = [(payload[:100], host) for host, payload in ITEMS if payload]
    assert got == expected


def test_a_batch_holds_at_most_batch_datagrams(rx):
    _send(rx, [("127.0.0.1", b"%d" % i) for i in range(7)])
    reader = Recvmmsg(rx, 64, batch=3)
    sizes = []
    while True:
        frames, senders = reader.read()
        if not frames:
            break
        sizes.append(len(frames))
        assert len(senders) == len(frames)
    assert sizes == [3, 3, 1]


def test_ipv6_senders_read_as_recvfrom_reads_them():
    rx = _receiver(socket.AF_INET6, "::1")
    try:
        _send(rx, [("::1", b"<13>six"), ("::1", b"<13>seven")])
        by_mmsg = Recvmmsg(rx, 64)
        frames, senders = by_mmsg.read()
        assert frames == [b"<13>six", b"<13>seven"]
        assert [by_mmsg.host(s) for s in senders] == ["::1", "::1"]
        _send(rx, [("::1", b"<13>eight")])
        assert _read_all(Recvfrom(rx, 64)) == [(b"<13>eight", "::1")]
    finally:
        rx.close()


@pytest.mark.parametrize("kind", [Recvfrom, Recvmmsg])
def test_an_empty_socket_reads_nothing(kind, rx):
    assert kind(rx, 64).read() == ([], [])


@pytest.mark.parametrize("kind", [Recvfrom, Recvmmsg])
def test_a_socket_error_is_raised_as_oserror(kind, rx):
    """A connected UDP socket whose peer's port is closed: the ICMP error comes back as
    ECONNREFUSED on the next read, from either reader."""
    closed = _receiver()
    port = closed.getsockname()[1]
    closed.close()
    rx.connect(("127.0.0.1", port))
    rx.send(b"x")
    time.sleep(0.05)
    with pytest.raises(OSError) as caught:
        kind(rx, 64).read()
    assert caught.value.errno == errno.ECONNREFUSED


def test_a_recvfrom_error_comes_after_the_datagrams_before_it():
    """recvfrom meets the error mid-batch: the batch read so far is returned, and the
    error is raised by the next read, as recvmmsg does."""

    class Failing:
        family = socket.AF_INET

        def __init__(self) -> None:
            self.calls = 0

        def recvfrom(self, size: int) -> tuple[bytes, tuple[str, int]]:
            self.calls += 1
            if self.calls <= 2:
                return b"<13>%d" % self.calls, ("192.0.2.1", 514)
            raise ConnectionRefusedError(errno.ECONNREFUSED, "refused")

    reader = Recvfrom(Failing(), 64)  # type: ignore[arg-type]
    assert reader.read() == ([b"<13>1", b"<13>2"], ["192.0.2.1", "192.0.2.1"])
    with pytest.raises(ConnectionRefusedError):
        reader.read()


def test_a_size_past_the_largest_datagram_reads_the_largest_whole(rx):
    """A slot is never larger than a datagram can be, however large max_msg_size is."""
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    big = b"<13>" + b"y" * 65_000
    _send(rx, [("127.0.0.1", big), ("127.0.0.1", b"<13>small")])
    reader = Recvmmsg(rx, 16 << 20)
    assert reader.size == 65_535
    assert _read_all(reader) == [(big, "127.0.0.1"), (b"<13>small", "127.0.0.1")]
