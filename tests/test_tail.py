"""``relay tail`` against the real relay: JSON and readable lines, filters, restarts, Ctrl-C."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time

import orjson
import pytest
from relayproc import RelayProcess, lines_of, wait_for

from relay.filter import compile_filter
from relay.tail import format_event, parse_address

CONF = """
[[source]]
name = "s_udp"
listen = "udp://127.0.0.1:0"
protocol = "auto"

[[destination]]
name = "d_json"
type = "file"
path = "messages.json"

[[destination]]
name = "d_live"
type = "subscribers"
listen = "tcp://127.0.0.1:@PORT@"

[[log]]
source = ["s_udp"]
destination = ["d_json", "d_live"]
"""

LINES = [
    b"<38>Mar  1 11:59:01 web1 sshd[1234]: Accepted publickey for alice from 10.0.0.5 port "
    b"51234 ssh2: ED25519 SHA256:q9c0mHhtc1Bm",
    b"<4>Mar  1 11:59:02 web1 kernel: [ 7394.112233] e1000e 0000:00:1f.6 eno1: NIC Link is Down",
    b"<78>Mar  1 12:00:01 web1 CRON[4242]: (root) CMD (run-parts /etc/cron.hourly)",
    b"<86>Mar  1 12:00:02 web1 sshd[1240]: pam_unix(sshd:session): session opened for user "
    b"alice(uid=1000) by (uid=0)",
    b'<165>1 2025-03-01T12:00:03.003Z app1 evntslog 8710 ID47 [exampleSDID@32473 iut="3" '
    b'eventSource="Application" eventID="1011"] An application event log entry',
]


class TailProcess:
    def __init__(self, args: list[str], workdir: str, *, stdout: int | None = None):
        self.err_path = os.path.join(workdir, f"tail-{time.monotonic_ns()}.stderr")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "relay", "tail", *args],
                                     stdin=subprocess.DEVNULL, stderr=self._err,
                                     stdout=subprocess.PIPE if stdout is None else stdout)
        self.out = b""

    def stderr(self) -> str:
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def lines(self) -> list[bytes]:
        """What it printed so far, in whole lines."""
        assert self.proc.stdout is not None
        while select.select([self.proc.stdout], [], [], 0)[0]:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                break
            self.out += chunk
        return self.out.splitlines()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._err.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _relay(workdir: str, port: int = 0) -> RelayProcess:
    return RelayProcess(CONF.replace("@PORT@", str(port)), workdir, env={"TZ": "UTC"},
                        expect_addresses=2)


def _send(relay: RelayProcess, lines: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for line in lines:
            s.sendto(line, relay.address("s_udp"))


def _subscribed(relay: RelayProcess, tail: TailProcess) -> int:
    """Send probes until the tail prints one (it is then a subscriber); how many were sent.

    Without a filter the relay logs nothing when a client connects, so ask the tail."""
    out = os.path.join(relay.workdir, "messages.json")
    deadline = time.monotonic() + 15
    sent = 0
    while True:
        _send(relay, [b"<13>Mar  1 11:00:00 probe probe: are you there"])
        sent += 1
        wait_for(lambda n=sent: len(lines_of(out)) >= n, 5, "the probe in the file")
        try:
            wait_for(lambda: any(b"are you there" in line for line in tail.lines()), 0.3)
            return sent
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def _filtering(relay: RelayProcess, expr: str, count: int = 1) -> None:
    # the relay logs each filter it sets: from then on the client only gets what passes it
    wait_for(lambda: relay.stderr().count(f"filters with {expr}") >= count, 15,
             "the relay to take the filter")


def test_json_gets_every_line_as_it_is_in_the_file(tmp_path: object) -> None:
    d = str(tmp_path)
    with _relay(d) as relay:
        host, port = relay.address("d_live")
        tail = TailProcess(["--json", f"{host}:{port}"], d)
        try:
            before = _subscribed(relay, tail)
            _send(relay, LINES)
            out = os.path.join(d, "messages.json")
            wait_for(lambda: len(lines_of(out)) >= before + len(LINES), 10, "the file")
            expected = lines_of(out)[before:]
            wait_for(lambda: tail.lines()[-len(LINES):] == expected, 10, "the tail's lines")
            got = [orjson.loads(line) for line in tail.lines()[-len(LINES):]]
            assert [r["PROGRAM"] for r in got] == ["sshd", "kernel", "CRON", "sshd", "evntslog"]
            assert f"connected to {host}:{port}" in tail.stderr()
        finally:
            tail.close()
        assert relay.stop() == 0


def test_filter_prints_only_matching_lines_readably(tmp_path: object) -> None:
    d = str(tmp_path)
    with _relay(d) as relay:
        host, port = relay.address("d_live")
        tail = TailProcess(["--filter", 'program("sshd") or program("evntslog")',
                            f"{host}:{port}"], d)
        try:
            _filtering(relay, 'program("sshd") or program("evntslog")')
            _send(relay, LINES)
            expected = [
                b"Mar  1 11:59:01 web1 sshd[1234]: Accepted publickey for alice from 10.0.0.5 "
                b"port 51234 ssh2: ED25519 SHA256:q9c0mHhtc1Bm",
                b"Mar  1 12:00:02 web1 sshd[1240]: pam_unix(sshd:session): session opened for "
                b"user alice(uid=1000) by (uid=0)",
                b"Mar  1 12:00:03 app1 evntslog[8710]: An application event log entry",
            ]
            wait_for(lambda: len(tail.lines()) >= 3, 10, "three lines from the tail")
            wait_for(lambda: len(lines_of(os.path.join(d, "messages.json"))) >= 5, 10, "file")
            assert tail.lines() == expected  # plain text through a pipe: no colour codes
        finally:
            tail.close()


def test_bad_filter_prints_the_relays_error_and_exits_2(tmp_path: object) -> None:
    d = str(tmp_path)
    expr = 'program("sshd" and'
    with pytest.raises(Exception) as compiled:
        compile_filter(expr)
    with _relay(d) as relay:
        host, port = relay.address("d_live")
        tail = TailProcess(["--filter", expr, f"{host}:{port}"], d)
        try:
            assert tail.proc.wait(15) == 2
            err = tail.stderr()
            assert f"the relay refused the filter: {compiled.value}" in err
            assert "Traceback" not in err
            assert tail.lines() == []
        finally:
            tail.close()


def test_tail_reconnects_when_the_relay_restarts(tmp_path: object) -> None:
    d = str(tmp_path)
    expr = 'program("CRON")'
    first = _relay(os.path.join(d))
    with first:
        host, port = first.address("d_live")
        tail = TailProcess(["--filter", expr, f"{host}:{port}"], d)
        try:
            _filtering(first, expr)
            _send(first, LINES)
            wait_for(lambda: len(tail.lines()) == 1, 10, "the first relay's line")
            assert first.stop() == 0
            wait_for(lambda: "lost the connection" in tail.stderr(), 10, "the tail to notice")
            second_dir = os.path.join(d, "second")
            os.mkdir(second_dir)
            with _relay(second_dir, port) as second:
                _filtering(second, expr)  # the filter was sent again
                assert f"reconnected to {host}:{port}" in tail.stderr()
                _send(second, LINES)
                wait_for(lambda: len(tail.lines()) == 2, 10, "the second relay's line")
                assert tail.lines()[1] == tail.lines()[0]
                assert b"CRON[4242]: (root) CMD (run-parts /etc/cron.hourly)" in tail.lines()[1]
                assert second.stop() == 0
        finally:
            tail.close()


@pytest.mark.parametrize("relay_up", [True, False], ids=["following", "retrying"])
def test_sigint_exits_0_without_a_traceback(tmp_path: object, relay_up: bool) -> None:
    d = str(tmp_path)
    with _relay(d) as relay:
        host, port = relay.address("d_live")
        if not relay_up:
            assert relay.stop() == 0
        tail = TailProcess([f"{host}:{port}"], d)
        try:
            wait_for(lambda: ("connected to" if relay_up else "cannot connect") in tail.stderr(),
                     15, "the tail to start")
            tail.proc.send_signal(signal.SIGINT)
            assert tail.proc.wait(10) == 0
            assert "Traceback" not in tail.stderr()
        finally:
            tail.close()


def test_colour_on_a_terminal(tmp_path: object) -> None:
    d = str(tmp_path)
    with _relay(d) as relay:
        host, port = relay.address("d_live")
        controller, terminal = pty.openpty()
        tail = TailProcess(["--filter", 'program("kernel")', f"{host}:{port}"], d,
                           stdout=terminal)
        os.close(terminal)
        try:
            _filtering(relay, 'program("kernel")')
            _send(relay, LINES)
            got = b""
            deadline = time.monotonic() + 10
            while b"\n" not in got and time.monotonic() < deadline:
                if select.select([controller], [], [], 0.1)[0]:
                    got += os.read(controller, 4096)
            assert got == (b"\x1b[33mMar  1 11:59:02 web1 kernel: [ 7394.112233] e1000e "
                           b"0000:00:1f.6 eno1: NIC Link is Down\x1b[0m\r\n")
        finally:
            tail.close()
            os.close(controller)


def test_format_event_copes_with_what_a_template_may_leave_out() -> None:
    line = orjson.dumps({"ISODATE": "2025-03-01T12:00:00+00:00", "DATE": "Mar  1 12:00:00",
                         "HOST": "h", "PROGRAM": "p", "PID": "1", "MESSAGE": "m",
                         "PRIORITY": "err"})
    assert format_event(line) == "2025-03-01T12:00:00+00:00 h p[1]: m"
    assert format_event(line, colour=True) == "\x1b[31m2025-03-01T12:00:00+00:00 h p[1]: m\x1b[0m"
    assert format_event(b'{"MESSAGE":"only"}', colour=True) == "- - only"
    assert format_event(b'{"HOST_FROM":"10.0.0.1","PROGRAM":"p","MESSAGE":"x"}') == \
        "- 10.0.0.1 p: x"
    assert format_event(b'{"MESSAGE":"a\\nb\\u001b[2Jc\\u0007"}') == "- - a\\nb\\x1b[2Jc\\x07"
    assert format_event(b"not json \x1b]0;title\x07") == "not json \\x1b]0;title\\x07"
    assert format_event(b"[1, 2]") == "[1, 2]"
    assert format_event(b'{"MESSAGE":"x","PRIORITY":"info"}', colour=True) == "- - x"


@pytest.mark.parametrize("text,expected", [
    ("127.0.0.1:5515", (socket.AF_INET, ("127.0.0.1", 5515))),
    ("tcp://relay.example:6000", (socket.AF_INET, ("relay.example", 6000))),
    ("relay.example", (socket.AF_INET, ("relay.example", 5515))),
    ("[::1]:7000", (socket.AF_INET6, ("::1", 7000))),
    ("unix-stream:///run/relay/live", (socket.AF_UNIX, "/run/relay/live")),
])
def test_parse_address(text: str, expected: tuple[int, object]) -> None:
    assert parse_address(text) == expected


def test_a_bad_address_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from relay.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["tail", "localhost:http"])
    assert exc.value.code == 2
    assert "bad port" in capsys.readouterr().err
