"""A subscribers destination fed by the workers: the groups of client filters, the FEED
frames, the worker's side, and the relay with two workers end to end."""

from __future__ import annotations

import socket
import threading
import time
from itertools import repeat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.assemble import assemble
from relay.config import SubscribersConfig, loads
from relay.config.values import parse_listen
from relay.destinations.clients import Groups
from relay.flow import FlowControl
from relay.message import LogMessage
from relay.parse.peer import Peer
from relay.workers import feed, plan
from relay.workers.channel import FEED, FrameReader
from relay.workers.proxy import HARD, ChannelProtocol, FeedDestination, factory
from tests.fixedclock import parse_at
from tests.relayproc import RelayProcess, lines_of, wait_for
from tests.test_workers import BASE

# the two workers' config of test_workers, with a feed of the same template on its path
CONFIG = BASE.format(workers=2).replace('destination = ["file"]', """destination = ["file", "live"]
[[destination]]
name = "live"
type = "subscribers"
listen = "tcp://127.0.0.1:0"
template = "$PROGRAM $MSG\\n"
""")


# -- without processes -------------------------------------------------------------------

def test_sources_that_reach_subscribers_are_served_by_the_workers() -> None:
    assert plan.served(loads(CONFIG, "relay.toml")) == ("net", "dg")


@given(st.integers(0, 2**32 - 1), st.integers(0, 70).flatmap(
    lambda groups: st.tuples(st.just(groups), st.lists(st.tuples(
        st.integers(0, min(3, 2**groups - 1)), st.binary(max_size=300)), max_size=20))))
def test_a_feed_body_keeps_every_line_and_mask_in_runs(version: int,
                                                       lines: tuple[int, list[tuple[int, bytes]]]
                                                       ) -> None:
    groups, entries = lines
    got_version, runs = feed.decode(feed.encode(version, groups, entries))
    assert got_version == version
    # lines that follow each other with the same mask make one run, in order
    assert all(a[0] != b[0] for a, b in zip(runs, runs[1:], strict=False))
    assert sum(count for _, count, _ in runs) == len(entries)
    at = 0
    for mask, count, data in runs:
        assert [m for m, _ in entries[at:at + count]] == [mask] * count
        assert data == b"".join(line for _, line in entries[at:at + count])
        at += count


def test_a_feed_body_cut_short_is_refused() -> None:
    body = feed.encode(3, 2, [(1, b"abc\n"), (3, b"de\n")])
    for end in (2, len(body) - 1, len(body) - 4):
        with pytest.raises(ValueError):
            feed.decode(body[:end])


def test_groups_take_a_new_version_only_when_the_expressions_change() -> None:
    groups = Groups()
    assert not groups.update([])
    assert groups.update(["", 'program("a")', ""])
    first = groups.version
    assert groups.exprs == ("", 'program("a")')
    assert not groups.update(['program("a")', ""])  # the same set, in another order
    assert groups.update([""])
    assert groups.of(first) == ("", 'program("a")') and groups.of(groups.version) == ("",)
    other = Groups()  # (a feed a reload put in its place): no version of the other's
    other.update(["x"])
    assert groups.of(other.version) is None and other.of(first) is None
    for n in range(Groups.KEEP):
        groups.update([f'program("p{n}")'])
    assert groups.of(first) is None  # forgotten: its lines are delivered to nobody
    assert groups.of(groups.version) == (f'program("p{Groups.KEEP - 1}")',)


class _Transport:
    def __init__(self) -> None:
        self.data = bytearray()

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False

    def write(self, piece: bytes) -> None:
        self.data += piece

    def writelines(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            self.write(piece)


def _message(program: str, text: str) -> LogMessage:
    return parse_at(b"<13>Dec  3 07:00:00 host %s: %s" % (program.encode(), text.encode()))


@pytest.mark.asyncio
async def test_a_worker_renders_a_feed_only_for_the_groups_it_was_told() -> None:
    channel = ChannelProtocol(FlowControl())
    transport = _Transport()
    channel.connection_made(transport)  # type: ignore[arg-type]
    rendered: list[str] = []

    def render(msg: LogMessage) -> bytes:
        program = msg.values["PROGRAM"]
        rendered.append(program)
        return f"{program} {msg.values['MESSAGE']}\n".encode()

    config = SubscribersConfig(name="live", type="subscribers",
                               listen=parse_listen("tcp://127.0.0.1:0"))
    dest = FeedDestination(config, render, FlowControl(), channel)
    idle = dest.idle()
    assert idle is not None and idle()
    dest.send(_message("a", "1"))
    dest.end_batch()
    assert rendered == [] and not transport.data  # nobody subscribes: nothing done

    dest.set_groups(1, ["", 'program("a")'])
    assert not idle()
    for program in "aba":
        dest.send(_message(program, "2"))
    dest.end_batch()
    dest.set_groups(2, ['program("a")'])
    dest.send(_message("b", "3"))  # passes no group: not rendered
    dest.send(_message("a", "3"))
    dest.end_batch()
    channel.write_pending()
    assert rendered == ["a", "b", "a", "a"]
    frames = FrameReader().feed(bytes(transport.data))
    assert [(kind, name, offered) for kind, name, offered, *_ in frames] == [
        (FEED, "live", 3), (FEED, "live", 2)]
    assert feed.decode(frames[0][3]) == (1, [(0b11, 1, b"a 2\n"), (0b01, 1, b"b 2\n"),
                                             (0b11, 1, b"a 2\n")])
    assert feed.decode(frames[1][3]) == (2, [(0b1, 1, b"a 3\n")])


def _worker_path(config: str, transport: _Transport) -> tuple[ChannelProtocol, Any]:
    """A worker's pipeline of CONFIG, its destinations writing into a channel over
    TRANSPORT."""
    channel = ChannelProtocol(FlowControl())
    channel.connection_made(transport)  # type: ignore[arg-type]
    return channel, assemble(loads(config, "relay.toml"), FlowControl(),
                             make_destination=factory(channel))


UDP_CONFIG = CONFIG.replace('template = "$PROGRAM $MSG\\n"\n', "")


@pytest.mark.asyncio
async def test_a_worker_takes_the_direct_way_while_no_client_filters() -> None:
    """The file and the feed share the seed template: while nobody filters, one render
    without the message serves both; a client that filters sends lines down the message
    path, since its filter needs the message."""
    transport = _Transport()
    channel, path = _worker_path(UDP_CONFIG, transport)
    runtime, live = path.sources["dg"], path.destinations["live"]
    assert isinstance(live, FeedDestination)
    assert runtime.direct is not None
    render, sink, ready = runtime.direct
    assert ready is not None
    frames = [b"<38>Jun 14 15:16:01 combo sshd[1]: hi", b"<38>Jun 14 15:16:02 combo cron: x"]
    peer = Peer("192.0.2.7", "192.0.2.7", 17, "127.0.0.1", 514)

    def lines_via(direct: bool) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
        """What the file holds and the feed sent to the channel, for FRAMES."""
        file = path.destinations["file"]
        file._buf.clear()  # type: ignore[attr-defined]
        transport.data.clear()
        runtime.direct = (render, sink, ready) if direct else None
        runtime.deliver(frames, repeat(peer))
        channel.write_pending()
        sent = [run for frame in FrameReader().feed(bytes(transport.data))
                for run in feed.decode(frame[3])[1]]
        return list(file._buf), sent  # type: ignore[attr-defined]

    assert ready()  # nobody subscribes
    file_lines, feed_lines = lines_via(True)
    assert len(file_lines) == 2 and feed_lines == []
    live.set_groups(1, [""])
    assert ready()
    direct = lines_via(True)
    assert direct[1] == [(1, 2, b"".join(direct[0]))]
    assert lines_via(False) == direct  # the message path makes the same lines
    live.set_groups(2, ["", 'program("sshd")'])
    assert not ready()
    file_lines, feed_lines = lines_via(False)
    assert feed_lines == [(0b11, 1, file_lines[0]), (0b01, 1, file_lines[1])]


class _Behind(_Transport):
    """A channel whose main process is HARD bytes and more behind."""

    def get_write_buffer_size(self) -> int:
        return HARD + 1


@pytest.mark.asyncio
async def test_a_channel_far_behind_drops_only_what_datagram_sources_send() -> None:
    """Past HARD bytes waiting, a datagram source's lines are dropped and counted; a
    stream's are sent (its connections are paused, but the read they were in the middle
    of is delivered whole), to the file and to the feed alike."""
    transport = _Behind()
    channel, path = _worker_path(CONFIG, transport)
    file, live = path.destinations["file"], path.destinations["live"]
    assert isinstance(live, FeedDestination)
    live.set_groups(1, [""])
    peer = Peer("192.0.2.7", "192.0.2.7", 17, "127.0.0.1", 514)
    frames = [b"<38>Jun 14 15:16:01 combo sshd[1]: hi", b"<38>Jun 14 15:16:02 combo cron: x"]

    path.sources["net"].deliver(frames, repeat(peer))
    file.flush()  # (as its timer does)
    channel.write_pending()
    sent = FrameReader().feed(bytes(transport.data))
    assert sorted(name for _, name, *_ in sent) == ["file", "live"]
    assert file.dropped == live.dropped == 0

    transport.data.clear()
    path.sources["dg"].deliver(frames, repeat(peer))
    file.flush()  # a timer's flush, after the delivery
    channel.write_pending()
    assert FrameReader().feed(bytes(transport.data)) == []
    assert file.dropped == live.dropped == 2

    channel.tag = (1, 7)  # a shared socket's turn flushes after its delivery has ended
    path.sources["dg"].deliver(frames, repeat(peer))
    assert file.dropped == live.dropped == 2  # (held for the turn's flush)
    file.flush()
    live.flush()
    channel.tag = (0, 0)
    channel.write_pending()
    assert FrameReader().feed(bytes(transport.data)) == []
    assert file.dropped == live.dropped == 4


# -- end to end --------------------------------------------------------------------------

class _Reader:
    """A subscriber: its lines, read on a thread."""

    def __init__(self, address: tuple[str, int], expr: str = ""):
        self.sock = socket.create_connection(address)
        if expr:
            self.sock.sendall(expr.encode() + b"\n")
        self.data = bytearray()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := self.sock.recv(1 << 20):
            self.data += chunk

    def lines(self) -> list[bytes]:
        return bytes(self.data).splitlines()

    def close(self) -> None:
        self.sock.close()


def _probe_until(readers: list[_Reader], conns: list[socket.socket], what: str) -> None:
    """Send a probe line on each of CONNS (each worker has one) until every reader has
    one from each: their filters have reached every worker."""
    deadline = time.monotonic() + 15
    while True:
        for n, conn in enumerate(conns):
            conn.sendall(b"<13>Dec  3 07:00:00 host c1: probe%d\n" % n)
        time.sleep(0.05)
        if all(all(b"c1 probe%d" % n in r.lines() for n in range(len(conns)))
               for r in readers):
            return
        assert time.monotonic() < deadline, what


def _send(address: tuple[str, int], conn: int, count: int, barrier: threading.Barrier) -> None:
    with socket.create_connection(address) as s:
        barrier.wait()
        s.sendall(b"".join(b"<13>Dec  3 07:00:00 host c%d: %d\n" % (conn, i)
                           for i in range(count)))


def _numbers(lines: list[bytes], program: bytes) -> list[int]:
    return [int(line.split()[1]) for line in lines if line.split()[0] == program
            and not line.split()[1].startswith(b"probe")]


def test_subscribers_with_filters_are_fed_by_both_workers_in_order(tmp_path: Path) -> None:
    with RelayProcess(CONFIG, str(tmp_path), expect_addresses=3) as relay:
        assert relay.stderr().count("served by 2 workers") == 2
        everything = _Reader(relay.address("live"))
        only_c1 = _Reader(relay.address("live"), 'program("c1")')
        probes = [socket.create_connection(relay.address("net")) for _ in range(2)]
        _probe_until([everything, only_c1], probes, "the filters reached the workers")
        count, conns = 2000, 8
        barrier = threading.Barrier(conns)
        threads = [threading.Thread(target=_send, args=(relay.address("net"), c, count,
                                                        barrier)) for c in range(conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for i in range(count):
                udp.sendto(b"<13>Dec  3 07:00:00 host dg: %d" % i, relay.address("dg"))
                if i % 100 == 99:
                    time.sleep(0.01)
        wait_for(lambda: len(_numbers(everything.lines(), b"dg")) >= count, 20,
                 "every line to the subscriber")
        file_lines = lines_of(str(tmp_path / "out.json"))
        for c in range(conns):
            program = b"c%d" % c
            assert _numbers(everything.lines(), program) == list(range(count))
            assert _numbers(file_lines, program) == list(range(count))
        assert _numbers(everything.lines(), b"dg") == list(range(count))
        wait_for(lambda: len(_numbers(only_c1.lines(), b"c1")) >= count, 10, "c1's lines")
        time.sleep(0.2)  # (nothing else is coming to it)
        assert {line.split()[0] for line in only_c1.lines()} == {b"c1"}
        assert _numbers(only_c1.lines(), b"c1") == list(range(count))
        for sock in probes:
            sock.close()
        everything.close()
        only_c1.close()
        assert relay.stop() == 0
    assert "destination live: " in relay.stderr() and ", 0 dropped" in relay.stderr()


def test_nobody_subscribed_means_nothing_rendered_for_the_feed(tmp_path: Path) -> None:
    """While nobody subscribes the workers take the direct way to the file (the render of
    the message is skipped), and a subscriber that comes later is fed at once."""
    with RelayProcess(CONFIG, str(tmp_path), expect_addresses=3) as relay:
        with socket.create_connection(relay.address("net")) as s:
            s.sendall(b"".join(b"<13>Dec  3 07:00:00 host c0: %d\n" % i for i in range(500)))
            wait_for(lambda: len(lines_of(str(tmp_path / "out.json"))) == 500, 10, "the file")
            late = _Reader(relay.address("live"))
            _probe_until([late], [s], "the subscriber reached the worker")
            late.close()
        assert relay.stop() == 0
    stats: dict[str, Any] = {}
    for line in relay.stderr().splitlines():
        if "destination live: " in line and "written" in line:
            stats["live"] = line
    assert "live" in stats and " 0 dropped" in stats["live"]
    # the 500 lines before the subscriber were never offered to the feed
    written = int(stats["live"].split("destination live: ")[1].split()[0])
    assert 1 <= written < 500

