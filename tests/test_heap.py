"""The C heap's thresholds (relay.heap), set in the process that runs the relay."""

from __future__ import annotations

import subprocess
import sys

from relay import heap

# a child process, so that this one's heap is left as it is; it prints whether the
# thresholds were set, then frees a block at the top of the heap and reports how much of
# it the process still holds
PROBE = """
import ctypes, resource, sys
from relay import heap
print(heap.keep_freed_memory())
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
block = libc.malloc(8 << 20)   # under MMAP: from the heap's top
ctypes.memset(block, 1, 8 << 20)
before = rss()
libc.free(block)
print((before - rss()) >> 20)  # MiB given back to the kernel
"""


def _probe(env: dict[str, str]) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    return out[0], int(out[1])


def test_freed_memory_is_kept_for_the_next_slice():
    set_, given_back = _probe({"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)})
    assert set_ == "True"
    assert given_back == 0


def test_without_it_glibc_gives_the_block_back():
    """(What the thresholds change: the same probe with the environment's own setting.)"""
    set_, given_back = _probe({"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path),
                               "GLIBC_TUNABLES": ""})
    assert set_ == "False"
    assert given_back >= 7


def test_the_environment_s_own_settings_win():
    assert heap.keep_freed_memory({"MALLOC_TRIM_THRESHOLD_": "131072"}) is False
    assert heap.keep_freed_memory({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}) is False
