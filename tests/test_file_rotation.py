"""Rotation that keeps its limit: where a chunk is cut (no I/O), one file on a real
directory, gzip beside the writer, time boundaries, and 5,000 lines over TCP."""

from __future__ import annotations

import gzip
import os
import random
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from relayproc import RelayProcess, wait_for

from relay.config import FileConfig, RotateConfig, loads
from relay.destinations import filewriter, paths
from relay.destinations.filewriter import FileWriter
from relay.destinations.rotation import next_boundary, period_start, piece_end
from relay.errors import ConfigError

# -- where a chunk is cut ---------------------------------------------------------------


@pytest.mark.parametrize("data,offset,size,limit,want", [
    (b"aa\nbb\n", 0, 0, 10, (6, False)),  # it all fits
    (b"aa\nbb\n", 0, 4, 10, (6, False)),  # exactly up to the limit
    (b"aa\nbb\n", 0, 5, 10, (3, False)),  # the first line fits, the second does not
    (b"aa\nbb\n", 3, 8, 10, (3, True)),  # nothing more fits: rotate first
    (b"aa\nbb\n", 0, 8, 10, (0, True)),  # a full file
    (b"aa\nbb\n", 0, 12, 10, (0, True)),  # over the limit (a failed rotation earlier)
    (b"aaaaaaaaaaaa\nb\n", 0, 0, 10, (13, False)),  # one long line: whole, alone
    (b"b\naaaaaaaaaaaa\n", 2, 0, 10, (15, False)),
    (b"aaaaaaaaaaaa", 0, 0, 10, (12, False)),  # no newline at all
    (b"a\nb\nc\nd\n", 0, 0, 5, (4, False)),  # the last newline that fits
])
def test_a_chunk_is_cut_at_its_last_newline_that_fits(
        data: bytes, offset: int, size: int, limit: int, want: tuple[int, bool]) -> None:
    assert piece_end(data, offset, size, limit) == want


@pytest.fixture
def tz_paris() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def _local(text: str) -> float:
    return time.mktime(time.strptime(text, "%Y-%m-%d %H:%M:%S"))


def test_boundaries_are_local_midnights_and_hours(tz_paris: None) -> None:
    now = _local("2025-03-29 23:30:00")
    assert next_boundary(now, "1d") == _local("2025-03-30 00:00:00")
    assert next_boundary(now, "1h") == _local("2025-03-30 00:00:00")
    assert period_start(now, "1d") == _local("2025-03-29 00:00:00")
    # the day the clocks go forward is 23 hours long
    day = _local("2025-03-30 12:00:00")
    assert next_boundary(day, "1d") - period_start(day, "1d") == 23 * 3600
    assert next_boundary(_local("2025-03-30 01:59:59"), "1h") == _local("2025-03-30 03:00:00")
    assert next_boundary(now + 0.5, "1h") == _local("2025-03-30 00:00:00")


# -- one file on a real directory ---------------------------------------------------------


def _writer(tmp_path: object, **rotate: object) -> FileWriter:
    cfg = FileConfig(name="d", type="file", path=f"{tmp_path}/out.json",
                     rotate=RotateConfig(**rotate))  # type: ignore[arg-type]
    writer = FileWriter("d", cfg)
    writer.open()
    return writer


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _read_if_there(path: str) -> bytes:
    try:
        return _read(path)
    except FileNotFoundError:
        return b""


def _numbered(n: int, start: int = 0, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [b"%06d %s\n" % (i, b"x" * rng.randrange(0, 300)) for i in range(start, start + n)]


def test_every_file_keeps_the_limit_and_together_they_hold_every_line(
        tmp_path: object) -> None:
    writer = _writer(tmp_path, max_bytes=1000, keep=500)
    lines = _numbered(600)
    rng = random.Random(2)
    i = 0
    while i < len(lines):  # chunks of 1 to 40 lines, as batches come
        n = rng.randrange(1, 41)
        chunk = lines[i:i + n]
        assert writer.write(b"".join(chunk), len(chunk)) == 0
        i += n
    writer.finish()
    assert writer.out.written == 600
    base = f"{tmp_path}/out.json"
    files = [f"{base}.{n}" for n in range(writer.rotations, 0, -1)] + [base]
    assert all(os.path.exists(f) for f in files)
    assert not os.path.exists(f"{base}.{writer.rotations + 1}")
    got = [_read(f) for f in files]
    assert b"".join(got) == b"".join(lines)  # in order, no gap, nothing doubled
    assert all(len(g) <= 1000 and g.endswith(b"\n") for g in got)
    # each rotated file was full: the next line would not have fitted
    for g, nxt in zip(got, got[1:], strict=False):
        assert len(g) + len(nxt.split(b"\n", 1)[0]) + 1 > 1000


def test_a_line_longer_than_the_limit_gets_a_file_of_its_own(tmp_path: object) -> None:
    writer = _writer(tmp_path, max_bytes=10, keep=5)
    writer.write(b"a\n" + b"L" * 30 + b"\nb\n", 3)
    writer.finish()
    base = f"{tmp_path}/out.json"
    assert [_read(f"{base}.2"), _read(f"{base}.1"), _read(base)] == [
        b"a\n", b"L" * 30 + b"\n", b"b\n"]
    assert writer.out.written == 3


def test_keep_removes_the_oldest_and_dot_one_is_the_newest(tmp_path: object) -> None:
    writer = _writer(tmp_path, max_bytes=4, keep=2)
    writer.write(b"1\n2\n3\n4\n5\n6\n7\n", 7)
    writer.finish()
    base = f"{tmp_path}/out.json"
    assert sorted(os.listdir(str(tmp_path))) == ["out.json", "out.json.1", "out.json.2"]
    assert [_read(f"{base}.2"), _read(f"{base}.1"), _read(base)] == [b"3\n4\n", b"5\n6\n",
                                                                      b"7\n"]


def test_written_counts_the_lines_of_each_piece(tmp_path: object) -> None:
    writer = _writer(tmp_path, max_bytes=6, keep=9)
    writer.write(b"a\nb\nc\nd\ne\n", 5)
    assert writer.out.written == 5 and writer.rotations == 1
    writer.finish()


def test_gzip_runs_beside_the_writer_which_never_waits_for_it(
        tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = _writer(tmp_path, max_bytes=500, keep=3, compress="gzip")
    release = threading.Event()
    real = paths.compress

    def slow(src: str, dst: str, mode: int) -> None:
        release.wait(10)
        real(src, dst, mode)

    monkeypatch.setattr(filewriter.paths, "compress", slow)
    lines = _numbered(60, seed=3)
    started = time.monotonic()
    for line in lines:  # a dozen rotations while the first compression is held back
        writer.write(line, 1)
    assert time.monotonic() - started < 2
    assert writer.rotations >= 6 and not any(n.endswith(".gz") for n in os.listdir(str(tmp_path)))
    release.set()
    writer.finish()  # waits for the compressor
    base = f"{tmp_path}/out.json"
    names = sorted(os.listdir(str(tmp_path)))
    assert names == ["out.json", "out.json.1.gz", "out.json.2.gz", "out.json.3.gz"]
    got = b""
    for n in (3, 2, 1):
        with gzip.open(f"{base}.{n}.gz") as gz:
            part = gz.read()
            assert len(part) <= 500
            got += part
    got += _read(base)
    assert b"".join(lines).endswith(got)  # the newest lines, in order, no gap


def test_every_hour_rotates_at_the_first_write_after_the_boundary(
        tmp_path: object, tz_paris: None) -> None:
    now = [_local("2025-03-01 10:59:00")]
    cfg = FileConfig(name="d", type="file", path=f"{tmp_path}/out.json",
                     rotate=RotateConfig(every="1h", keep=3))
    writer = FileWriter("d", cfg)
    writer.clock = lambda: now[0]
    writer.open()
    writer.write(b"ten\n", 1)
    now[0] += 59
    writer.write(b"still ten\n", 1)
    now[0] += 2  # 11:00:01
    writer.write(b"eleven\n", 1)
    now[0] += 7200
    writer.write(b"one\n", 1)
    writer.finish()
    base = f"{tmp_path}/out.json"
    assert [_read(f"{base}.2"), _read(f"{base}.1"), _read(base)] == [
        b"ten\nstill ten\n", b"eleven\n", b"one\n"]


def test_a_file_left_from_an_earlier_day_rotates_at_its_first_write(
        tmp_path: object, tz_paris: None) -> None:
    base = f"{tmp_path}/out.json"
    with open(base, "wb") as f:
        f.write(b"yesterday\n")
    yesterday = time.time() - 86400 * 2
    os.utime(base, (yesterday, yesterday))
    cfg = FileConfig(name="d", type="file", path=base, rotate=RotateConfig(every="1d"))
    writer = FileWriter("d", cfg)
    writer.open()
    writer.write(b"today\n", 1)
    writer.finish()
    assert [_read(f"{base}.1"), _read(base)] == [b"yesterday\n", b"today\n"]


def test_every_takes_only_a_day_or_an_hour() -> None:
    text = ('[[source]]\nname = "s"\nlisten = "udp://127.0.0.1:0"\n'
                    '[[destination]]\nname = "d"\ntype = "file"\npath = "x"\n'
                    'rotate = { every = "1w" }\n'
            '[[log]]\nsource = ["s"]\ndestination = ["d"]\n')
    with pytest.raises(ConfigError, match=r"key 'every' must be \"1d\".*not '1w'"):
        loads(text)


# -- 5,000 lines over one connection -------------------------------------------------------

CONFIG = """
[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"

[[destination]]
name = "d_file"
type = "file"
path = "messages.json"
template = "$MSG\\n"
rotate = { max_bytes = "64KiB", keep = 4 }

[[log]]
source = ["s_tcp"]
destination = ["d_file"]
"""


def test_rotation_keeps_64_kib_over_one_connection(tmp_path: object) -> None:
    d = str(tmp_path)
    rng = random.Random(5)
    sent = [b"%05d %s" % (i, b"y" * rng.choice([0, 10, 80, 200, 700, 2000]))
            for i in range(5000)]
    with RelayProcess(CONFIG, d, expect_addresses=1) as relay:
        with socket.create_connection(relay.address("s_tcp")) as s:
            s.sendall(b"".join(b"<13>Jan  1 00:00:00 h p: " + m + b"\n" for m in sent))
        # FILE is briefly absent between its rename to FILE.1 and the reopen
        wait_for(lambda: _read_if_there(f"{d}/messages.json").endswith(sent[-1] + b"\n"),
                 20, "every line")
        assert relay.stop() == 0
    names = sorted(n for n in os.listdir(d) if n.startswith("messages.json"))
    assert names == ["messages.json"] + [f"messages.json.{n}" for n in range(1, 5)]
    longest = max(len(m) for m in sent) + 1
    got = []
    for name in ["messages.json.4", "messages.json.3", "messages.json.2", "messages.json.1",
                 "messages.json"]:
        data = _read(f"{d}/{name}")
        assert len(data) <= 64 * 1024, name  # no line is longer than that here
        got += data.splitlines()
    # a contiguous, in-order suffix of what was sent
    assert got == sent[len(sent) - len(got):]
    assert len(got) > 4 * 64 * 1024 // (longest + 1)
