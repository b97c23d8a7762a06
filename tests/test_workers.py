"""Worker processes ([options] workers): which sources they serve, the channel's frames,
and the relay with two workers end to end (order, balance, limits, a crash, reloads)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.config import loads
from relay.destinations.base import WRITE_LINES
from relay.flow import FlowControl
from relay.workers import plan
from relay.workers.channel import DATA, STATS, FrameReader, data_frame, json_frame
from relay.workers.link import Joiner
from relay.workers.pool import WorkerPool
from relay.workers.reorder import GIVE_UP, Reorder
from tests.relayproc import RelayProcess, lines_of, wait_for
from tests.test_reload import scrape

BASE = """
[options]
workers = {workers}
[[source]]
name = "net"
listen = "tcp://127.0.0.1:0"
[[source]]
name = "dg"
listen = "udp://127.0.0.1:0"
[[destination]]
name = "file"
type = "file"
path = "out.json"
template = "$PROGRAM $MSG\\n"
[[log]]
source = ["net", "dg"]
destination = ["file"]
"""


# -- the plan, without processes ---------------------------------------------------------

def _config(extra: str = "", workers: int = 2) -> object:
    return loads(BASE.format(workers=workers) + extra, "relay.toml")


def test_tcp_and_udp_sources_that_reach_only_line_destinations_go_to_the_workers() -> None:
    config = _config()
    assert plan.served(config) == ("net", "dg")
    assert plan.served(_config(workers=1)) == ()


def test_a_source_whose_path_needs_each_message_stays_in_the_main_process() -> None:
    config = _config("""
[[source]]
name = "local"
listen = "unix-stream:///tmp/never-bound.sock"
[[destination]]
name = "live"
type = "web"
listen = "127.0.0.1:0"
[[log]]
source = ["dg"]
destination = ["live"]
""")
    assert plan.served(config) == ("net",)
    assert "'live' needs each message" in plan.why_not(config, "dg")
    assert "only TCP and UDP" in plan.why_not(config, "local")
    cut = plan.worker_config(config, plan.served(config))
    assert [s.name for s in cut.sources] == ["net"]
    assert [d.name for d in cut.destinations] == ["file"]
    assert cut.options.workers == 1 and cut.metrics is None


def test_a_templated_file_path_keeps_its_sources_in_the_main_process() -> None:
    config = loads(BASE.format(workers=2).replace('path = "out.json"',
                                                  'path = "out/$HOST.json"\ncreate_dirs = true'),
                   "relay.toml")
    assert plan.served(config) == ()
    assert plan.why_not(config, "net") == "destination 'file' needs each message"


def test_a_reload_that_changes_the_workers_is_refused_with_the_reason() -> None:
    old = _config()
    assert plan.refusal(old, _config(), ["net", "dg"]) == ""
    assert "takes a restart" in plan.refusal(old, _config(workers=3), ["net"])
    moved = _config("""
[[destination]]
name = "live"
type = "web"
listen = "127.0.0.1:0"
[[log]]
source = ["net"]
destination = ["live"]
""")
    assert "source 'net' would move to the main process" in plan.refusal(old, moved, ["net"])


def test_workers_option_is_checked() -> None:
    from relay.errors import ConfigError

    with pytest.raises(ConfigError, match="workers"):
        loads(BASE.format(workers=0), "relay.toml")
    with pytest.raises(ConfigError, match="workers"):
        loads(BASE.format(workers='"many"'), "relay.toml")
    assert loads(BASE.format(workers='"auto"'), "relay.toml").options.workers == len(
        os.sched_getaffinity(0))


# -- the channel's frames ----------------------------------------------------------------

@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.integers(0, 1000),
                          st.binary(max_size=300)), max_size=12),
       st.lists(st.integers(1, 50), min_size=1, max_size=20), st.sampled_from([64, 200, 65536]))
def test_frames_come_out_whole_and_in_order_however_the_bytes_are_cut(
        chunks: list[tuple[str, int, bytes]], cuts: list[int], scratch: int) -> None:
    stream = b"".join(b"".join(data_frame(n.encode(), lines, data)) + json_frame(STATS, {"i": i})
                      for i, (n, lines, data) in enumerate(chunks))
    reader = FrameReader(scratch)  # small ones read bodies into buffers of their own
    got = []
    at = 0
    for cut in cuts * (len(stream) // max(1, sum(cuts)) + 1):
        got += reader.feed(stream[at:at + cut])
        at += cut
    got += reader.feed(stream[at:])
    assert reader.pending == 0
    expected: list[tuple[object, ...]] = []
    for i, (n, lines, data) in enumerate(chunks):
        expected += [(DATA, n, lines, data), (STATS, {"i": i})]
    assert [(k, n, lines, bytes(body)) if k == DATA else (k, orjson.loads(body))
            for k, n, lines, body, _, _ in got] == expected


def test_small_frames_are_read_many_at_once_and_a_large_body_into_its_own_buffer() -> None:
    reader = FrameReader(scratch=64)
    small = b"".join(data_frame(b"file", 2, b"a\nb\n")) * 2
    buf = reader.buffer()
    assert len(buf) == 64  # room for many small frames
    buf[:len(small)] = small
    assert reader.filled(len(small)) == [(DATA, "file", 2, bytearray(b"a\nb\n"), 0, 0)] * 2
    body = b"x" * 999 + b"\n"
    large = b"".join(data_frame(b"file", 1, body))
    assert reader.feed(large[:40]) == []
    assert len(reader.buffer()) == len(body) - (40 - 27)  # exactly the rest of the body
    assert reader.feed(large[40:]) == [(DATA, "file", 1, bytearray(body), 0, 0)]
    assert reader.pending == 0 and len(reader.buffer()) == 64


def test_batches_of_a_shared_socket_are_written_in_the_order_they_were_read() -> None:
    r = Reorder()
    assert r.data(7, 1, "a1", 0.0) == ["a1"]  # its turn: at once
    assert r.data(7, 3, "c1", 0.0) == []  # later batches wait
    assert r.data(7, 2, "b1", 0.0) == []
    assert r.end(7, 3, 0.0) == []
    assert r.data(7, 1, "a2", 0.0) == ["a2"]
    assert r.end(7, 1, 0.0) == ["b1"]  # batch 2's turn: what it sent so far
    assert r.data(7, 2, "b2", 0.0) == ["b2"]
    assert r.end(7, 2, 0.0) == ["c1"]  # 3 had ended already: its lines follow at once
    assert r.data(7, 4, "d1", 0.0) == ["d1"] and r.held() == 0


def test_a_batch_that_never_ends_holds_the_others_up_only_for_a_while() -> None:
    r = Reorder()
    assert r.data(1, 2, "b", 10.0) == [] and r.end(1, 2, 10.0) == []  # batch 1 is lost
    assert r.stuck(10.5) == []
    assert r.stuck(10.0 + GIVE_UP) == ["b"]
    assert r.data(1, 3, "c", 12.0) == ["c"]
    assert r.data(1, 1, "late", 12.0) == ["late"]  # given up on, yet never dropped


class _Sink:
    """What the pool writes a destination's lines to."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.held_before: Callable[[], int] = lambda: 0

    def write(self, data: bytes, lines: int) -> None:
        self.writes.append(bytes(data))


@pytest.mark.asyncio
async def test_a_destination_counts_the_bytes_the_main_process_holds_for_it() -> None:
    pool = WorkerPool(FlowControl(), 2, lambda: {})
    try:
        sink, other = _Sink(), _Sink()
        pool._look_up(cast(dict[str, Any], {"d": sink, "e": other}))
        early = (DATA, "d", 3, bytearray(b"c" * 30))
        # batch 2 came first: it waits for batch 1
        pool.write_all(pool.reorder.data(1, 2, early, 0.0))
        assert sink.held_before() == 30 and other.held_before() == 0
        # batch 1: joined with what comes in this turn of the loop
        pool.write_all(pool.reorder.data(1, 1, (DATA, "d", 1, bytearray(b"a" * 10)), 0.0))
        assert sink.held_before() == 40
        pool.write_all(pool.reorder.end(1, 1, 0.0))  # batch 2's turn
        assert sink.held_before() == 40 and sink.writes == []
        await asyncio.sleep(0)  # the end of the turn writes them, in order
        assert sink.writes == [b"a" * 10 + b"c" * 30]
        assert sink.held_before() == 0
    finally:
        pool.counts.close()


# -- end to end --------------------------------------------------------------------------

def _send_at_once(address: tuple[str, int], conns: int, count: int) -> None:
    """CONNS connections, connected before any sends, each sending COUNT numbered lines."""
    barrier = threading.Barrier(conns)
    threads = [threading.Thread(target=_send, args=(address, c, count, barrier))
               for c in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _send(address: tuple[str, int], conn: int, count: int, barrier: threading.Barrier) -> None:
    with socket.create_connection(address) as s:
        barrier.wait()
        s.sendall(b"".join(b"<13>Dec  3 07:00:00 host c%d: %d\n" % (conn, i)
                           for i in range(count)))


def test_eight_connections_over_two_workers_keep_every_line_in_order(tmp_path: Path) -> None:
    config = BASE.format(workers=2) + '[metrics]\nlisten = "127.0.0.1:0"\n'
    with RelayProcess(config, str(tmp_path), expect_addresses=3) as relay:
        assert relay.stderr().count("source net: served by 2 workers") == 1
        _send_at_once(relay.address("net"), 8, 5000)
        out = str(tmp_path / "out.json")
        wait_for(lambda: len(lines_of(out)) >= 40000, 30, "every line")
        values = scrape(relay.address("metrics"))
        handed = [values[("relay_worker_connections_total", (("worker", str(n)),))]
                  for n in (0, 1)]
        assert sorted(handed) == [4, 4]  # the least busy worker gets the next connection
        received = [values[("relay_worker_received_total", (("worker", str(n)),))]
                    for n in (0, 1)]
        assert sum(received) == 40000 and min(received) > 0
        assert values[("relay_source_received_total", (("source", "net"),))] == 40000
        assert relay.stop() == 0
    lines = lines_of(out)
    assert len(lines) == 40000
    for c in range(8):
        mine = [int(line.split()[1]) for line in lines if line.startswith(b"c%d " % c)]
        assert mine == list(range(5000))
    assert "40000 written, 0 dropped" in relay.stderr()


def test_max_connections_holds_for_the_source_across_the_workers(tmp_path: Path) -> None:
    config = BASE.format(workers=2).replace('listen = "tcp://127.0.0.1:0"',
                                            'listen = "tcp://127.0.0.1:0"\nmax_connections = 3')
    with RelayProcess(config, str(tmp_path), expect_addresses=2) as relay:
        conns = [socket.create_connection(relay.address("net")) for _ in range(6)]
        served = []
        for i, s in enumerate(conns):
            try:
                s.sendall(b"<13>Dec  3 07:00:00 host p: conn %d\n" % i)
            except OSError:
                pass
        out = str(tmp_path / "out.json")
        time.sleep(1.0)
        served = lines_of(out)
        assert len(served) == 3, served
        for s in conns:
            s.close()
        wait_for(lambda: "refusing 127.0.0.1: max_connections (3) are open" in relay.stderr(),
                 5, "the refusal logged")
        # closed connections give their places back, whichever worker had them
        wait_for(lambda: _served_now(relay.address("net"), out), 10, "a new one served")
        relay.stop()


def _served_now(address: tuple[str, int], out: str) -> bool:
    before = len(lines_of(out))
    with socket.create_connection(address) as s:
        s.sendall(b"<13>Dec  3 07:00:00 host p: again\n")
    time.sleep(0.3)
    return len(lines_of(out)) > before


def test_a_worker_that_dies_is_replaced_and_the_relay_goes_on(tmp_path: Path) -> None:
    config = BASE.format(workers=2) + '[metrics]\nlisten = "127.0.0.1:0"\n'
    with RelayProcess(config, str(tmp_path), expect_addresses=3) as relay:
        out = str(tmp_path / "out.json")
        victims = _workers_of(relay.proc.pid)
        assert len(victims) == 2
        os.kill(victims[0], signal.SIGKILL)
        wait_for(lambda: "worker" in relay.stderr() and "exited" in relay.stderr(), 10,
                 "the worker's death noticed")
        wait_for(lambda: len(_workers_of(relay.proc.pid)) == 2, 15, "a replacement")
        _send_at_once(relay.address("net"), 4, 1000)
        wait_for(lambda: len(lines_of(out)) >= 4000, 30, "every line after the crash")
        values = scrape(relay.address("metrics"))
        assert values[("relay_worker_restarts_total", ())] == 1
        assert relay.stop() == 0
    assert len(lines_of(out)) == 4000


def _workers_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if ppid == pid and b"relay.worker" in cmd:
            found.append(int(entry))
    return found


def test_udp_senders_through_the_workers_and_sigterm_drains_them(tmp_path: Path) -> None:
    with RelayProcess(BASE.format(workers=2), str(tmp_path), expect_addresses=2) as relay:
        address = relay.address("dg")
        senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
        for i in range(500):
            for n, s in enumerate(senders):
                s.sendto(b"<13>Dec  3 07:00:00 host u%d: %d" % (n, i), address)
            if i % 50 == 0:
                time.sleep(0.01)
        for s in senders:
            s.close()
        assert relay.stop() == 0
    lines = lines_of(str(tmp_path / "out.json"))
    assert len(lines) == 2000
    for n in range(4):  # one sender's datagrams go to one worker: in order
        mine = [int(line.split()[1]) for line in lines if line.startswith(b"u%d " % n)]
        assert mine == list(range(500))
    assert "source dg: 2000 received" in relay.stderr()


def test_one_udp_sender_is_read_by_one_worker_until_it_is_busy(tmp_path: Path) -> None:
    # a filter that backtracks: about 0.1 ms a message, so one worker is busy at 10k msg/s
    slow = ('[[filter]]\nname = "slow"\nexpr = \'not message("(a+)+b")\'\n')
    config = (BASE.format(workers=2).replace('source = ["net", "dg"]\n',
                                             'source = ["net", "dg"]\nfilter = ["slow"]\n')
              + slow + '[metrics]\nlisten = "127.0.0.1:0"\n')
    with RelayProcess(config, str(tmp_path), expect_addresses=3) as relay:
        address = relay.address("dg")
        out = str(tmp_path / "out.json")

        def received() -> list[float]:
            values = scrape(relay.address("metrics"))
            return [values[("relay_worker_received_total", (("worker", str(n)),))]
                    for n in (0, 1)]

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(200):  # a few a second: the first worker alone reads them
                s.sendto(b"<13>Dec  3 07:00:00 host u: %d" % i, address)
                time.sleep(0.002)
            wait_for(lambda: len(lines_of(out)) >= 200, 30, "the quiet datagrams")
            quiet = received()
            # the first worker reads them; the second only while the first is busy, or has
            # not read for 20 ms (a first worker the machine kept off its core)
            assert sum(quiet) == 200 and quiet[1] <= 10, quiet
            for i in range(200, 20200):  # 10k msg/s: it asks for help
                s.sendto(b"<13>Dec  3 07:00:00 host u: %d aaaaaaaaaa" % i, address)
                if i % 100 == 0:
                    time.sleep(0.01)
        wait_for(lambda: len(lines_of(out)) >= 20200, 60, "every datagram")
        both = received()
        assert sum(both) == 20200 and both[1] > 0, both
        assert relay.stop() == 0
    assert [int(x.split()[1]) for x in lines_of(out)] == list(range(20200))


def test_a_worker_killed_while_datagrams_flow_holds_the_others_up_no_longer_than_a_while(
        tmp_path: Path) -> None:
    config = BASE.format(workers=2)
    with RelayProcess(config, str(tmp_path), expect_addresses=2) as relay:
        address = relay.address("dg")
        out = str(tmp_path / "out.json")
        victims = _workers_of(relay.proc.pid)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(6000):
                s.sendto(b"<13>Dec  3 07:00:00 host u: %d" % i, address)
                if i == 3000:
                    os.kill(victims[0], signal.SIGKILL)  # whatever batch it held is gone
                if i % 100 == 0:
                    time.sleep(0.002)
            wait_for(lambda: len(_workers_of(relay.proc.pid)) == 2, 15, "a replacement")
            for i in range(6000, 7000):
                s.sendto(b"<13>Dec  3 07:00:00 host u: %d" % i, address)
                if i % 100 == 0:
                    time.sleep(0.002)
        # the datagrams after the replacement are all written, and in order
        wait_for(lambda: b"u 6999" in lines_of(out), 15, "the last datagram")
        assert relay.stop() == 0
    got = [int(x.split()[1]) for x in lines_of(out)]
    assert got[-1000:] == list(range(6000, 7000))
    assert len(got) >= 6000 - 256  # at most the batch the killed worker held is lost
    assert got == sorted(set(got))  # and nothing came out of order, or twice


def test_workers_one_runs_everything_in_one_process(tmp_path: Path) -> None:
    with RelayProcess(BASE.format(workers=1), str(tmp_path), expect_addresses=2) as relay:
        with socket.create_connection(relay.address("net")) as s:
            s.sendall(b"<13>Dec  3 07:00:00 host p: one\n")
        wait_for(lambda: len(lines_of(str(tmp_path / "out.json"))) == 1, 10, "the line")
        assert _workers_of(relay.proc.pid) == []
        assert relay.stop() == 0


def test_sighup_with_workers_keeps_connections_and_switches_paths(tmp_path: Path) -> None:
    with RelayProcess(BASE.format(workers=2), str(tmp_path), expect_addresses=2) as relay:
        with socket.create_connection(relay.address("net")) as s:
            s.sendall(b"<13>Dec  3 07:00:00 host p: before\n")
            out = str(tmp_path / "out.json")
            wait_for(lambda: len(lines_of(out)) == 1, 10, "the first line")
            with open(relay.config_path, "a") as f:
                f.write('[[destination]]\nname = "more"\ntype = "file"\npath = "more.json"\n'
                        'template = "$MSG\\n"\n[[log]]\nsource = ["net"]\n'
                        'destination = ["more"]\n')
            relay.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "reloaded" in relay.stderr(), 10, "the reload")
            s.sendall(b"<13>Dec  3 07:00:00 host p: after\n")
            more = str(tmp_path / "more.json")
            wait_for(lambda: lines_of(more) == [b"after"], 10, "the new path")
        with open(relay.config_path) as f:
            text = f.read()
        with open(relay.config_path, "w") as f:
            f.write(text.replace("workers = 2", "workers = 3"))
        relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in relay.stderr(), 10, "the refusal")
        assert "workers changed from 2 to 3: that takes a restart" in relay.stderr()
        assert relay.stop() == 0
    assert lines_of(out) == [b"p before", b"p after"]


def test_sighup_while_one_udp_sender_floods_keeps_every_datagram_in_order(
        tmp_path: Path) -> None:
    with RelayProcess(BASE.format(workers=2), str(tmp_path), expect_addresses=2) as relay:
        address = relay.address("dg")
        out = str(tmp_path / "out.json")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(30000):
                s.sendto(b"<13>Dec  3 07:00:00 host u: %d" % i, address)
                if i == 4000:
                    relay.proc.send_signal(signal.SIGHUP)  # the workers switch meanwhile
                if i % 100 == 0:
                    time.sleep(0.002)
        wait_for(lambda: "reloaded" in relay.stderr(), 10, "the reload")
        wait_for(lambda: len(lines_of(out)) >= 30000, 20, "every datagram")
        assert relay.stop() == 0
    assert [int(x.split()[1]) for x in lines_of(out)] == list(range(30000))


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_during_a_burst_into_a_congested_destination_loses_nothing(
        tmp_path: Path, workers: int) -> None:
    # the program reads nothing for a while, so its small queue stays congested: the
    # drain at shutdown must wait for it, not force the connections open past the queue
    config = BASE.format(workers=workers).replace(
        'type = "file"\npath = "out.json"',
        'type = "program"\ncommand = "sleep 1.5; exec cat > out.json"\nqueue_bytes = "64KiB"')
    with RelayProcess(config, str(tmp_path), expect_addresses=2) as relay:
        _send_at_once(relay.address("net"), 8, 20000)
        assert relay.stop(timeout=60) == 0
    assert "160000 written, 0 dropped" in relay.stderr(), relay.stderr()[-600:]
    lines = lines_of(str(tmp_path / "out.json"))
    for c in range(8):
        assert [int(x.split()[1]) for x in lines if x.startswith(b"c%d " % c)] == list(
            range(20000))


def test_a_source_added_by_sighup_is_served_by_the_workers(tmp_path: Path) -> None:
    with RelayProcess(BASE.format(workers=2), str(tmp_path), expect_addresses=2) as relay:
        with open(relay.config_path, "a") as f:
            f.write('[[source]]\nname = "net2"\nlisten = "tcp://127.0.0.1:0"\n'
                    '[[log]]\nsource = ["net2"]\ndestination = ["file"]\n')
        relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: relay._read_addresses() >= 3, 10, "the new source to listen")
        # (its address is announced before the reload is logged as done)
        wait_for(lambda: "reloaded" in relay.stderr(), 10, "the reload to be logged")
        # connections right after the reload: every one reaches a worker that knows it
        for i in range(20):
            with socket.create_connection(relay.address("net2")) as s:
                s.sendall(b"<13>Dec  3 07:00:00 host n2: %d\n" % i)
        out = str(tmp_path / "out.json")
        wait_for(lambda: len(lines_of(out)) == 20, 10, "every line of the new source")
        assert relay.stop() == 0
    assert sorted(int(x.split()[1]) for x in lines_of(out)) == list(range(20))


def test_local_messages_of_two_workers_take_one_seqnum_sequence(tmp_path: Path) -> None:
    """syslog-ng numbers a destination's local messages (its own parse errors) in one
    sequence: two connections, one in each worker, must not both count from 1."""
    config = BASE.format(workers=2).replace('template = "$PROGRAM $MSG\\n"',
                                            'template = "$SEQNUM $MSG\\n"')
    config = config.replace('listen = "tcp://127.0.0.1:0"',
                            'listen = "tcp://127.0.0.1:0"\nprotocol = "rfc5424"')
    with RelayProcess(config, str(tmp_path), expect_addresses=2) as relay:
        conns = [socket.create_connection(relay.address("net")) for _ in range(2)]
        for c, s in enumerate(conns):
            s.sendall(b"".join(b"<13>not five four two four c%d %d\n" % (c, i)
                               for i in range(300)))
        out = str(tmp_path / "out.json")
        wait_for(lambda: len(lines_of(out)) >= 600, 20, "every error message")
        for s in conns:
            s.close()
        assert relay.stop() == 0
    lines = lines_of(out)
    seqnums = [int(line.split()[0]) for line in lines]
    assert seqnums == list(range(1, 601)), seqnums[:20]
    for c in range(2):  # and each connection's messages in order
        mine = [line for line in lines if b" c%d " % c in line]
        assert len(mine) == 300
        assert [int(line.rsplit(b" ", 1)[1].rstrip(b"'\"")) for line in mine] == list(range(300))


class _Lines:
    def __init__(self) -> None:
        self.writes: list[tuple[bytes, int]] = []

    def write(self, data: bytes, lines: int) -> None:
        self.writes.append((bytes(data), lines))


@pytest.mark.asyncio
async def test_small_chunks_are_joined_into_one_write_a_full_one_goes_as_it_came() -> None:
    dest = _Lines()
    joiner = Joiner()
    joiner.write("d", dest, bytearray(b"a\n"), 1)
    joiner.write("d", dest, bytearray(b"b\nc\n"), 2)
    assert dest.writes == []  # held until the end of the loop's turn
    await asyncio.sleep(0)
    assert dest.writes == [(b"a\nb\nc\n", 3)]
    joiner.write("d", dest, bytearray(b"d\n"), 1)
    full = bytearray(b"x\n" * WRITE_LINES)
    joiner.write("d", dest, full, WRITE_LINES)  # what was held goes first, in order
    assert dest.writes[1:] == [(b"d\n", 1), (bytes(full), WRITE_LINES)]
    for _ in range(WRITE_LINES):  # WRITE_LINES small ones make a write at once
        joiner.write("d", dest, bytearray(b"y\n"), 1)
    assert dest.writes[3] == (b"y\n" * WRITE_LINES, WRITE_LINES) and not joiner.held
