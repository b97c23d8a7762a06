"""The public conformance cases: the relay's parser and templates against syslog-ng 3.38.1.

tests/conformance holds 128 frames and, for syslog-ng's network() and syslog() drivers,
what six templates made of each (received over UDP from 127.0.0.1 by the source s_net,
at 2025-03-01 12:00:00 UTC with TZ=UTC).  Every output must be byte-identical.  Frames
syslog-ng cannot parse become "Error processing log message" under its own PID, so the
parser is given the PID the expected output shows; such local messages take SEQNUM from
each destination's counter, which the test keeps as the destinations would.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixedclock import RECEIVED_NS, held_utc

from relay.message import FLAG_LOCAL
from relay.parse import Parser, Peer
from relay.template import compile_template

DATA = Path(__file__).parent / "conformance"
PROTOCOLS = {"network": "rfc3164", "syslog": "auto"}
TEMPLATES = {
    "seed": "$(format-json --scope selected_macros --scope nv_pairs)",
    "proto": "$(format-json --scope rfc5424 --scope nv_pairs)",
    "all": "$(format-json --scope everything --exclude HOSTID --exclude LOGHOST "
           "--exclude SYSUPTIME --exclude RUNID --exclude DESTPORT)",
    "opts": "$(format-json --key .SDATA.* --rekey .SDATA.* --shift 7 --add-prefix sd. "
            "--key PROGRAM --key HOST* --exclude HOSTID --pair severity=$LEVEL_NUM "
            "--pair when=$ISODATE)",
    "empty": "$(format-json --scope selected_macros --exclude DATE --omit-empty-values)",
    "text": "$ISODATE $HOST $MSGHDR$MSG",
}
PEER = Peer("127.0.0.1", "127.0.0.1", 17, dest_ip="127.0.0.1")
_SYSLOG_NG_PID = re.compile(rb'syslog-ng\[([0-9]+)\]')


def _load() -> tuple[dict[str, bytes], list[dict[str, object]]]:
    frames: dict[str, bytes] = {}
    with open(DATA / "cases.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                case = json.loads(line)
                frames[case["id"]] = (
                    base64.b64decode(case["raw_b64"]) if "raw_b64" in case
                    else case["raw"].encode("utf-8", "surrogateescape")
                )
    with open(DATA / "expected.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return frames, records


FRAMES, RECORDS = _load()


def _expected(record: dict[str, object], name: str) -> bytes | None:
    outputs = record["outputs"]
    assert isinstance(outputs, dict)
    if outputs.get(name) is not None:
        return str(outputs[name]).encode("utf-8")
    b64 = record.get("outputs_b64")
    if isinstance(b64, dict) and name in b64:
        return base64.b64decode(b64[name])
    return None


def _params() -> Iterator[object]:
    for record in RECORDS:
        for name in TEMPLATES:
            yield pytest.param(record, name, id=f"{record['driver']}-{name}-{record['id']}")


@pytest.fixture(scope="module", autouse=True)
def utc() -> Iterator[None]:
    """TZ=UTC, and "now" (C_ and P_ macros) held at the receive time, as in the recording."""
    with held_utc():
        yield


COMPILED = {name: compile_template(text) for name, text in TEMPLATES.items()}
_LOCAL_SEQ: dict[str, dict[str, int]] = {}


def _pid(record: dict[str, object]) -> int | None:
    found = _SYSLOG_NG_PID.search(_expected(record, "text") or b"")
    return int(found.group(1)) if found else None


def _local_seq(driver: str) -> dict[str, int]:
    """SEQNUM of each local message: each destination counts the local messages it writes."""
    if driver not in _LOCAL_SEQ:
        counter = 0
        seqs: dict[str, int] = {}
        for record in RECORDS:
            if record["driver"] != driver:
                continue
            parser = Parser(PROTOCOLS[driver], "s_net", pid=_pid(record))
            msg = parser.parse(FRAMES[str(record["id"])], PEER, RECEIVED_NS)
            if msg.flags & FLAG_LOCAL:
                counter += 1
                seqs[str(record["id"])] = counter
        _LOCAL_SEQ[driver] = seqs
    return _LOCAL_SEQ[driver]


def render(record: dict[str, object], name: str) -> bytes:
    """What the relay makes of a recorded case under one of the templates."""
    driver = str(record["driver"])
    parser = Parser(PROTOCOLS[driver], "s_net", pid=_pid(record))
    msg = parser.parse(FRAMES[str(record["id"])], PEER, RECEIVED_NS)
    if msg.flags & FLAG_LOCAL:
        msg.seqnum = _local_seq(driver)[str(record["id"])]
    # the first render of a set of pair names takes the general writer, later ones the
    # writer generated for that set: both must write the same
    outputs = [COMPILED[name].render(msg) for _ in range(3)]
    assert outputs[0] == outputs[1] == outputs[2]
    # the line written straight from the parse, where the template can be (no message)
    direct = parser.direct(COMPILED[name].direct)
    line = direct(FRAMES[str(record["id"])], PEER, RECEIVED_NS) if direct else None
    if line is not None:
        DIRECT_LINES[name] = DIRECT_LINES.get(name, 0) + 1
        assert line == outputs[0]
    return outputs[0]


#: template name -> how many cases were written straight from the parse
DIRECT_LINES: dict[str, int] = {}


@pytest.mark.parametrize(("record", "name"), list(_params()))
def test_conformance(record: dict[str, object], name: str) -> None:
    expected = _expected(record, name)
    assert expected is not None, "syslog-ng wrote something for every public case"
    assert render(record, name) == expected


def test_direct_lines_were_compared() -> None:
    """The cases above wrote the seed template's lines straight from the parse too (so
    that the comparison of that path with syslog-ng is not an empty one)."""
    for record in RECORDS:
        render(record, "seed")
    assert DIRECT_LINES.get("seed", 0) >= 100
