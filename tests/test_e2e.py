"""The whole relay as a user runs it: real sockets, real `logger`, real signals."""

from __future__ import annotations

import gzip
import os
import re
import signal
import socket
import subprocess
import sys
import threading

import orjson
import pytest
from relayproc import RelayProcess, lines_of, need, wait_for

from relay.__main__ import main

BASE = """
[[source]]
name = "s_udp"
listen = "udp://127.0.0.1:0"
protocol = "auto"

[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"
protocol = "auto"

[[destination]]
name = "d_json"
type = "file"
path = "messages.json"

[[destination]]
name = "d_live"
type = "subscribers"
listen = "tcp://127.0.0.1:0"

[[log]]
source = ["s_udp", "s_tcp"]
destination = ["d_json", "d_live"]
"""


def test_version_and_check(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "relay 0." in capsys.readouterr().out
    good = os.path.join(str(tmp_path), "good.toml")
    with open(good, "w") as f:
        f.write(BASE)
    assert main(["--check", "--config", good]) == 0
    bad = os.path.join(str(tmp_path), "bad.toml")
    with open(bad, "w") as f:
        f.write(BASE.replace('protocol = "auto"\n', 'protocol = "auto"\nfrobnicate = 1\n', 1))
    assert main(["--check", "--config", bad]) == 1
    err = capsys.readouterr().err
    assert "bad.toml, line 6" in err and "[[source]]" in err and "'frobnicate'" in err


@pytest.mark.parametrize("text,needle", [
    ("[[source]]\nname='a'\nlisten='sctp://1.2.3.4:1'\n", "unknown scheme 'sctp'"),
    ("[[source]]\nname='a'\nlisten='udp://127.0.0.1:0'\n[[source]]\nname='a'\n"
     "listen='tcp://127.0.0.1:0'\n", "'a' is defined twice"),
    ("[[source]]\nlisten='udp://127.0.0.1:0'\n", "key 'name' is required"),
    ("[[source]]\nname='a'\nlisten='udp://127.0.0.1:0'\n[[log]]\nsource=['a']\n"
     "destination=['nope']\n", "undefined destination 'nope'"),
    ("[[source]]\nname='a'\nlisten='udp://127.0.0.1:0'\nmax_msg_size=true\n", "must be"),
    ("[source\n", "line 1"),
    ("[[source]]\nname='a'\nlisten='udp://127.0.0.1:0'\n[[destination]]\nname='d'\n"
     "type='file'\npath='x'\ntemplate='$(format-json --scope'\n", "template"),
])
def test_config_errors_are_clear(tmp_path: object, capsys: pytest.CaptureFixture[str],
                                 text: str, needle: str) -> None:
    path = os.path.join(str(tmp_path), "c.toml")
    with open(path, "w") as f:
        f.write(text)
    assert main(["--check", "--config", path]) == 1
    err = capsys.readouterr().err
    assert "c.toml" in err and needle in err
    assert "Traceback" not in err


def test_port_in_use_is_a_config_error(tmp_path: object) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        conf = BASE.replace('listen = "tcp://127.0.0.1:0"\nprotocol',
                            f'listen = "tcp://127.0.0.1:{port}"\nprotocol')
        with RelayProcess(conf, str(tmp_path)) as relay:
            assert relay.proc.wait(15) == 1
            err = relay.stderr()
            assert "s_tcp" in err and "in use" in err and "Traceback" not in err


def test_logger_four_ways_to_file_and_subscriber(tmp_path: object) -> None:
    logger = need("logger")
    with RelayProcess(BASE, str(tmp_path), expect_addresses=3) as relay:
        udp = relay.address("s_udp")
        tcp = relay.address("s_tcp")
        live = relay.address("d_live")
        sub = socket.create_connection(live)
        sub.settimeout(10)
        out = os.path.join(str(tmp_path), "messages.json")
        sends = [
            ["-d", "--rfc3164", "-P", str(udp[1])],
            ["-d", "--rfc5424", "-P", str(udp[1])],
            ["-T", "--rfc3164", "-P", str(tcp[1])],
            ["-T", "--octet-count", "--rfc5424", "-P", str(tcp[1])],
        ]
        for i, args in enumerate(sends):
            subprocess.run([logger, "-n", "127.0.0.1", *args, "-t", f"prog{i}",
                            f"hello number {i}"], check=True, timeout=10)
            wait_for(lambda i=i: len(lines_of(out)) > i, 10, f"message {i} in the file")
        records = [orjson.loads(line) for line in lines_of(out)]
        assert [r["PROGRAM"] for r in records] == ["prog0", "prog1", "prog2", "prog3"]
        assert [r["MESSAGE"] for r in records] == [f"hello number {i}" for i in range(4)]
        assert {r["FACILITY"] for r in records} == {"user"}
        assert {r["PRIORITY"] for r in records} == {"notice"}
        got = b""
        while got.count(b"\n") < 4:
            chunk = sub.recv(65536)
            assert chunk, "subscriber connection closed"
            got += chunk
        assert got.splitlines() == lines_of(out)
        sub.close()
        assert relay.stop() == 0


@pytest.mark.parametrize("kind", ["pipe", "file"])
def test_stdin_only_exits_cleanly_at_eof(tmp_path: object, kind: str) -> None:
    conf = """
[[source]]
name = "s_in"
listen = "stdin://"
protocol = "rfc3164"

[[destination]]
name = "d_out"
type = "stdout"
template = "$PROGRAM|$MSG\\n"

[[log]]
source = ["s_in"]
destination = ["d_out"]
"""
    data = b"<13>Jan  1 00:00:00 host a: one\n<13>Jan  1 00:00:00 host b: two\n<13>x: three"
    if kind == "pipe":
        with RelayProcess(conf, str(tmp_path), stdin=subprocess.PIPE) as relay:
            assert relay.proc.stdin is not None
            relay.proc.stdin.write(data)
            relay.proc.stdin.close()
            out = relay.read_stdout(10)
            assert relay.proc.wait(10) == 0
    else:
        path = os.path.join(str(tmp_path), "input.log")
        with open(path, "wb") as f:
            f.write(data)
        with open(path, "rb") as f, RelayProcess(conf, str(tmp_path), stdin=f) as relay:
            out = relay.read_stdout(10)
            assert relay.proc.wait(10) == 0
    assert out.splitlines() == [b"a|one", b"b|two", b"x|three"]


def test_unix_sources(tmp_path: object) -> None:
    d = str(tmp_path)
    conf = f"""
[[source]]
name = "s_stream"
listen = "unix-stream://{d}/stream.sock"
protocol = "rfc3164"

[[source]]
name = "s_dgram"
listen = "unix-dgram://{d}/dgram.sock"
protocol = "rfc3164"

[[destination]]
name = "d"
type = "file"
path = "out.txt"
template = "$SOURCE $PROGRAM $MSG\\n"

[[log]]
source = ["s_stream", "s_dgram"]
destination = ["d"]
"""
    with RelayProcess(conf, d, expect_addresses=2) as relay:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(f"{d}/stream.sock")
            s.sendall(b"<13>Jan  1 00:00:00 h p1: over a stream\n")
        wait_for(lambda: len(lines_of(f"{d}/out.txt")) == 1, 10, "stream message")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"<13>Jan  1 00:00:00 h p2: over a datagram", f"{d}/dgram.sock")
        wait_for(lambda: len(lines_of(f"{d}/out.txt")) == 2, 10, "datagram message")
        assert relay.stop() == 0
    assert lines_of(f"{d}/out.txt") == [b"s_stream p1 over a stream",
                                        b"s_dgram p2 over a datagram"]


def test_shutdown_reads_what_peers_already_sent(tmp_path: object) -> None:
    d = str(tmp_path)
    with RelayProcess(BASE, d, expect_addresses=3) as relay:
        tcp = relay.address("s_tcp")
        s = socket.create_connection(tcp)
        payload = b"".join(b"<13>Jan  1 00:00:00 h p: line %d\n" % i for i in range(20000))
        s.sendall(payload)
        # SIGTERM right away: the relay must still read and write all of it.
        assert relay.stop() == 0
        s.close()
    assert len(lines_of(f"{d}/messages.json")) == 20000


def test_rotation_with_gzip_and_sighup(tmp_path: object) -> None:
    d = str(tmp_path)
    conf = BASE.replace('path = "messages.json"',
                        'path = "messages.json"\n'
                        'rotate = { max_bytes = "20KiB", keep = 2, compress = "gzip" }')
    with RelayProcess(conf, d, expect_addresses=3) as relay:
        tcp = relay.address("s_tcp")
        with socket.create_connection(tcp) as s:
            for i in range(600):
                s.sendall(b"<13>Jan  1 00:00:00 h p: rotate me %d\n" % i)
        wait_for(lambda: os.path.exists(f"{d}/messages.json.1.gz"), 10, "a rotated .gz")
        # logrotate-style: move the file away, SIGHUP, and the relay writes a new one
        os.rename(f"{d}/messages.json", f"{d}/moved.json")
        relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reopening" in relay.stderr(), 10, "SIGHUP handling")
        with socket.create_connection(tcp) as s:
            s.sendall(b"<13>Jan  1 00:00:00 h p: after hup\n")
        wait_for(lambda: lines_of(f"{d}/messages.json")[-1:] != [], 10, "reopened file")
        assert relay.stop() == 0
    assert not os.path.exists(f"{d}/messages.json.3.gz")
    with gzip.open(f"{d}/messages.json.1.gz") as gz:
        rotated = gz.read().splitlines()
    assert rotated and all(orjson.loads(line)["PROGRAM"] == "p" for line in rotated)
    assert b"after hup" in b"\n".join(lines_of(f"{d}/messages.json"))


def test_a_subscriber_that_never_reads_blocks_nobody(tmp_path: object) -> None:
    d = str(tmp_path)
    conf = BASE.replace('type = "subscribers"', 'type = "subscribers"\nbuffer_bytes = "1MiB"')
    n = 10000
    with RelayProcess(conf, d, expect_addresses=3) as relay:
        live = relay.address("d_live")
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(live)
        reader = socket.create_connection(live)
        reader.settimeout(15)
        got = bytearray()

        def read_all() -> None:
            while got.count(b"\n") < n:
                chunk = reader.recv(1 << 20)
                if not chunk:
                    return
                got.extend(chunk)

        thread = threading.Thread(target=read_all)
        thread.start()
        with socket.create_connection(relay.address("s_tcp")) as s:
            for i in range(0, n, 500):
                s.sendall(b"".join(b"<13>Jan  1 00:00:00 h p: %d %s\n" % (j, b"x" * 200)
                                   for j in range(i, i + 500)))
                # the reader keeps up; the stuck client falls ever further behind
                wait_for(lambda i=i: got.count(b"\n") >= i + 500, 10, "the reader")
        thread.join(20)
        assert got.count(b"\n") == n
        wait_for(lambda: len(lines_of(f"{d}/messages.json")) == n, 10, "the file")
        assert relay.stop() == 0
        dropped = re.search(r"destination d_live: (\d+) written, (\d+) dropped", relay.stderr())
        assert dropped is not None and int(dropped.group(2)) > 0
        stuck.close()
        reader.close()


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "relay", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("relay ")


def test_tls_source(tmp_path: object) -> None:
    import ssl

    openssl = need("openssl")
    d = str(tmp_path)
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", f"{d}/key.pem", "-out",
                    f"{d}/cert.pem"], check=True, capture_output=True, timeout=60)
    conf = f"""
[[source]]
name = "s_tls"
listen = "tls://127.0.0.1:0"
protocol = "auto"
tls_cert = "{d}/cert.pem"
tls_key = "{d}/key.pem"

[[destination]]
name = "d"
type = "file"
path = "out.json"

[[log]]
source = ["s_tls"]
destination = ["d"]
"""
    with RelayProcess(conf, d, expect_addresses=1) as relay:
        ctx = ssl.create_default_context(cafile=f"{d}/cert.pem")
        with socket.create_connection(relay.address("s_tls")) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost") as s:
            msg = b"<14>1 2025-03-01T12:00:00Z host app 1 - - over tls"
            s.sendall(b"%d %s" % (len(msg), msg))
        wait_for(lambda: lines_of(f"{d}/out.json"), 10, "the TLS message")
        assert relay.stop() == 0
    record = orjson.loads(lines_of(f"{d}/out.json")[0])
    assert record["MESSAGE"] == "over tls" and record["PROGRAM"] == "app"


def test_shutdown_reads_datagrams_already_received(tmp_path: object) -> None:
    d = str(tmp_path)
    with RelayProcess(BASE, d, expect_addresses=3) as relay:
        udp = relay.address("s_udp")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(5000):
                s.sendto(b"<13>Jan  1 00:00:00 h p: datagram %d" % i, udp)
        assert relay.stop() == 0  # at once: what waits in the socket buffer is still read
    assert len(lines_of(f"{d}/messages.json")) == 5000


def test_udp_losses_are_counted(tmp_path: object) -> None:
    """UDP cannot be paused: what the kernel drops is counted, so nothing goes unseen."""
    d = str(tmp_path)
    conf = BASE.replace('listen = "udp://127.0.0.1:0"',
                        'listen = "udp://127.0.0.1:0"\nso_rcvbuf = 4096')
    n = 20000
    with RelayProcess(conf, d, expect_addresses=3) as relay:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(n):
                s.sendto(b"<13>Jan  1 00:00:00 h p: flood %d" % i, relay.address("s_udp"))
        assert relay.stop() == 0
        found = re.search(r"source s_udp: (\d+) received, \d+ errors, \d+ truncated, "
                          r"(\d+) dropped by the kernel", relay.stderr())
    assert found is not None
    received, dropped = int(found.group(1)), int(found.group(2))
    assert dropped > 0 and received + dropped == n
    assert len(lines_of(f"{d}/messages.json")) == received
