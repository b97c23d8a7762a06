"""The syslog-ng snippets of conf/syslog-ng/, each run in a live syslog-ng in front of the
relay configured by the files next to them.

The generated syslog-ng config is the snippet's own text with only the relay's address
(an ephemeral port) or command put in; the relay runs on conf/syslog-ng/relay.toml or
stdin.toml with only its ports and output path changed.  Real-world lines go into a
syslog-ng syslog() source named s_src; HOST, PROGRAM, PID, MESSAGE, FACILITY, PRIORITY
and DATE must come out of every path, MSGID and the structured data out of the paths that
carry them.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from pathlib import Path

import orjson
import pytest
import sng
from relayproc import RelayProcess, lines_of, wait_for

from relay.__main__ import main

SNIPPETS = Path(__file__).resolve().parent.parent / "conf" / "syslog-ng"

# (line, HOST, PROGRAM, PID, FACILITY, PRIORITY, DATE, MESSAGE, MSGID, SDATA)
LINES = [
    (b"<38>Mar  1 11:59:01 web1 sshd[1234]: Accepted publickey for alice from 10.0.0.5 port "
     b"51234 ssh2: ED25519 SHA256:q9c0mHhtc1Bm", "web1", "sshd", "1234", "auth", "info",
     "Mar  1 11:59:01", "Accepted publickey for alice from 10.0.0.5 port 51234 ssh2: ED25519 "
     "SHA256:q9c0mHhtc1Bm", None, {}),
    (b"<86>Mar  1 11:59:01 web1 sshd[1240]: pam_unix(sshd:session): session opened for user "
     b"alice(uid=1000) by (uid=0)", "web1", "sshd", "1240", "authpriv", "info",
     "Mar  1 11:59:01", "pam_unix(sshd:session): session opened for user alice(uid=1000) by "
     "(uid=0)", None, {}),
    (b"<4>Mar  1 11:59:02 web1 kernel: [ 7394.112233] e1000e 0000:00:1f.6 eno1: NIC Link is "
     b"Down", "web1", "kernel", None, "kern", "warning", "Mar  1 11:59:02",
     "[ 7394.112233] e1000e 0000:00:1f.6 eno1: NIC Link is Down", None, {}),
    (b"<3>Mar  1 11:59:03 web1 kernel: [ 7400.000001] Out of memory: Killed process 4321 "
     b"(java) total-vm:8123456kB", "web1", "kernel", None, "kern", "err", "Mar  1 11:59:03",
     "[ 7400.000001] Out of memory: Killed process 4321 (java) total-vm:8123456kB", None, {}),
    (b"<78>Mar  1 12:00:01 web1 CRON[4242]: (root) CMD (run-parts /etc/cron.hourly)", "web1",
     "CRON", "4242", "cron", "info", "Mar  1 12:00:01",
     "(root) CMD (run-parts /etc/cron.hourly)", None, {}),
    (b"<75>Mar  1 12:00:01 web1 CRON[4243]: (CRON) info (No MTA installed, discarding "
     b"output)", "web1", "CRON", "4243", "cron", "err", "Mar  1 12:00:01",
     "(CRON) info (No MTA installed, discarding output)", None, {}),
    (b'<165>1 2025-03-01T12:00:03.003Z app1 evntslog 8710 ID47 [exampleSDID@32473 iut="3" '
     b'eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] An '
     b"application event log entry", "app1", "evntslog", "8710", "local4", "notice",
     "Mar  1 12:00:03", "An application event log entry", "ID47",
     {"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
      "examplePriority@32473": {"class": "high"}}),
    (b'<134>1 2025-03-01T12:00:04Z app1 nginx - ACCESS [request@32473 method="GET" '
     b'status="200"] 10.1.2.3 "GET /index.html HTTP/1.1" 200 512', "app1", "nginx", None,
     "local0", "info", "Mar  1 12:00:04", '10.1.2.3 "GET /index.html HTTP/1.1" 200 512',
     "ACCESS", {"request@32473": {"method": "GET", "status": "200"}}),
]


def _text(name: str, replacements: dict[str, str]) -> str:
    """A file of conf/syslog-ng with each replacement made exactly once."""
    text = (SNIPPETS / name).read_text()
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{name}: {old!r} should occur once"
        text = text.replace(old, new)
    return text


def _fields(record: dict[str, object]) -> tuple[object, ...]:
    sdata = record.get("_SDATA") or {}
    return (record.get("HOST"), record.get("PROGRAM"), record.get("PID"),
            record.get("FACILITY"), record.get("PRIORITY"), record.get("DATE"),
            record.get("MESSAGE"), record.get("MSGID"), sdata)


@pytest.mark.syslog_ng
@pytest.mark.parametrize("snippet,carries_rfc5424", [
    ("network.conf", False),
    ("syslog.conf", True),
    ("rfc5424-template.conf", True),
    ("program.conf", False),
])
def test_snippet_forwards_every_field_it_can(tmp_path: Path, snippet: str,
                                             carries_rfc5424: bool) -> None:
    d = str(tmp_path)
    relay_conf = _text("relay.toml", {
        '"tcp://127.0.0.1:5514"': '"tcp://127.0.0.1:0"',
        '"tcp://127.0.0.1:5601"': '"tcp://127.0.0.1:0"',
        '"tcp://127.0.0.1:5515"': '"tcp://127.0.0.1:0"',
        '"127.0.0.1:9514"': '"127.0.0.1:0"',
    })
    out = os.path.join(d, "messages.json")
    with RelayProcess(relay_conf, d, env={"TZ": "UTC"}, expect_addresses=4) as relay:
        metrics = "http://{}:{}/metrics".format(*relay.address("metrics"))
        source, destination = "", "d_json"
        if snippet == "program.conf":
            out = os.path.join(d, "program.json")
            stdin_conf = os.path.join(d, "stdin.toml")
            port = sng._free_port(socket.SOCK_STREAM)
            metrics = f"http://127.0.0.1:{port}/metrics"
            source = "s_sng_program"
            with open(stdin_conf, "w") as f:
                f.write(_text("stdin.toml", {"/var/log/relay/program.json": out,
                                             '"127.0.0.1:9516"': f'"127.0.0.1:{port}"'}))
            body = _text(snippet, {"/opt/relay/bin/relay --config /etc/relay/stdin.toml":
                                   f"{sys.executable} -m relay --config {stdin_conf}"})
        else:
            source = "s_sng_network" if snippet == "network.conf" else "s_sng_syslog"
            port = relay.address(source)[1]
            body = _text(snippet, {"port(5514)" if source == "s_sng_network" else "port(5601)":
                                   f"port({port})"})
        udp = sng._free_port(socket.SOCK_DGRAM)
        config = (f"options {{ {sng.OPTIONS} }};\n"
                  f'source s_src {{ syslog(transport("udp") ip("127.0.0.1") port({udp})); }};\n'
                  + body)
        with sng.SyslogNg(config, now=None) as daemon:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for line, *_ in LINES:
                    s.sendto(line, ("127.0.0.1", udp))
            wait_for(lambda: len(lines_of(out)) >= len(LINES), 20,
                     f"the relay behind syslog-ng with {snippet}")
            # the relay's own metrics name its source and destination with their counts
            n = float(len(LINES))
            counts = [f'relay_source_received_total{{source="{source}"}} {n}',
                      f'relay_destination_written_total{{destination="{destination}"}} {n}']

            def scraped() -> str:
                with urllib.request.urlopen(metrics, timeout=5) as response:
                    return str(response.read().decode())

            wait_for(lambda: all(c in scraped() for c in counts), 10, f"the counts: {counts}")
            daemon.stop()
        assert relay.stop() == 0
    records = [orjson.loads(line) for line in lines_of(out)]
    got = [_fields(r) for r in records]
    if carries_rfc5424:
        expected = [tuple(line[1:]) for line in LINES]
    else:
        expected = [(*line[1:-2], None, {}) for line in LINES]
    assert got == expected


@pytest.mark.parametrize("name", ["relay.toml", "stdin.toml"])
def test_the_relay_side_configs_are_valid_as_shipped(name: str) -> None:
    assert main(["--check", "--config", str(SNIPPETS / name)]) == 0
