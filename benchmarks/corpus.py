"""Benchmark corpora: real public log samples turned into the workload files loggen sends.

This sits in front of the whole data path: the harness (``python -m benchmarks``) writes a
workload file per corpus and stamp regime into its temporary directory and sends it with
``loggen --read-file --dont-parse`` to the relay, syslog-ng and rsyslog.

The corpora are loghub's 2k samples of BSD-syslog-shaped logs (``Mmm dd hh:mm:ss HOST
PROG[PID]: MSG``), read from ``benchmarks/data/`` (see its README for where they come
from, their licence, and how to put them there; they are not part of the repository).
``fail2ban`` is the BSD syslog lines of the filter tests in Debian's fail2ban package,
which the harness downloads and writes there itself, so that a fresh clone runs a real
corpus too.  ``synthetic`` is always there: the seeded generator of ``benchmarks.workload``.

A workload line is ``<PRI>STAMP HOST REST``:
  - **PRI**: the samples carry none (they were stored after the syslog daemon had read
    them), so one is added per line, from the program's usual facility and a seeded,
    message-aware severity.  The same corpus line always gets the same PRI.
  - **STAMP**: in the ``replay`` regime each line keeps its own stamp (archived logs
    replayed, a backlog after an outage); each further copy of the corpus is the same
    archive moved later by its own span, so that no stamp comes back and a cache of
    seen stamps cannot hide the cost of a new one.  In the ``live`` regime stamps are
    rewritten to the seconds just before the file is written, thousands of lines per
    second (seeded), as a relay in service sees many senders' clocks at this rate.
The corpus is repeated until the file has the lines asked for.

    .venv/bin/python -m benchmarks.corpus --list
    .venv/bin/python -m benchmarks.corpus --corpus linux --regime live --lines 1000 --out FILE
    .venv/bin/python -m benchmarks.corpus --import-loghub DIR   # a loghub clone or git dir
    .venv/bin/python -m benchmarks.corpus --import-fail2ban     # from Debian's package
"""

from __future__ import annotations

import argparse
import datetime
import glob
import hashlib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

from benchmarks import workload

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
REGIMES = ("live", "replay")
SEED = 3164
# the lines a second of many senders brings at the rates measured here
LIVE_LINES_PER_SECOND = (5_000, 15_000)


@dataclass(frozen=True)
class Corpus:
    name: str
    file: str  # under the data directory; "" for the synthetic corpus
    loghub_path: str  # the file in the loghub repository
    sha256: str  # of the file as loghub has it, so that a copy is known to be faithful
    what: str


CORPORA: dict[str, Corpus] = {c.name: c for c in (
    Corpus("linux", "Linux_2k.log", "Linux/Linux_2k.log",
           "b3e20bc1afe732ab1bf3ed1de4bf9c809e4194e02f7dea911d918e5342e8e173",
           "loghub Linux: /var/log/messages of a Linux server (ftpd, sshd, su, kernel, ...)"),
    Corpus("openssh", "OpenSSH_2k.log", "OpenSSH/OpenSSH_2k.log",
           "1e4912727fa88245113d41b16a0cd25ceadba7f931e1c406542885b91254264f",
           "loghub OpenSSH: sshd of a lab server, brute-force attempts included"),
    Corpus("mac", "Mac_2k.log", "Mac/Mac_2k.log",
           "d9ea495488728d8c989dc942fca3324a3cc7b19b0a6f409a5fd568ad547fd931",
           "loghub Mac: /var/log/system.log of a MacBook (kernel, apps; long lines)"),
    Corpus("fail2ban", "fail2ban.log", "", "",
           "Debian's fail2ban: the syslog lines of its filter tests (sshd, dovecot, postfix, "
           "sendmail, named, ...), downloaded from Debian on first use"),
    Corpus("synthetic", "", "", "",
           "seeded synthetic Debian-like lines (benchmarks.workload), no data set copied"),
)}

# Mmm dd hh:mm:ss REST (RFC 3164 TIMESTAMP; the day is space-padded)
_LINE = re.compile(rb"(?:<(\d{1,3})>)?([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (.*)",
                   re.DOTALL)
# HOST PROG[PID]: or HOST PROG: (the program as a syslog daemon would cut it)
_PROGRAM = re.compile(rb"\S+ ([^\[: ]*)")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# facility codes (RFC 5424 table 1)
KERN, USER, MAIL, DAEMON, AUTH, SYSLOG, LPR, CRON, AUTHPRIV, FTP = 0, 1, 2, 3, 4, 5, 6, 9, 10, 11
LOCAL0 = 16
_FACILITY_OF = (  # by the start of the program name; what these programs log to by default
    (b"kernel", KERN), (b"sshd", AUTHPRIV), (b"su", AUTHPRIV), (b"login", AUTHPRIV),
    (b"gdm", AUTHPRIV), (b"sudo", AUTHPRIV), (b"klogind", AUTH), (b"ftpd", FTP),
    (b"crond", CRON), (b"CRON", CRON), (b"anacron", CRON), (b"syslog", SYSLOG),
    (b"cups", LPR), (b"sendmail", MAIL), (b"postfix", MAIL), (b"named", DAEMON),
    (b"xinetd", DAEMON), (b"snmpd", DAEMON), (b"logrotate", DAEMON), (b"udev", DAEMON),
    (b"com.apple.", DAEMON), (b"networkd", DAEMON), (b"configd", DAEMON),
    (b"locationd", DAEMON), (b"sandboxd", DAEMON), (b"symptomsd", DAEMON),
)
# emergency .. debug
_SEVERITY_WEIGHTS = (0, 1, 2, 12, 15, 15, 45, 10)  # lines that sound like trouble
_PLAIN_WEIGHTS = (0, 0, 0, 1, 3, 14, 70, 12)  # the others
_TROUBLE = re.compile(rb"(?i)fail|error|invalid|denied|refused|break-in|illegal|unable|"
                      rb"cannot|can't|timeout|timed out|warning")


@dataclass(frozen=True)
class Entry:
    """One corpus line: its PRI, its own stamp and what follows the stamp."""

    pri: int
    month: int  # 0..11
    day: int
    hms: str
    rest: bytes  # HOST PROG[PID]: MSG


def data_directory(data_dir: str | None = None) -> str:
    """Where the corpus files are: DATA_DIR, unless RELAY_BENCH_DATA names another."""
    return data_dir or os.environ.get("RELAY_BENCH_DATA") or DATA_DIR


def data_path(corpus: Corpus, data_dir: str | None = None) -> str:
    return os.path.join(data_directory(data_dir), corpus.file)


def available(data_dir: str | None = None) -> list[str]:
    """The corpora whose files are in place (synthetic always is)."""
    return [c.name for c in CORPORA.values()
            if not c.file or os.path.exists(data_path(c, data_dir))]


def _facility(line_rest: bytes, rng: random.Random) -> int:
    m = _PROGRAM.match(line_rest)
    prog = m.group(1) if m else b""
    for prefix, facility in _FACILITY_OF:
        if prog.startswith(prefix):
            return facility
    # desktop apps and the rest: mostly user, some local facilities as sites configure
    return rng.choices((USER, DAEMON, LOCAL0, LOCAL0 + 7), (70, 20, 5, 5))[0]


def load(name: str, data_dir: str | None = None) -> list[Entry]:
    """The corpus's lines, each with a deterministic PRI (the line's own, if it has one)."""
    corpus = CORPORA[name]
    if not corpus.file:
        raw = [line.rstrip(b"\n") for line in workload.generate(2000)]
    else:
        path = data_path(corpus, data_dir)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"corpus {name!r}: {path} is missing; see benchmarks/data/README.md") from None
        # loghub stores the samples with CRLF line ends and no final newline: the CR is the
        # file's, not the message's
        raw = [line.removesuffix(b"\r") for line in data.split(b"\n") if line.strip()]
    rng = random.Random(f"{SEED}:{name}")  # str seeds are hashed stably, across runs too
    out = []
    for line in raw:
        m = _LINE.fullmatch(line)
        if m is None:
            raise ValueError(f"corpus {name!r}: not a BSD syslog line: {line[:80]!r}")
        pri_text, mon, day, hh, mm, ss, rest = m.groups()
        if pri_text is not None:
            pri = int(pri_text)
        else:
            weights = _SEVERITY_WEIGHTS if _TROUBLE.search(rest) else _PLAIN_WEIGHTS
            severity = rng.choices(range(8), weights)[0]
            pri = _facility(rest, rng) * 8 + severity
        out.append(Entry(pri, _MONTHS.index(mon.decode()), int(day),
                         f"{hh.decode()}:{mm.decode()}:{ss.decode()}", rest))
    return out


def _stamp(month: int, day: int, hms: str) -> bytes:
    return f"{_MONTHS[month]} {day:2d} {hms}".encode()


def live_stamps(count: int, now: float, seed: int = SEED) -> list[bytes]:
    """``count`` stamps of a feed that ends at ``now``'s second, oldest first, thousands of
    lines per second (local time, as a sender's clock writes them)."""
    rng = random.Random(seed)
    per_second: list[int] = []
    total = 0
    while total < count:
        k = min(rng.randint(*LIVE_LINES_PER_SECOND), count - total)
        per_second.append(k)
        total += k
    first = int(now) - len(per_second) + 1
    out: list[bytes] = []
    for i, k in enumerate(per_second):
        t = time.localtime(first + i)
        out.extend([_stamp(t.tm_mon - 1, t.tm_mday, time.strftime("%H:%M:%S", t))] * k)
    return out


def lines(name: str, regime: str, count: int, *, now: float | None = None,
          data_dir: str | None = None) -> Iterator[bytes]:
    """``count`` newline-terminated workload lines of corpus ``name`` in ``regime``."""
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, not {regime!r}")
    entries = load(name, data_dir)
    stamps = live_stamps(count, time.time() if now is None else now) \
        if regime == "live" else None
    span = _span_days(entries)
    for i in range(count):
        e = entries[i % len(entries)]
        if stamps is not None:
            stamp = stamps[i]
        else:
            stamp = _moved_stamp(e, (i // len(entries)) * span)
        yield b"<%d>%s %s\n" % (e.pri, stamp, e.rest)


# a leap year, so that every corpus day (29 February too) is a date
_YEAR = 2024


def _span_days(entries: list[Entry]) -> int:
    """Whole days from the corpus's first stamp to the day after its last one."""
    days = [datetime.date(_YEAR, e.month + 1, e.day).toordinal() for e in entries]
    return max(days) - min(days) + 1


def _moved_stamp(e: Entry, days: int) -> bytes:
    if not days:
        return _stamp(e.month, e.day, e.hms)
    d = datetime.date.fromordinal(datetime.date(_YEAR, e.month + 1, e.day).toordinal() + days)
    return _stamp(d.month - 1, d.day, e.hms)


def write(name: str, regime: str, count: int, directory: str, *,
          data_dir: str | None = None) -> str:
    """Write the workload file into ``directory`` and return its path."""
    path = os.path.join(directory, f"{name}-{regime}-{count}.log")
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.writelines(lines(name, regime, count, data_dir=data_dir))
    os.replace(tmp, path)
    return path


def import_loghub(source: str, data_dir: str = DATA_DIR) -> list[str]:
    """Copy the 2k samples out of a loghub checkout or bare git directory, checking each
    against its pinned SHA-256; returns the files written."""
    written = []
    os.makedirs(data_dir, exist_ok=True)
    for c in CORPORA.values():
        if not c.loghub_path:  # (fail2ban comes from Debian, synthetic from nowhere)
            continue
        tree = os.path.join(source, c.loghub_path)
        if os.path.exists(tree):
            with open(tree, "rb") as f:
                data = f.read()
        else:
            data = subprocess.run(["git", "--git-dir", source, "show", f"HEAD:{c.loghub_path}"],
                                  capture_output=True, check=True).stdout
        got = hashlib.sha256(data).hexdigest()
        if got != c.sha256:
            raise ValueError(f"{c.loghub_path}: SHA-256 {got}, expected {c.sha256}")
        path = os.path.join(data_dir, c.file)
        with open(path, "wb") as f:
            f.write(data)
        written.append(path)
    return written


# fail2ban's sample logs: where they are in its package, and which of their lines are
# BSD syslog as a daemon stores it (HOST PROG[PID]: after the stamp)
FAIL2BAN_LOGS = "usr/lib/python3/dist-packages/fail2ban/tests/files/logs"
_SYSLOG_LINE = re.compile(rb"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [^\[: ]+(?:\[\d+\])?: .*")


def import_fail2ban(data_dir: str = DATA_DIR, cache: str = "") -> str:
    """Write the ``fail2ban`` corpus: Debian's fail2ban package is downloaded into CACHE
    (``apt-get download``, unless it is there), and the BSD syslog lines of its test logs
    (not its comments, each distinct line once, in file order) are written to DATA_DIR.
    Returns the file written; RuntimeError when the package cannot be had."""
    cache = cache or os.path.join(tempfile.gettempdir(), "relay-bench")
    os.makedirs(cache, exist_ok=True)
    debs = sorted(glob.glob(os.path.join(cache, "fail2ban_*.deb")))
    if not debs:
        got = subprocess.run(["apt-get", "download", "fail2ban"], cwd=cache,
                             capture_output=True, text=True, check=False)
        debs = sorted(glob.glob(os.path.join(cache, "fail2ban_*.deb")))
        if got.returncode != 0 or not debs:
            raise RuntimeError("`apt-get download fail2ban` failed (run `apt-get update` "
                               f"first?):\n{got.stderr.strip()}")
    root = os.path.join(cache, "fail2ban-root")
    subprocess.run(["dpkg-deb", "-x", debs[-1], root], check=True)
    seen: dict[bytes, None] = {}
    logs = os.path.join(root, FAIL2BAN_LOGS)
    for directory, subdirs, files in sorted(os.walk(logs)):
        subdirs.sort()
        for name in sorted(files):
            with open(os.path.join(directory, name), "rb") as f:
                for line in f.read().split(b"\n"):
                    if _SYSLOG_LINE.fullmatch(line):
                        seen.setdefault(line)
    if not seen:
        raise RuntimeError(f"{debs[-1]}: no syslog lines under {FAIL2BAN_LOGS}")
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, CORPORA["fail2ban"].file)
    with open(path, "wb") as f:
        f.write(b"".join(line + b"\n" for line in seen))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.corpus",
                                 description="Write a benchmark workload file from a corpus.")
    ap.add_argument("--list", action="store_true", help="list the corpora and whether present")
    ap.add_argument("--import-loghub", metavar="DIR",
                    help="copy the samples from a loghub checkout or git directory")
    ap.add_argument("--import-fail2ban", action="store_true",
                    help="download Debian's fail2ban and write its syslog lines")
    ap.add_argument("--corpus", default="linux", choices=sorted(CORPORA))
    ap.add_argument("--regime", default="live", choices=REGIMES)
    ap.add_argument("--lines", type=int, default=workload.DEFAULT_LINES)
    ap.add_argument("--out", help="write here (default: print to stdout)")
    args = ap.parse_args(argv)
    if args.import_loghub:
        for path in import_loghub(args.import_loghub):
            print(path)
        return 0
    if args.import_fail2ban:
        print(import_fail2ban(data_directory()))
        return 0
    if args.list:
        present = set(available())
        for c in CORPORA.values():
            print(f"{c.name:10} {'present' if c.name in present else 'missing':8} {c.what}")
        return 0
    out = open(args.out, "wb") if args.out else sys.stdout.buffer  # noqa: SIM115
    try:
        out.writelines(lines(args.corpus, args.regime, args.lines))
    finally:
        if args.out:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
