"""Real-world syslog lines: the relay's parser and templates against recorded syslog-ng 3.38.1.

tests/data/realworld.jsonl holds, one JSON object per line, a frame (``raw``, or ``raw_b64``
when it is not UTF-8 or holds a NUL) and, for syslog-ng's ``network()`` and ``syslog()``
drivers, what a set of templates made of it (``outputs``, or ``outputs_b64`` for a record
that is not UTF-8).  The ``main-*`` lines are written with MAIN_TEMPLATES, the ``special-*``
lines with SPECIAL_TEMPLATES.

How it was made: the frames are lines shaped like what real senders write (Linux daemons,
kernel, postfix, forwarders, Cisco IOS/ASA/NX-OS, Juniper, Fortinet, Palo Alto, F5, ESXi,
Windows, macOS, busybox, AIX, RFC 5424 applications), edge cases of the header, the stamp,
the structured data and the bytes (NUL, CR, LF, tabs, bad UTF-8, BOM, long lines), and
random mutations of those lines (characters inserted, deleted and replaced, fields swapped
and dropped).  Each frame went as one UDP datagram from 127.0.0.1 to a private syslog-ng
3.38.1 (tests/sng.py: source ``s_net``, ``keep-hostname(yes) chain-hostnames(no)
use-dns(no) use-fqdn(no) log-msg-size(65536)``, one file destination per template) whose
clock libfaketime held at 2025-03-01 12:00:00 UTC, with TZ=UTC.  The recording was made
twice and came out identical but for syslog-ng's PID.

Every output must be byte-identical.  Frames syslog-ng cannot parse become "Error
processing log message" under its own PID: the parser is given the PID the record shows,
and such a local message takes the SEQNUM (``local_seq``) that each destination gave it.
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

DATA = Path(__file__).parent / "data" / "realworld.jsonl"
PROTOCOLS = {"network": "rfc3164", "syslog": "auto"}
PEER = Peer("127.0.0.1", "127.0.0.1", 17, "127.0.0.1", 514)
_ERROR_PID = re.compile(rb"syslog-ng\[([0-9]+)\]: Error processing log message")

# The template texts as syslog-ng's template compiler saw them (no config-string escapes).
MAIN_TEMPLATES: dict[str, str] = {
    "seed": "$(format-json --scope selected_macros --scope nv_pairs)",
    "proto": "$(format-json --scope rfc5424 --scope nv_pairs)",
    # "everything" but the R_/C_/P_ dates (fixed by the clock) and the S_ ones (= plain)
    "every": (
        "$(format-json --scope everything --exclude S_* --exclude R_* --exclude C_* "
        "--exclude P_* --exclude HOSTID --exclude LOGHOST --exclude SYSUPTIME --exclude "
        "RUNID --exclude DESTPORT)"
    ),
    "opts": (
        "$(format-json --key .SDATA.* --rekey .SDATA.* --shift 7 --add-prefix sd. --key "
        "PROGRAM --key HOST* --exclude HOSTID --pair severity=$LEVEL_NUM --pair "
        "when=$ISODATE)"
    ),
    "empty": "$(format-json --scope selected_macros --exclude DATE --omit-empty-values)",
    "text": "$ISODATE $HOST $MSGHDR$MSG",
    "hdr": (
        "$FACILITY_NUM|$FACILITY|$LEVEL|$LEVEL_NUM|$PRI|$TAG|$BSDTAG|$PROGRAM|$PID|$MSGID"
        "|$HOST|$LEGACY_MSGHDR|$MSGHDR|$SDATA|$SEQNUM|${PID:-nopid}"
        "|${.SDATA.meta.sequenceId:-noseq}|$MSG"
    ),
    "dates": (
        "$S_ISODATE|$DATE|$FULLDATE|$STAMP|$UNIXTIME|$R_UNIXTIME|$C_YEAR|$TZOFFSET|$TZ"
        "|$USEC|$MSEC|$WEEK|$ISOWEEK|$MONTH_WEEK|$YEAR_DAY|$AMPM|$HOUR12|$WEEK_DAY"
        "|$WEEKDAY|$S_HOUR:$S_MIN:$S_SEC|$P_ISODATE|$R_ISODATE|$S_YEAR"
    ),
    "sd": (
        "$(format-json --scope sdata --scope rfc3164 --rekey .SDATA.* --replace-prefix "
        ".SDATA=sd --exclude DATE --omit-empty-values)"
    ),
    "dot": (
        "$(format-json --scope dot-nv-pairs --leave-initial-dot --key MSGID --key PID "
        "--pair m=$MSG --pair h=${HOST:-nohost})"
    ),
    "delim": (
        "$(format-json --scope all-nv-pairs --key-delimiter / --rekey .SDATA.* --shift 1 "
        "--add-prefix x --exclude HOST_FROM)"
    ),
}
SPECIAL_TEMPLATES: dict[str, str] = {
    "text": "$ISODATE $HOST $MSGHDR$MSG",
    "all": (
        "$(format-json --scope everything --exclude HOSTID --exclude LOGHOST --exclude "
        "SYSUPTIME --exclude RUNID --exclude DESTPORT)"
    ),
    "alias": (
        "${MSGONLY}|${FULLHOST}|${FULLHOST_FROM}|$SOURCEIP|$DESTIP|$PROTO|$SOURCE|$TAGS"
        "|${RAWMSG:-noraw}|$$|${NAME:-default}"
    ),
    "rekey": (
        "$(format-json --scope rfc3164 --scope sdata --key-delimiter : --rekey .SDATA.* --shift 7)"
    ),
    "macros": (
        "$(format-json --scope all-macros --exclude *_* --exclude *DATE* --exclude HOSTID "
        "--exclude LOGHOST --exclude SYSUPTIME --exclude RUNID --exclude DESTPORT --exclude "
        "UNIQID --exclude RCPTID)"
    ),
    "pairs": (
        "$(format-json --scope none --pair a.b=$HOST --pair a.c=$PROGRAM --pair .x=1 --pair "
        "a=top --key MSG)"
    ),
    "prefix": "$(format-json --scope nv-pairs --rekey * --add-prefix p. --exclude .SDATA.*)",
    "replace": (
        "$(format-json --scope dot-nv-pairs --rekey .SDATA.* --replace-prefix "
        ".SDATA.meta=meta --omit-empty-values)"
    ),
    "initial": (
        "$(format-json --scope all-nv-pairs --exclude H* --key HOST_FROM --leave-initial-dot)"
    ),
    "levels": (
        "$(format-json --scope selected-macros --scope nv-pairs --rekey * --shift-levels 1 "
        "--key-delimiter .)"
    ),
    "globs": "$(format-json --key P* --key ?OST --key [SM]* --exclude *AME --exclude MSGHDR)",
    "bare": "$(format-json msg=$MSG host=${HOST} 'quoted=a b' empty= x.y.z=$PID x.y=$PROGRAM)",
    "override": "$(format-json --scope nv-pairs --pair MESSAGE=override --pair HOST=$PROGRAM)",
    "keys5424": (
        "$(format-json --scope rfc5424 --omit-empty-values --key SDATA --key MSGHDR --key "
        "TAG --key BSDTAG --key PRI --key SEQNUM --key FACILITY_NUM)"
    ),
    "casts": (
        "$(format-json pid=int($PID) lvl=int($LEVEL_NUM) sev=int64($SEVERITY_NUM) "
        "d1=double(${.SDATA.x@1.d}) b=boolean(${.SDATA.x@1.b}) n=int(${.SDATA.x@1.n}))"
    ),
    "cdates": (
        "$C_ISODATE|$C_UNIXTIME|$R_WEEK_DAY_NAME|$S_MONTH_NAME|$S_MONTH_ABBREV|$S_DAY"
        "|$S_STAMP|$S_DATE|$S_TZ|$R_TZ|$R_STAMP|$YEAR|$MONTH|$DAY|$HOUR|$MIN|$SEC"
    ),
}


def _load() -> list[dict[str, object]]:
    with open(DATA, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


RECORDS = _load()


def _frame(record: dict[str, object]) -> bytes:
    if "raw_b64" in record:
        return base64.b64decode(str(record["raw_b64"]))
    return str(record["raw"]).encode("utf-8")


def _expected(result: dict[str, object]) -> dict[str, bytes]:
    outputs = result.get("outputs") or {}
    b64 = result.get("outputs_b64") or {}
    assert isinstance(outputs, dict) and isinstance(b64, dict)
    expected = {name: str(text).encode("utf-8") for name, text in outputs.items()}
    expected.update({name: base64.b64decode(str(text)) for name, text in b64.items()})
    return expected


@pytest.fixture(scope="module", autouse=True)
def utc() -> Iterator[None]:
    """TZ=UTC, and "now" (C_ and P_ macros) held at the receive time, as in the recording."""
    with held_utc():
        yield


_COMPILED: dict[str, object] = {}


def _template(group: str, name: str):  # type: ignore[no-untyped-def]
    key = f"{group}/{name}"
    if key not in _COMPILED:
        texts = MAIN_TEMPLATES if group == "main" else SPECIAL_TEMPLATES
        _COMPILED[key] = compile_template(texts[name], escapes=False)
    return _COMPILED[key]


def _params() -> Iterator[object]:
    for record in RECORDS:
        for driver in PROTOCOLS:
            yield pytest.param(record, driver, id=f"{driver}-{record['id']}")


@pytest.mark.parametrize(("record", "driver"), list(_params()))
def test_realworld(record: dict[str, object], driver: str) -> None:
    result = record[driver]
    assert isinstance(result, dict)
    expected = _expected(result)
    found = _ERROR_PID.search(expected.get("text", b""))
    parser = Parser(PROTOCOLS[driver], "s_net", pid=int(found.group(1)) if found else None)
    msg = parser.parse(_frame(record), PEER, RECEIVED_NS)
    if msg.flags & FLAG_LOCAL:
        msg.seqnum = int(result.get("local_seq", 0))
    group = str(record["id"]).split("-", 1)[0]
    mismatches = {}
    for name, want in expected.items():
        template = _template(group, name)
        got = template.render(msg)  # type: ignore[attr-defined]
        if got != want:
            mismatches[name] = {"syslog-ng": want, "relay": got}
        # the line written straight from the parse, where the template can be
        direct = parser.direct(template.direct)  # type: ignore[attr-defined]
        line = direct(_frame(record), PEER, RECEIVED_NS) if direct is not None else None
        if line is not None:
            DIRECT_LINES[group, name] = DIRECT_LINES.get((group, name), 0) + 1
            if line != want:
                mismatches[name + " (direct)"] = {"syslog-ng": want, "relay": line}
    assert mismatches == {}


#: (group, template) -> how many records were written straight from the parse
DIRECT_LINES: dict[tuple[str, str], int] = {}


def test_direct_lines_were_compared() -> None:
    """Records above were written straight from the parse for the seed template (and for
    no template that reads something the parse does not hand over)."""
    for record in RECORDS:
        if str(record["id"]).startswith("main-"):
            test_realworld(record, "network")
    assert DIRECT_LINES.get(("main", "seed"), 0) >= 200
    assert ("main", "every") not in DIRECT_LINES  # (macros without a recipe)


def test_corpus_shape() -> None:
    """Both groups are there, every record has both drivers and its group's templates."""
    groups = {str(r["id"]).split("-", 1)[0] for r in RECORDS}
    assert groups == {"main", "special"}
    for record in RECORDS:
        group = str(record["id"]).split("-", 1)[0]
        names = set(MAIN_TEMPLATES if group == "main" else SPECIAL_TEMPLATES)
        for driver in PROTOCOLS:
            result = record[driver]
            assert isinstance(result, dict)
            assert set(_expected(result)) == names, record["id"]
