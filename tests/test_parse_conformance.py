"""Every macro and pair of the public conformance cases, against syslog-ng 3.38's output.

The ``all`` template of tests/conformance/expected.jsonl is format-json over every macro
and pair; decoding it and flattening the nested objects back gives, key by key, what
syslog-ng computed.  Each value is compared with ``relay.macros.resolve(name)(msg)``, so
these tests check the parser and the macros independently of the JSON writer.
"""

from __future__ import annotations

import base64
import calendar
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixedclock import held_utc

from relay import macros
from relay.macros import resolve
from relay.message import FLAG_LOCAL, LogMessage
from relay.parse import Parser, Peer

DATA = Path(__file__).parent / "conformance"
NOW = calendar.timegm((2025, 3, 1, 12, 0, 0)) * 1_000_000_000
PEER = Peer("127.0.0.1", "127.0.0.1", 17, "127.0.0.1", 514)
PROTOCOL = {"network": "rfc3164", "syslog": "auto"}
# belong to the host or the process, left out of the `all` template
HOST_SPECIFIC = {"HOSTID", "LOGHOST", "SYSUPTIME", "RUNID", "DESTPORT"}


def _cases() -> dict[str, bytes]:
    out = {}
    for line in (DATA / "cases.jsonl").read_text().splitlines():
        case = json.loads(line)
        raw = case.get("raw")
        out[case["id"]] = (
            raw.encode("utf-8", "surrogateescape")
            if raw is not None
            else base64.b64decode(case["raw_b64"])
        )
    return out


CASES = _cases()
EXPECTED = [json.loads(line) for line in (DATA / "expected.jsonl").read_text().splitlines()]


def flatten(obj: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in obj.items():
        if not prefix and key.startswith("_"):
            key = "." + key[1:]
        if isinstance(value, dict):
            yield from flatten(value, prefix + key + ".")
        else:
            yield prefix + key, value


@pytest.fixture(autouse=True)
def utc_and_fixed_clock() -> Iterator[None]:
    with held_utc(NOW):
        yield


def _messages(driver: str) -> dict[str, LogMessage]:
    """Parse every case in file order, numbering local messages as a destination does."""
    parser = Parser(PROTOCOL[driver], "s_net", pid=4242)
    out = {}
    seq = 1
    for record in EXPECTED:
        if record["driver"] != driver:
            continue
        msg = parser.parse(CASES[record["id"]], PEER, NOW)
        if msg.flags & FLAG_LOCAL:
            msg.seqnum = seq
            seq += 1
        out[record["id"]] = msg
    return out


def as_json_text(value: str) -> str:
    """What a value reads as after format-json: bytes that are not UTF-8, and NUL, become
    the four characters \\xNN."""
    if value.isascii() and "\x00" not in value:
        return value
    out = []
    for c in value:
        if "\udc80" <= c <= "\udcff":
            out.append(f"\\x{ord(c) - 0xDC00:02x}")
        elif c == "\x00":
            out.append("\\x00")
        else:
            out.append(c)
    return "".join(out)


def _mismatches(record: dict[str, Any], msg: LogMessage) -> list[str]:
    expected = dict(flatten(json.loads(record["outputs"]["all"])))
    bad = []
    for name, want in expected.items():
        got = as_json_text(resolve(name)(msg))
        if name == "PID" and msg.values.get("PROGRAM") == "syslog-ng":
            want, got = "PID", "PID"
        elif name in ("MSGHDR",) and msg.values.get("PROGRAM") == "syslog-ng":
            want = got = "x"
        if got != want:
            bad.append(f"{name}: got {got!r}, want {want!r}")
    # what syslog-ng left out must be empty here (macros) or unset (pairs)
    for name in macros.MACROS - set(expected) - HOST_SPECIFIC:
        got = resolve(name)(msg)
        if got:
            bad.append(f"{name}: got {got!r}, syslog-ng has none")
    for name in set(msg.values) - set(expected):
        bad.append(f"pair {name}={msg.values[name]!r} is not in syslog-ng's output")
    return bad


@pytest.mark.parametrize(
    "record",
    EXPECTED,
    ids=[f"{r['driver']}-{r['id']}" for r in EXPECTED],
)
def test_every_macro_matches_syslog_ng(record: dict[str, Any]) -> None:
    msg = _messages(record["driver"])[record["id"]]
    assert _mismatches(record, msg) == []
