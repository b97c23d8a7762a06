"""Creating the files and directories a destination writes, with the modes it was given.

As syslog-ng's ``perm()`` and ``dir-perm()`` do, the mode is set explicitly rather than
left to the umask: a file is created with its mode and then ``fchmod``-ed to it, and so
is each directory ``create_dirs`` makes.  Files that already exist keep their mode.
What is created is recorded, so that the relay can hand it to the user it becomes when
it drops root (relay.privileges).
"""

from __future__ import annotations

import gzip
import os
import shutil

APPEND = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC


def make_dirs(directory: str, mode: int, created: list[str]) -> None:
    """Create DIRECTORY and its missing parents, each with MODE; add them to CREATED."""
    if not directory or os.path.isdir(directory):
        return
    make_dirs(os.path.dirname(directory.rstrip("/")), mode, created)
    try:
        os.mkdir(directory, mode)
    except FileExistsError:
        return  # made meanwhile, by someone else
    os.chmod(directory, mode)
    created.append(directory)


def open_append(path: str, mode: int, created: list[str]) -> int:
    """PATH opened for appending; created with MODE when missing (and added to CREATED)."""
    try:
        fd = os.open(path, APPEND | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return os.open(path, APPEND)
    try:
        os.fchmod(fd, mode)
    except OSError:
        os.close(fd)
        raise
    created.append(path)
    return fd


def missing_directory(path: str) -> str:
    """The directory of PATH when it does not exist, else ""."""
    directory = os.path.dirname(os.path.abspath(path))
    return "" if os.path.isdir(directory) else directory


def compress(src: str, dst: str, mode: int) -> None:
    """Gzip SRC into DST (written as DST.tmp, then renamed), then remove SRC.  On failure
    DST.tmp is removed, so that a full disk gets its space back, and SRC stays."""
    tmp = dst + ".tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        with open(fd, "wb") as raw, open(src, "rb") as fin, \
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as fout:
            os.fchmod(fd, mode)
            shutil.copyfileobj(fin, fout, 1024 * 1024)
        os.replace(tmp, dst)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.unlink(src)
