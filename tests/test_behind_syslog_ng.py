"""The relay as a syslog-ng destination target: network(), syslog() and program().

A live syslog-ng takes messages on UDP and forwards them to the relay three ways: its
network() destination (RFC 3164 over TCP, newline framing), its syslog() destination
(RFC 5424 over TCP, octet counting) and its program() destination (the relay started by
syslog-ng, reading its stdin).  Every message must arrive through each of the three,
with its PROGRAM, PID, facility, level and MESSAGE intact.
"""

from __future__ import annotations

import os
import socket
import sys

import orjson
import pytest
import sng
from relayproc import RelayProcess, lines_of, wait_for

MESSAGES = [
    (b"<38>Mar  1 11:59:01 web1 sshd[1234]: Accepted publickey for alice", "sshd", "1234",
     "auth", "info", "Accepted publickey for alice"),
    (b"<11>1 2025-03-01T11:59:02Z db1 postgres 77 - - ERROR: relation missing", "postgres",
     "77", "user", "err", "ERROR: relation missing"),
    (b"<134>Mar  1 11:59:03 lb1 haproxy[30000]: 10.1.2.3:5555 GET /index.html 200",
     "haproxy", "30000", "local0", "info", "10.1.2.3:5555 GET /index.html 200"),
]


@pytest.mark.syslog_ng
def test_relay_behind_syslog_ng_network_syslog_and_program(tmp_path: object) -> None:
    d = str(tmp_path)
    relay_conf = """
[[source]]
name = "s_network"
listen = "tcp://127.0.0.1:0"
protocol = "rfc3164"

[[source]]
name = "s_syslog"
listen = "tcp://127.0.0.1:0"
protocol = "auto"

[[destination]]
name = "d_network"
type = "file"
path = "network.json"

[[destination]]
name = "d_syslog"
type = "file"
path = "syslog.json"

[[log]]
source = ["s_network"]
destination = ["d_network"]

[[log]]
source = ["s_syslog"]
destination = ["d_syslog"]
"""
    stdin_conf = os.path.join(d, "stdin.toml")
    with open(stdin_conf, "w") as f:
        f.write(f"""
[[source]]
name = "s_program"
listen = "stdin://"
protocol = "rfc3164"

[[destination]]
name = "d_program"
type = "file"
path = "{d}/program.json"

[[log]]
source = ["s_program"]
destination = ["d_program"]
""")
    with RelayProcess(relay_conf, d, expect_addresses=2) as relay:
        _, network_port = relay.address("s_network")
        _, syslog_port = relay.address("s_syslog")
        udp = sng._free_port(socket.SOCK_DGRAM)
        command = f"{sys.executable} -m relay --config {stdin_conf}"
        body = (
            f"options {{ {sng.OPTIONS} }};\n"
            f'source s_in {{ syslog(transport("udp") ip("127.0.0.1") port({udp})); }};\n'
            f'destination d_network {{ network("127.0.0.1" port({network_port}) '
            'transport("tcp")); };\n'
            f'destination d_syslog {{ syslog("127.0.0.1" port({syslog_port}) '
            'transport("tcp")); };\n'
            # program() writes the legacy "DATE HOST MSGHDR MSG" lines: put the PRI first
            f'destination d_program {{ program("{command}" '
            'template("<$PRI>$DATE $HOST $MSGHDR$MSG\\n")); };\n'
            "log { source(s_in); destination(d_network); destination(d_syslog); "
            "destination(d_program); flags(flow-control); };\n")
        with sng.SyslogNg(body, now=None) as daemon:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for frame, *_ in MESSAGES:
                    s.sendto(frame, ("127.0.0.1", udp))
            for name in ("network", "syslog", "program"):
                wait_for(lambda n=name: len(lines_of(f"{d}/{n}.json")) >= len(MESSAGES), 20,
                         f"the relay behind syslog-ng's {name}()")
            daemon.stop()  # closes the program's stdin: that relay exits at EOF
        assert relay.stop() == 0
    for name in ("network", "syslog", "program"):
        records = [orjson.loads(line) for line in lines_of(f"{d}/{name}.json")]
        got = [(r["PROGRAM"], r.get("PID", ""), r["FACILITY"], r["PRIORITY"], r["MESSAGE"])
               for r in records]
        assert got == [m[1:] for m in MESSAGES], name
