"""A file destination on a full filesystem: a real small tmpfs, filled, then freed.

With the default policy every line sent over TCP reaches the file exactly once, whole,
once space comes back; with ``when_full = "drop"`` the full destination drops and counts
and does not hold back the other destination of its path; so does a pipe whose reader
never comes.  Mounting needs root: under CI (which runs as root) a failure to mount
fails the test, elsewhere it skips.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest
from relayproc import RelayProcess, lines_of, wait_for

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
COUNTERS = re.compile(r"destination (\S+): (\d+) written, (\d+) dropped")
N = 20_000


@pytest.fixture
def full_disk(tmp_path: object) -> Iterator[str]:
    """A 16 MiB tmpfs, filled but for 64 KiB by the file FILLER in it."""
    mnt = f"{tmp_path}/disk"
    os.mkdir(mnt)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", mnt],
                          capture_output=True, text=True)
    if done.returncode != 0:
        why = f"cannot mount a tmpfs: {done.stderr.strip() or done.returncode}"
        if CI:
            pytest.fail(why + " (CI runs the tests as root)")
        pytest.skip(why)
    try:
        st = os.statvfs(mnt)
        with open(f"{mnt}/FILLER", "wb") as f:
            f.write(b"\0" * (st.f_bavail * st.f_frsize - 64 * 1024))
        yield mnt
    finally:
        subprocess.run(["umount", "-l", mnt], check=False)


def send(address: tuple[str, int], n: int) -> threading.Thread:
    """Send N numbered lines over one TCP connection, in a thread (it may block)."""

    def run() -> None:
        with socket.create_connection(address) as s:
            for i in range(0, n, 1000):
                s.sendall(b"".join(b"<13>Jan  1 00:00:00 h p: disk %d %s\n" % (j, b"x" * 150)
                                   for j in range(i, i + 1000)))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def counters(stderr: str) -> dict[str, tuple[int, int]]:
    return {name: (int(w), int(d)) for name, w, d in COUNTERS.findall(stderr)}


def numbers(path: str) -> list[int]:
    """The line numbers in PATH; every line must be valid JSON."""
    return [int(json.loads(line)["MESSAGE"].split()[1]) for line in lines_of(path)]


CONF = """
[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"
protocol = "rfc3164"
"""


def test_full_disk_blocks_then_delivers_every_line_exactly_once(full_disk: str) -> None:
    out = f"{full_disk}/out.json"
    conf = CONF + f"""
[[destination]]
name = "d_block"
type = "file"
path = "{out}"
queue_bytes = "1MiB"

[[log]]
source = ["s_tcp"]
destination = ["d_block"]
"""
    with RelayProcess(conf, os.path.dirname(full_disk), expect_addresses=1) as relay:
        sender = send(relay.address("s_tcp"), N)
        wait_for(lambda: "No space left on device" in relay.stderr(), 20, "the full disk")
        assert f"writing {out} failed" in relay.stderr()
        os.unlink(f"{full_disk}/FILLER")  # space comes back
        sender.join(60)
        assert not sender.is_alive()
        wait_for(lambda: len(lines_of(out)) >= N, 60, "every line in the file")
        assert relay.stop() == 0
        stderr = relay.stderr()
    assert numbers(out) == list(range(N))  # every line once, in order, whole
    assert "Traceback" not in stderr
    assert stderr.count("failed: No space left on device") == 1 and "works again" in stderr
    assert counters(stderr)["d_block"] == (N, 0)


def test_a_full_destination_that_drops_holds_nobody_back(full_disk: str, tmp_path: object
                                                         ) -> None:
    full, ok = f"{full_disk}/full.json", f"{tmp_path}/ok.json"
    conf = CONF + f"""
[[destination]]
name = "d_full"
type = "file"
path = "{full}"
queue_bytes = "256KiB"
when_full = "drop"

[[destination]]
name = "d_ok"
type = "file"
path = "{ok}"
queue_bytes = "256KiB"

[[log]]
source = ["s_tcp"]
destination = ["d_full", "d_ok"]
"""
    with RelayProcess(conf, str(tmp_path), expect_addresses=1) as relay:
        sender = send(relay.address("s_tcp"), N)
        # while the tmpfs stays full, every line reaches the other destination
        wait_for(lambda: len(lines_of(ok)) >= N, 60, "every line in the other file")
        sender.join(10)
        assert not sender.is_alive()
        assert "No space left on device" in relay.stderr()
        os.unlink(f"{full_disk}/FILLER")  # what d_full still holds can be written now
        wait_for(lambda: "works again" in relay.stderr(), 60, "the full disk to recover")
        assert relay.stop() == 0
        stderr = relay.stderr()
    assert numbers(ok) == list(range(N))
    got = numbers(full)  # whole JSON lines, each once, in order, some missing
    assert got == sorted(set(got))
    written, dropped = counters(stderr)["d_full"]
    assert dropped > 0 and written == len(got) and written + dropped == N
    assert counters(stderr)["d_ok"] == (N, 0)
    assert "Traceback" not in stderr


def test_a_pipe_without_reader_that_drops_holds_nobody_back_and_counts(tmp_path: object
                                                                      ) -> None:
    d = str(tmp_path)
    os.mkfifo(f"{d}/live.fifo")
    conf = CONF + f"""
[[destination]]
name = "d_fifo"
type = "pipe"
path = "{d}/live.fifo"
queue_bytes = "64KiB"
when_full = "drop"

[[destination]]
name = "d_prog"
type = "program"
command = "cat > {d}/prog.json"

[[log]]
source = ["s_tcp"]
destination = ["d_fifo", "d_prog"]
"""
    with RelayProcess(conf, d, expect_addresses=1) as relay:
        send(relay.address("s_tcp"), N).join(30)
        wait_for(lambda: len(lines_of(f"{d}/prog.json")) >= N, 30, "every line to the program")
        assert relay.stop() == 0
        stderr = relay.stderr()
    assert numbers(f"{d}/prog.json") == list(range(N))
    assert counters(stderr)["d_prog"] == (N, 0)
    assert counters(stderr)["d_fifo"] == (0, N)  # nobody ever read the FIFO
