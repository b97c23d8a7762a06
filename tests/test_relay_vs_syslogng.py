"""The running relay against a live syslog-ng: same frames over UDP, same clock, same bytes.

Both run with their clocks held at the same instant by libfaketime, receive the same
datagrams, and write the same templates to files.  Every record must be byte-identical,
but for the PID inside syslog-ng's "Error processing log message" records.
"""

from __future__ import annotations

import base64
import os
import re
import socket

import orjson
import pytest
import sng
from relayproc import RelayProcess, lines_of, wait_for

NOW = "2025-03-01 12:00:00"
TEMPLATES = {
    "seed": "$(format-json --scope selected_macros --scope nv_pairs)",
    "proto": "$(format-json --scope rfc5424 --scope nv_pairs)",
    "sdata": "$(format-json --scope sdata --scope core --key .SDATA.* --rekey .SDATA.* "
             "--shift 1 --exclude FACILITY)",
    "nested": "$(format-json --scope dot-nv-pairs --key HOST --key PROGRAM --pair pid=$PID "
              "--omit-empty-values)",
    "text": "$ISODATE $HOST $MSGHDR$MSG",
    "plain": "${PROGRAM:-none}|$PRI|$FACILITY.$LEVEL|${.SDATA.meta.sequenceId}|$S_STAMP|$R_DATE",
}
PID_RE = re.compile(rb'syslog-ng\[\d+\]|"(?:PID|pid)":"\d+"|\|\d+\|')
HERE = os.path.dirname(__file__)

EXTRA = [
    b"<30>Nov 21 05:20:13 web01 nginx[811]: 10.0.0.1 - - \"GET / HTTP/1.1\" 200 612",
    b"<86>Dec 31 23:59:59 auth1 sshd[4022]: Accepted publickey for root from 10.0.0.2",
    b"<11>1 2025-02-28T23:00:00.5+01:00 db1 postgres 77 - [meta sequenceId=\"9\"] ERROR: x",
    b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
    b"[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
    b"[examplePriority@32473 class=\"high\"] \xef\xbb\xbfAn application event",
    b"<190>Mar  1 11:59:59 fw kernel: IN=eth0 OUT= MAC=00:11 SRC=10.1.1.1 DST=10.1.1.2",
    b"<13>Jan  1 00:00:00 h app: bad utf8 \xff\xfe and \x01 control and \"quotes\" \\ back",
    b"no pri at all, just text",
    b"<999>Oct 11 22:14:15 host prog: pri out of range",
    b"<14>1 - - - - - -",
    b"<14>1 2025-03-01T12:00:00Z host app - - [bad sd",
    # public log data sets store lines without a PRI
    b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0",
    b"Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for "
    b"ns.example.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!",
    b"2024-01-02T03:04:05.123+02:00 host1 prog[12]: iso stamp, no pri",
]


def corpus() -> list[bytes]:
    frames = []
    with open(os.path.join(HERE, "conformance", "cases.jsonl"), "rb") as f:
        for line in f:
            case = orjson.loads(line)
            if "raw_b64" in case:
                frames.append(base64.b64decode(case["raw_b64"]))
            else:
                frames.append(case["raw"].encode("utf-8", "surrogateescape"))
    return frames + EXTRA


def relay_outputs(tmp: str, frames: list[bytes], protocol: str, *, tz: str = "UTC",
                  keep_hostname: bool = True, transport: str = "udp"
                  ) -> dict[str, list[bytes]]:
    lib = sng.require_faketime()
    dests = []
    for name, tpl in TEMPLATES.items():
        quoted = orjson.dumps(tpl + "\x1e\n").decode()
        dests.append(f'[[destination]]\nname = "d_{name}"\ntype = "file"\n'
                     f'path = "{name}.out"\ntemplate = {quoted}\n')
    conf = (f"[options]\nkeep_hostname = {str(keep_hostname).lower()}\n"
            f'[[source]]\nname = "s_net"\nlisten = "{transport}://127.0.0.1:0"\n'
            f'protocol = "{protocol}"\n' + "\n".join(dests) +
            '[[log]]\nsource = ["s_net"]\ndestination = [' +
            ", ".join(f'"d_{n}"' for n in TEMPLATES) + "]\n")
    env = {"LD_PRELOAD": lib, "FAKETIME": NOW, "DONT_FAKE_MONOTONIC": "1", "TZ": tz}
    paths = {n: os.path.join(tmp, f"{n}.out") for n in TEMPLATES}

    def records(path: str) -> list[bytes]:
        try:
            with open(path, "rb") as f:
                return f.read().split(b"\x1e\n")[:-1]
        except FileNotFoundError:
            return []

    with RelayProcess(conf, tmp, env=env, expect_addresses=1) as relay:
        host, port = relay.address("s_net")
        if transport == "tcp":
            # like the reference: octet counting for syslog(), newlines for network()
            with socket.create_connection((host, port)) as s:
                for frame in frames:
                    s.sendall(b"%d %s" % (len(frame), frame) if protocol == "auto"
                              else frame + b"\n")
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for i, frame in enumerate(frames):
                    s.sendto(frame, (host, port))
                    if i % 20 == 19:
                        wait_for(lambda i=i: len(records(paths["seed"])) > i, 10, "the relay")
        wait_for(lambda: all(len(records(p)) >= len(frames) for p in paths.values()), 15,
                 "every template's output")
        assert relay.stop() == 0
    return {n: records(p) for n, p in paths.items()}


@pytest.mark.syslog_ng
@pytest.mark.parametrize("protocol,driver,tz,keep", [
    ("rfc3164", "network", "UTC", True),
    ("auto", "syslog", "UTC", True),
    # the local zone applies to stamps without one; keep_hostname = false uses the sender
    ("auto", "syslog", "America/New_York", False),
    ("rfc3164", "network", "Asia/Kolkata", True),
])
def test_relay_writes_what_syslog_ng_writes(tmp_path: object, protocol: str, driver: str,
                                           tz: str, keep: bool) -> None:
    frames = corpus()
    options = sng.OPTIONS.replace("keep-hostname(yes)", f"keep-hostname({'yes' if keep else 'no'})")
    expected = sng.render(frames, TEMPLATES, driver=driver, now=NOW, tz=tz, options=options)
    got = relay_outputs(str(tmp_path), frames, protocol, tz=tz, keep_hostname=keep)
    mismatches = []
    for name in TEMPLATES:
        assert len(got[name]) == len(frames), name
        for i, frame in enumerate(frames):
            want = expected[i][name]
            assert want is not None, f"syslog-ng wrote nothing for {frame!r}"
            have = got[name][i]
            if b"syslog-ng" in want:  # syslog-ng's own error record: its PID is its own
                have, want = PID_RE.sub(b"PID", have), PID_RE.sub(b"PID", want)
            if have != want:
                mismatches.append((name, frame, want, have))
    assert not mismatches, "\n".join(
        f"{name}: {frame!r}\n  syslog-ng: {want!r}\n  relay:     {have!r}"
        for name, frame, want, have in mismatches[:10]) + f"\n({len(mismatches)} in all)"


@pytest.mark.syslog_ng
@pytest.mark.parametrize("protocol,driver", [("rfc3164", "network"), ("auto", "syslog")])
def test_relay_writes_what_syslog_ng_writes_over_tcp(tmp_path: object, protocol: str,
                                                    driver: str) -> None:
    """One TCP connection: newline framing for network(), octet counting for syslog()."""
    frames = corpus()
    if protocol == "rfc3164":  # a newline would end the frame early
        frames = [f for f in frames if b"\n" not in f.rstrip(b"\n")]
    expected = sng.render(frames, TEMPLATES, driver=driver, now=NOW, transport="tcp")
    got = relay_outputs(str(tmp_path), frames, protocol, transport="tcp")
    mismatches = []
    for name in TEMPLATES:
        for i, frame in enumerate(frames):
            want = expected[i][name]
            have = got[name][i] if i < len(got[name]) else None
            if want is not None and b"syslog-ng" in want and have is not None:
                have, want = PID_RE.sub(b"PID", have), PID_RE.sub(b"PID", want)
            if have != want:
                mismatches.append((name, frame, want, have))
    assert not mismatches, "\n".join(
        f"{name}: {frame!r}\n  syslog-ng: {want!r}\n  relay:     {have!r}"
        for name, frame, want, have in mismatches[:10]) + f"\n({len(mismatches)} in all)"


@pytest.mark.syslog_ng
def test_long_lines_over_tcp_are_split_like_syslog_ng(tmp_path: object) -> None:
    """log-msg-size(100) / max_msg_size = 100: a longer line becomes several messages."""
    frames = [b"<13>Jan  1 00:00:00 h L1: " + b"".join(b"%04d " % i for i in range(50)),
              b"<13>Jan  1 00:00:00 h L2: next",
              b"<13>Jan  1 00:00:00 h L3: " + b"x" * 300]
    template = "[$PROGRAM|$MSG]"
    port = sng._free_port(socket.SOCK_STREAM)
    options = sng.OPTIONS.replace("log-msg-size(65536)", "log-msg-size(100)")
    body = (f"options {{ {options} }};\n"
            f'source s_net {{ network(transport("tcp") ip("127.0.0.1") port({port})); }};\n'
            f'destination d {{ file("@WORK@/out" template("{template}\\n")); }};\n'
            "log { source(s_net); destination(d); };\n")
    stream = b"".join(frame + b"\n" for frame in frames)
    with sng.SyslogNg(body) as daemon:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(stream)
        wait_for(lambda: b"L3" in b"".join(lines_of(daemon.path("out"))), 10, "syslog-ng")
        wait_for(lambda: len(lines_of(daemon.path("out"))) >= 8, 10, "syslog-ng")
        daemon.stop()
        expected = lines_of(daemon.path("out"))
    d = str(tmp_path)
    conf = ('[[source]]\nname = "s_net"\nlisten = "tcp://127.0.0.1:0"\nprotocol = "rfc3164"\n'
            'max_msg_size = 100\n[[destination]]\nname = "d"\ntype = "file"\npath = "out"\n'
            f'template = "{template}\\n"\n[[log]]\nsource = ["s_net"]\ndestination = ["d"]\n')
    with RelayProcess(conf, d, expect_addresses=1) as relay:
        with socket.create_connection(relay.address("s_net")) as s:
            s.sendall(stream)
        wait_for(lambda: len(lines_of(f"{d}/out")) >= len(expected), 10, "the relay")
        assert relay.stop() == 0
    assert len(expected) == 8
    assert lines_of(f"{d}/out") == expected
