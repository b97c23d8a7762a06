"""SIGHUP reloads the config under load: what flows keeps flowing, exactly once."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import urllib.request

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from relayproc import RelayProcess, lines_of, wait_for

from relay.__main__ import main

LINES = 40_000
CHUNK = 100  # lines per send; one send every PACE seconds: about 10,000 lines/s
PACE = 0.01

CONFIG = """
[metrics]
listen = "127.0.0.1:0"

[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"
protocol = "rfc3164"

[[destination]]
name = "d_all"
type = "file"
path = "all.json"

[[log]]
source = ["s_tcp"]
destination = ["d_all"]
"""

ADD_X = """
[[filter]]
name = "f_x"
expr = 'program("x")'

[[destination]]
name = "d_x"
type = "file"
path = "x.json"

[[log]]
source = ["s_tcp"]
filter = ["f_x"]
destination = ["d_x"]
"""

BROKEN = """
[[filter]]
name = "f_broken"
expr = 'program("x"'
"""


def line(i: int) -> bytes:
    program = "x" if i % 3 == 0 else "y"
    return f"<13>Jan  1 00:00:00 host {program}[1]: seq={i}\n".encode()


class Sender(threading.Thread):
    """One TCP connection streaming LINES lines at a steady rate, then a clean close."""

    def __init__(self, address: tuple[str, int]):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(address)
        self.sent = 0  # lines handed to the kernel so far
        self.error: BaseException | None = None
        self.eof = False

    def run(self) -> None:
        try:
            for start in range(0, LINES, CHUNK):
                self.sock.sendall(b"".join(line(i) for i in range(start, start + CHUNK)))
                self.sent = start + CHUNK
                time.sleep(PACE)
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(20)
            self.eof = self.sock.recv(1) == b""  # a FIN, not a reset
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.sock.close()


def seqs(path: str) -> list[int]:
    return [int(orjson.loads(raw)["MESSAGE"].split("=")[1]) for raw in lines_of(path)]


def scrape(address: tuple[str, int]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_reload_under_load(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    work = str(tmp_path)
    with RelayProcess(CONFIG, work, expect_addresses=2) as relay:
        metrics = relay.address("metrics")
        sender = Sender(relay.address("s_tcp"))
        sender.start()
        wait_for(lambda: sender.sent >= LINES // 5, 30, "the stream to flow")

        with open(relay.config_path, "a") as f:
            f.write(ADD_X)
        relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in relay.stderr(), 10, "the reload")
        mark = sender.sent  # every line from here on was sent after the reload took effect
        assert mark < LINES, "the stream ended before the reload: nothing was shown"

        wait_for(lambda: sender.sent >= mark + LINES // 5, 30, "more of the stream")
        with open(relay.config_path, "a") as f:
            f.write(BROKEN)
        relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in relay.stderr(), 10, "the refusal")
        assert sender.sent < LINES, "the stream ended before the broken reload"

        sender.join(60)
        assert sender.error is None and sender.eof, sender.error
        all_path = os.path.join(work, "all.json")
        wait_for(lambda: len(lines_of(all_path)) >= LINES, 30, "every line in all.json")
        assert seqs(all_path) == list(range(LINES))  # every line exactly once, in order
        got_x = seqs(os.path.join(work, "x.json"))
        assert len(got_x) == len(set(got_x)) and all(i % 3 == 0 for i in got_x)
        assert set(range(mark + (-mark % 3), LINES, 3)) <= set(got_x)

        wait_for(lambda: scrape(metrics)[("relay_destination_written_total",
                                          (("destination", "d_all"),))] == LINES, 10,
                 "d_all's written counter")
        values = scrape(metrics)
        assert values[("relay_source_received_total", (("source", "s_tcp"),))] == LINES
        assert values[("relay_config_reloads_total", (("result", "ok"),))] == 1
        assert values[("relay_config_reloads_total", (("result", "error"),))] == 1
        assert relay.proc.poll() is None
        err = relay.stderr()
        assert relay.stop() == 0

    # the refusal names what `relay --check` names
    assert main(["--check", "--config", relay.config_path]) == 1
    reason = capsys.readouterr().err.split("relay: error: ", 1)[1].strip()
    assert f"reload refused, the running config stays: {reason}" in err


TWO = """
[[source]]
name = "s_keep"
listen = "tcp://127.0.0.1:0"

[[source]]
name = "s_gone"
listen = "tcp://127.0.0.1:0"

[[destination]]
name = "d_all"
type = "file"
path = "all.json"

[[destination]]
name = "d_moved"
type = "file"
path = "before.json"

[[log]]
source = ["s_keep", "s_gone"]
destination = ["d_all", "d_moved"]
"""


def test_reload_replaces_what_changed(tmp_path: object) -> None:
    work = str(tmp_path)
    with RelayProcess(TWO, work, expect_addresses=2) as relay:
        keep = socket.create_connection(relay.address("s_keep"))
        gone = socket.create_connection(relay.address("s_gone"))
        keep.sendall(line(0))
        gone.sendall(line(1))
        all_path = os.path.join(work, "all.json")
        wait_for(lambda: len(lines_of(all_path)) == 2, 10, "the first lines")

        new = (TWO.replace('name = "s_gone"', 'name = "s_new"')
               .replace('"s_gone"]', '"s_new"]').replace("before.json", "after.json"))
        with open(relay.config_path, "w") as f:
            f.write(new)
        relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in relay.stderr(), 10, "the reload")
        assert "sources +s_new -s_gone; destinations ~d_moved" in relay.stderr()
        relay.addresses = []
        wait_for(lambda: relay._read_addresses() == 3, 10, "s_new to listen")

        gone.settimeout(10)
        assert gone.recv(1) == b""  # a removed source's connection is drained, then closed
        gone.close()
        keep.sendall(line(2))  # an unchanged source's connection lives on
        new_conn = socket.create_connection(relay.address("s_new"))
        new_conn.sendall(line(3))
        wait_for(lambda: len(lines_of(all_path)) == 4, 10, "the later lines")
        assert sorted(seqs(all_path)) == [0, 1, 2, 3]
        wait_for(lambda: os.path.exists(os.path.join(work, "after.json"))
                 and len(lines_of(os.path.join(work, "after.json"))) == 2, 10, "after.json")
        assert sorted(seqs(os.path.join(work, "before.json"))) == [0, 1]
        assert sorted(seqs(os.path.join(work, "after.json"))) == [2, 3]
        keep.close()
        new_conn.close()
        assert relay.stop() == 0


def test_sighup_reopens_files_even_when_the_config_is_refused(tmp_path: object) -> None:
    work = str(tmp_path)
    with RelayProcess(CONFIG, work, expect_addresses=2) as relay:
        conn = socket.create_connection(relay.address("s_tcp"))
        conn.sendall(line(0))
        path = os.path.join(work, "all.json")
        wait_for(lambda: len(lines_of(path)) == 1, 10, "the first line")
        os.rename(path, path + ".1")  # what logrotate does before its postrotate HUP
        with open(relay.config_path, "a") as f:
            f.write(BROKEN)
        relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in relay.stderr(), 10, "the refusal")
        conn.sendall(line(1))
        wait_for(lambda: len(lines_of(path)) == 1, 10, "the line in the new file")
        assert seqs(path) == [1] and seqs(path + ".1") == [0]
        conn.close()
        assert relay.stop() == 0


def test_a_reload_that_cannot_listen_is_undone(tmp_path: object) -> None:
    work = str(tmp_path)
    with RelayProcess(CONFIG, work, expect_addresses=2) as relay, \
            socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        conn = socket.create_connection(relay.address("s_tcp"))
        # s_tcp changes (same address: closed first, then reopened), s_busy cannot listen
        with open(relay.config_path, "w") as f:
            f.write(CONFIG.replace('protocol = "rfc3164"', 'protocol = "auto"')
                    + f'[[source]]\nname = "s_busy"\nlisten = "tcp://127.0.0.1:{port}"\n')
        relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in relay.stderr(), 10, "the refusal")
        assert "'s_busy': cannot listen" in relay.stderr()
        wait_for(lambda: relay._read_addresses() == 3, 10, "s_tcp to listen again")
        conn.sendall(line(0))  # and its connection, never closed, is still read
        path = os.path.join(work, "all.json")
        wait_for(lambda: len(lines_of(path)) == 1, 10, "the line")
        values = scrape(relay.address("metrics"))
        assert values[("relay_config_reloads_total", (("result", "error"),))] == 1
        conn.close()
        assert relay.stop() == 0
