"""sd_notify: the relay tells a (fake) systemd READY, RELOADING/READY around SIGHUP, STOPPING."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid

import pytest
from relayproc import RelayProcess

from relay.notify import notify

CONF = """
[[source]]
name = "s_udp"
listen = "udp://127.0.0.1:0"

[[destination]]
name = "d_json"
type = "file"
path = "messages.json"

[[log]]
source = ["s_udp"]
destination = ["d_json"]
"""


def _receive(sock: socket.socket) -> str:
    sock.settimeout(15)
    return sock.recv(4096).decode()


@pytest.mark.parametrize("namespace", ["path", "abstract"])
def test_the_relay_notifies_ready_reloading_and_stopping(tmp_path: object,
                                                          namespace: str) -> None:
    d = str(tmp_path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        if namespace == "path":
            address = os.path.join(d, "notify")
            systemd.bind(address)
        else:
            address = f"@relay-test-{uuid.uuid4().hex}"
            systemd.bind("\0" + address[1:])
        with RelayProcess(CONF, d, env={"NOTIFY_SOCKET": address}, expect_addresses=1) as relay:
            assert _receive(systemd) == "READY=1"
            assert "relay: listening on udp://127.0.0.1:" in relay.stderr()
            relay.proc.send_signal(signal.SIGHUP)
            state, stamp = _receive(systemd).split("\n")
            assert state == "RELOADING=1"
            usec = int(stamp.removeprefix("MONOTONIC_USEC="))
            assert abs(usec - time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000) < 10_000_000
            assert _receive(systemd) == "READY=1"
            assert "SIGHUP: reopening files" in relay.stderr()
            relay.proc.send_signal(signal.SIGTERM)
            assert _receive(systemd) == "STOPPING=1"
            assert relay.proc.wait(10) == 0  # one SIGTERM, as systemd sends


def test_notify_is_a_no_op_without_systemd(tmp_path: object,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", os.path.join(str(tmp_path), "gone"))
    assert notify("READY=1") is False  # the socket went away: never fatal
