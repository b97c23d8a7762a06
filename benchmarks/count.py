"""What a line costs a worker, counted rather than timed: instructions and cache misses.

On a shared machine a timed run moves by a third from one minute to the next, and the
small differences that decide an optimisation (a few percent, or replay against live) are
lost in it.  Valgrind's cachegrind counts the instructions a process executes and simulates
its caches: the same program on the same input gives the same counts whatever else the
machine runs.

Each case runs a worker's data path in-process under cachegrind: a workload of the corpus
in the regime, read as STREAMS connections at once would be (each connection starts at
its own place in the workload, and their 256,000-byte reads are delivered in turn, as one
worker of eight connections takes them), framed, parsed, routed and rendered with the
seed template into the file destination's joined writes (counted, not written).  It runs
twice, with LINES and with 3 x LINES lines per connection, and what the second run costs
more, per line, is what a line costs: the start (imports, config, workload) cancels out.

    .venv/bin/python -m benchmarks.count [--corpus linux,fail2ban] [--regime live,replay]
        [--streams 4] [--lines 5000] [--ll BYTES]

Per line it prints the instructions, the misses of the first-level data cache (D1) and of
the last level (LL: by default what valgrind takes from this CPU; ``--ll 524288`` asks for
a 512 KiB one, about what one core keeps to itself), and an estimate of cycles,
I + 10 x D1 + 100 x LL (a rough weighting; it says which of two runs costs more, not what
either costs in seconds).  Needs valgrind (Debian ``valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from benchmarks import corpus

_COUNTS = {"I": r"I\s+refs:\s+([\d,]+)", "D1": r"D1\s+misses:\s+([\d,]+)",
           "LL": r"LL misses:\s+([\d,]+)"}


def run_streams(path: str, streams: int) -> int:
    """Deliver the workload file PATH as STREAMS interleaved connections; the lines
    (``benchmarks.micro.stream_reads``, run once)."""
    from benchmarks import micro
    from relay import heap

    heap.keep_freed_memory()  # as the relay's processes do
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    return micro.stream_reads(lines, streams=streams)()


def counted(path: str, streams: int, ll: int | None) -> dict[str, int]:
    """The counts of one run of ``run_streams`` under cachegrind."""
    argv = ["valgrind", "--tool=cachegrind", "--cache-sim=yes",
            "--cachegrind-out-file=" + os.devnull]
    if ll:
        argv.append(f"--LL={ll},8,64")
    argv += [sys.executable, "-m", "benchmarks.count", "--run", path, str(streams)]
    # pymalloc, as the relay runs: a Python built for valgrind leaves it off under it
    env = {**os.environ, "PYTHONMALLOC": "pymalloc"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    found = {}
    for key, pattern in _COUNTS.items():
        m = re.search(pattern, done.stderr)
        if m is None:
            raise RuntimeError(f"no {key} count in cachegrind's output:\n{done.stderr[-2000:]}")
        found[key] = int(m.group(1).replace(",", ""))
    return found


def per_line(name: str, regime: str, streams: int, lines: int, ll: int | None,
             workdir: str) -> dict[str, float]:
    """The counts of a line of NAME in REGIME: the run of 3 x LINES lines per connection
    less the run of LINES, over the lines between them."""
    paths = []
    for count in (lines, 3 * lines):
        paths.append(os.path.join(workdir, f"{name}-{regime}-{count}.log"))
        with open(paths[-1], "wb") as f:
            f.writelines(corpus.lines(name, regime, count))
    with ThreadPoolExecutor(2) as pool:  # (the two runs side by side: counts are not times)
        runs = list(pool.map(lambda path: counted(path, streams, ll), paths))
    more = 2 * lines * streams
    found = {key: (runs[1][key] - runs[0][key]) / more for key in _COUNTS}
    found["cycles"] = found["I"] + 10 * found["D1"] + 100 * found["LL"]
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="linux,fail2ban")
    ap.add_argument("--regime", default=",".join(corpus.REGIMES))
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--lines", type=int, default=5000, help="lines per connection (and 3x)")
    ap.add_argument("--ll", type=int, default=None, help="simulated last-level cache, bytes")
    ap.add_argument("--run", nargs=2, metavar=("FILE", "STREAMS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.run:  # (the process cachegrind watches)
        print(run_streams(args.run[0], int(args.run[1])))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    level = f" ({args.ll:,} B)" if args.ll else ""
    print(f"| case | instructions | D1 misses | LL misses{level} | est. cycles |\n"
          "| --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="relay-count-") as workdir:
        for name in args.corpus.split(","):
            for regime in args.regime.split(","):
                c = per_line(name, regime, args.streams, args.lines, args.ll, workdir)
                print(f"| {name} {regime}, {args.streams} streams | {c['I']:,.0f} | "
                      f"{c['D1']:.1f} | {c['LL']:.2f} | {c['cycles']:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
