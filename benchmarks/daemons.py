"""The three daemons under test, each started fresh with the same job: syslog in on
127.0.0.1 (TCP or UDP), one JSON object per line out to a file.

  - **relay**: through its CLI only (``python -m relay --config FILE``), with a generated
    TOML config: a ``tcp://`` or ``udp://`` source with ``protocol = "rfc3164"`` and a
    ``file`` destination with the seed template; extra ``[options]`` can be passed in.
  - **syslog-ng** 3.38: ``network()`` source, ``keep-hostname(yes) chain-hostnames(no)
    use-dns(no) use-fqdn(no)``, ``file()`` destination with the same template and
    ``flags(flow-control)``.  Its output must be byte-identical to the relay's.
  - **rsyslog** 8: ``imtcp``/``imudp`` and ``omfile`` with a comparable ``option.jsonf``
    template (the seed template's selected macros, as rsyslog names them).  Debian's
    package conflicts with ``syslog-ng-core``, so unless ``rsyslogd`` is installed the
    package is downloaded and unpacked into a cache directory and run from there.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from benchmarks.procs import bound, free_port, relay_env, stop, wait_for

SEED_TEMPLATE = "$(format-json --scope selected_macros --scope nv_pairs)\\n"
RCVBUF = 8 * 1024 * 1024
START_SECONDS = 20.0  # a daemon that does not listen within this is a failed start
CACHE_DIR = os.path.join(tempfile.gettempdir(), "relay-bench")


@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    output: str
    workdir: str
    feed_port: int = 0  # the relay's subscribers destination (--feed), 0 for none

    def stop(self) -> None:
        stop(self.proc)

    def stderr(self) -> str:
        with open(os.path.join(self.workdir, "stderr"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-2000:]


def _launch(name: str, argv: list[str], workdir: str, port: int, kind: str,
            ready: Callable[[], bool] = lambda: True,
            env: Mapping[str, str] | None = None) -> Daemon:
    """Start ``argv``, wait until it listens on ``port`` (and ``ready()``), or fail."""
    output = os.path.join(workdir, "out.json")
    with open(os.path.join(workdir, "stderr"), "wb") as err:
        proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, env=env)
    daemon = Daemon(name, proc, port, output, workdir)
    try:
        wait_for(lambda: (bound(port, kind) and ready()) or proc.poll() is not None,
                 START_SECONDS, f"{name} to listen on {kind} port {port}")
        if proc.poll() is not None:
            text = daemon.stderr().strip()
            last = text.rsplit("\n", 1)[-1] if text else "no output"
            raise RuntimeError(f"{name} did not start (exit {proc.returncode}: {last})\n{text}")
    except BaseException:
        daemon.stop()
        raise
    return daemon


# -- relay ---------------------------------------------------------------------------------

def toml_value(text: str) -> str:
    """``text`` as a TOML value: as written when it is one (2, true, "x", [1]), else quoted."""
    try:
        tomllib.loads(f"v = {text}")
        return text
    except tomllib.TOMLDecodeError:
        return json.dumps(text)  # a JSON string is a TOML basic string


def relay_config(kind: str, port: int, output: str,
                 options: Mapping[str, str] | None = None, feed_port: int = 0) -> str:
    """The relay's config: KIND on PORT into OUTPUT with the seed template, and with
    FEED_PORT a subscribers destination there too, as the shipped config has one."""
    merged = {"keep_hostname": "true", "use_dns": "false", **(options or {})}
    lines = "".join(f"{k} = {toml_value(v)}\n" for k, v in merged.items())
    feed = f"""
[[destination]]
name = "d_live"
type = "subscribers"
listen = "tcp://127.0.0.1:{feed_port}"
template = "{SEED_TEMPLATE}"
""" if feed_port else ""
    return f"""\
[options]
{lines}
[[source]]
name = "s_net"
listen = "{kind}://127.0.0.1:{port}"
protocol = "rfc3164"
so_rcvbuf = "8MiB"

[[destination]]
name = "d_json"
type = "file"
path = "{output}"
template = "{SEED_TEMPLATE}"
{feed}
[[log]]
source = ["s_net"]
destination = ["d_json"{', "d_live"' if feed_port else ''}]
"""


def start_relay(workdir: str, kind: str, options: Mapping[str, str] | None = None,
                feed: bool = False) -> Daemon:
    port = free_port(kind)
    feed_port = free_port("tcp") if feed else 0
    conf = os.path.join(workdir, "relay.toml")
    with open(conf, "w") as f:
        f.write(relay_config(kind, port, os.path.join(workdir, "out.json"), options,
                             feed_port))
    daemon = _launch("relay", [sys.executable, "-m", "relay", "--config", conf],
                     workdir, port, kind, env=relay_env())
    daemon.feed_port = feed_port
    return daemon


# -- syslog-ng -----------------------------------------------------------------------------

def start_syslog_ng(workdir: str, kind: str) -> Daemon:
    port = free_port(kind)
    output = os.path.join(workdir, "out.json")
    conf = os.path.join(workdir, "syslog-ng.conf")
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
    return _launch("syslog-ng",
                   ["syslog-ng", "-F", "-f", conf, "-R", os.path.join(workdir, "persist"),
                    "-p", os.path.join(workdir, "pid"), "-c", ctl],
                   workdir, port, kind, ready=lambda: os.path.exists(ctl))


# -- rsyslog -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rsyslog:
    rsyslogd: str
    modules: str  # the module directory, for -M

    def version(self) -> str:
        out = subprocess.run([self.rsyslogd, "-v"], capture_output=True, text=True,
                             check=False).stdout.split("\n", 1)[0]
        return " ".join(out.split()[:2]) or "rsyslogd ?"


# what the rsyslog runs load: a library missing for any of them is a failed start
_RSYSLOG_MODULES = ("imtcp", "imudp", "lmnet", "lmnetstrms", "lmnsd_ptcp", "lmtcpsrv")


def _module_dir(root: str) -> str | None:
    found = sorted(glob.glob(os.path.join(root, "usr/lib/*/rsyslog/imtcp.so")))
    return os.path.dirname(found[0]) if found else None


def _missing_libraries(r: Rsyslog) -> list[str]:
    missing: set[str] = set()
    for path in [r.rsyslogd] + [os.path.join(r.modules, f"{m}.so") for m in _RSYSLOG_MODULES]:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, check=False).stdout
        missing.update(re.findall(r"^\s*(\S+) => not found", out, re.M))
    return sorted(missing)


def _dependencies(deb: str) -> list[str]:
    """The packages ``deb`` depends on (the first of each alternative)."""
    text = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True,
                          check=True).stdout
    return [alt.split("|")[0].split("(")[0].strip() for alt in text.split(",") if alt.strip()]


def _installed(package: str) -> bool:
    out = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", package],
                         capture_output=True, text=True, check=False).stdout
    return out == "installed"


def find_rsyslog(cache: str = CACHE_DIR) -> Rsyslog:
    """An rsyslogd to run: the installed one, or Debian's package unpacked into ``cache``
    (downloaded there first), with the libraries it needs installed.  Raises RuntimeError
    with what to do when none can be had."""
    system = shutil.which("rsyslogd")
    if system and (mods := _module_dir("/")):
        return Rsyslog(system, mods)
    root = os.path.join(cache, "rsyslog")
    rsyslogd = os.path.join(root, "usr/sbin/rsyslogd")
    debs = sorted(glob.glob(os.path.join(cache, "rsyslog_*.deb")))
    if not os.path.exists(rsyslogd):
        os.makedirs(cache, exist_ok=True)
        if not debs:
            # download only: installing it would remove syslog-ng-core, which it conflicts with
            got = subprocess.run(["apt-get", "download", "rsyslog"], cwd=cache,
                                 capture_output=True, text=True, check=False)
            debs = sorted(glob.glob(os.path.join(cache, "rsyslog_*.deb")))
            if got.returncode != 0 or not debs:
                raise RuntimeError(
                    "rsyslogd is not installed and `apt-get download rsyslog` failed "
                    f"(run `apt-get update` first?):\n{got.stderr.strip()}")
        subprocess.run(["dpkg-deb", "-x", debs[-1], root], check=True)
    mods = _module_dir(root)
    if not os.path.exists(rsyslogd) or mods is None:
        raise RuntimeError(f"no rsyslogd and imtcp.so under {root}; remove it and run again")
    r = Rsyslog(rsyslogd, mods)
    if missing := _missing_libraries(r):
        need = [p for p in (_dependencies(debs[-1]) if debs else []) if not _installed(p)]
        if not need or os.geteuid() != 0:
            raise RuntimeError(f"rsyslogd needs {', '.join(missing)}: install "
                               f"{' '.join(need) or 'the packages that provide them'} "
                               "(apt-get install --no-install-recommends ...)")
        print(f"rsyslogd needs {', '.join(missing)}: apt-get install {' '.join(need)}",
              file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *need],
                       stdin=subprocess.DEVNULL, env={**os.environ,
                                                      "DEBIAN_FRONTEND": "noninteractive"},
                       check=True)
        if missing := _missing_libraries(r):
            raise RuntimeError(f"rsyslogd still lacks {', '.join(missing)}")
    return r


# The seed template's selected macros under rsyslog's names.  Not byte-comparable with
# format-json: rsyslog keeps the space before MESSAGE, has no TAGS, and writes ", " between
# fields; the point is the same work per message (parse, pick fields, escape, write).
RSYSLOG_TEMPLATE = """\
template(name="json" type="list" option.jsonf="on") {
  property(outname="SOURCEIP" name="fromhost-ip" format="jsonf")
  property(outname="PROGRAM" name="programname" format="jsonf")
  property(outname="PRIORITY" name="syslogseverity-text" format="jsonf")
  property(outname="PID" name="procid" format="jsonf")
  property(outname="MESSAGE" name="msg" format="jsonf")
  property(outname="LEGACY_MSGHDR" name="syslogtag" format="jsonf")
  property(outname="HOST" name="hostname" format="jsonf")
  property(outname="FACILITY" name="syslogfacility-text" format="jsonf")
  property(outname="DATE" name="timereported" format="jsonf")
}
"""


def rsyslog_config(kind: str, port: int, output: str, workdir: str) -> str:
    if kind == "tcp":
        # imtcp takes LF-terminated frames (what loggen --stream sends) and octet counting
        listener = (f'module(load="imtcp" maxSessions="1000")\n'
                    f'input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="bench" '
                    f'rateLimit.interval="0")\n')
    else:
        listener = (f'module(load="imudp")\n'
                    f'input(type="imudp" address="127.0.0.1" port="{port}" ruleset="bench" '
                    f'rcvbufSize="{RCVBUF}" rateLimit.interval="0")\n')
    return f"""\
global(workDirectory="{workdir}" maxMessageSize="64k" net.enableDNS="off")
# a main queue deep enough not to be the limit, dequeued in large batches
main_queue(queue.type="FixedArray" queue.size="100000" queue.dequeueBatchSize="1024")
{RSYSLOG_TEMPLATE}
# the inputs' own ruleset: rsyslogd's internal messages go to the default one and so are
# not counted as lines written
ruleset(name="bench") {{
  # buffered writes, flushed at the end of each batch (as syslog-ng and the relay write
  # per batch), synchronously so that a line counted on disk has left the daemon
  action(type="omfile" file="{output}" template="json"
         ioBufferSize="256k" flushOnTXEnd="on" asyncWriting="off")
}}
{listener}"""


def start_rsyslog(workdir: str, kind: str, rsyslog: Rsyslog) -> Daemon:
    port = free_port(kind)
    output = os.path.join(workdir, "out.json")
    conf = os.path.join(workdir, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(rsyslog_config(kind, port, output, workdir))
    pid = os.path.join(workdir, "pid")
    return _launch("rsyslog", [rsyslog.rsyslogd, "-n", "-f", conf, "-i", pid,
                               "-M", rsyslog.modules],
                   workdir, port, kind, ready=lambda: os.path.exists(pid))
