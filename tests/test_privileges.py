"""Dropping root: listen on 514, then run as nobody; files 0640, directories 0750.

The end-to-end test needs root (CI runs the tests as root; elsewhere it skips) and a
free port 514, which it checks first and fails clearly when something else holds it.
"""

from __future__ import annotations

import errno
import os
import pwd
import signal
import socket
import stat
import tempfile

import pytest
from relayproc import RelayProcess, lines_of, wait_for

from relay.config import loads
from relay.errors import ConfigError

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
HEAD = '[[source]]\nname = "s"\nlisten = "udp://127.0.0.1:0"\n'


def test_an_unknown_user_or_group_is_a_config_error() -> None:
    for key in ("user", "group"):
        with pytest.raises(ConfigError) as exc:
            loads(f'[options]\n{key} = "no-such-{key}-here"\n' + HEAD, "c.toml")
        assert str(exc.value) == (f"c.toml, line 2: [options] key {key!r} no such {key} "
                                  f"'no-such-{key}-here'")
    assert loads('[options]\nuser = "nobody"\n' + HEAD).options.user == "nobody"


def _status(pid: int) -> dict[str, list[str]]:
    with open(f"/proc/{pid}/status") as f:
        return {k: v.split() for k, _, v in (line.partition(":") for line in f)}


def _port_514_is_free() -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", 514))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                pytest.fail("port 514 on 127.0.0.1 is in use: this test binds it to prove "
                            "the relay listens on a privileged port before dropping root; "
                            "stop what holds it (ss -ltnp 'sport = :514')")
            raise


def test_binds_514_then_runs_as_nobody_and_creates_0640_files_in_0750_dirs() -> None:
    if os.geteuid() != 0:
        if CI:
            pytest.fail("CI runs the tests as root, and this one needs it")
        pytest.skip("needs root to bind port 514 and change user")
    _port_514_is_free()
    nobody = pwd.getpwnam("nobody")
    # a directory every user may enter: the relay reopens its file as nobody
    base = tempfile.mkdtemp(prefix="relay-priv-")
    os.chmod(base, 0o755)
    logs = f"{base}/logs/relay"
    conf = f"""
[options]
user = "nobody"

[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:514"
protocol = "rfc3164"

[[destination]]
name = "d_file"
type = "file"
path = "{logs}/messages.json"
create_dirs = true

[[log]]
source = ["s_tcp"]
destination = ["d_file"]
"""
    try:
        with RelayProcess(conf, base, expect_addresses=1) as relay:
            assert relay.address("s_tcp") == ("127.0.0.1", 514)
            status = _status(relay.proc.pid)
            assert status["Uid"] == [str(nobody.pw_uid)] * 4
            assert status["Gid"] == [str(nobody.pw_gid)] * 4 and status["Groups"] == []
            with socket.create_connection(("127.0.0.1", 514)) as s:
                s.sendall(b"<13>Jan  1 00:00:00 h p: as nobody\n")
            wait_for(lambda: lines_of(f"{logs}/messages.json"), 10, "the line")
            # logrotate-style, as nobody: the relay creates the new file itself
            os.rename(f"{logs}/messages.json", f"{logs}/moved.json")
            relay.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: os.path.exists(f"{logs}/messages.json"), 10, "the reopened file")
            assert relay.stop() == 0
            assert "Traceback" not in relay.stderr()
        for path, mode in ((f"{base}/logs", 0o750), (logs, 0o750),
                           (f"{logs}/moved.json", 0o640), (f"{logs}/messages.json", 0o640)):
            st = os.stat(path)
            assert stat.S_IMODE(st.st_mode) == mode, path
            assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid), path
    finally:
        for root, dirs, files in os.walk(base, topdown=False):
            for name in files:
                os.unlink(os.path.join(root, name))
            for name in dirs:
                os.rmdir(os.path.join(root, name))
        os.rmdir(base)
