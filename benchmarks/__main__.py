"""The benchmark harness: the relay and syslog-ng 3.38 side by side, on the same workload.

    python -m benchmarks [--quick] [--only tcp|udp|micro] [--profile FILE]

It measures the whole data path, from loggen's socket to format-json lines on disk, for
the relay and for a private syslog-ng configured the same way (network() source, RFC 3164,
``keep-hostname(yes) chain-hostnames(no) use-dns(no) use-fqdn(no)``, a file destination
with the seed template, ``flags(flow-control)``), one daemon at a time, in the same run:

  - **tcp**: one loggen connection, first with ``--read-file`` over the workload
    (``benchmarks.workload``: real-world-shaped RFC 3164 lines), then with loggen's own
    200-byte lines.  msg/s is end to end: from starting loggen to the last line on disk
    (the harness polls the output file's line count).
  - **udp**: loggen ``--dgram`` over the workload at fixed offered rates, both daemons with
    8 MiB receive buffers; the figure is the share of sent lines written.
  - **micro**: ``benchmarks.micro`` (parse, templates, filters in µs per message).

Per run: msg/s, CPU µs per message of the daemon's processes (user+sys from
/proc/PID/stat, before and after, over the lines written), peak RSS (VmHWM) and lines
written vs sent.  Each daemon is started fresh for each run, so its peak RSS is that run's.
For the workload runs the two output files are also compared byte for byte.

``--profile FILE`` runs only the relay's TCP workload run under py-spy (speedscope format)
and prints the functions with the most samples.

Everything listens on 127.0.0.1, every wait has a deadline, and every process started here
is stopped on the way out (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from benchmarks import micro, workload

SEED_TEMPLATE = "$(format-json --scope selected_macros --scope nv_pairs)\\n"
RCVBUF = 8 * 1024 * 1024
TICK = os.sysconf("SC_CLK_TCK")
STALL_SECONDS = 15.0  # no new line for this long: the run is over, whatever was sent
UDP_DRAIN_SECONDS = 2.0  # after loggen ends, no new line for this long: UDP run is over
# loggen starts each connection with 0.9 s worth of messages in its rate bucket and sends
# them at once, so "50k msg/s" opens with a burst of 45k; drops are counted apart there
BURST_SECONDS = 1.0


# -- processes ---------------------------------------------------------------------------------

def wait_for(cond: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (worker processes count towards the daemon)."""
    tree, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(tree.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    """user+sys CPU seconds of ``pid`` and its descendants, all threads included."""
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def peak_rss_mib(pid: int) -> float:
    """VmHWM of ``pid`` plus its descendants, in MiB."""
    kib = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    kib += int(line.split()[1])
    return kib / 1024


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def bound(port: int, kind: str) -> bool:
    """Whether something listens on 127.0.0.1:port (kind "tcp" or "udp")."""
    want = f"0100007F:{port:04X}"
    with open(f"/proc/net/{kind}") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[1] == want and (kind == "udp" or cols[3] == "0A"):
                return True
    return False


def udp_drops(port: int) -> int:
    """Datagrams the kernel dropped on 127.0.0.1:port (receive buffer full), all sockets."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        return sum(int(cols[-1]) for line in f.readlines()[1:]
                   if (cols := line.split())[1] == want)


def free_port(kind: str) -> int:
    with socket.socket(socket.AF_INET,
                       socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def receive_buffer(port: int) -> int | None:
    """The kernel's receive buffer (skmem rb) of the UDP socket on ``port``, in bytes."""
    out = subprocess.run(["ss", "-Hulmn", f"sport = :{port}"], capture_output=True,
                         text=True, check=False).stdout
    m = re.search(r"rb(\d+)", out)
    return int(m.group(1)) if m else None


# -- daemons -------------------------------------------------------------------------------------

@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    output: str
    workdir: str

    def stop(self) -> None:
        stop(self.proc)

    def stderr(self) -> str:
        path = os.path.join(self.workdir, "stderr")
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-2000:]


def start_relay(workdir: str, kind: str) -> Daemon:
    output = os.path.join(workdir, "out.json")
    conf = os.path.join(workdir, "relay.toml")
    with open(conf, "w") as f:
        f.write(f"""\
[options]
keep_hostname = true
use_dns = false

[[source]]
name = "s_net"
listen = "{kind}://127.0.0.1:0"
protocol = "rfc3164"
so_rcvbuf = "8MiB"

[[destination]]
name = "d_json"
type = "file"
path = "{output}"
template = "{SEED_TEMPLATE}"

[[log]]
source = ["s_net"]
destination = ["d_json"]
""")
    stderr_path = os.path.join(workdir, "stderr")
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "relay", "--config", conf], cwd=workdir,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    listening = re.compile(rf"relay: listening on {kind}://127\.0\.0\.1:(\d+) \(s_net\)")
    found: list[int] = []

    def listening_port() -> bool:
        with open(stderr_path, "rb") as f:
            m = listening.search(f.read().decode("utf-8", "replace"))
        if m:
            found.append(int(m.group(1)))
        return bool(m) or proc.poll() is not None

    daemon = Daemon("relay", proc, 0, output, workdir)
    try:
        wait_for(listening_port, 20, "the relay to listen")
        if not found:
            raise RuntimeError("the relay did not start:\n" + daemon.stderr())
    except BaseException:
        daemon.stop()
        raise
    daemon.port = found[0]
    return daemon


def start_syslog_ng(workdir: str, kind: str) -> Daemon:
    output = os.path.join(workdir, "out.json")
    conf = os.path.join(workdir, "syslog-ng.conf")
    port = free_port(kind)
    with open(conf, "w") as f:
        f.write(f"""\
@version: 3.38
options {{ keep-hostname(yes); chain-hostnames(no); use-dns(no); use-fqdn(no);
          dns-cache(no); stats-freq(0); mark-freq(0); log-msg-size(65536); }};
source s_net {{ network(transport("{kind}") ip("127.0.0.1") port({port})
                        so-rcvbuf({RCVBUF})); }};
destination d_json {{ file("{output}" template("{SEED_TEMPLATE}")); }};
log {{ source(s_net); destination(d_json); flags(flow-control); }};
""")
    ctl = os.path.join(workdir, "ctl")
    with open(os.path.join(workdir, "stderr"), "wb") as err:
        proc = subprocess.Popen(
            ["syslog-ng", "-F", "-f", conf, "-R", os.path.join(workdir, "persist"),
             "-p", os.path.join(workdir, "pid"), "-c", ctl],
            env=dict(os.environ), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=err)
    daemon = Daemon("syslog-ng", proc, port, output, workdir)
    try:
        wait_for(lambda: (os.path.exists(ctl) and bound(port, kind)) or proc.poll() is not None,
                 20, "syslog-ng to listen")
        if proc.poll() is not None:
            raise RuntimeError("syslog-ng did not start:\n" + daemon.stderr())
    except BaseException:
        daemon.stop()
        raise
    return daemon


STARTERS: dict[str, Callable[[str, str], Daemon]] = {
    "relay": start_relay, "syslog-ng": start_syslog_ng}


# -- one run -------------------------------------------------------------------------------------

class LineCounter:
    """Counts the lines of a growing file, reading only what is new, and hashes its bytes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines = 0
        self.digest = hashlib.sha256()
        self._pos = 0

    def poll(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._pos)
                while chunk := f.read(1 << 20):
                    self._pos += len(chunk)
                    self.lines += chunk.count(b"\n")
                    self.digest.update(chunk)
        except FileNotFoundError:
            pass
        return self.lines


@dataclass
class Result:
    bench: str
    daemon: str
    sent: int = 0
    written: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    rss_mib: float = 0.0
    rcvbuf: int | None = None
    drops_burst: int = 0  # UDP: kernel drops in loggen's first second (its start burst)
    drops_after: int = 0  # UDP: kernel drops after that
    digest: str = ""
    error: str = ""

    @property
    def rate(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.written * 1e6 if self.written else 0.0


def loggen_count(text: str) -> int | None:
    """How many messages loggen says it sent (its last ``count=N``)."""
    found = re.findall(r"count=(\d+)", text)
    return int(found[-1]) if found else None


def measure(bench: str, daemon_name: str, kind: str, loggen_args: list[str], expected: int | None,
            root: str, *, timeout: float, profile: str | None = None) -> Result:
    """Start a fresh daemon, run loggen at it, wait for the lines on disk, stop everything.

    ``expected`` is how many lines loggen sends when it is known beforehand (TCP with
    --read-file or --number); otherwise (UDP) the run ends when loggen has ended and the
    output has been quiet for UDP_DRAIN_SECONDS.
    """
    result = Result(bench, daemon_name)
    workdir = tempfile.mkdtemp(prefix=f"{daemon_name}-", dir=root)
    daemon = STARTERS[daemon_name](workdir, kind)
    loggen: subprocess.Popen[bytes] | None = None
    spy: subprocess.Popen[bytes] | None = None
    loggen_out = os.path.join(workdir, "loggen.out")
    try:
        if profile:
            spy = subprocess.Popen(
                [os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "--pid",
                 str(daemon.proc.pid), "--format", "speedscope", "--output", profile,
                 "--rate", "250", "--nonblocking"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(workdir, "py-spy.err"), "wb"))
            time.sleep(1.0)  # py-spy attaches
        if kind == "udp":
            result.rcvbuf = receive_buffer(daemon.port)
        counter = LineCounter(daemon.output)
        cpu0 = cpu_seconds(daemon.proc.pid)
        with open(loggen_out, "wb") as out:
            start = time.monotonic()
            loggen = subprocess.Popen(
                ["loggen", "--inet", *loggen_args, "127.0.0.1", str(daemon.port)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        last_change, last_lines = start, 0
        deadline = start + timeout
        drops0 = udp_drops(daemon.port) if kind == "udp" else 0
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
                if expected is None and now - max(last_change, start) > UDP_DRAIN_SECONDS:
                    break
                if loggen.returncode != 0 and now - last_change > UDP_DRAIN_SECONDS:
                    result.error = f"loggen exited {loggen.returncode}"
                    break
            if now - last_change > STALL_SECONDS:
                result.error = f"no new line for {STALL_SECONDS:.0f} s"
                break
            if now > deadline:
                result.error = f"run cut at {timeout:.0f} s"
                break
            if daemon.proc.poll() is not None:
                result.error = f"{daemon_name} exited {daemon.proc.returncode}"
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
        with contextlib.suppress(subprocess.TimeoutExpired):
            loggen.wait(30)
        stop(loggen)
        with open(loggen_out, "rb") as f:
            sent = loggen_count(f.read().decode("utf-8", "replace"))
        result.sent = sent if sent is not None else (expected or 0)
        daemon.stop()
        result.written = counter.poll()  # anything flushed on the way out counts as written
        result.digest = counter.digest.hexdigest()
        if result.error:
            print(f"{bench}, {daemon_name}: {result.error}; its stderr ends:\n{daemon.stderr()}",
                  file=sys.stderr)
    finally:
        if loggen is not None:
            stop(loggen)
        daemon.stop()
        if spy is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(30)  # py-spy writes its file when the process it watches exits
            stop(spy)
        shutil.rmtree(workdir, ignore_errors=True)
    return result


# -- benchmarks ----------------------------------------------------------------------------------

DAEMONS = ("relay", "syslog-ng")


def tcp_runs(lines: int, root: str, wl: str) -> Iterator[Result]:
    timeout = max(60.0, lines / 5000)
    for d in DAEMONS:
        yield measure(f"tcp workload {lines}", d, "tcp",
                      ["--stream", "--read-file", wl, "--dont-parse", "--rate", "10000000",
                       "--interval", str(int(timeout))], lines, root, timeout=timeout)
    for d in DAEMONS:
        yield measure(f"tcp loggen {lines}x200B", d, "tcp",
                      ["--stream", "--size", "200", "--number", str(lines), "--rate", "10000000",
                       "--interval", str(int(timeout))], lines, root, timeout=timeout)


def udp_runs(rates: list[int], seconds: int, root: str, wl: str) -> Iterator[Result]:
    for rate in rates:
        for d in DAEMONS:
            yield measure(f"udp {rate // 1000}k/s {seconds}s", d, "udp",
                          ["--dgram", "--read-file", wl, "--loop-reading", "--dont-parse",
                           "--rate", str(rate), "--interval", str(seconds)],
                          None, root, timeout=seconds + 60)


# -- report --------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    sng = subprocess.run(["syslog-ng", "--version"], capture_output=True, text=True,
                         check=False).stdout.splitlines()
    with open("/proc/sys/net/core/rmem_max") as f:
        rmem_max = int(f.read())
    return (f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, "
            f"Python {platform.python_version()}, {sng[0] if sng else 'syslog-ng ?'}, "
            f"net.core.rmem_max={rmem_max}")


def print_results(results: list[Result], udp: bool) -> None:
    print("| benchmark | daemon | sent | written | % written | msg/s | CPU µs/msg "
          "| peak RSS MiB |" + (" kernel drops 1st s / after | rcvbuf |" if udp
                               else " same bytes |"))
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
          + (" ---: | ---: |" if udp else " --- |"))
    by_bench: dict[str, list[Result]] = {}
    for r in results:
        by_bench.setdefault(r.bench, []).append(r)
    for bench, rs in by_bench.items():
        for r in rs:
            pct = 100 * r.written / r.sent if r.sent else 0.0
            if udp:
                extra = (f"{r.drops_burst} / {r.drops_after} | "
                         + (f"{r.rcvbuf // 1024} KiB" if r.rcvbuf else "?"))
            else:
                extra = ("yes" if len({x.digest for x in rs}) == 1 else "no") \
                    if "workload" in bench and len(rs) == 2 else "-"
            err = f" ({r.error})" if r.error else ""
            print(f"| {bench} | {r.daemon}{err} | {r.sent} | {r.written} | {pct:.2f} | "
                  f"{r.rate:,.0f} | {r.cpu_us:.2f} | {r.rss_mib:.1f} | {extra} |")
        named = {r.daemon: r for r in rs}
        if "relay" in named and "syslog-ng" in named:
            a, b = named["relay"], named["syslog-ng"]
            pa = a.written / a.sent if a.sent else 0.0
            pb = b.written / b.sent if b.sent else 0.0
            print(f"| {bench} | **relay/syslog-ng** | | | {_ratio(pa, pb)} | "
                  f"{_ratio(a.rate, b.rate)} | {_ratio(a.cpu_us, b.cpu_us)} | "
                  f"{_ratio(a.rss_mib, b.rss_mib)} |" + (" | |" if udp else " |"))


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "-"


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks",
                                 description="relay vs syslog-ng: TCP, UDP and micro-benchmarks.")
    ap.add_argument("--quick", action="store_true", help="a fast sanity run (fewer lines)")
    ap.add_argument("--only", choices=["tcp", "udp", "micro"], help="run one section")
    ap.add_argument("--lines", type=int, help="TCP lines (default 300000, --quick 30000)")
    ap.add_argument("--udp-rates", help="offered UDP rates in msg/s, comma-separated "
                                        "(default 50000,100000; --quick 50000)")
    ap.add_argument("--udp-seconds", type=int, help="seconds per UDP run (default 10, --quick 3)")
    ap.add_argument("--profile", metavar="FILE",
                    help="only profile the relay's TCP workload run with py-spy into FILE "
                         "(speedscope) and print the hot spots")
    args = ap.parse_args(argv)
    lines = args.lines or (30_000 if args.quick else workload.DEFAULT_LINES)
    rates = [int(x) for x in args.udp_rates.split(",")] if args.udp_rates else \
        ([50_000] if args.quick else [50_000, 100_000])
    seconds = args.udp_seconds or (3 if args.quick else 10)
    sections = [args.only] if args.only else ["tcp", "udp", "micro"]
    if any(s in ("tcp", "udp") for s in sections) or args.profile:
        for tool in ("syslog-ng", "loggen", "ss"):
            if not shutil.which(tool):
                print(f"{tool} is not installed (apt-get install syslog-ng-core iproute2)",
                      file=sys.stderr)
                return 2

    print(f"# relay vs syslog-ng: {machine()}\n")
    root = tempfile.mkdtemp(prefix="relay-bench-")
    try:
        wl = workload.workload_file(lines) if sections != ["micro"] or args.profile else ""
        if args.profile:
            profile = os.path.abspath(args.profile)
            r = measure(f"tcp workload {lines}", "relay", "tcp",
                        ["--stream", "--read-file", wl, "--dont-parse", "--rate", "10000000",
                         "--interval", "600"], lines, root, timeout=600, profile=profile)
            print_results([r], udp=False)
            print_hot_spots(profile)
            return 0
        if "tcp" in sections:
            print(f"## TCP, one connection, seed template into a file (workload: {wl})\n")
            print_results(list(tcp_runs(lines, root, wl)), udp=False)
            print()
        if "udp" in sections:
            print(f"## UDP at fixed offered rates, {RCVBUF >> 20} MiB receive buffers "
                  "(rcvbuf: what the kernel granted, skmem rb)\n")
            udp_wl = workload.workload_file(min(lines, 100_000))
            print_results(list(udp_runs(rates, seconds, root, udp_wl)), udp=True)
            print()
        if "micro" in sections:
            micro.print_table(micro.run(args.quick))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
