"""The live-tail page in a real browser: headless Chromium over the DevTools protocol.

With RELAY_WEB_SCREENSHOT=FILE the test also keeps its screenshot there (the README's
picture is made that way).
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest
from chromium import Chromium
from relayproc import RelayProcess

CONFIG = """
[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"
protocol = "rfc3164"

[[destination]]
name = "d_web"
type = "web"
listen = "127.0.0.1:0"

[[log]]
source = ["s_tcp"]
destination = ["d_web"]
"""

# (PRI, program, message): the shapes of a small server's day
SHAPES = [
    (38, "sshd", "Accepted publickey for deploy from 10.0.4.17 port 52144 ssh2"),
    (86, "CRON", "pam_unix(cron:session): session opened for user root(uid=0)"),
    (37, "sshd", "Invalid user admin from 203.0.113.9 port 40422"),
    (131, "nginx", "upstream timed out (110: Connection timed out) while reading"),
    (85, "sudo", "deploy : TTY=pts/0 ; PWD=/srv/app ; USER=root ; COMMAND=/bin/systemctl"),
    (4, "kernel", "nf_conntrack: table full, dropping packet"),
    (22, "postfix/smtpd", "connect from mail.example.org[198.51.100.23]"),
    (30, "beta", "cache warmed in 412 ms"),
    (31, "beta", "GET /healthz 200 0.4ms"),
    (27, "beta", "worker 3 exited with status 1"),
]


def line(i: int) -> bytes:
    pri, program, message = SHAPES[i % len(SHAPES)]
    stamp = f"Dec  3 10:{i // 60 % 60:02d}:{i % 60:02d}"
    return f"<{pri}>{stamp} web1 {program}[{2000 + i}]: {message} (#{i})\n".encode()


ROWS = "document.querySelectorAll('#events tr:not(.gap)')"


@pytest.mark.asyncio
async def test_the_page_shows_lines_filters_them_and_shows_a_bad_filter(tmp_path: object) -> None:
    workdir = str(tmp_path)
    with RelayProcess(CONFIG, workdir, expect_addresses=2) as relay, \
            socket.create_connection(relay.address("s_tcp")) as sender:
        sender.sendall(b"".join(line(i) for i in range(1, 401)))
        host, port = relay.address("d_web")
        async with Chromium() as browser:
            await browser.goto(f"http://{host}:{port}/")
            # the page opens with the ring's last 300 lines, the most recent one last
            await browser.wait(f"{ROWS}.length === 300")
            last = await browser.evaluate(f"[...{ROWS}].at(-1).textContent")
            assert "(#400)" in last and "web1" in last
            assert await browser.evaluate("document.getElementById('received').textContent"
                                          ) == "300"
            # then follows live
            sender.sendall(line(409))  # beta, daemon.err
            await browser.wait(f"[...{ROWS}].at(-1).textContent.includes('(#409)')")
            badge = await browser.evaluate(f"[...{ROWS}].at(-1).querySelector('.sev').textContent")
            assert badge == "err"  # <27>: daemon.err
            assert await browser.evaluate(
                f"[...{ROWS}].at(-1).children[2].textContent") == "beta[2409]"

            # the filter box narrows the table to what passes
            await browser.evaluate("""
                document.getElementById('filter').value = 'program("beta")';
                document.getElementById('filter-form').requestSubmit();""")
            await browser.wait(f"{ROWS}.length > 0 && [...{ROWS}].every("
                               "r => r.children[2].textContent.startsWith('beta['))")
            await browser.wait(f"{ROWS}.length === 121")  # 120 of the first 400, and #409
            sender.sendall(line(402) + line(408))  # sshd, then beta
            await browser.wait(f"[...{ROWS}].at(-1).textContent.includes('(#408)')")
            assert not await browser.evaluate(
                f"[...{ROWS}].some(r => r.textContent.includes('(#402)'))")
            assert await browser.evaluate("document.getElementById('error').textContent") == ""

            screenshot = os.path.join(workdir, "live-tail.png")
            await browser.evaluate("""
                document.getElementById('filter').value = '';
                document.getElementById('filter-form').requestSubmit();""")
            await browser.wait(f"{ROWS}.length === 300")
            await browser.screenshot(screenshot)
            with open(screenshot, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
            if os.environ.get("RELAY_WEB_SCREENSHOT"):
                shutil.copy(screenshot, os.environ["RELAY_WEB_SCREENSHOT"])

            # a bad filter shows the relay's error next to the box and keeps the table
            await browser.evaluate("""
                document.getElementById('filter').value = 'program("beta" and';
                document.getElementById('filter-form').requestSubmit();""")
            error = await browser.wait("document.getElementById('error').textContent")
            assert "line 1, column 16" in error, error
            assert await browser.evaluate(f"{ROWS}.length") == 300
        assert relay.stop() == 0
        assert "Traceback" not in relay.stderr(), relay.stderr()
