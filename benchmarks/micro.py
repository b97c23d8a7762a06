"""Micro-benchmarks of the hot path, in µs per message, with no sockets and no event loop.

They time the middle of the data path (parse -> templates) in-process:
  - parse alone and parse + the seed template, per protocol: rfc3164 (network()), auto
    (syslog()) on RFC 3164 lines, rfc5424, and json (format-json lines read back), and
    rfc3164 on loggen's own lines (ISO stamps);
  - template rendering alone: the seed template and a plain-macro template;
  - parse + the seed template on each real corpus in place (``benchmarks.corpus``), in
    both stamp regimes, through the message and the direct way (``Parser.direct_many``),
    60,000 lines (30 copies of the corpus, so that in ``replay`` no stamp comes back
    within a repeat), with the receive clock moving one second per 3,000 lines as it
    does at that rate in service; and in the live regime the same lines as a busy
    connection's reads (256,000 bytes at a time) go through framing, the benchmark's
    source and the joining of a file destination's writes (``stream reads``);
  - filters, through the colleague's ``benchmarks/bench_filters.py``.

The frames are the workload's lines (``benchmarks.workload``), turned into RFC 5424 and
JSON with the same fields, so that all protocols carry the same messages.  Each figure is
the best of a few repeats, since the machine is shared.

    .venv/bin/python -m benchmarks.micro [--quick]
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import time
from collections.abc import Callable, Sequence
from itertools import repeat

from benchmarks import bench_filters, corpus
from benchmarks.daemons import relay_config
from benchmarks.workload import generate
from relay import heap
from relay.assemble import assemble
from relay.config import loads
from relay.destinations.base import BufferedDestination
from relay.framing import StreamFramer
from relay.message import LogMessage
from relay.parse import Parser, Peer
from relay.parse.shape import Many
from relay.sources.base import SLICE
from relay.sources.datagrams import Recvfrom, Recvmmsg
from relay.sources.udp import set_rcvbuf
from relay.template import compile_template

SEED_TEMPLATE = r"$(format-json --scope selected_macros --scope nv_pairs)\n"
PLAIN_TEMPLATE = r"$ISODATE $HOST $MSGHDR$MSG\n"
PEER = Peer("127.0.0.1", "127.0.0.1", 17)
READ = 256_000  # bytes uvloop reads from a stream at once (its receive buffer)
STREAMS = 4  # connections a worker serves at once when eight connections share two

# <PRI>Mmm dd hh:mm:ss HOST PROGRAM[PID]: MESSAGE
_RFC3164 = re.compile(rb"<(\d+)>(\w{3}) +(\d+) (\S+) (\S+) ([^\[: ]+)(?:\[(\d+)\])?: (.*)")
_MONTHS = {m: i + 1 for i, m in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
     b"Dec"))}


def rfc5424_frames(lines: Sequence[bytes]) -> list[bytes]:
    """The same messages as RFC 5424, with a structured-data element on every other one."""
    out = []
    for i, line in enumerate(lines):
        m = _RFC3164.match(line.rstrip(b"\n"))
        if m is None:
            continue
        pri, mon, day, hms, host, prog, pid, msg = m.groups()
        stamp = b"2024-%02d-%02dT%s.%06d+00:00" % (_MONTHS[mon], int(day), hms, i % 1000000)
        sd = b'[origin@32473 ip="192.0.2.1" software="relay-bench"]' if i % 2 else b"-"
        out.append(b"<%s>1 %s %s %s %s - %s %s" % (pri, stamp, host, prog, pid or b"-", sd, msg))
    return out


def loggen_frames(count: int) -> list[bytes]:
    """Lines as ``loggen --size 200`` writes them: RFC 3164 with an ISO stamp, no zone."""
    out = []
    for i in range(count):
        stamp = b"2024-01-06T06:25:%02d" % (i // 1000 % 60)
        line = (b"<38>%s localhost prg00000[1234]: seq: %010d, thread: 0000, runid: 1795242009, "
                b"stamp: %s " % (stamp, i, stamp))
        out.append(line + b"PADD" * ((200 - len(line)) // 4))
    return out


def json_frames(lines: Sequence[bytes]) -> list[bytes]:
    """The same messages as the seed template writes them (what a json source reads)."""
    parser = Parser("rfc3164", "s_net")
    tpl = compile_template(SEED_TEMPLATE)
    now = time.time_ns()
    return [tpl.render(parser.parse(line, PEER, now)).rstrip(b"\n") for line in lines]


def _best_of(fn: Callable[[], int], repeats: int) -> float:
    """Best µs per message over ``repeats`` runs of ``fn`` (which returns its message count)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        n = fn()
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def run(quick: bool = False) -> list[tuple[str, float]]:
    """[(case, µs per message)]."""
    heap.keep_freed_memory()  # as the relay's processes do (relay.heap)
    count = 2_000 if quick else 20_000
    repeats = 3 if quick else 5
    lines = generate(count)
    frames = {
        "rfc3164": [line.rstrip(b"\n") for line in lines],
        "rfc5424": rfc5424_frames(lines),
        "json": json_frames(lines),
        "loggen": loggen_frames(count),
    }
    seed = compile_template(SEED_TEMPLATE)
    plain = compile_template(PLAIN_TEMPLATE)
    results: list[tuple[str, float]] = []

    for label, protocol, kind in (("rfc3164", "rfc3164", "rfc3164"),
                                  ("auto, RFC 3164 lines", "auto", "rfc3164"),
                                  ("rfc3164, loggen lines", "rfc3164", "loggen"),
                                  ("rfc5424", "rfc5424", "rfc5424"),
                                  ("auto, RFC 5424 lines", "auto", "rfc5424"),
                                  ("json", "json", "json")):
        parse = Parser(protocol, "s_net").parse
        batch = frames[kind]

        def parse_only(parse: Callable[..., LogMessage] = parse,
                       batch: list[bytes] = batch) -> int:
            now = time.time_ns()
            for f in batch:
                parse(f, PEER, now)
            return len(batch)

        def parse_format(parse: Callable[..., LogMessage] = parse,
                         batch: list[bytes] = batch) -> int:
            now = time.time_ns()
            render = seed.render
            for f in batch:
                render(parse(f, PEER, now))
            return len(batch)

        results.append((f"parse {label}", _best_of(parse_only, repeats)))
        results.append((f"parse {label} + seed template", _best_of(parse_format, repeats)))
        many = Parser(protocol, "s_net").direct_many(seed.direct)
        if many is not None and kind in ("rfc3164", "rfc5424"):
            def direct_format(many: Many = many, parse: Callable[..., LogMessage] = parse,
                              batch: list[bytes] = batch) -> int:
                now = time.time_ns()
                return _direct_slices(many, batch, lambda i: now, seed.render, parse)

            results.append((f"direct {label} + seed template",
                            _best_of(direct_format, repeats)))

    parser = Parser("rfc3164", "s_net")
    now = time.time_ns()
    msgs = [parser.parse(f, PEER, now) for f in frames["rfc3164"]]
    for label, tpl in (("seed template", seed), (f"plain template (`{PLAIN_TEMPLATE}`)", plain)):
        def render_only(render: Callable[[LogMessage], bytes] = tpl.render) -> int:
            for m in msgs:
                render(m)
            return len(msgs)

        results.append((f"render {label}", _best_of(render_only, repeats)))
    results.extend(run_corpora(quick))
    return results


def run_corpora(quick: bool = False, names: Sequence[str] | None = None) -> list[tuple[str, float]]:
    """Parse + the seed template, per corpus in place and stamp regime: through the
    message, and the direct way (``Parser.direct_many``, what a source whose one destination
    takes lines does; a line it leaves takes the message path, as in the relay)."""
    heap.keep_freed_memory()
    count = 6_000 if quick else 60_000
    repeats = 3 if quick else 5
    seed = compile_template(SEED_TEMPLATE)
    parser = Parser("rfc3164", "s_net")
    parse = parser.parse
    many = parser.direct_many(seed.direct)
    assert many is not None
    results: list[tuple[str, float]] = []
    start = time.time_ns()
    for name in names or [n for n in corpus.available() if n != "synthetic"]:
        for regime in corpus.REGIMES:
            batch = [line.rstrip(b"\n") for line in corpus.lines(name, regime, count)]

            def parse_format(batch: list[bytes] = batch) -> int:
                render = seed.render
                for i, f in enumerate(batch):
                    render(parse(f, PEER, start + (i // 3000) * 1_000_000_000))
                return len(batch)

            def direct_format(batch: list[bytes] = batch) -> int:
                return _direct_slices(many, batch,
                                      lambda i: start + (i // 3000) * 1_000_000_000,
                                      seed.render, parse)

            results.append((f"parse + seed template, {name} {regime}",
                            _best_of(parse_format, repeats)))
            results.append((f"direct seed template, {name} {regime}",
                            _best_of(direct_format, repeats)))
            if regime == "live":
                results.append((f"stream reads, {name} live",
                                _best_of(stream_reads(batch), repeats)))
            # a worker of eight connections: four at once, whose stamps differ in replay
            results.append((f"stream reads, 4 connections, {name} {regime}",
                            _best_of(stream_reads(batch, streams=STREAMS), repeats)))
            if regime == "live":
                for kind in (Recvmmsg, Recvfrom):
                    results.append((f"datagram reads ({kind.__name__.lower()}), {name} live",
                                    _best_of_timed(datagram_reads(batch, kind), repeats)))
    return results


def _direct_slices(many: Many, batch: list[bytes], clock: Callable[[int], int],
                   render: Callable[[LogMessage], bytes],
                   parse: Callable[..., LogMessage]) -> int:
    """BATCH the direct way, SLICE lines at a time as a source takes them (the receive
    time of the I-th line is CLOCK(I)); a line it leaves is parsed and rendered."""
    lines: list[bytes] = []

    def other(frame: bytes, peer: Peer) -> None:
        lines.append(render(parse(frame, peer, now)))

    def failed(peer: Peer) -> None:
        raise  # noqa: PLE0704 (nothing fails here; if it did, the benchmark must say so)

    for at in range(0, len(batch), SLICE):
        now = clock(at)
        many(batch[at:at + SLICE], repeat(PEER), now, lines.append, other, failed)
        lines.clear()
    return len(batch)


def stream_reads(batch: list[bytes], read: int = READ, streams: int = 1) -> Callable[[], int]:
    """What a worker does with one connection's bytes, without the sockets: READ bytes at a
    time (what the event loop reads at once from a busy connection) framed, delivered to
    the benchmark's source (``benchmarks.daemons.relay_config``: parsed, routed, rendered
    with the seed template) and joined into a file destination's writes, which are
    counted rather than written.  With STREAMS connections, each sends the whole batch
    from its own place in it, and their reads are delivered in turn, as one worker of
    eight connections takes them."""
    path = assemble(loads(relay_config("tcp", 514, "/dev/null")))
    runtime, dest = path.sources["s_net"], path.destinations["d_json"]
    assert isinstance(dest, BufferedDestination) and runtime.direct is not None
    written = [0]

    def write(data: bytes, lines: int) -> None:
        written[0] += lines

    dest.write = write  # type: ignore[method-assign]
    reads = []
    for n in range(streams):
        at = n * len(batch) // streams
        data = b"\n".join(batch[at:] + batch[:at]) + b"\n"
        reads.append([data[i:i + read] for i in range(0, len(data), read)])
    turns = [(n, reads[n][step]) for step in range(len(reads[0])) for n in range(streams)]
    peer = repeat(Peer("127.0.0.1", "127.0.0.1", 6, "127.0.0.1", 514))

    def run() -> int:
        framers = [StreamFramer() for _ in range(streams)]
        written[0] = 0
        for n, chunk in turns:
            runtime.deliver(framers[n].feed(chunk), peer)
        dest.flush()
        if written[0] != len(batch) * streams:  # (a line lost or doubled: no figure)
            raise RuntimeError(f"{written[0]} lines written of {len(batch) * streams}")
        return written[0]

    return run


DATAGRAMS = 8_000  # a run's datagrams, queued on a socket first (its buffer holds them)


def datagram_reads(batch: list[bytes], kind: type[Recvmmsg] | type[Recvfrom]
                   ) -> Callable[[], tuple[int, float]]:
    """What the UDP source does with a busy socket, on loopback but without the event
    loop: the socket is filled with DATAGRAMS lines of BATCH (untimed), then read empty
    BATCH datagrams a read by KIND, each read's senders made peers and delivered to the
    benchmark's source and joined into a file destination's writes, which are counted."""
    path = assemble(loads(relay_config("udp", 514, "/dev/null")))
    runtime, dest = path.sources["s_net"], path.destinations["d_json"]
    assert isinstance(dest, BufferedDestination)
    written = [0]

    def write(data: bytes, lines: int) -> None:
        written[0] += lines

    dest.write = write  # type: ignore[method-assign]
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    set_rcvbuf(rx, 64 << 20)
    rx.bind(("127.0.0.1", 0))
    rx.setblocking(False)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    to = rx.getsockname()
    lines = (batch * (DATAGRAMS // len(batch) + 1))[:DATAGRAMS]
    reader = kind(rx, runtime.max_msg_size)
    peers: dict[object, Peer] = {}

    def run() -> tuple[int, float]:
        for at in range(0, len(lines), 500):
            for line in lines[at:at + 500]:
                tx.sendto(line, to)
            time.sleep(0.002)  # loopback queues them on a backlog that holds 1,000
        time.sleep(0.05)
        written[0] = 0
        start = time.perf_counter()
        while True:
            frames, senders = reader.read()
            if not frames:
                break
            runtime.deliver(frames, [peers.get(s) or peers.setdefault(s, Peer(
                reader.host(s), reader.host(s), 17, "127.0.0.1", 514)) for s in senders])
        dest.flush()
        seconds = time.perf_counter() - start
        assert written[0] == DATAGRAMS, f"{written[0]} of {DATAGRAMS} datagrams"
        return written[0], seconds

    return run


def _best_of_timed(fn: Callable[[], tuple[int, float]], repeats: int) -> float:
    """Best µs per message over ``repeats`` runs of ``fn``, which times itself."""
    return min(seconds / n * 1e6 for n, seconds in (fn() for _ in range(repeats)))


def print_table(results: list[tuple[str, float]]) -> None:
    print("\n## Micro-benchmarks (µs per message, best of repeats)\n")
    print("| case | µs/msg |")
    print("| --- | ---: |")
    for case, us in results:
        print(f"| {case} | {us:.2f} |")
    print()
    bench_filters.main()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Parse and template micro-benchmarks.")
    ap.add_argument("--quick", action="store_true", help="fewer messages and repeats")
    args = ap.parse_args(argv)
    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
