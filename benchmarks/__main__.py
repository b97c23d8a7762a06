"""The benchmark harness: the relay, syslog-ng 3.38 and rsyslog 8 side by side on real logs.

    python -m benchmarks [--quick] [--only tcp|tcp8|udp|micro] [--regime live|replay]
                         [--corpus NAME[,NAME...]] [--peers relay,syslog-ng,rsyslog]
                         [--relay-option KEY=VALUE ...] [--repeat N] [--json FILE]
                         [--profile FILE]

It measures the whole data path, from loggen's sockets to JSON lines on disk, for each
daemon in turn (``benchmarks.daemons``), started fresh for every run, on workloads built
from public log corpora (``benchmarks.corpus``) in two stamp regimes:

  - **tcp**: one loggen connection, ``--stream --read-file FILE --dont-parse``;
  - **tcp8**: eight connections at once (``--active-connections=8``); loggen sends the
    whole file on every connection, so the file holds an eighth of the lines;
  - **udp**: ``--dgram`` at fixed offered rates (50k and 100k msg/s) for 10 s;
  - **micro**: ``benchmarks.micro`` (parse, templates, filters in µs per message).

Per run: msg/s end to end (loggen's start to the last line on disk, polling the output's
line count), CPU µs per message of all the daemon's processes and threads (user+sys from
/proc), peak RSS (VmHWM), lines written vs sent, UDP kernel drops and receive buffer, and
for TCP whether the relay's output is the same as syslog-ng's (the same bytes for one
connection; the same lines in any order for eight, whose interleaving is the kernel's),
and loggen's own CPU µs per message sent (it shares the cores with the daemon: a daemon
that needs C µs/msg can reach at most cores / (C + loggen's) messages a second).
One markdown table, with relay/syslog-ng and relay/rsyslog ratio rows; ``--json FILE``
writes every figure.

``--profile FILE`` runs only the relay's one-connection TCP run under py-spy (speedscope)
and prints the hot spots.

Everything listens on 127.0.0.1, every wait has a deadline, and every process started here
is stopped on the way out (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType

from benchmarks import corpus, daemons
from benchmarks.daemons import Daemon
from benchmarks.procs import (
    FeedReader,
    LineCounter,
    backlog_drops,
    cpu_seconds,
    peak_rss_mib,
    receive_buffer,
    stop,
    udp_drops,
)

DEFAULT_LINES = 300_000
QUICK_LINES = 20_000
CONNECTIONS = 8
UDP_LINES = 100_000  # the UDP file is looped (--loop-reading), so it need not be long
STALL_SECONDS = 15.0  # no new line for this long: the run is over, whatever was sent
# loggen starts each connection with 0.9 s worth of messages in its rate bucket and sends
# them at once, so "50k msg/s" opens with a burst of 45k; drops are counted apart there
BURST_SECONDS = 1.0
PEERS = ("relay", "syslog-ng", "rsyslog")


# -- one run -------------------------------------------------------------------------------

@dataclass
class Result:
    workload: str  # tcp, tcp8, udp
    corpus: str
    regime: str
    daemon: str
    offered: int = 0  # UDP: msg/s offered
    sent: int = 0
    written: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    sender_cpu: float = 0.0  # loggen's user+sys CPU seconds (it shares the cores)
    rss_mib: float = 0.0
    rcvbuf: int | None = None
    drops_burst: int = 0  # UDP: kernel drops in loggen's first second (its start burst)
    drops_after: int = 0  # UDP: kernel drops after that
    drops_backlog: int = 0  # UDP: dropped before any socket, machine-wide (procs.backlog_drops)
    sha256: str = ""  # of the output file
    lines_digest: str = ""  # of the output's lines in any order
    same_as_syslog_ng: bool | None = None  # relay only, TCP only
    feed: str = ""  # relay only: its subscribers destination (--feed idle or subscribed)
    feed_lines: int | None = None  # --feed subscribed: the lines its subscriber got
    error: str = ""
    #: with --repeat: msg/s of each of the daemon's runs of this benchmark, in run order
    #: (this Result is the run of the median msg/s)
    rates: list[float] = field(default_factory=list)
    output: str = field(default="", repr=False)  # kept until compared, then removed

    @property
    def bench(self) -> str:
        what = f"udp {self.offered // 1000}k/s" if self.workload == "udp" else self.workload
        return f"{what} {self.corpus} {self.regime}"

    @property
    def rate(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.written * 1e6 if self.written else 0.0

    @property
    def sender_us(self) -> float:
        return self.sender_cpu / self.sent * 1e6 if self.sent else 0.0

    @property
    def pct_written(self) -> float:
        return 100 * self.written / self.sent if self.sent else 0.0

    def figures(self) -> dict[str, object]:
        d = dataclasses.asdict(self)
        del d["output"]
        d.update(bench=self.bench, msg_per_s=self.rate, cpu_us_per_msg=self.cpu_us,
                 loggen_cpu_us_per_msg=self.sender_us, pct_written=self.pct_written)
        return d


def loggen_count(text: str) -> int | None:
    """How many messages loggen says it sent (its last ``count=N``, all connections)."""
    found = re.findall(r"count=(\d+)", text)
    return int(found[-1]) if found else None


def digests(path: str) -> tuple[str, str]:
    """(SHA-256 of the file, an order-free digest of its lines: the sum of their hashes)."""
    whole = hashlib.sha256()
    total = 0
    rest = b""
    with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            whole.update(chunk)
            *lines, rest = (rest + chunk).split(b"\n")
            for line in lines:
                total += int.from_bytes(hashlib.blake2b(line, digest_size=16).digest(), "big")
    if rest:
        total += int.from_bytes(hashlib.blake2b(rest, digest_size=16).digest(), "big")
    return whole.hexdigest(), f"{total % (1 << 128):032x}"


@dataclass
class Run:
    """What every run of a harness invocation shares."""

    root: str
    peers: tuple[str, ...]
    relay_options: dict[str, str]
    rsyslog: daemons.Rsyslog | None
    udp_drain: float
    profile: str | None = None
    feed: str = "none"  # the relay's subscribers destination: none, idle or subscribed
    repeat: int = 1  # rounds of every daemon per benchmark, interleaved (--repeat)

    def start(self, name: str, workdir: str, kind: str) -> Daemon:
        if name == "relay":
            return daemons.start_relay(workdir, kind, self.relay_options,
                                       feed=self.feed != "none")
        if name == "syslog-ng":
            return daemons.start_syslog_ng(workdir, kind)
        assert self.rsyslog is not None
        return daemons.start_rsyslog(workdir, kind, self.rsyslog)


def measure(run: Run, result: Result, kind: str, loggen_args: list[str],
            expected: int | None, *, timeout: float, keep: bool) -> Result:
    """Start a fresh daemon, run loggen at it, wait for the lines on disk, stop everything.

    ``expected`` is how many lines loggen sends when it is known beforehand (TCP with
    --read-file); otherwise (UDP) the run ends when loggen has ended and the output has
    been quiet for ``run.udp_drain`` seconds.  With ``keep`` the output file is moved
    into the run's directory (``result.output``) for comparison.
    """
    # every daemon starts with nothing left for the kernel to write back: the workload file
    # was just written, and the run before left its output; without this the first daemon
    # of each group (the relay) shared the disk and a core with that writeback
    os.sync()
    workdir = tempfile.mkdtemp(prefix=f"{result.daemon}-", dir=run.root)
    loggen: subprocess.Popen[bytes] | None = None
    spy: subprocess.Popen[bytes] | None = None
    daemon: Daemon | None = None
    subscriber: FeedReader | None = None
    loggen_out = os.path.join(workdir, "loggen.out")
    try:
        daemon = run.start(result.daemon, workdir, kind)
        if run.profile:
            spy = subprocess.Popen(
                [py_spy(), "record", "--pid", str(daemon.proc.pid), "--format", "speedscope",
                 "--output", run.profile, "--rate", "250", "--nonblocking"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(workdir, "py-spy.err"), "wb"))  # noqa: SIM115
            time.sleep(1.0)  # py-spy attaches
        if kind == "udp":
            result.rcvbuf = receive_buffer(daemon.port)
        if daemon.feed_port:
            result.feed = run.feed
            if run.feed == "subscribed":
                subscriber = FeedReader(daemon.feed_port)
                time.sleep(0.5)  # (the workers hear of it)
        counter = LineCounter(daemon.output)
        cpu0 = cpu_seconds(daemon.proc.pid)
        with open(loggen_out, "wb") as out:
            # loggen is the only child reaped from here to its wait() below
            children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.monotonic()
            loggen = subprocess.Popen(
                ["loggen", "--inet", *loggen_args, "127.0.0.1", str(daemon.port)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        last_change, last_lines = start, 0
        deadline = start + timeout
        drops0 = udp_drops(daemon.port) if kind == "udp" else 0
        backlog0 = backlog_drops() if kind == "udp" else 0
        drops_1s: int | None = None
        while True:
            now = time.monotonic()
            if kind == "udp" and drops_1s is None and now - start >= BURST_SECONDS:
                drops_1s = udp_drops(daemon.port)
            lines = counter.poll()
            if lines != last_lines:
                last_change, last_lines = now, lines
            if expected is not None and lines >= expected:
                break
            if loggen.poll() is not None:
                quiet = now - max(last_change, start)
                if expected is None and quiet > run.udp_drain:
                    break
                if loggen.returncode != 0 and quiet > run.udp_drain:
                    result.error = f"loggen exited {loggen.returncode}"
                    break
            if now - last_change > STALL_SECONDS:
                result.error = f"no new line for {STALL_SECONDS:.0f} s"
                break
            if now > deadline:
                result.error = f"run cut at {timeout:.0f} s"
                break
            if daemon.proc.poll() is not None:
                result.error = f"{result.daemon} exited {daemon.proc.returncode}"
                break
            time.sleep(0.005)
        result.cpu = cpu_seconds(daemon.proc.pid) - cpu0
        result.rss_mib = peak_rss_mib(daemon.proc.pid)
        result.seconds = last_change - start
        result.written = last_lines
        if kind == "udp":
            drops = udp_drops(daemon.port)
            first = drops if drops_1s is None else drops_1s
            result.drops_burst, result.drops_after = first - drops0, drops - first
            result.drops_backlog = backlog_drops() - backlog0
        with contextlib.suppress(subprocess.TimeoutExpired):
            loggen.wait(30)
        stop(loggen)
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        result.sender_cpu = (children1.ru_utime + children1.ru_stime
                             - children0.ru_utime - children0.ru_stime)
        with open(loggen_out, "rb") as f:
            sent = loggen_count(f.read().decode("utf-8", "replace"))
        result.sent = sent if sent is not None else (expected or 0)
        daemon.stop()
        result.written = counter.poll()  # anything flushed on the way out counts as written
        if subscriber is not None:
            result.feed_lines = subscriber.close()
        if result.error:
            print(f"{result.bench}, {result.daemon}: {result.error}; its stderr ends:\n"
                  f"{daemon.stderr()}", file=sys.stderr)
        elif result.daemon == "relay" and result.written < result.sent:
            # where the lines went, as far as the relay knows: its counters at exit
            said = [line for line in daemon.stderr().splitlines()
                    if " received, " in line or " written, " in line]
            print(f"{result.bench}, relay: {result.sent - result.written} lines short; its "
                  f"counters:\n" + "\n".join(said[-4:]), file=sys.stderr)
        if keep:
            result.sha256, result.lines_digest = digests(daemon.output)
            if os.path.exists(daemon.output):
                result.output = os.path.join(run.root, f"{result.daemon}-{os.getpid()}.json")
                os.replace(daemon.output, result.output)
    except (RuntimeError, TimeoutError, OSError) as e:  # a failed start fails this run only
        result.error = str(e).split("\n", 1)[0]
        print(f"{result.bench}, {result.daemon}: {e}", file=sys.stderr)
    finally:
        if loggen is not None:
            stop(loggen)
        if daemon is not None:
            daemon.stop()
        if subscriber is not None:
            subscriber.close(0)
        if spy is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(30)  # py-spy writes its file when the process it watches exits
            stop(spy)
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def compare(results: list[Result], ordered: bool) -> None:
    """Mark whether the relay wrote what syslog-ng wrote; say where they part if not."""
    named = {r.daemon: r for r in results}
    a, b = named.get("relay"), named.get("syslog-ng")
    if a is None or b is None or a.error or b.error:
        return
    a.same_as_syslog_ng = (a.sha256 == b.sha256) if ordered \
        else (a.lines_digest == b.lines_digest and a.written == b.written)
    if not a.same_as_syslog_ng and a.output and b.output:
        with open(a.output, "rb") as fa, open(b.output, "rb") as fb:
            la, lb = fa.read().split(b"\n"), fb.read().split(b"\n")
        if not ordered:
            la.sort()
            lb.sort()
        for i, (x, y) in enumerate(zip(la, lb, strict=False)):
            if x != y:
                print(f"{a.bench}: relay and syslog-ng differ at line {i + 1}"
                      f"{'' if ordered else ' (sorted)'}:\n  relay:     {x[:400]!r}\n"
                      f"  syslog-ng: {y[:400]!r}", file=sys.stderr)
                break
        else:
            print(f"{a.bench}: relay wrote {len(la) - 1} lines, syslog-ng {len(lb) - 1}",
                  file=sys.stderr)


# -- workloads -----------------------------------------------------------------------------

def tcp_group(run: Run, workload: str, corpus_name: str, regime: str,
              lines: int) -> Iterator[Result]:
    conns = CONNECTIONS if workload == "tcp8" else 1
    per_conn = lines // conns
    # loggen sends the whole file on each connection: every connection sends per_conn lines
    wl = corpus.write(corpus_name, regime, per_conn, run.root)
    timeout = max(60.0, lines / 5000)
    args = ["--stream", "--read-file", wl, "--dont-parse", "--rate", "10000000",
            "--interval", str(int(timeout))]
    if conns > 1:
        args.append(f"--active-connections={conns}")
    rounds: list[list[Result]] = []
    try:
        for _ in range(run.repeat):
            out: list[Result] = []
            rounds.append(out)
            for d in run.peers:
                r = Result(workload, corpus_name, regime, d)
                keep = d in ("relay", "syslog-ng")
                out.append(measure(run, r, "tcp", args, per_conn * conns, timeout=timeout,
                                   keep=keep))
                if run.repeat == 1:
                    yield out[-1]
            compare(out, ordered=conns == 1)
            _remove_outputs(out)
        if run.repeat > 1:
            same = [r.same_as_syslog_ng for out in rounds for r in out
                    if r.daemon == "relay" and r.same_as_syslog_ng is not None]
            for r in median_runs([r for out in rounds for r in out]):
                if r.daemon == "relay" and same:
                    r.same_as_syslog_ng = all(same)  # in every round, not only this one
                yield r
    finally:
        os.unlink(wl)
        for out in rounds:
            _remove_outputs(out)


def _remove_outputs(results: list[Result]) -> None:
    for r in results:
        if r.output:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(r.output)
            r.output = ""


def median_runs(results: list[Result]) -> list[Result]:
    """Per daemon, its run of the median msg/s (the lower middle one of an even count),
    with every run's msg/s in ``rates``; a failed run counts, as the slowest."""
    out = []
    for d in dict.fromkeys(r.daemon for r in results):
        mine = [r for r in results if r.daemon == d]
        rates = [0.0 if r.error else r.rate for r in mine]
        ranked = sorted(range(len(mine)), key=lambda i: rates[i])
        chosen = mine[ranked[(len(mine) - 1) // 2]]
        chosen.rates = rates
        out.append(chosen)
    return out


def udp_group(run: Run, corpus_name: str, regime: str, rate: int, seconds: int,
              lines: int) -> Iterator[Result]:
    wl = corpus.write(corpus_name, regime, min(lines, UDP_LINES), run.root)
    try:
        done: list[Result] = []
        for _ in range(run.repeat):
            for d in run.peers:
                r = Result("udp", corpus_name, regime, d, offered=rate)
                done.append(measure(run, r, "udp",
                                    ["--dgram", "--read-file", wl, "--loop-reading",
                                     "--dont-parse", "--rate", str(rate),
                                     "--interval", str(seconds)],
                                    None, timeout=seconds + 60, keep=False))
                if run.repeat == 1:
                    yield done[-1]
        if run.repeat > 1:
            yield from median_runs(done)
    finally:
        os.unlink(wl)


# -- report --------------------------------------------------------------------------------

def versions(rsyslog: daemons.Rsyslog | None) -> dict[str, str]:
    sng = subprocess.run(["syslog-ng", "--version"], capture_output=True, text=True,
                         check=False).stdout.splitlines()
    out = {"python": platform.python_version(), "syslog-ng": sng[0] if sng else "?"}
    if rsyslog is not None:
        out["rsyslog"] = rsyslog.version()
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/sys/net/core/rmem_max") as f:
        rmem_max = int(f.read())
    return (f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, "
            f"net.core.rmem_max={rmem_max}")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "-"


def ratios(results: list[Result]) -> list[dict[str, object]]:
    """relay/PEER for msg/s, CPU µs/msg, peak RSS and % written, per benchmark."""
    by_bench: dict[str, dict[str, Result]] = {}
    for r in results:
        by_bench.setdefault(r.bench, {})[r.daemon] = r
    out: list[dict[str, object]] = []
    for bench, named in by_bench.items():
        a = named.get("relay")
        for peer in ("syslog-ng", "rsyslog"):
            b = named.get(peer)
            if a is None or b is None or a.error or b.error:
                continue
            out.append({"bench": bench, "vs": peer,
                        "pct_written": a.pct_written / b.pct_written if b.pct_written else None,
                        "msg_per_s": a.rate / b.rate if b.rate else None,
                        "cpu_us_per_msg": a.cpu_us / b.cpu_us if b.cpu_us else None,
                        "rss_mib": a.rss_mib / b.rss_mib if b.rss_mib else None})
    return out


def print_table(results: list[Result]) -> None:
    print("| benchmark | daemon | sent | written | % written | msg/s | CPU µs/msg "
          "| peak RSS MiB | same as syslog-ng | UDP drops 1st s / after / backlog | rcvbuf KiB "
          "| loggen CPU µs/msg |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    rows = ratios(results)
    benches = list(dict.fromkeys(r.bench for r in results))
    for bench in benches:
        for r in (x for x in results if x.bench == bench):
            same = {None: "-", True: "yes", False: "**no**"}[r.same_as_syslog_ng]
            udp = (f"{r.drops_burst} / {r.drops_after} / {r.drops_backlog}",
                   f"{r.rcvbuf // 1024}"
                   if r.rcvbuf else "?") if r.workload == "udp" else ("", "")
            err = f" ({r.error})" if r.error else ""
            if r.feed:
                err += (" + feed, nobody subscribed" if r.feed_lines is None else
                        f" + feed, 1 subscriber got {r.feed_lines}")
            print(f"| {bench} | {r.daemon}{err} | {r.sent} | {r.written} | "
                  f"{r.pct_written:.2f} | {r.rate:,.0f} | {r.cpu_us:.2f} | {r.rss_mib:.1f} | "
                  f"{same} | {udp[0]} | {udp[1]} | {r.sender_us:.2f} |")
        for row in (x for x in rows if x["bench"] == bench):
            def f(key: str, row: dict[str, object] = row) -> str:
                v = row[key]
                return f"{v:.2f}×" if isinstance(v, float) else "-"
            print(f"| {bench} | **relay/{row['vs']}** | | | {f('pct_written')} | "
                  f"{f('msg_per_s')} | {f('cpu_us_per_msg')} | {f('rss_mib')} | | | | |")


# -- profile -------------------------------------------------------------------------------

def py_spy() -> str:
    local = os.path.join(os.path.dirname(sys.executable), "py-spy")
    found = local if os.path.exists(local) else shutil.which("py-spy")
    if not found:
        raise RuntimeError("py-spy is not installed (.venv/bin/pip install py-spy)")
    return found


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "/lib/python3" else tail
    return os.path.relpath(path) if path.startswith(os.getcwd()) else path


def hot_spots(profile: str, by_line: bool = False,
              top: int = 20) -> list[tuple[str, float, float]]:
    """[(function or line, % self samples, % total samples)] from a py-spy speedscope file,
    most self samples first."""
    with open(profile) as f:
        data = json.load(f)
    labels = []
    for fr in data["shared"]["frames"]:
        where = _short(fr.get("file", "?"))
        labels.append(f"{fr['name']} ({where}:{fr.get('line', '?')})" if by_line
                      else f"{fr['name']} ({where})")
    self_w: dict[str, float] = {}
    total_w: dict[str, float] = {}
    grand = 0.0
    for prof in data["profiles"]:
        for stack, weight in zip(prof["samples"], prof["weights"], strict=True):
            grand += weight
            if stack:
                leaf = labels[stack[-1]]
                self_w[leaf] = self_w.get(leaf, 0.0) + weight
            for name in {labels[i] for i in stack}:
                total_w[name] = total_w.get(name, 0.0) + weight
    ranked = sorted(self_w, key=self_w.__getitem__, reverse=True)[:top]
    return [(name, 100 * self_w[name] / grand, 100 * total_w[name] / grand) for name in ranked]


def print_hot_spots(profile: str) -> None:
    for by_line in (False, True):
        what = "lines" if by_line else "functions"
        print(f"\n## py-spy hot spots by {what} ({profile}; % of samples)\n")
        print(f"| {what[:-1]} | self % | total % |")
        print("| --- | ---: | ---: |")
        for name, self_pct, total_pct in hot_spots(profile, by_line):
            print(f"| {name} | {self_pct:.1f} | {total_pct:.1f} |")


# -- main ----------------------------------------------------------------------------------

def _relay_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key, value


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # so that every finally stops what it started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks",
                                 description="relay vs syslog-ng vs rsyslog on real log "
                                             "corpora: TCP, 8 TCP connections, UDP, micro.")
    ap.add_argument("--quick", action="store_true",
                    help=f"a fast sanity run: {QUICK_LINES:,} lines, one corpus, 1 s of UDP "
                         "at 50k msg/s")
    ap.add_argument("--only", choices=["tcp", "tcp8", "udp", "micro"], help="one workload")
    ap.add_argument("--regime", choices=corpus.REGIMES, help="one stamp regime (default both)")
    ap.add_argument("--corpus", help="corpora, comma-separated, or 'all' (default: every "
                                     "loghub corpus in place; --quick: the first)")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help="daemons to run, comma-separated (default %(default)s)")
    ap.add_argument("--lines", type=int,
                    help=f"TCP lines per run (default {DEFAULT_LINES:,}, --quick {QUICK_LINES:,})")
    ap.add_argument("--udp-rates", help="offered UDP rates in msg/s, comma-separated "
                                        "(default 50000,100000; --quick 50000)")
    ap.add_argument("--udp-seconds", type=int, help="seconds per UDP run (default 10, --quick 1)")
    ap.add_argument("--relay-option", action="append", type=_relay_option, default=[],
                    metavar="KEY=VALUE",
                    help="an [options] entry for the relay's config, e.g. workers=2 "
                         "(repeatable; VALUE as TOML, else as a string)")
    ap.add_argument("--feed", choices=["none", "idle", "subscribed"], default="none",
                    help="give the relay a subscribers destination too, as the shipped "
                         "config has: nobody subscribed (idle), or one subscriber reading "
                         "every line (default none)")
    ap.add_argument("--data-dir", help="where the corpus files are (default benchmarks/data)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run every daemon N times per benchmark, in interleaved rounds, "
                         "and keep each daemon's run of the median msg/s (default 1)")
    ap.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    ap.add_argument("--profile", metavar="FILE",
                    help="only profile the relay's one-connection TCP run with py-spy into "
                         "FILE (speedscope) and print the hot spots")
    args = ap.parse_args(argv)

    lines = args.lines or (QUICK_LINES if args.quick else DEFAULT_LINES)
    rates = [int(x) for x in args.udp_rates.split(",")] if args.udp_rates else \
        ([50_000] if args.quick else [50_000, 100_000])
    seconds = args.udp_seconds or (1 if args.quick else 10)
    regimes = [args.regime] if args.regime else list(corpus.REGIMES)
    workloads = [args.only] if args.only else ["tcp", "tcp8", "udp", "micro"]
    peers = tuple(p for p in args.peers.split(",") if p)
    if bad := [p for p in peers if p not in PEERS]:
        ap.error(f"unknown peer {', '.join(bad)}; choose from {', '.join(PEERS)}")
    if args.profile:  # one run, or each would overwrite the profile of the one before
        workloads, peers, regimes = ["tcp"], ("relay",), regimes[:1]
    if args.data_dir:
        os.environ["RELAY_BENCH_DATA"] = args.data_dir
    present = corpus.available()
    wanted = None if args.corpus in (None, "all") else args.corpus.split(",")
    if "fail2ban" not in present and (wanted is None or "fail2ban" in wanted):
        try:  # the one real corpus a fresh clone can have by itself
            print(f"corpus fail2ban: written to {corpus.import_fail2ban(corpus.data_directory())}",
                  file=sys.stderr)
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            print(f"corpus fail2ban: not available: {exc}", file=sys.stderr)
        present = corpus.available()
    if args.corpus in (None, "all"):
        names = [c for c in present if c != "synthetic"] if args.corpus is None else present
        if set(names) <= {"fail2ban"}:
            print("no loghub corpus in place (benchmarks/data/README.md says how)"
                  + ("" if names else "; running the synthetic corpus only"), file=sys.stderr)
        names = names or ["synthetic"]
        if args.quick or args.profile:
            names = names[:1]
    else:
        names = args.corpus.split(",")
        if missing := [c for c in names if c not in present]:
            known = ", ".join(corpus.CORPORA)
            print(f"corpus {', '.join(missing)} is not in place or unknown (known: {known}; "
                  "see benchmarks/data/README.md)", file=sys.stderr)
            return 2

    daemon_runs = [w for w in workloads if w != "micro"]
    rsyslog = None
    if daemon_runs:
        for tool in ("syslog-ng", "loggen", "ss"):
            if not shutil.which(tool):
                print(f"{tool} is not installed (apt-get install syslog-ng-core iproute2)",
                      file=sys.stderr)
                return 2
        if "rsyslog" in peers:
            try:
                rsyslog = daemons.find_rsyslog()
            except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                print(f"cannot run rsyslog: {e}\n(or leave it out: --peers relay,syslog-ng)",
                      file=sys.stderr)
                return 2
        if args.profile:
            try:
                py_spy()
            except RuntimeError as e:
                print(e, file=sys.stderr)
                return 2

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    vers = versions(rsyslog)
    print(f"# relay vs {', '.join(p for p in peers if p != 'relay') or 'nothing'}: "
          f"{machine()}; {', '.join(f'{k} {v}' for k, v in vers.items())}\n")
    if args.relay_option:
        print("relay options: " + ", ".join(f"{k} = {v}" for k, v in args.relay_option) + "\n")
    root = tempfile.mkdtemp(prefix="relay-bench-")
    run = Run(root, peers, dict(args.relay_option), rsyslog,
              udp_drain=1.0 if args.quick else 2.0,
              profile=os.path.abspath(args.profile) if args.profile else None,
              feed=args.feed, repeat=max(1, args.repeat))
    results: list[Result] = []
    micro_results: list[tuple[str, float]] = []
    groups: list[Callable[[], Iterator[Result]]] = []
    for w in daemon_runs:
        for name in names:
            for regime in regimes:
                if w in ("tcp", "tcp8"):
                    groups.append(functools.partial(tcp_group, run, w, name, regime, lines))
                else:
                    groups.extend(functools.partial(udp_group, run, name, regime, rate,
                                                    seconds, lines) for rate in rates)
    try:
        for group in groups:
            for r in group():
                results.append(r)
                print(f"  {r.bench}, {r.daemon}: {r.written}/{r.sent} lines, {r.rate:,.0f} msg/s"
                      + (f" (median of {', '.join(f'{x:,.0f}' for x in r.rates)})"
                         if len(r.rates) > 1 else "")
                      + (f" ({r.error})" if r.error else "")
                      + (f"; {r.drops_backlog} packets dropped before any socket"
                         if r.drops_backlog else ""), file=sys.stderr, flush=True)
        if results:
            print(f"TCP: {lines:,} lines per run ({CONNECTIONS} connections: "
                  f"{lines // CONNECTIONS:,} each); UDP: {seconds} s per rate, "
                  f"{daemons.RCVBUF >> 20} MiB receive buffers asked for\n")
            print_table(results)
            print()
        if args.profile:
            print_hot_spots(run.profile or "")
        elif "micro" in workloads:
            from benchmarks import micro  # the relay's internals: only when asked for

            micro_results = micro.run(args.quick)
            micro.print_table(micro_results)
    except KeyboardInterrupt:
        print("interrupted; every process started here has been stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"machine": machine(), "versions": vers,
                           "settings": {"lines": lines, "connections": CONNECTIONS,
                                        "udp_rates": rates, "udp_seconds": seconds,
                                        "corpora": names, "regimes": regimes,
                                        "peers": list(peers),
                                        "relay_options": dict(args.relay_option)},
                           "results": [r.figures() for r in results],
                           "ratios": ratios(results),
                           "micro": [{"case": c, "us_per_msg": us} for c, us in micro_results]},
                          f, indent=1)
    return 1 if any(r.error or r.same_as_syslog_ng is False for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
