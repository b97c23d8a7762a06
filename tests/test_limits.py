"""Security and limits, end to end: TLS client certificates, allow lists, max_connections,
idle_timeout and bounded subscriber filter lines, against the real relay process.

The certificates are made here by openssl: a CA, a server certificate, a client with O,
two OUs and a CN, and a client of another CA.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from relayproc import RelayProcess, lines_of, need, wait_for

CLIENT_SUBJECT = "/O=Example Corp/OU=Ops/OU=Night shift/CN=client-1"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([need("openssl"), *args], cwd=cwd, check=True, capture_output=True,
                   timeout=60)


def _key_and_csr(name: str, subject: str, cwd: Path) -> None:
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-subj", subject, "-keyout", f"{name}.key", "-out", f"{name}.csr",
             cwd=cwd)


def _ca(name: str, cwd: Path) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "2", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
             "-out", f"{name}.pem", cwd=cwd)


def _sign(name: str, ca: str, ext: str, cwd: Path) -> None:
    (cwd / f"{name}.ext").write_text(ext + "\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
             cwd=cwd)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    _ca("ca", d)
    _ca("other-ca", d)
    _key_and_csr("server", "/CN=localhost", d)
    _sign("server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1", d)
    _key_and_csr("client", CLIENT_SUBJECT, d)
    _sign("client", "ca", "extendedKeyUsage=clientAuth", d)
    _key_and_csr("stranger", "/O=Elsewhere/CN=stranger", d)
    _sign("stranger", "other-ca", "extendedKeyUsage=clientAuth", d)
    return d


def _client_context(certs: Path, who: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    if who is not None:
        ctx.load_cert_chain(str(certs / f"{who}.pem"), str(certs / f"{who}.key"))
    return ctx


def _tls_connect(address: tuple[str, int], ctx: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection(address, timeout=10)
    try:
        return ctx.wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise


def _refused(address: tuple[str, int], ctx: ssl.SSLContext) -> bool:
    """Whether the relay turns this client away: in the handshake, or (TLS 1.3, where the
    client's certificate is checked after the client has finished) at the first read."""
    try:
        with _tls_connect(address, ctx) as s:
            s.sendall(b"<13>Jan  1 00:00:00 h p: must not arrive\n")
            return s.recv(100) == b""
    except (ssl.SSLError, ConnectionError):
        return True


PAIRS_TEMPLATE = '"${.tls.x509_cn}|${.tls.x509_o}|${.tls.x509_ou}|$MSG\\n"'
TLS_CONF = """
[[source]]
name = "s_tls"
listen = "tls://127.0.0.1:0"
tls_cert = "{d}/server.pem"
tls_key = "{d}/server.key"
tls_ca = "{d}/ca.pem"

[[destination]]
name = "d_pairs"
type = "file"
path = "pairs.txt"
template = {template}

[[destination]]
name = "d_json"
type = "file"
path = "out.json"
template = "$(format-json --scope dot_nv_pairs)\\n"

[[destination]]
name = "d_live"
type = "subscribers"
listen = "tls://127.0.0.1:0"
tls_cert = "{d}/server.pem"
tls_key = "{d}/server.key"
tls_ca = "{d}/ca.pem"

[[log]]
source = ["s_tls"]
destination = ["d_pairs", "d_json", "d_live"]
"""


def test_tls_client_certificates(tmp_path: Path, certs: Path) -> None:
    d = str(tmp_path)
    conf = TLS_CONF.format(d=certs, template=PAIRS_TEMPLATE)
    with RelayProcess(conf, d, expect_addresses=2) as relay:
        good = _client_context(certs, "client")
        with _tls_connect(relay.address("d_live"), good) as sub:
            wait_for(lambda: "listening" in relay.stderr(), 5)
            # the subscriber is in once the relay has read from it: send a no-op line
            sub.sendall(b"\n")
            wait_for(lambda: "cleared its filter" in relay.stderr(), 10, "the subscriber")
            with _tls_connect(relay.address("s_tls"), good) as s:
                # the sender writes the names itself: the certificate's values win
                s.sendall(b'<13>1 2025-03-01T12:00:00Z h app 1 - [tls x509_cn="forged"] '
                          b"hello over tls\n")
                wait_for(lambda: lines_of(f"{d}/pairs.txt"), 10, "the TLS message")
            fed = b""
            sub.settimeout(10)
            while not fed.endswith(b"\n"):
                chunk = sub.recv(65536)
                assert chunk, "the TLS subscriber was disconnected"
                fed += chunk
        assert _refused(relay.address("s_tls"), _client_context(certs, None))
        assert _refused(relay.address("s_tls"), _client_context(certs, "stranger"))
        # SIGHUP reads the certificate again; a bad one is refused, the old one stays
        relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "source s_tls: TLS certificate reloaded" in relay.stderr(), 10)
        with _tls_connect(relay.address("s_tls"), good) as s:
            s.sendall(b"<13>Jan  1 00:00:00 h p: after reload\n")
            wait_for(lambda: len(lines_of(f"{d}/pairs.txt")) == 2, 10, "the second message")
        assert relay.stop() == 0
        stderr = relay.stderr()
    assert lines_of(f"{d}/pairs.txt") == [b"client-1|Example Corp|Ops|hello over tls",
                                          b"client-1|Example Corp|Ops|after reload"]
    record = orjson.loads(lines_of(f"{d}/out.json")[0])
    assert record["_tls"] == {"x509_cn": "client-1", "x509_o": "Example Corp", "x509_ou": "Ops"}
    assert orjson.loads(fed)["MESSAGE"] == "hello over tls"
    assert "2 TLS" in stderr and b"must not arrive" not in Path(d, "pairs.txt").read_bytes()


LIMITS_CONF = """
[[source]]
name = "s_allow"
listen = "tcp://127.0.0.1:0"
allow = ["127.0.0.1/32"]

[[source]]
name = "s_udp"
listen = "udp://127.0.0.1:0"
allow = ["127.0.0.1/32", "::1/128"]

[[source]]
name = "s_max"
listen = "tcp://127.0.0.1:0"
max_connections = 5

[[source]]
name = "s_idle"
listen = "tcp://127.0.0.1:0"
idle_timeout = 2

[[destination]]
name = "d"
type = "file"
path = "out.txt"
template = "$SOURCE $MSG\\n"

[[destination]]
name = "d_live"
type = "subscribers"
listen = "tcp://127.0.0.1:0"

[[log]]
source = ["s_allow", "s_udp", "s_max", "s_idle"]
destination = ["d", "d_live"]
"""


def _closed_by_peer(s: socket.socket) -> bool:
    ready, _, _ = select.select([s], [], [], 0)
    if not ready:
        return False
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except ConnectionError:
        return True


def _from(host: str, address: tuple[str, int], kind: int = socket.SOCK_STREAM) -> socket.socket:
    s = socket.socket(socket.AF_INET, kind)
    s.bind((host, 0))
    if kind == socket.SOCK_STREAM:
        s.connect(address)
    return s


@pytest.fixture()
def limits_relay(tmp_path: Path) -> Iterator[RelayProcess]:
    with RelayProcess(LIMITS_CONF, str(tmp_path), expect_addresses=5) as relay:
        yield relay


def _out(relay: RelayProcess) -> list[bytes]:
    return lines_of(os.path.join(relay.workdir, "out.txt"))


def test_access_and_limits(limits_relay: RelayProcess) -> None:
    relay = limits_relay
    # allow: a sender from 127.0.0.2 is turned away, over TCP and UDP
    with _from("127.0.0.2", relay.address("s_allow")) as s:
        wait_for(lambda: _closed_by_peer(s), 5, "the relay to close a connection not in allow")
    with _from("127.0.0.2", relay.address("s_udp"), socket.SOCK_DGRAM) as u:
        u.sendto(b"<13>Jan  1 00:00:00 h p: udp from outside", relay.address("s_udp"))
    with _from("127.0.0.1", relay.address("s_udp"), socket.SOCK_DGRAM) as u:
        u.sendto(b"<13>Jan  1 00:00:00 h p: udp from inside", relay.address("s_udp"))
    with _from("127.0.0.1", relay.address("s_allow")) as s:
        s.sendall(b"<13>Jan  1 00:00:00 h p: tcp from inside\n")
    wait_for(lambda: len(_out(relay)) == 2, 10, "the allowed messages")

    # max_connections = 5: of 8 at once, 5 are served and 3 closed at once
    conns = [socket.create_connection(relay.address("s_max")) for _ in range(8)]
    try:
        wait_for(lambda: sum(map(_closed_by_peer, conns)) == 3, 10, "3 connections refused")
        served = [c for c in conns if not _closed_by_peer(c)]
        assert len(served) == 5
        for i, c in enumerate(served):
            c.sendall(b"<13>Jan  1 00:00:00 h p: served %d\n" % i)
        wait_for(lambda: len(_out(relay)) == 7, 10, "the 5 served connections' messages")
    finally:
        for c in conns:
            c.close()
    # a slot frees as soon as a connection closes: the next one is served
    def next_one_served() -> bool:
        with socket.create_connection(relay.address("s_max")) as c:
            time.sleep(0.05)
            if _closed_by_peer(c):
                return False
            c.sendall(b"<13>Jan  1 00:00:00 h p: after the others\n")
        return True

    wait_for(next_one_served, 10, "a connection served after the others closed")
    wait_for(lambda: len(_out(relay)) == 8, 10, "the message after the others")

    # idle_timeout = 2: a silent connection is closed after about 2 s; a talking one stays
    with socket.create_connection(relay.address("s_idle")) as silent, \
            socket.create_connection(relay.address("s_idle")) as talking:
        start = time.monotonic()
        while not _closed_by_peer(silent):
            talking.sendall(b"<13>Jan  1 00:00:00 h p: still here\n")
            time.sleep(0.2)
            assert time.monotonic() - start < 6, "the silent connection was not closed"
        waited = time.monotonic() - start
        assert not _closed_by_peer(talking)
    assert 1.8 <= waited <= 3.5

    assert relay.stop() == 0
    stderr = relay.stderr()
    out = _out(relay)
    assert b"s_udp udp from inside" in out and b"s_allow tcp from inside" in out
    assert not any(b"outside" in line for line in out)
    assert "source s_allow: refusing 127.0.0.2: not in allow" in stderr
    assert "source s_udp: dropping datagrams from 127.0.0.2: not in allow" in stderr
    assert "max_connections (5) are open" in stderr
    assert "source s_idle: closing connection from 127.0.0.1: silent for 2s" in stderr
    assert "source s_allow: 1 received" in stderr and "1 refused (1 not in allow" in stderr
    assert "source s_max: 6 received" in stderr and "3 over max_connections" in stderr
    assert "1 closed idle" in stderr


def _vm_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def test_a_huge_filter_line_is_refused_with_memory_bounded(limits_relay: RelayProcess) -> None:
    relay = limits_relay
    with socket.create_connection(relay.address("d_live")) as sub:
        sub.settimeout(10)
        try:
            sub.sendall(b"program(" + b"x" * (4 * 1024 * 1024))  # no newline, ever
        except OSError as exc:  # the relay may close while it is still being sent
            assert exc.errno in (errno.EPIPE, errno.ECONNRESET)
        reply = b""
        try:
            while chunk := sub.recv(4096):
                reply += chunk
        except ConnectionResetError:
            pass
    assert reply.startswith(b"error: filter line longer than 65536 bytes\n")
    peak_mib = _vm_kib(relay.proc.pid, "VmHWM") / 1024
    assert peak_mib < 256, f"peak RSS {peak_mib:.0f} MiB"
    # the relay is still up and serving
    with socket.create_connection(relay.address("s_allow")) as s:
        s.sendall(b"<13>Jan  1 00:00:00 h p: still up\n")
    wait_for(lambda: _out(relay), 10, "a message after the huge filter line")
    assert relay.stop() == 0
    assert "a filter line is longer than 65536 bytes" in relay.stderr()


SNG_TEMPLATE = ("${.tls.x509_cn}|${.tls.x509_o}|${.tls.x509_ou}|"
                "$(format-json --scope dot_nv_pairs --key SOURCEIP)")


@pytest.mark.syslog_ng
def test_tls_pairs_are_what_syslog_ng_makes_of_the_certificate(tmp_path: Path,
                                                               certs: Path) -> None:
    import sng

    frame = b"<13>Jan  1 00:00:00 h p: over tls\n"
    body = f"""
options {{ {sng.OPTIONS} }};
source s {{ network(ip("127.0.0.1") port({sng._free_port(socket.SOCK_STREAM)})
    transport("tls") tls(key-file("{certs}/server.key") cert-file("{certs}/server.pem")
    ca-file("{certs}/ca.pem") peer-verify(required-trusted))); }};
destination d {{ file("@WORK@/out" template({sng._quote(SNG_TEMPLATE)[:-1]}\\x1e\\n")); }};
log {{ source(s); destination(d); }};
"""
    port = int(body.split("port(", 1)[1].split(")", 1)[0])
    good = _client_context(certs, "client")
    with sng.SyslogNg(body, now=None) as daemon:  # a real clock: the certificates are new
        wait_for(lambda: _connects(port), 10, "syslog-ng to listen")
        out = daemon.path("out")
        with _tls_connect(("127.0.0.1", port), good) as s:
            # syslog-ng 3.38 takes the pairs before the read that completes its handshake:
            # what came in that read has them empty (a bug the relay does not copy), so the
            # message compared is sent once the first is out
            s.sendall(b"<13>Jan  1 00:00:00 h p: first\n")
            wait_for(lambda: sng._records(out), 10, "syslog-ng's first message")
            s.sendall(frame)
            wait_for(lambda: len(sng._records(out)) == 2, 10, "syslog-ng's second message")
        expected = sng._records(out)[1] + sng.END
    conf = TLS_CONF.format(d=certs, template=orjson.dumps(SNG_TEMPLATE + "\x1e\n").decode())
    d = str(tmp_path)
    with RelayProcess(conf, d, expect_addresses=2) as relay:
        with _tls_connect(relay.address("s_tls"), good) as s:
            s.sendall(frame)
        wait_for(lambda: lines_of(f"{d}/pairs.txt"), 10, "the relay")
        assert relay.stop() == 0
    assert Path(d, "pairs.txt").read_bytes() == expected


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
