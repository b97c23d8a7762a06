"""The deployment files in conf/: the systemd unit and the logrotate example, checked by
the tools that read them (systemd-analyze, logrotate) and run against the real relay."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from relayproc import RelayProcess, lines_of, need, wait_for

CONF = Path(__file__).resolve().parent.parent / "conf"
UNIT = CONF / "relay.service"
LOGROTATE = CONF / "logrotate" / "relay"
INSTALLED = "/opt/relay/bin/relay"  # where the unit expects the console script


def _unit_keys() -> dict[str, dict[str, list[str]]]:
    """section -> key -> values (systemd allows a key more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(UNIT.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None and "=" in line, f"relay.service:{number}: {raw!r}"
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def test_the_unit_says_what_the_relay_does() -> None:
    service = _unit_keys()["Service"]
    expected = {
        "Type": ["notify"],
        "ExecReload": ["/bin/kill -HUP $MAINPID"],
        "NoNewPrivileges": ["yes"],
        "ProtectSystem": ["strict"],
        "ProtectHome": ["yes"],
        "PrivateTmp": ["yes"],
        "ReadWritePaths": ["/var/log/relay"],
        "LogsDirectory": ["relay"],
        "WorkingDirectory": ["/var/log/relay"],
        "CapabilityBoundingSet": ["CAP_NET_BIND_SERVICE"],
    }
    assert {key: service.get(key) for key in expected} == expected
    assert service["ExecStart"] == [f"{INSTALLED} --config /etc/relay/relay.toml"]
    assert service["ExecStartPre"] == [f"{INSTALLED} --check --config /etc/relay/relay.toml"]
    assert _unit_keys()["Install"] == {"WantedBy": ["multi-user.target"]}


def _installed_unit(tmp_path: Path) -> Path:
    # systemd-analyze checks that ExecStart's program exists: point it at this relay
    relay = shutil.which("relay", path=os.path.dirname(sys.executable))
    assert relay is not None
    unit = tmp_path / "relay.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED, relay))
    return unit


def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    analyze = need("systemd-analyze")
    unit = _installed_unit(tmp_path)
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    # an unknown or misspelt key is only a warning: so nothing at all may be printed
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_unit_is_hardened(tmp_path: Path) -> None:
    analyze = need("systemd-analyze")
    unit = _installed_unit(tmp_path)
    # exposure 0.0 (locked down) .. 10.0 (unprotected); this unit scores 1.6
    done = subprocess.run([analyze, "security", "--offline=true", "--threshold=20", str(unit)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Overall exposure level for relay.service: 1." in done.stdout


def _logrotate() -> str:
    # /usr/sbin is not on every user's PATH
    return shutil.which("logrotate", path=f"{os.environ.get('PATH', '')}:/usr/sbin") \
        or need("logrotate")


def test_logrotate_reads_the_example(tmp_path: Path) -> None:
    done = subprocess.run([_logrotate(), "-d", "-s", str(tmp_path / "state"), str(LOGROTATE)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "error" not in (done.stdout + done.stderr).lower()
    assert "rotating pattern: /var/log/relay/messages.json" in done.stdout + done.stderr


def test_logrotate_rotates_and_the_relay_reopens(tmp_path: Path) -> None:
    logrotate = _logrotate()
    conf = """
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
    with RelayProcess(conf, str(tmp_path), expect_addresses=1) as relay:
        out = str(tmp_path / "messages.json")
        # the example, on this directory, signalling this relay instead of the service
        text = LOGROTATE.read_text().replace("/var/log/relay/messages.json", out)
        text, hunks = re.subn(r"(postrotate\n).*?\n(\s*endscript)",
                              rf"\1        kill -HUP {relay.proc.pid}\n\2", text, flags=re.S)
        assert hunks == 1
        example = tmp_path / "logrotate.conf"
        example.write_text(text)

        def send(message: bytes) -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"<30>Mar  1 12:00:00 web1 app[7]: " + message,
                         relay.address("s_udp"))

        send(b"before the rotation")
        wait_for(lambda: len(lines_of(out)) == 1, 10, "the first line")
        subprocess.run([logrotate, "-f", "-s", str(tmp_path / "state"), str(example)],
                       check=True, timeout=60)
        rotated = [p for p in tmp_path.iterdir() if p.name.startswith("messages.json-")]
        assert len(rotated) == 1  # dateext, and delaycompress keeps the first one plain
        wait_for(lambda: "SIGHUP: reopening files" in relay.stderr(), 10, "the reopen")
        send(b"after the rotation")
        wait_for(lambda: len(lines_of(out)) == 1, 10, "a line in the new file")
        assert b"after the rotation" in lines_of(out)[0]
        assert [b"before the rotation" in line for line in lines_of(str(rotated[0]))] == [True]
        assert relay.stop() == 0
