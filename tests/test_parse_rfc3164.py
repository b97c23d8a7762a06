"""RFC 3164 headers: the rules around NUL bytes, as a live syslog-ng 3.38.1 applies them.

syslog-ng skips the spaces of the header with a strchr-like search, which also finds the
terminating NUL: a NUL counts as a space after the Cisco sequence number, after the stamp,
after the hostname and (with ":") after the AIX forwarder's hostname, which itself ends
at a NUL.  Every expectation here is what syslog-ng wrote for the frame.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixedclock import held_utc

from relay.parse import Parser, Peer

NOW = 1740830400 * 1_000_000_000  # 2025-03-01 12:00:00 UTC
STAMP = 1740830399  # Mar  1 11:59:59
PEER = Peer("127.0.0.1", "127.0.0.1", 17)


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with held_utc():
        yield


@pytest.mark.parametrize("protocol", ["rfc3164", "auto"])
@pytest.mark.parametrize(
    ("frame", "stamp", "expected"),
    [
        # after the hostname
        (b"<13>Mar  1 11:59:59 web1 \x00app[1]: x", STAMP,
         {"PROGRAM": "app", "PID": "1", "LEGACY_MSGHDR": "app[1]: ", "HOST": "web1",
          "MESSAGE": "x"}),
        (b"<13>Mar  1 11:59:59 web1 \x00 \x00app: x", STAMP,
         {"PROGRAM": "app", "LEGACY_MSGHDR": "app: ", "HOST": "web1", "MESSAGE": "x"}),
        # after the stamp
        (b"<13>Mar  1 11:59:59\x00web1 app: x", STAMP,
         {"PROGRAM": "app", "LEGACY_MSGHDR": "app: ", "HOST": "web1", "MESSAGE": "x"}),
        (b"<13>Mar  1 11:59:59 \x00web1 app: x", STAMP,
         {"PROGRAM": "app", "LEGACY_MSGHDR": "app: ", "HOST": "web1", "MESSAGE": "x"}),
        (b"<13>Mar  1 11:59:59 \x00last message repeated 2 times", STAMP,
         {"HOST": "127.0.0.1", "MESSAGE": "last message repeated 2 times"}),
        # before the stamp (where the Cisco sequence number may be)
        (b"<13>\x00\x00Mar  1 11:59:59 web1 app: x", STAMP,
         {"PROGRAM": "app", "LEGACY_MSGHDR": "app: ", "HOST": "web1", "MESSAGE": "x"}),
        (b"<13>12: \x00Mar  1 11:59:59 web1 app: x", STAMP,
         {".SDATA.meta.sequenceId": "12", "PROGRAM": "app", "LEGACY_MSGHDR": "app: ",
          "HOST": "web1", "MESSAGE": "x"}),
        # no PRI: the NUL is skipped, and what follows is no stamp
        (b"\x00<13>Mar  1 11:59:59 web1 app: x", None,
         {"PROGRAM": "<13>Mar", "LEGACY_MSGHDR": "<13>Mar ", "HOST": "127.0.0.1",
          "MESSAGE": " 1 11:59:59 web1 app: x"}),
        # the AIX forwarder's hostname ends at a NUL; then " :" and NUL are skipped
        (b"<13>Mar  1 11:59:59 Message forwarded from ai\x00x1: sshd[1]: x", STAMP,
         {"PROGRAM": "x1", "LEGACY_MSGHDR": "x1: ", "HOST": "ai", "MESSAGE": "sshd[1]: x"}),
        (b"<13>Mar  1 11:59:59 Message forwarded from aix: \x00:sshd[1]: x", STAMP,
         {"PROGRAM": "sshd", "PID": "1", "LEGACY_MSGHDR": "sshd[1]: ", "HOST": "aix",
          "MESSAGE": "x"}),
        # a NUL inside a hostname or program is kept
        (b"<13>Mar  1 11:59:59 we\x00b1 a\x00pp: x", STAMP,
         {"PROGRAM": "a\x00pp", "LEGACY_MSGHDR": "a\x00pp: ", "HOST": "we\x00b1",
          "MESSAGE": "x"}),
    ],
)
def test_a_nul_counts_as_a_space_in_the_header(
        frame: bytes, stamp: int | None, expected: dict[str, str], protocol: str) -> None:
    msg = Parser(protocol, "s").parse(frame, PEER, NOW)
    values = {k: v for k, v in msg.values.items() if k not in ("HOST_FROM", "SOURCE")}
    assert values == expected
    assert msg.stamp_sec == (NOW // 10**9 if stamp is None else stamp)
