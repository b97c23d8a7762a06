"""Fan-out: one stream feeds a file, a FIFO, a program and live subscribers at once.

The big test sends 200,000 real-world-shaped lines over one TCP connection with
syslog-ng's loggen; the others cover each destination's failure modes.
"""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

from relayproc import RelayProcess, lines_of, need, wait_for

PROGRAMS = [
    ("sshd", "Accepted publickey for {u} from 10.{a}.{b}.{c} port {p} ssh2"),
    ("sshd", "Failed password for invalid user {u} from 203.0.113.{c} port {p} ssh2"),
    ("sshd(pam_unix)", "session opened for user {u} by (uid=0)"),
    ("sudo", "{u} : TTY=pts/{a} ; PWD=/home/{u} ; USER=root ; COMMAND=/bin/systemctl restart"),
    ("CRON", "({u}) CMD (/usr/local/bin/backup.sh --quiet)"),
    ("postfix/smtpd", "connect from mail{a}.example.net[198.51.100.{c}]"),
    ("kernel", "[{p}.{b}] IN=eth0 OUT= SRC=10.{a}.{b}.{c} DST=10.0.0.1 PROTO=TCP DPT=22"),
    ("nginx", '10.{a}.{b}.{c} - - "GET /api/v1/items/{p} HTTP/1.1" 200 {p}'),
    ("systemd", "Started Session {p} of user {u}."),
    ("dhclient", "DHCPACK of 10.{a}.{b}.{c} from 10.{a}.0.1"),
]
USERS = ["root", "alice", "bob", "deploy", "www-data", "backup"]
HOSTS = ["web01", "web02", "db-1", "mail", "fw.example.com", "10.1.2.3"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def workload(n: int, seed: int = 7) -> tuple[list[bytes], int]:
    """N lines and how many of them have a PROGRAM that program("sshd") passes."""
    rnd = random.Random(seed)
    lines = []
    sshd = 0
    for i in range(n):
        prog, text = PROGRAMS[rnd.randrange(len(PROGRAMS))]
        body = text.format(u=rnd.choice(USERS), a=rnd.randrange(256), b=rnd.randrange(256),
                           c=rnd.randrange(256), p=rnd.randrange(1, 65536))
        pid = "" if prog == "kernel" else f"[{rnd.randrange(1, 99999)}]"
        pri = rnd.randrange(192)
        stamp = f"{rnd.choice(MONTHS)} {rnd.randrange(1, 29):2d} " \
                f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}"
        lines.append(f"<{pri}>{stamp} {rnd.choice(HOSTS)} {prog}{pid}: {body} #{i}".encode())
        sshd += "sshd" in prog
    return lines, sshd


READER = r"""
import socket, sys
host, port, out, expr, want = sys.argv[1:6]
port, want = int(port), int(want)
s = socket.create_connection((host, port))
if expr:
    s.sendall(expr.encode() + b"\n")
print("connected", flush=True)
n = 0
with open(out, "wb") as f:
    s.settimeout(60)
    while n < want:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        f.write(chunk)
        n += chunk.count(b"\n")
"""


def config(d: str, extra: str = "") -> str:
    return f"""
[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"
protocol = "rfc3164"

[[destination]]
name = "d_file"
type = "file"
path = "{d}/file.json"

[[destination]]
name = "d_fifo"
type = "pipe"
path = "{d}/live.fifo"

[[destination]]
name = "d_prog"
type = "program"
command = "cat > {d}/prog.json"

[[destination]]
name = "d_live"
type = "subscribers"
listen = "tcp://127.0.0.1:0"
{extra}
[[log]]
source = ["s_tcp"]
destination = ["d_file", "d_fifo", "d_prog", "d_live"]
"""


def cat_fifo(d: str) -> subprocess.Popen[bytes]:
    """`cat` reading the FIFO, appending to fifo.json."""
    with open(f"{d}/fifo.json", "ab") as out:
        return subprocess.Popen(["cat", f"{d}/live.fifo"], stdout=out)


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_200k_lines_fan_out_to_every_destination(tmp_path: object) -> None:
    loggen = need("loggen")
    d = str(tmp_path)
    n = 200_000
    lines, sshd = workload(n)
    with open(f"{d}/lines.txt", "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    os.mkfifo(f"{d}/live.fifo")
    fifo_reader = cat_fifo(d)
    with RelayProcess(config(d), d, expect_addresses=2) as relay:
        live = relay.address("d_live")
        readers = []
        for name, expr, want in (("all", "", n), ("sshd", 'program("sshd")', sshd)):
            proc = subprocess.Popen([sys.executable, "-c", READER, live[0], str(live[1]),
                                     f"{d}/sub_{name}.json", expr, str(want)],
                                    stdout=subprocess.PIPE)
            assert proc.stdout is not None and proc.stdout.readline() == b"connected\n"
            readers.append(proc)
        wait_for(lambda: 'filters with program("sshd")' in relay.stderr(), 10, "the filter")
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(live)
        wait_for(lambda: relay.stderr().count("subscriber") >= 1, 10, "subscribers")
        host, port = relay.address("s_tcp")
        subprocess.run([loggen, "--inet", "--stream", "--read-file", f"{d}/lines.txt",
                        "--dont-parse", "--rate", "1000000", "--quiet", host, str(port)],
                       check=True, timeout=300, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for path in ("file.json", "prog.json", "fifo.json"):
            wait_for(lambda p=path: len(lines_of(f"{d}/{p}")) >= n, 120, path)
        for proc in readers:
            proc.wait(120)
            assert proc.stdout is not None
            proc.stdout.close()
        rss = peak_rss_kib(relay.proc.pid)
        assert relay.stop() == 0
        stuck.close()
    fifo_reader.wait(10)
    written = lines_of(f"{d}/file.json")
    counts = {p: len(lines_of(f"{d}/{p}"))
              for p in ("file.json", "prog.json", "fifo.json", "sub_all.json", "sub_sshd.json")}
    print(counts, "peak RSS KiB", rss)
    assert len(written) == n
    assert lines_of(f"{d}/prog.json") == written
    assert lines_of(f"{d}/fifo.json") == written
    assert lines_of(f"{d}/sub_all.json") == written
    sshd_lines = lines_of(f"{d}/sub_sshd.json")
    assert len(sshd_lines) == sshd
    assert sshd_lines == [w for w in written if b'"PROGRAM":"sshd' in w]
    assert rss < 256 * 1024, f"peak RSS {rss} KiB"


def test_fifo_without_reader_holds_back_then_delivers(tmp_path: object) -> None:
    d = str(tmp_path)
    os.mkfifo(f"{d}/live.fifo")
    with RelayProcess(config(d), d, expect_addresses=2) as relay:
        with socket.create_connection(relay.address("s_tcp")) as s:
            for i in range(100):
                s.sendall(b"<13>Jan  1 00:00:00 h p: held %d\n" % i)
        wait_for(lambda: len(lines_of(f"{d}/file.json")) == 100, 10, "the file")
        reader = cat_fifo(d)
        wait_for(lambda: len(lines_of(f"{d}/fifo.json")) == 100, 10, "the late reader")
        reader.kill()  # the reader goes away; the relay holds lines back again
        reader.wait()
        with socket.create_connection(relay.address("s_tcp")) as s:
            s.sendall(b"<13>Jan  1 00:00:00 h p: after the reader left\n")
        wait_for(lambda: len(lines_of(f"{d}/file.json")) == 101, 10, "the file")
        reader = cat_fifo(d)
        wait_for(lambda: b"after the reader left" in b"".join(lines_of(f"{d}/fifo.json")),
                 10, "the returning reader")
        assert relay.stop() == 0
        reader.wait(10)
        assert "went away" in relay.stderr()


def test_fifo_path_that_is_not_a_fifo_is_a_clear_error(tmp_path: object) -> None:
    d = str(tmp_path)
    with open(f"{d}/live.fifo", "w"):
        pass
    with RelayProcess(config(d), d) as relay:
        assert relay.proc.wait(15) == 1
        assert "not a named pipe" in relay.stderr() and "Traceback" not in relay.stderr()


def test_program_that_dies_is_restarted(tmp_path: object) -> None:
    d = str(tmp_path)
    os.mkfifo(f"{d}/live.fifo")
    # the program takes one line per run, then exits: every later line needs a restart
    conf = config(d).replace(f'command = "cat > {d}/prog.json"',
                             f'command = "head -n 1 >> {d}/prog.json"')
    with RelayProcess(conf, d, expect_addresses=2) as relay:
        for i in range(3):
            with socket.create_connection(relay.address("s_tcp")) as s:
                s.sendall(b"<13>Jan  1 00:00:00 h p: run %d\n" % i)
            wait_for(lambda i=i: len(lines_of(f"{d}/prog.json")) > i, 20, f"run {i}")
        assert relay.stop() == 0
        assert "restarting in" in relay.stderr() and "exited with status" in relay.stderr()


def test_subscriber_filters_errors_and_disconnects(tmp_path: object) -> None:
    d = str(tmp_path)
    os.mkfifo(f"{d}/live.fifo")
    with RelayProcess(config(d), d, expect_addresses=2) as relay:
        live = relay.address("d_live")
        client = socket.create_connection(live)
        client.settimeout(10)
        client.sendall(b'program("sshd" and\n')
        reply = client.recv(4096)
        assert reply.startswith(b"error: ")
        client.sendall(b'program("sshd")\n')
        wait_for(lambda: 'filters with program("sshd")' in relay.stderr(), 10, "the filter")
        # a client that disconnects in the middle of sending a filter line
        half = socket.create_connection(live)
        half.sendall(b'program("cr')
        half.close()
        with socket.create_connection(relay.address("s_tcp")) as s:
            s.sendall(b"<13>Jan  1 00:00:00 h cron: not for you\n"
                      b"<13>Jan  1 00:00:00 h sshd[1]: for you\n")
        got = b""
        while b"\n" not in got:
            got += client.recv(4096)
        assert b'"MESSAGE":"for you"' in got and b"not for you" not in got
        # an empty line clears the filter
        client.sendall(b"\n")
        wait_for(lambda: "cleared its filter" in relay.stderr(), 10, "the clear")
        with socket.create_connection(relay.address("s_tcp")) as s:
            s.sendall(b"<13>Jan  1 00:00:00 h cron: now for you too\n")
        got = b""
        while b"now for you too" not in got:
            got += client.recv(4096)
        client.close()
        assert relay.stop() == 0


def closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(10) == b""
    except ConnectionResetError:
        return True


def test_subscriber_allow_list_and_max_clients(tmp_path: object) -> None:
    d = str(tmp_path)
    os.mkfifo(f"{d}/live.fifo")
    for extra, refused in (('allow = ["10.0.0.0/8"]\n', "not in allow"),
                           ("max_clients = 1\n", "max_clients reached")):
        with RelayProcess(config(d, extra), d, expect_addresses=2) as relay:
            live = relay.address("d_live")
            first = socket.create_connection(live)
            first.settimeout(10)
            if "max_clients" in extra:
                second = socket.create_connection(live)
                second.settimeout(10)
                assert closed_by_peer(second)
                second.close()
            else:
                assert closed_by_peer(first)
            wait_for(lambda r=refused: r in relay.stderr(), 10, refused)
            first.close()
            assert relay.stop() == 0


def test_flow_control_pauses_tcp_until_the_fifo_reader_comes(tmp_path: object) -> None:
    d = str(tmp_path)
    os.mkfifo(f"{d}/live.fifo")
    conf = f"""
[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"
protocol = "rfc3164"

[[destination]]
name = "d_fifo"
type = "pipe"
path = "{d}/live.fifo"
queue_bytes = "1MiB"

[[log]]
source = ["s_tcp"]
destination = ["d_fifo"]
"""
    n = 100_000  # about 24 MB sent: more than the kernels and the 1 MiB queue can hold
    sent = threading.Event()
    with RelayProcess(conf, d, expect_addresses=1) as relay:
        sock = socket.create_connection(relay.address("s_tcp"))

        def send() -> None:
            for i in range(0, n, 1000):
                sock.sendall(b"".join(b"<13>Jan  1 00:00:00 h p: flow %d %s\n" % (j, b"y" * 200)
                                      for j in range(i, i + 1000)))
            sent.set()

        sender = threading.Thread(target=send)
        sender.start()
        # nobody reads the FIFO: the relay must stop reading, so the sender blocks
        assert not sent.wait(3)
        rss = peak_rss_kib(relay.proc.pid)
        reader = cat_fifo(d)
        sender.join(60)
        assert sent.is_set()
        sock.close()
        wait_for(lambda: len(lines_of(f"{d}/fifo.json")) >= n, 60, "every line in the FIFO")
        assert relay.stop() == 0
        reader.wait(10)
    got = lines_of(f"{d}/fifo.json")
    assert len(got) == n and b"flow 0 " in got[0] and b"flow %d " % (n - 1) in got[-1]
    assert rss < 128 * 1024, f"peak RSS {rss} KiB while paused"


PROGRAM_ONLY = """
[[source]]
name = "net"
listen = "tcp://127.0.0.1:0"
[[destination]]
name = "prog"
type = "program"
command = "{command}"
template = "$MSG\\n"
[[log]]
source = ["net"]
destination = ["prog"]
"""
# a reader that takes 4 KiB every 20 ms: about 200 KB/s
SLOW_READER = ("python3 -c 'import sys, time; out = open(\\\"prog.txt\\\", \\\"wb\\\"); "
               "[(out.write(b), out.flush(), time.sleep(0.02)) "
               "for b in iter(lambda: sys.stdin.buffer.read(4096), b\\\"\\\")]'")


def _send_lines(address: tuple[str, int], count: int) -> None:
    with socket.create_connection(address) as s:
        s.sendall(b"".join(b"<13>Jan  1 00:00:00 h p: line %06d %s\n" % (i, b"x" * 40)
                           for i in range(count)))


def test_shutdown_waits_for_a_slow_program_while_it_reads(tmp_path: object) -> None:
    """12,000 lines (about 660 KB) for a reader that needs over 3 s for them, stopped at
    once: shutdown waits as long as the reader takes bytes, and nothing is lost."""
    d = str(tmp_path)
    with RelayProcess(PROGRAM_ONLY.format(command=SLOW_READER), d,
                      expect_addresses=1) as relay:
        _send_lines(relay.address("net"), 12_000)
        time.sleep(0.3)
        assert relay.stop(timeout=60) == 0
        assert "destination prog: 12000 written, 0 dropped" in relay.stderr(), \
            relay.stderr()[-600:]
    assert len(lines_of(f"{d}/prog.txt")) == 12_000


def test_shutdown_gives_up_a_program_that_reads_nothing(tmp_path: object) -> None:
    """A program that never reads: after 2 s with no byte taken, what it did not take is
    counted as dropped and logged, and the relay stops."""
    d = str(tmp_path)
    with RelayProcess(PROGRAM_ONLY.format(command="exec sleep 30"), d,
                      expect_addresses=1) as relay:
        _send_lines(relay.address("net"), 12_000)
        time.sleep(0.5)
        started = time.monotonic()
        assert relay.stop(timeout=60) == 0
        took = time.monotonic() - started
        err = relay.stderr()
    assert "were never written: no reader took them" in err, err[-600:]
    written, dropped = (int(n) for n in re.search(
        r"destination prog: (\d+) written, (\d+) dropped", err).groups())  # type: ignore[union-attr]
    assert written + dropped == 12_000 and dropped > 0, (written, dropped)
    assert 2.0 <= took < 30, took
