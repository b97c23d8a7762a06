"""Run the real relay as a subprocess on ephemeral ports, for end-to-end tests.

The relay prints one ``relay: listening on ADDRESS`` line per listening address; the
harness reads them to learn the ports it bound (port 0 in the config).  Waits are on
conditions with a deadline, never fixed sleeps.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import IO

import pytest

LISTEN = re.compile(r"relay: listening on (\S+) \((\S+)\)")


def need(tool: str) -> str:
    """The path of TOOL; skip when it is missing, but fail under CI (which installs it)."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{tool} is required under CI")
        pytest.skip(f"{tool} is not installed")
    return path


def wait_for(cond: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class RelayProcess:
    def __init__(self, config_text: str, workdir: str, *, env: dict[str, str] | None = None,
                 stdin: int | IO[bytes] | None = subprocess.DEVNULL,
                 expect_addresses: int | None = None):
        self.workdir = workdir
        self.config_path = os.path.join(workdir, "relay.toml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.stderr_path = os.path.join(workdir, "relay.stderr")
        self._stderr_w = open(self.stderr_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "relay", "--config", self.config_path],
            cwd=workdir, env=full_env, stdin=stdin, stdout=subprocess.PIPE,
            stderr=self._stderr_w)
        self.addresses: list[tuple[str, str]] = []
        if expect_addresses:
            wait_for(lambda: self._read_addresses() >= expect_addresses
                     or self.proc.poll() is not None, 15, "the relay to listen")
            if self.proc.poll() is not None:
                raise AssertionError("relay exited early:\n" + self.stderr())

    def _read_addresses(self) -> int:
        self.addresses = LISTEN.findall(self.stderr())
        return len(self.addresses)

    def stderr(self) -> str:
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def address(self, name: str) -> tuple[str, int]:
        """The (host, port) that the source or destination NAME listens on."""
        found = [a for a, owner in self.addresses if owner == name]
        host, port = found[0].split("://", 1)[1].rsplit(":", 1)
        return host, int(port)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._stderr_w.close()

    def read_stdout(self, timeout: float = 5.0) -> bytes:
        assert self.proc.stdout is not None
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.05)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
            elif self.proc.poll() is not None:
                break
        return out

    def __enter__(self) -> RelayProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if not self._stderr_w.closed:
            self._stderr_w.close()
        for pipe in (self.proc.stdout, self.proc.stdin):
            if pipe is not None and not pipe.closed:
                pipe.close()


def lines_of(path: str) -> list[bytes]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    return data.splitlines()
