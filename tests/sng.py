"""A live syslog-ng 3.38 to compare the relay with: the reference of every differential test.

Each call starts a private syslog-ng (own config, persist file, control socket) with its
clock optionally held still by libfaketime, sends it frames over UDP or TCP, waits until
every frame has come out, stops it and returns what it wrote.  Outside CI a missing
syslog-ng skips the test with a one-line reason; with CI=true it fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable

import pytest

DEFAULT_NOW = "2025-03-01 12:00:00"
# Every record ends in RS LF so that a plain-text template whose message holds a newline is
# still one record.
END = b"\x1e\n"
OPTIONS = (
    "keep-hostname(yes); chain-hostnames(no); use-dns(no); use-fqdn(no); dns-cache(no); "
    "stats-freq(0); mark-freq(0); log-msg-size(65536);"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require() -> str:
    """The path of syslog-ng; skip (fail under CI=true) when it is not installed."""
    path = shutil.which("syslog-ng") or (
        "/usr/sbin/syslog-ng" if os.path.exists("/usr/sbin/syslog-ng") else None
    )
    if path is None:
        if in_ci():
            pytest.fail("syslog-ng is required under CI=true (apt-get install syslog-ng-core)")
        pytest.skip("syslog-ng is not installed (apt-get install syslog-ng-core)")
    return path


def faketime_lib() -> str | None:
    for candidate in (
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    ):
        if os.path.exists(candidate):
            return candidate
    out = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True).stdout
    for line in out.split():
        if line.endswith("/libfaketimeMT.so.1"):
            return line
    return None


def require_faketime() -> str:
    lib = faketime_lib()
    if lib is None:
        if in_ci():
            pytest.fail("libfaketime is required under CI=true (apt-get install faketime)")
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    return lib


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _records(path: str) -> list[bytes]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    parts = data.split(END)
    return parts[:-1]


class SyslogNg:
    """One private syslog-ng process, run as a context manager."""

    def __init__(self, config_body: str, *, now: str | None = DEFAULT_NOW, tz: str = "UTC"):
        self.binary = require()
        self.work = tempfile.mkdtemp(prefix="relay-sng-")
        self.config_body = config_body
        self.now = now
        self.tz = tz
        self.proc: subprocess.Popen[bytes] | None = None

    def path(self, name: str) -> str:
        return os.path.join(self.work, name)

    def __enter__(self) -> SyslogNg:
        conf = self.path("syslog-ng.conf")
        with open(conf, "w") as f:
            f.write("@version: 3.38\n")
            f.write(self.config_body.replace("@WORK@", self.work))
        env = dict(os.environ, TZ=self.tz)
        if self.now is not None:
            env.update(LD_PRELOAD=require_faketime(), FAKETIME=self.now, DONT_FAKE_MONOTONIC="1")
        self.stderr = open(self.path("stderr"), "wb")
        self.proc = subprocess.Popen(
            [self.binary, "-F", "-f", conf, "-R", self.path("persist"), "-p", self.path("pid"),
             "-c", self.path("ctl")],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
        )
        deadline = time.monotonic() + 15
        while not os.path.exists(self.path("ctl")):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(self.path("stderr")) as f:
                    raise RuntimeError("syslog-ng did not start:\n" + f.read())
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)


def _send(frames: list[bytes], port: int, transport: str, driver: str,
          until_done: Callable[[int], bool], wait: float) -> None:
    """Send the frames; UDP in small bursts so that nothing is dropped."""
    if transport == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("127.0.0.1", port))
            for i, frame in enumerate(frames):
                s.send(frame)
                if i % 50 == 49:
                    deadline = time.monotonic() + wait
                    while not until_done(i + 1) and time.monotonic() < deadline:
                        time.sleep(0.002)
    else:
        with socket.create_connection(("127.0.0.1", port)) as s:
            for frame in frames:
                if driver == "syslog":
                    s.sendall(b"%d %s" % (len(frame), frame))
                else:
                    s.sendall(frame if frame.endswith(b"\n") else frame + b"\n")
    deadline = time.monotonic() + wait + len(frames) * 0.002
    while not until_done(len(frames)) and time.monotonic() < deadline:
        time.sleep(0.005)


def _source(driver: str, transport: str, port: int, flags: str, name: str) -> str:
    extra = f" flags({flags})" if flags else ""
    so = ' so-rcvbuf(8388608)' if transport == "udp" else ""
    return (f'source {name} {{ {driver}(transport("{transport}") ip("127.0.0.1") '
            f'port({port}){so}{extra}); }};\n')


def render(
    frames: Iterable[bytes],
    templates: dict[str, str],
    *,
    driver: str = "network",
    transport: str = "udp",
    flags: str = "",
    source_name: str = "s_net",
    now: str | None = DEFAULT_NOW,
    tz: str = "UTC",
    wait: float = 5.0,
    options: str = OPTIONS,
) -> list[dict[str, bytes | None]]:
    """What each template makes of each frame: one dict per frame, in order.

    A frame that syslog-ng dropped gives None for every template (the outputs stay
    aligned only if no frame is dropped, which is what the caller should expect).
    """
    frames = list(frames)
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    port = _free_port(kind)
    names = list(templates)
    body = [f"options {{ {options} }};\n", _source(driver, transport, port, flags, source_name)]
    for i, name in enumerate(names):
        tpl = _quote(templates[name])[:-1] + '\\x1e\\n"'
        body.append(f'destination d{i} {{ file("@WORK@/out{i}" template({tpl})); }};\n')
    refs = " ".join(f"destination(d{i});" for i in range(len(names)))
    body.append(f"log {{ source({source_name}); {refs} flags(flow-control); }};\n")
    with SyslogNg("".join(body), now=now, tz=tz) as sng:
        outs = [sng.path(f"out{i}") for i in range(len(names))]

        def done(n: int) -> bool:
            return all(len(_records(p)) >= n for p in outs)

        _send(frames, port, transport, driver, done, wait)
        sng.stop()
        per_name = {name: _records(p) for name, p in zip(names, outs, strict=True)}
    result: list[dict[str, bytes | None]] = []
    for i in range(len(frames)):
        result.append({name: (recs[i] if i < len(recs) else None)
                       for name, recs in per_name.items()})
    return result


def filter_outputs(
    frames: Iterable[bytes],
    filters: dict[str, str],
    *,
    template: str = "$MSG",
    driver: str = "syslog",
    transport: str = "udp",
    source_name: str = "s_net",
    definitions: dict[str, str] | None = None,
    now: str | None = DEFAULT_NOW,
    tz: str = "UTC",
    wait: float = 5.0,
) -> dict[str, list[bytes]]:
    """For each named filter expression, the records syslog-ng wrote in a log path with it.

    ``definitions`` are extra named filters that expressions may refer to with filter(NAME).
    A catch-all destination tells when every frame has been processed.
    """
    frames = list(frames)
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    port = _free_port(kind)
    tpl = _quote(template)[:-1] + '\\x1e\\n"'
    body = [f"options {{ {OPTIONS} }};\n", _source(driver, transport, port, "", source_name)]
    for name, expr in (definitions or {}).items():
        body.append(f"filter {name} {{ {expr}; }};\n")
    body.append(f'destination d_all {{ file("@WORK@/all" template({tpl})); }};\n')
    body.append(f"log {{ source({source_name}); destination(d_all); flags(flow-control); }};\n")
    names = list(filters)
    for i, name in enumerate(names):
        body.append(f"filter f{i} {{ {filters[name]}; }};\n")
        body.append(f'destination d{i} {{ file("@WORK@/out{i}" template({tpl})); }};\n')
        body.append(f"log {{ source({source_name}); filter(f{i}); destination(d{i}); "
                    "flags(flow-control); };\n")
    with SyslogNg("".join(body), now=now, tz=tz) as sng:
        all_path = sng.path("all")

        def done(n: int) -> bool:
            return len(_records(all_path)) >= n

        _send(frames, port, transport, driver, done, wait)
        sng.stop()
        return {name: _records(sng.path(f"out{i}")) for i, name in enumerate(names)}


def tree(root: str) -> dict[str, bytes]:
    """Every file under ROOT: its path relative to ROOT (as bytes go, surrogates) -> bytes."""
    found: dict[str, bytes] = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, root)] = f.read()
    return found


def file_tree(
    frames: Iterable[bytes],
    path: str,
    template: str,
    *,
    driver: str = "syslog",
    transport: str = "udp",
    now: str | None = DEFAULT_NOW,
    tz: str = "UTC",
    wait: float = 5.0,
) -> tuple[dict[str, bytes], str]:
    """What a file() destination with a templated PATH (relative to a fresh directory,
    create-dirs(yes)) writes for the frames: (the files under out/ as ``tree`` gives
    them, syslog-ng's stderr).  A second, fixed destination of every record tells when
    each frame went through; messages the templated one refuses are not in its tree."""
    frames = list(frames)
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    port = _free_port(kind)
    tpl = _quote(template)[:-1] + '\\n"'
    body = [f"options {{ {OPTIONS} }};\n",
            _source(driver, transport, port, "", "s_net"),
            'destination d_all { file("@WORK@/all" template("x\\n")); };\n',
            f"destination d_tree {{ file({_quote('@WORK@/' + path)} template({tpl}) "
            "create-dirs(yes)); };\n",
            "log { source(s_net); destination(d_all); destination(d_tree); "
            "flags(flow-control); };\n"]
    with SyslogNg("".join(body), now=now, tz=tz) as sng:
        all_path = sng.path("all")

        def done(n: int) -> bool:
            try:
                with open(all_path, "rb") as f:
                    return f.read().count(b"\n") >= n
            except FileNotFoundError:
                return False

        _send(frames, port, transport, driver, done, wait)
        sng.stop()
        with open(sng.path("stderr"), "rb") as f:
            stderr = f.read().decode("utf-8", "replace")
        return tree(sng.path("out")), stderr
