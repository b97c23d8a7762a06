"""The nats destination and source: subjects, config, and the real thing against nats-server."""

from __future__ import annotations

import socket
from pathlib import Path

import natsserver
import pytest
from relayproc import RelayProcess, lines_of, wait_for

from relay.config import NatsConfig, loads
from relay.errors import ConfigError
from relay.message import LogMessage
from relay.parse import Parser, local_peer
from relay.subject import compile_subject, sanitize, split_tokens


def _msg(line: bytes) -> LogMessage:
    return Parser("rfc3164", "s").parse(line, local_peer(), 1_700_000_000_000_000_000)


def test_subject_tokens_are_split_outside_macros() -> None:
    assert split_tokens("syslog.$FACILITY.$LEVEL") == ["syslog", "$FACILITY", "$LEVEL"]
    assert split_tokens("a.${.SDATA.x}.$(echo a.b).c") == ["a", "${.SDATA.x}", "$(echo a.b)",
                                                           "c"]


def test_sanitize_makes_one_token() -> None:
    assert sanitize(b"web.01") == b"web_01"
    assert sanitize(b"a*b>c d\te") == b"a_b_c_d_e"
    assert sanitize(b"") == b"-"
    assert sanitize(b"sshd") == b"sshd"


def test_default_subject() -> None:
    subject = compile_subject(NatsConfig(name="d", type="nats").subject)
    assert subject(_msg(b"<38>Jan  1 00:00:00 host1 sshd[12]: hi")) == "syslog.auth.info.host1.sshd"
    # no program, a host with dots, a program with a space: still five tokens
    assert subject(_msg(b"<13>Jan  1 00:00:00 web.01.example : hi")) == \
        "syslog.user.notice.web_01_example.-"
    constant = compile_subject("logs.all")
    assert constant(_msg(b"<13>hi")) == "logs.all"


BASE = """
[[source]]
name = "s"
listen = "tcp://127.0.0.1:0"

[[destination]]
name = "d"
type = "nats"
{extra}

[[log]]
source = ["s"]
destination = ["d"]
"""


def test_nats_destination_config() -> None:
    config = loads(BASE.format(extra='servers = ["nats://a:4222", "nats://b:4222"]\n'
                               'stream = "SYSLOG"'))
    d = config.destinations[0]
    assert isinstance(d, NatsConfig)
    assert d.servers == ("nats://a:4222", "nats://b:4222") and d.stream == "SYSLOG"
    assert d.max_pending == 4096 and d.when_full == "block"


@pytest.mark.parametrize(("extra", "key", "says"), [
    ('servers = ["http://a:1"]', "servers", "expected nats://HOST:PORT"),
    ("servers = []", "servers", "at least one server"),
    ('subject = "syslog.$(nosuchfunction x)"', "subject", "nosuchfunction"),
    ('when_full = "later"', "when_full", '"block" or "drop"'),
    ("max_pending = 0", "max_pending", "at least 1"),
    ('path = "x"', "path", "does not apply to a nats destination"),
])
def test_nats_destination_config_errors(extra: str, key: str, says: str) -> None:
    with pytest.raises(ConfigError) as exc:
        loads(BASE.format(extra=extra), "relay.toml")
    text = str(exc.value)
    assert "relay.toml" in text and "[[destination]] #1" in text and f"'{key}'" in text, text
    assert says in text, text


EDGE = """
[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"
protocol = "rfc3164"

[[destination]]
name = "d_local"
type = "file"
path = "local.log"

[[destination]]
name = "d_nats"
type = "nats"
servers = [{servers}]
stream = "SYSLOG"
ack_timeout = 1.0

[[log]]
source = ["s_tcp"]
destination = ["d_local", "d_nats"]
"""

CENTRAL = """
[[source]]
name = "s_nats"
listen = "{first}"
servers = [{servers}]
stream = "SYSLOG"
durable = "central"
protocol = "raw"
ack_wait = 5.0

[[destination]]
name = "d_file"
type = "file"
path = "central.log"
template = "$MSG\\n"

[[log]]
source = ["s_nats"]
destination = ["d_file"]
"""


def _lines(n: int, start: int = 0) -> bytes:
    facilities = [(4, "auth"), (3, "daemon"), (16, "local0")]
    out = []
    for i in range(start, start + n):
        code, _ = facilities[i % 3]
        pri = code * 8 + (6 if i % 2 else 3)
        out.append(b"<%d>Jan  1 00:00:00 host%d prog%d[1]: line %d\n" % (pri, i % 4, i % 5, i))
    return b"".join(out)


def _servers(nodes: list[natsserver.NatsNode]) -> str:
    return ", ".join(f'"{n.url}"' for n in nodes)


def test_edge_to_jetstream_to_central(tmp_path: Path) -> None:
    nodes = natsserver.single(str(tmp_path))
    urls = [n.url for n in nodes]
    try:
        natsserver.add_stream(urls)
        (tmp_path / "edge").mkdir()
        (tmp_path / "central").mkdir()
        n = 3000
        with RelayProcess(EDGE.format(servers=_servers(nodes)), str(tmp_path / "edge"),
                          expect_addresses=1) as edge, \
                RelayProcess(CENTRAL.format(first=urls[0], servers=_servers(nodes)),
                             str(tmp_path / "central")) as central:
            with socket.create_connection(edge.address("s_tcp")) as s:
                s.sendall(b"<38>Jan  1 00:00:00 host1 sshd[12]: hello\n" + _lines(n))
            central_log = str(tmp_path / "central" / "central.log")
            wait_for(lambda: len(lines_of(central_log)) >= n + 1, 30, "the central file")
            assert edge.stop() == 0 and central.stop() == 0
            assert "Traceback" not in edge.stderr() + central.stderr()
        local = lines_of(str(tmp_path / "edge" / "local.log"))
        assert len(local) == n + 1
        assert sorted(lines_of(central_log)) == sorted(local)
        info = natsserver.stream_info(urls)
        assert info.state.messages == n + 1
        subjects = natsserver.subjects(urls)
        assert subjects["syslog.auth.info.host1.sshd"] == 1
        assert subjects["syslog.auth.err.host0.prog0"] == n // 60  # i divisible by 3, 2, 4, 5
        assert sum(subjects.values()) == n + 1
    finally:
        for node in nodes:
            node.stop()


def _expected_subjects(data: bytes) -> dict[str, int]:
    names = {4: "auth", 3: "daemon", 16: "local0"}
    levels = {6: "info", 3: "err"}
    counts: dict[str, int] = {}
    for line in data.splitlines():
        pri = int(line[1:line.index(b">")])
        host, prog = line.split(b" ")[4:6]  # "<PRI>Jan  1 00:00:00 HOST PROG[1]:"
        subject = (f"syslog.{names[pri >> 3]}.{levels[pri & 7]}.{host.decode()}."
                   f"{prog.split(b'[')[0].decode()}")
        counts[subject] = counts.get(subject, 0) + 1
    return counts


@pytest.mark.slow
def test_cluster_failover_loses_nothing(tmp_path: Path) -> None:
    """Kill the stream's leader and the central relay mid-stream: nothing is lost, the
    stream stores each message once."""
    nodes = natsserver.cluster(str(tmp_path))
    urls = [n.url for n in nodes]
    try:
        natsserver.add_stream(urls, replicas=3)
        for d in ("edge", "central1", "central2"):
            (tmp_path / d).mkdir()
        central_log = str(tmp_path / "central.log")
        central_conf = CENTRAL.format(first=urls[0], servers=_servers(nodes)).replace(
            'path = "central.log"', f'path = "{central_log}"')
        n, parts = 30000, 3
        data = _lines(n)
        chunks = data.splitlines(keepends=True)
        step = n // parts
        with RelayProcess(EDGE.format(servers=_servers(nodes)), str(tmp_path / "edge"),
                          expect_addresses=1) as edge:
            central = RelayProcess(central_conf, str(tmp_path / "central1"))
            sock = socket.create_connection(edge.address("s_tcp"))
            # 1. a third in; once some of it is stored, kill the leader with more in flight
            sock.sendall(b"".join(chunks[:step]))
            wait_for(lambda: natsserver.stream_info(urls).state.messages > step // 2, 30,
                     "the first messages stored")
            leader = natsserver.stream_info(urls).cluster.leader
            sock.sendall(b"".join(chunks[step:2 * step]))
            killed = next(node for node in nodes if node.name == leader)
            killed.kill()
            alive = [u for u in urls if u != killed.url]
            # 2. kill the central relay once it has written some, restart it, send the rest
            wait_for(lambda: len(lines_of(central_log)) > step, 30, "the central file")
            central.proc.kill()
            central.proc.wait()
            first_stderr = central.stderr()
            central.__exit__()
            sock.sendall(b"".join(chunks[2 * step:]))
            sock.close()
            with RelayProcess(central_conf, str(tmp_path / "central2")) as central2:
                local_log = str(tmp_path / "edge" / "local.log")
                wait_for(lambda: len(lines_of(local_log)) == n, 30, "the local file")
                local = set(lines_of(local_log))
                wait_for(lambda: local <= set(lines_of(central_log)), 40,
                         "every line in the central file")
                assert edge.stop() == 0 and central2.stop() == 0
                stderr = edge.stderr() + first_stderr + central2.stderr()
        assert "Traceback" not in stderr, stderr
        got = lines_of(central_log)
        assert set(got) == local and len(local) == n
        duplicates = len(got) - len(set(got))
        print(f"leader {leader} killed; central relay killed and restarted; "
              f"{duplicates} duplicates in the central file")
        assert duplicates <= 2 * 1024  # at most what the consumer had in flight, twice
        info = natsserver.stream_info(alive)
        assert info.state.messages == n
        assert natsserver.subjects(alive) == _expected_subjects(data)
    finally:
        for node in nodes:
            node.stop()
