"""A write that fails is retried and resumes at the exact byte: no disk, faults on purpose.

ResumingWriter gets a write function that raises ENOSPC or writes short, and a wait
that records the backoff instead of sleeping.  The file writer gets faults injected
into rotation and compression on a real directory.
"""

from __future__ import annotations

import errno
import gzip
import logging
import os
from collections.abc import Iterator

import pytest

from relay.config import FileConfig, RotateConfig
from relay.destinations import filewriter as file_mod
from relay.destinations.resume import BACKOFF_MAX, ResumingWriter


class Disk:
    """A fake file: SCRIPT says, per call, how many bytes fit (an int) or what fails."""

    def __init__(self, script: list[int | OSError]):
        self.script: Iterator[int | OSError] = iter(script)
        self.data = bytearray()

    def write(self, view: memoryview) -> int:
        step = next(self.script, len(view))
        if isinstance(step, OSError):
            raise step
        n = min(step, len(view))
        self.data += view[:n]
        return n


def full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def lines(n: int, first: int = 0) -> bytes:
    return b"".join(b'{"MESSAGE":"line %d"}\n' % i for i in range(first, first + n))


def test_a_full_disk_is_retried_with_backoff_and_resumes_at_the_exact_byte(
        caplog: pytest.LogCaptureFixture) -> None:
    chunk = lines(10)
    # 25 bytes fit, then the disk is full three times, then 1 byte, full again, then room
    disk = Disk([25, full(), full(), full(), 1, full()])
    waits: list[float] = []
    writer = ResumingWriter("destination d: writing /x", disk.write,
                            lambda s: waits.append(s) or True)
    with caplog.at_level(logging.WARNING, "relay"):
        assert writer.write(chunk, 10) == 0
    assert bytes(disk.data) == chunk  # nothing cut, nothing doubled
    assert writer.written == 10 and writer.failing is None
    assert waits == [1.0, 2.0, 4.0, 8.0]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "No space left on device" in errors[0].getMessage()
    assert "/x" in errors[0].getMessage() and writer.episodes == 1
    assert sum("works again" in r.getMessage() for r in caplog.records) == 1


def test_short_writes_count_only_lines_whose_last_byte_was_written() -> None:
    chunk = lines(4)  # 20 bytes a line
    disk = Disk([7] * 100)
    seen: list[int] = []  # what was counted before each write

    def write(view: memoryview) -> int:
        seen.append(writer.written)
        return disk.write(view)

    writer = ResumingWriter("w", write, lambda s: True)
    assert writer.write(chunk, 4) == 0
    assert bytes(disk.data) == chunk and writer.written == 4
    # after 7, 14 bytes nothing counts; after 21 the first line (20 bytes) does
    assert seen[:5] == [0, 0, 0, 1, 1]


def test_backoff_doubles_up_to_thirty_seconds() -> None:
    disk = Disk([full()] * 9)
    waits: list[float] = []
    writer = ResumingWriter("w", disk.write, lambda s: waits.append(s) or True)
    writer.write(lines(1), 1)
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30, 30] and BACKOFF_MAX == 30


def test_stopping_while_full_gives_up_after_one_last_attempt_and_says_what_was_lost() -> None:
    chunk = lines(5)
    disk = Disk([45, full(), full()])  # two lines and a bit, then full for good
    writer = ResumingWriter("w", disk.write, lambda s: False)  # told to stop
    assert writer.write(chunk, 5) == 3
    assert writer.written == 2 and bytes(disk.data) == chunk[:45]
    assert writer.failing is not None


def test_a_message_holding_a_newline_is_counted_once() -> None:
    writer = ResumingWriter("w", Disk([3] * 50).write, lambda s: True)
    assert writer.write(b"a\nb\nc\n" + b"d\n", 2) == 0  # two messages, four newlines
    assert writer.written == 2


def test_other_errors_are_retried_too_and_a_new_episode_is_logged_again(
        caplog: pytest.LogCaptureFixture) -> None:
    eio = OSError(errno.EIO, os.strerror(errno.EIO))
    disk = Disk([eio, 100, full()])
    writer = ResumingWriter("w", disk.write, lambda s: True)
    with caplog.at_level(logging.ERROR, "relay"):
        writer.write(lines(1), 1)
        writer.write(lines(1, 1), 1)
    assert bytes(disk.data) == lines(2) and writer.written == 2 and writer.episodes == 2
    assert [r.getMessage().split(": ")[-1].split(";")[0] for r in caplog.records] == [
        "Input/output error", "No space left on device"]


def _writer(tmp_path: object, **rotate: object) -> file_mod.FileWriter:
    cfg = FileConfig(name="d", type="file", path=f"{tmp_path}/out.json",
                     rotate=RotateConfig(**rotate))  # type: ignore[arg-type]
    writer = file_mod.FileWriter("d", cfg)
    # a retry gives up at once, as when stopping (these faults do not go away by waiting)
    writer.stop.wait = lambda timeout=None: True  # type: ignore[method-assign]
    writer.open()
    return writer


def test_a_failed_rotation_keeps_writing_to_the_file_and_is_retried(
        tmp_path: object, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    writer = _writer(tmp_path, max_bytes=100, keep=2)
    real = os.replace
    fail = [True]

    def replace(src: str, dst: str) -> None:
        if fail[0]:
            raise full()
        real(src, dst)

    monkeypatch.setattr(file_mod.os, "replace", replace)
    with caplog.at_level(logging.ERROR, "relay"):
        writer.write(lines(5), 5)  # 100 bytes: rotation is due, and fails
        writer.write(lines(5, 5), 5)
    assert writer.rotations == 0 and not os.path.exists(f"{tmp_path}/out.json.1")
    with open(f"{tmp_path}/out.json", "rb") as f:
        assert f.read() == lines(10)
    assert sum("rotating" in r.getMessage() for r in caplog.records) == 1
    fail[0] = False
    writer.write(lines(1, 10), 1)  # rotates first: the line would not fit in FILE
    writer.finish()
    assert writer.rotations == 1 and writer.out.written == 11
    with open(f"{tmp_path}/out.json.1", "rb") as f:
        assert f.read() == lines(10)
    with open(f"{tmp_path}/out.json", "rb") as f:
        assert f.read() == lines(1, 10)


def test_a_failed_compression_leaves_the_rotated_file_and_its_space(
        tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = _writer(tmp_path, max_bytes=100, keep=2, compress="gzip")
    real = file_mod.paths.gzip.GzipFile
    fail = [True]

    class Failing(real):  # type: ignore[misc, valid-type]
        def write(self, data: object) -> int:
            if fail[0]:
                raise full()
            return super().write(data)  # type: ignore[no-any-return]

    monkeypatch.setattr(file_mod.paths.gzip, "GzipFile", Failing)
    writer.write(lines(5), 5)  # rotates; compressing fails (and gives up: stop)
    assert writer.compressing is not None
    writer.compressing.result()
    names = sorted(os.listdir(str(tmp_path)))  # no partial .gz, the rotated file kept
    assert names[0] == "out.json" and names[1].startswith("out.json.rotated-")
    assert len(names) == 2
    fail[0] = False
    writer.write(lines(5, 5), 5)  # rotates again: the older file is compressed first
    writer.compressing.result()
    assert sorted(os.listdir(str(tmp_path))) == ["out.json", "out.json.1.gz", "out.json.2.gz"]
    writer.write(lines(1, 10), 1)
    writer.finish()
    with open(f"{tmp_path}/out.json", "rb") as f:
        last = f.read()
    with gzip.open(f"{tmp_path}/out.json.1.gz") as gz:
        first = gz.read()
    with gzip.open(f"{tmp_path}/out.json.2.gz") as gz:
        second = gz.read()
    # cut between lines so that no file holds more than 100 bytes
    assert second + first + last == lines(11)
    assert [len(second), len(first), len(last)] == [84, 84, 64]  # line 10 is 22 bytes
