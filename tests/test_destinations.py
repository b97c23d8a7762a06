"""Destinations: the shared write queue and its water marks, made without any I/O."""

from __future__ import annotations

from relay.config import BufferedConfig
from relay.destinations.base import BufferedDestination
from relay.destinations.queue import WriteQueue
from relay.flow import FlowControl


def test_counted_bytes_pause_past_high_and_resume_under_half() -> None:
    flow = FlowControl()
    queue = WriteQueue("d", flow, 100)
    queue.add(100)
    assert not flow.paused  # at the mark is not past it
    queue.add(1)
    assert flow.paused and flow.pauses == 1
    queue.remove(51)
    assert flow.paused  # 50: not under half yet
    queue.remove(1)
    assert not flow.paused


def test_held_bytes_are_kept_in_order_up_to_twice_the_bound() -> None:
    flow = FlowControl()
    flow.datagrams = True  # (from a datagram source: a stream's are kept, see below)
    queue = WriteQueue("d", flow, 10)
    assert queue.hold(b"a" * 15) and queue.hold(b"b" * 5)
    assert not queue.hold(b"c")  # 21 > 2 * 10: dropped by the caller, counted there
    queue.check(elsewhere=0)
    assert flow.paused
    assert queue.take() == b"a" * 15 + b"b" * 5 and queue.size == 0
    queue.check(elsewhere=4)
    assert not flow.paused
    queue.check(elsewhere=11)  # a transport's buffer counts too
    assert flow.paused


def test_under_the_bound_any_chunk_is_taken_past_it_only_up_to_twice_the_bound() -> None:
    flow = FlowControl()
    flow.datagrams = True
    queue = WriteQueue("d", flow, 100)
    queue.add(100)
    assert queue.admit(150)  # not past the bound: take it
    queue.add(50)
    assert queue.admit(50) and not queue.admit(51)  # past it: datagrams up to 200


def test_past_twice_the_bound_a_paused_stream_s_last_read_is_kept() -> None:
    """A stream is paused as its queue passes the bound, but the read it was delivering
    is delivered whole: none of it is dropped, however far past the bound."""
    flow = FlowControl()
    queue = WriteQueue("d", flow, 100)
    queue.add(150)
    assert flow.paused
    assert queue.admit(51) and queue.admit(10_000)
    assert queue.hold(b"x" * 500)


def test_when_full_means_drop_the_queue_never_pauses_and_drops_past_the_bound() -> None:
    flow = FlowControl()
    queue = WriteQueue("d", flow, 100, drop=True)
    assert queue.admit(500)  # an empty queue takes a chunk larger than the bound
    queue.add(60)
    assert queue.admit(40) and not queue.admit(41)
    queue.add(40)
    queue.add(500)
    assert not flow.paused


class _Recorder(BufferedDestination[BufferedConfig]):
    """A buffered destination that records each write and what flow.datagrams said."""

    def __init__(self, flow: FlowControl):
        super().__init__(BufferedConfig(name="d", type="file"), bytes, flow)
        self.writes: list[tuple[bytes, int, bool]] = []

    def write(self, data: bytes, lines: int) -> None:
        self.writes.append((data, lines, self.flow.datagrams))


def test_a_flush_writes_each_run_of_lines_as_what_it_came_from() -> None:
    """The queue drops only a datagram source's lines, and a flush may come from a timer,
    after the delivery: each run of lines is written as what delivered it."""
    flow = FlowControl()
    dest = _Recorder(flow)
    take = dest.direct_sink()
    assert take is not None
    take(b"s1\n"), take(b"s2\n")
    dest.end_batch()  # a stream's batch
    flow.datagrams = True
    take(b"d1\n")
    dest.end_batch()  # a datagram source's
    take(b"d2\n")
    dest.end_batch()
    flow.datagrams = False
    take(b"s3\n")  # taken outside any delivery: a stream's
    dest.flush()  # as the timer does
    assert dest.writes == [(b"s1\ns2\n", 2, False), (b"d1\nd2\n", 2, True), (b"s3\n", 1, False)]
    assert not flow.datagrams

    dest.writes.clear()
    take(b"s4\n")
    dest.end_batch()
    flow.datagrams = True  # flushed while a datagram source delivers
    dest.flush()
    assert dest.writes == [(b"s4\n", 1, False)] and flow.datagrams
