"""Process and socket facts the harness reads from /proc, and bounded waits.

Everything the benchmark figures are made of that is not a line count: CPU seconds and
peak RSS of a daemon with all its threads and processes, whether a port is listening,
UDP drops and receive buffers.  No wait here is without a deadline.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable

TICK = os.sysconf("SC_CLK_TCK")

#: the checkout these benchmarks are part of: the relay they start is its code, not
#: whatever the virtual environment has installed (an editable install of another one)
CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def relay_env() -> dict[str, str]:
    """The environment a relay process starts with, its workers included."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": CHECKOUT + (os.pathsep + path if path else "")}


def wait_for(cond: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
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
    """user+sys CPU seconds of ``pid`` and its descendants, all threads included.

    A process's own stat line covers all its threads; cutime/cstime add the children it
    has already reaped, so a worker that ended during the run still counts.
    """
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
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
    """SIGTERM, then SIGKILL when it does not end within ``timeout``."""
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


def backlog_drops() -> int:
    """Packets the kernel dropped, on every CPU, before they reached any socket: the input
    backlog a loopback send goes through was full (``/proc/net/softnet_stat``, second
    column; the sender's send() had succeeded)."""
    with open("/proc/net/softnet_stat") as f:
        return sum(int(line.split()[1], 16) for line in f if line.strip())


def free_port(kind: str) -> int:
    """A port that is free on 127.0.0.1 now, for a daemon whose config needs a number."""
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


class LineCounter:
    """Counts the lines of a growing file, reading only what is new."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines = 0
        self._pos = 0

    def poll(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._pos)
                while chunk := f.read(1 << 20):
                    self._pos += len(chunk)
                    self.lines += chunk.count(b"\n")
        except FileNotFoundError:
            pass
        return self.lines


class FeedReader:
    """One subscriber of the relay's feed (``--feed subscribed``), on a thread: it counts
    the lines it gets until the relay closes the connection."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.lines = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError):
            while chunk := self.sock.recv(1 << 20):
                self.lines += chunk.count(b"\n")

    def close(self, timeout: float = 15.0) -> int:
        """The lines it got, once the relay ended the feed (or TIMEOUT passed)."""
        self.thread.join(timeout)
        self.sock.close()
        return self.lines
