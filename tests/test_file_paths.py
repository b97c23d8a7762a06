"""Templated file paths: names as syslog-ng 3.38 makes them, spurious paths refused, one
file per expansion opened, closed past max_open_files and when idle (time_reap), and the
whole tree checked against a live syslog-ng."""

from __future__ import annotations

import base64
import logging
import os
import re
import signal
import socket
import time

import orjson
import pytest
import sng
from relayproc import RelayProcess, lines_of, wait_for

from relay.config import FileConfig
from relay.destinations.filepath import PathCache, file_name, is_template
from relay.destinations.fileset import FileSet

HERE = os.path.dirname(__file__)

# -- names, with no I/O ------------------------------------------------------------------


@pytest.mark.parametrize("expanded,name", [
    (b"out/host/prog.json", "out/host/prog.json"),
    (b"out/a/b/prog.json", "out/a/b/prog.json"),  # a '/' in a value makes directories
    (b"out/host/.json", "out/host/.json"),  # an empty $PROGRAM
    (b"out//prog.json", "out/prog.json"),  # an empty $HOST: the same file as the OS sees it
    (b"out/./prog.json", "out/prog.json"),
    (b"out/h\xc3\xa9/p\xff.json", "out/h\xe9/p\udcff.json"),  # bytes as they are
    (b"out/host/pro\0g.json", "out/host/pro"),  # a C string ends at NUL
    (b"out/../../etc/x.json", None),  # syslog-ng's "spurious path"
    (b"out/..x/p.json", None),  # "/.." anywhere, as syslog-ng tests it
    (b"out/x../p.json", None),  # "../" anywhere
    (b"out/host/..", None),
    (b"../x", None),
    (b"..", None),
    (b"", None),
    (b"out/h.x/p..json", "out/h.x/p..json"),  # dots inside a name are fine
])
def test_file_names_are_syslog_ngs(expanded: bytes, name: str | None) -> None:
    assert file_name(expanded) == name


def test_the_cache_keeps_one_entry_per_expansion() -> None:
    calls: list[bytes] = []

    def expand(msg: object) -> bytes:
        calls.append(b"")
        return b"out/../x" if msg == "bad" else b"out/" + str(msg).encode()

    cache = PathCache(expand)  # type: ignore[arg-type]
    assert cache("a") == ("out/a", b"out/a")  # type: ignore[arg-type]
    assert cache("a") == ("out/a", b"out/a")  # type: ignore[arg-type]
    assert cache("bad") == (None, b"out/../x")  # type: ignore[arg-type]
    assert cache.names == {b"out/a": "out/a", b"out/../x": None}


def test_only_a_path_with_a_dollar_is_a_template() -> None:
    assert is_template("/var/log/$HOST.json") and not is_template("/var/log/messages.json")


# -- the files of a templated path, in the writer thread ------------------------------------


def _set(tmp_path: object, **kw: object) -> FileSet:
    cfg = FileConfig(name="d", type="file", path=f"{tmp_path}/$HOST", create_dirs=True,
                     **kw)  # type: ignore[arg-type]
    return FileSet("d", cfg)


def test_past_max_open_files_the_least_recently_written_is_closed(tmp_path: object) -> None:
    files = _set(tmp_path, max_open_files=2)
    p = [f"{tmp_path}/d/{n}.json" for n in "abc"]
    assert files.write([(p[0], b"a1\n", 1), (p[1], b"b1\n", 1)]) == 0
    assert files.write([(p[0], b"a2\n", 1), (p[2], b"c1\n", 1)]) == 0  # closes b
    assert list(files.files) == [p[0], p[2]] and files.open_files == 2
    files.write([(p[1], b"b2\n", 1)])  # b again: opened again, appended; a is closed
    assert list(files.files) == [p[2], p[1]]
    files.finish()
    assert [lines_of(f) for f in p] == [[b"a1", b"a2"], [b"b1", b"b2"], [b"c1"]]
    assert files.written == 5 and files.open_files == 0


def test_idle_files_are_reaped(tmp_path: object) -> None:
    files = _set(tmp_path)
    a, b = f"{tmp_path}/a.json", f"{tmp_path}/b.json"
    files.write([(a, b"1\n", 1), (b, b"1\n", 1)])
    files.files[a].last_write -= 100
    files.reap(60)
    assert list(files.files) == [b] and files.open_files == 1
    files.finish()


def test_a_file_that_cannot_be_opened_drops_its_lines_not_the_others(
        tmp_path: object, caplog: pytest.LogCaptureFixture) -> None:
    cfg = FileConfig(name="d", type="file", path=f"{tmp_path}/$HOST")  # no create_dirs
    files = FileSet("d", cfg)
    ok, missing = f"{tmp_path}/ok.json", f"{tmp_path}/nodir/x.json"
    with caplog.at_level(logging.WARNING, "relay"):
        assert files.write([(missing, b"1\n2\n", 2), (ok, b"3\n", 1)]) == 2
        assert files.write([(missing, b"4\n", 1)]) == 1
    files.finish()
    assert lines_of(ok) == [b"3"] and files.written == 1
    assert sum("cannot open" in r.getMessage() for r in caplog.records) == 1  # throttled


# -- the relay and syslog-ng, on the same frames ---------------------------------------------

HOSTILE = [
    b"<14>1 2025-03-01T12:00:00Z ../../etc app - - - climbs out",
    b"<14>1 2025-03-01T12:00:00Z .. app - - - dot dot",
    b"<14>1 2025-03-01T12:00:00Z ..x app - - - dot dot x",
    b"<14>1 2025-03-01T12:00:00Z x.. app - - - x dot dot",
    b"<14>1 2025-03-01T12:00:00Z a/../b app - - - inside",
    b"<14>1 2025-03-01T12:00:00Z host ../../p - - - program climbs",
    b"<14>1 2025-03-01T12:00:00Z host .. - - - program dot dot",
    b"<14>1 2025-03-01T12:00:00Z a/b app - - - slash in host",
    b"<14>1 2025-03-01T12:00:00Z /abs app - - - absolute host",
    b"<14>1 2025-03-01T12:00:00Z . p - - - dot host",
    b"<14>1 2025-03-01T12:00:00Z - p - - - nil host",
    b"<14>1 2025-03-01T12:00:00Z host - - - - nil program",
    b"<14>1 2025-03-01T12:00:00Z host a\\b - - - backslash",
    b"<14>1 2025-03-01T12:00:00Z host p/q/r - - - slashes in program",
    b"<14>1 2025-03-01T12:00:00Z h\xc3\xa9 p\xff - - - not utf-8",
    b"<14>1 2025-03-01T12:00:00Z host .hidden - - - dot program",
    b"<13>Mar  1 12:00:00 h3 : empty program",
    b"<13>Mar  1 12:00:00 h/4 pr/og: slashes",
    b"<13>Mar  1 12:00:00 h5 ..: dot dot program",
]
TEMPLATE = "$(format-json --scope selected_macros --scope nv_pairs)"
PID_RE = re.compile(rb'syslog-ng\[\d+\]|"PID":"\d+"')


def corpus() -> list[bytes]:
    frames = []
    for name in ("data/realworld.jsonl", "conformance/cases.jsonl"):
        with open(os.path.join(HERE, name), "rb") as f:
            for line in f:
                case = orjson.loads(line)
                frames.append(base64.b64decode(case["raw_b64"]) if "raw_b64" in case
                              else case["raw"].encode("utf-8", "surrogateescape"))
    frames = (frames * 2)[:1200]  # the same senders again: appended to the same files
    return frames[:600] + HOSTILE + frames[600:]


TREE_CONFIG = """
[[source]]
name = "s_net"
listen = "udp://127.0.0.1:0"
protocol = "auto"

[[destination]]
name = "d_all"
type = "file"
path = "all"
template = "x\\n"

[[destination]]
name = "d_tree"
type = "file"
path = "PATH"
create_dirs = true
template = "TEMPLATE\\n"

[[log]]
source = ["s_net"]
destination = ["d_all", "d_tree"]
"""


def test_a_templated_path_writes_a_stream_s_lines_and_datagrams_apart() -> None:
    """The queue drops only a datagram source's lines past twice its bound: a batch of
    groups holds the lines of one kind, written as that kind (flow.datagrams)."""
    from relay.destinations.file import FileDestination
    from relay.flow import FlowControl
    from tests.fixedclock import parse_at

    flow = FlowControl()
    config = FileConfig(name="d", type="file", path="out/$HOST.json")
    dest = FileDestination(config, lambda msg: msg.values["MESSAGE"].encode(), flow)
    submitted: list[tuple[int, bool]] = []
    dest._submit = (  # type: ignore[method-assign]
        lambda size, lines, *_: submitted.append((lines, flow.datagrams)))
    msg = parse_at(b"<13>Jan  1 00:00:00 host p: hello")
    dest.send(msg)
    dest.send(msg)
    flow.datagrams = True
    dest.send(msg)  # a datagram source's: the stream's two are written first
    assert submitted == [(2, False)]
    dest.end_batch()
    flow.datagrams = False
    dest.flush()  # as a timer does, after the delivery
    assert submitted == [(2, False), (1, True)] and not flow.datagrams
    dest._thread.shutdown()


def _normal(tree: dict[str, bytes]) -> dict[str, bytes]:
    # syslog-ng's own error records carry its PID, and the relay's its own
    return {name: PID_RE.sub(b"PID", data) for name, data in tree.items()}


@pytest.mark.syslog_ng
@pytest.mark.parametrize("path", ["out/$HOST/$PROGRAM.json",
                                  "out/$YEAR-$MONTH-$DAY/$R_HOUR/${HOST:-none}.json"])
def test_the_tree_is_the_one_syslog_ng_writes(tmp_path: object, path: str) -> None:
    frames = corpus()
    want, _ = sng.file_tree(frames, path, TEMPLATE, driver="syslog", now=sng.DEFAULT_NOW)
    lib = sng.require_faketime()
    env = {"LD_PRELOAD": lib, "FAKETIME": sng.DEFAULT_NOW, "DONT_FAKE_MONOTONIC": "1",
           "TZ": "UTC"}
    d = str(tmp_path)
    conf = TREE_CONFIG.replace("TEMPLATE", TEMPLATE).replace("PATH", path)
    with RelayProcess(conf, d, env=env, expect_addresses=1) as relay:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i, frame in enumerate(frames):
                s.sendto(frame, relay.address("s_net"))
                if i % 50 == 49:
                    wait_for(lambda i=i: len(lines_of(f"{d}/all")) > i, 10, "the relay")
        wait_for(lambda: len(lines_of(f"{d}/all")) >= len(frames), 10, "every frame")
        assert relay.stop() == 0
        stderr = relay.stderr()
    got = sng.tree(f"{d}/out")
    assert sorted(got) == sorted(want)
    assert len(got) > 50  # many hosts, programs, days: a tree, not a file
    mismatched = [n for n in want if _normal(got)[n] != _normal(want)[n]]
    assert not mismatched, mismatched[:10]
    # nothing outside out/ but what the config names
    assert sorted(os.listdir(d)) == ["all", "out", "relay.stderr", "relay.toml"]
    if "$PROGRAM" in path:
        assert "refused the spurious path b'out/../../etc/app.json'" in stderr


# -- idle files closed, SIGHUP reopens ---------------------------------------------------------

REAP_CONFIG = """
[metrics]
listen = "127.0.0.1:0"

[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"

[[destination]]
name = "d_tree"
type = "file"
path = "out/$HOST/$PROGRAM.json"
create_dirs = true
template = "$MSG\\n"
time_reap = 2

[[log]]
source = ["s_tcp"]
destination = ["d_tree"]
"""


def _open_under(pid: int, directory: str) -> int:
    base = os.path.realpath(directory) + os.sep
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith(base)
        except OSError:
            pass
    return count


def test_idle_files_are_closed_within_a_few_seconds(tmp_path: object) -> None:
    import urllib.request

    d = str(tmp_path)
    with RelayProcess(REAP_CONFIG, d, expect_addresses=2) as relay:
        pid = relay.proc.pid
        with socket.create_connection(relay.address("s_tcp")) as s:
            for host in ("a", "b", "c"):
                s.sendall(b"<13>Jan  1 00:00:00 %s p: hello\n" % host.encode())
            wait_for(lambda: _open_under(pid, f"{d}/out") == 3, 10, "three open files")
            idle_from = time.monotonic()
            host, port = relay.address("metrics")
            with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as r:
                assert 'relay_destination_open_files{destination="d_tree"} 3.0' in \
                    r.read().decode()
            wait_for(lambda: _open_under(pid, f"{d}/out") == 0, 8, "the idle files closed")
            assert 1.5 < time.monotonic() - idle_from < 6
            s.sendall(b"<13>Jan  1 00:00:00 a p: again\n")  # reopened when needed
            wait_for(lambda: len(lines_of(f"{d}/out/a/p.json")) == 2, 10, "a reopened file")
            assert _open_under(pid, f"{d}/out") == 1
        assert relay.stop() == 0


def test_sighup_reopens_every_file_of_a_templated_path(tmp_path: object) -> None:
    d = str(tmp_path)
    conf = REAP_CONFIG.replace("time_reap = 2", "time_reap = 0")
    with RelayProcess(conf, d, expect_addresses=2) as relay:
        with socket.create_connection(relay.address("s_tcp")) as s:
            for host in (b"a", b"b"):
                s.sendall(b"<13>Jan  1 00:00:00 %s p: before\n" % host)
            wait_for(lambda: all(os.path.exists(f"{d}/out/{h}/p.json") for h in "ab"), 10,
                     "two files")
            for h in "ab":  # logrotate-style: move them away, then SIGHUP
                os.rename(f"{d}/out/{h}/p.json", f"{d}/out/{h}/p.json.1")
            relay.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: all(os.path.exists(f"{d}/out/{h}/p.json") for h in "ab"), 10,
                     "the files reopened")
            for host in (b"a", b"b"):
                s.sendall(b"<13>Jan  1 00:00:00 %s p: after\n" % host)
            wait_for(lambda: all(lines_of(f"{d}/out/{h}/p.json") == [b"after"] for h in "ab"),
                     10, "the lines after SIGHUP in the new files")
        assert relay.stop() == 0
    assert all(lines_of(f"{d}/out/{h}/p.json.1") == [b"before"] for h in "ab")
