"""The parser and the macros against a live syslog-ng 3.38, on generated syslog lines.

Hypothesis builds frames from the pieces real senders use (PRIs good and bad, every stamp
form, Cisco marks, hostnames, tags, RFC 5424 headers and structured data, trailing LF and
NUL); a private syslog-ng (tests/sng.py) receives them over UDP under a fixed clock, and
every macro and pair it writes must equal ``resolve(name)(msg)`` for our message.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest
import sng
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parse_conformance import HOST_SPECIFIC, as_json_text, flatten

from relay import macros
from relay.formatjson import _tokens
from relay.macros import resolve
from relay.message import FLAG_LOCAL
from relay.parse import Parser, Peer
from relay.parse.localtime import reset_caches
from relay.template import compile_template

pytestmark = pytest.mark.syslog_ng

ALL = (
    "$(format-json --scope everything --exclude HOSTID --exclude LOGHOST --exclude SYSUPTIME"
    " --exclude RUNID --exclude DESTPORT)"
)
# raw bytes of a few fields: no JSON escaping in the way
TEXT = "$PROGRAM\x1f$PID\x1f$HOST\x1f$MSGHDR\x1f$SDATA\x1f$MSG"
PEER = Peer("127.0.0.1", "127.0.0.1", 17, "127.0.0.1", 514)
PROTOCOL = {"network": "rfc3164", "syslog": "auto"}

months = st.sampled_from(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
     "JAN", "jan", "Xyz", "Sept"]
)  # fmt: skip
two = st.integers(0, 99).map(lambda n: f"{n:02d}")
day = st.one_of(st.integers(1, 31).map(lambda n: f"{n:2d}"), two, st.just("1"))
frac = st.one_of(st.just(""), st.from_regex(r"[.,][0-9]{0,10}", fullmatch=True))
zone = st.sampled_from(["", "Z", "+02:00", "-07:30", "+0200", "+05:30x", "-00:00"])
bsd = st.builds(
    lambda m, d, h, mi, s, f, c: f"{m} {d} {h}:{mi}:{s}{f}{c}",
    months,
    day,
    two,
    two,
    two,
    frac,
    st.sampled_from(["", ":"]),
)
pix = st.builds(
    lambda m, d, y, h, mi, s, c: f"{m} {d} {y} {h}:{mi}:{s}{c}",
    months,
    day,
    st.sampled_from(["2023", "2024", "1999"]),
    two,
    two,
    two,
    st.sampled_from(["", ":"]),
)
linksys = st.builds(
    lambda m, d, h, mi, s, y: f"{m} {d} {h}:{mi}:{s} {y}",
    months,
    day,
    two,
    two,
    two,
    st.sampled_from(["2023", "2024"]),
)
iso = st.builds(
    lambda y, mo, d, t, h, mi, s, f, z: f"{y}-{mo}-{d}{t}{h}:{mi}:{s}{f}{z}",
    st.sampled_from(["2024", "2025", "1999", "2026"]),
    st.sampled_from(["01", "02", "06", "12", "13", "00"]),
    st.sampled_from(["01", "15", "28", "31", "45"]),
    st.sampled_from(["T", " "]),
    two,
    two,
    two,
    frac,
    zone,
)
stamp = st.one_of(bsd, bsd, pix, linksys, iso, st.just(""))
host = st.one_of(
    st.sampled_from(["host1", "10.0.0.1", "fe80::1", "2001:db8::7", "a:b:c", "web-1.example",
                     "h_x", "u@h", "r/o", "-", "höst", "Message forwarded from aix:",
                     "last message repeated 2 times", "2024", "x" * 260]),
    st.from_regex(r"[a-zA-Z0-9.:_-]{1,12}", fullmatch=True),
)  # fmt: skip
tag = st.one_of(
    st.sampled_from(["prog:", "prog[12]:", "prog[]:", "prog[ab", "p:q:", "%ASA-6-1:",
                     "kernel:", "[x]", ":", "prog", "a(b)[3]:", "sshd[1]"]),
    st.from_regex(r"[a-z/_.-]{1,10}(\[[0-9]{1,5}\])?:?", fullmatch=True),
)  # fmt: skip
text = st.text(alphabet=st.sampled_from(list('ab ::[]="\\-.*é日') + ["\t", "\x07"]), max_size=20)
pri = st.sampled_from(["<13>", "<0>", "<191>", "<38>", "<999>", "<>", "<1a>", "<34", "",
                       "<4>", "<6>", "<189>", "<65536>", "<013>"])  # fmt: skip
sep = st.sampled_from([" ", " ", " ", "  ", "", " \x00", "\x00"])
cisco = st.sampled_from(["", "", "", "123: ", "45: *", ": ", ".", "*", "7:x"])
trailing = st.sampled_from(["", "", "\n", "\x00", "\r\n", "\n\x00\n"])
legacy = st.builds(
    lambda p, c, ts, s1, h, s2, t, s3, m, tr: f"{p}{c}{ts}{s1}{h}{s2}{t}{s3}{m}{tr}",
    pri,
    cisco,
    stamp,
    sep,
    host,
    sep,
    tag,
    sep,
    text,
    trailing,
)

sd_name = st.sampled_from(["a@1", "meta", "timeQuality", "win@18372.4", "x", "b@2", "bad name",
                           "q=x", "ü@1"])  # fmt: skip
sd_param = st.builds(
    lambda n, v: f'{n}="{v}"',
    st.sampled_from(["x", "sequenceId", "isSynced", "p.q", "y"]),
    st.text(alphabet=st.sampled_from(list('ab\\"] é')), max_size=6),
)
sd_elem = st.builds(
    lambda n, ps: "[" + " ".join([n, *ps]) + "]", sd_name, st.lists(sd_param, max_size=3)
)
sd = st.one_of(
    st.just("-"),
    st.lists(sd_elem, min_size=1, max_size=3).map("".join),
    st.sampled_from(["[a@1 x=1]", '[a@1 x="1"', "[]", "x", "[a@1]["]),
)
column = st.one_of(st.just("-"), st.from_regex(r"[a-zA-Z0-9_.]{0,50}", fullmatch=True))
proto = st.builds(
    lambda p, v, ts, h, a, pid, mid, sd, m, tr: f"{p}{v} {ts} {h} {a} {pid} {mid} {sd}{m}{tr}",
    st.sampled_from(["<14>", "<165>", "<0>", "", "<1x>"]),
    st.sampled_from(["1", "1", "1", "2", "01"]),
    st.one_of(iso, st.just("-"), st.just("2024-05-06T07:08:09")),
    st.sampled_from(["host", "-", "2001:db8::7", "h:x", "a[b"]),
    column,
    column,
    column,
    sd,
    st.one_of(st.just(""), text.map(lambda t: " " + t), st.just(" \ufeffbom")),
    trailing,
)
frame = st.one_of(legacy, legacy, proto).map(lambda t: t.encode("utf-8"))


@pytest.fixture(autouse=True)
def _utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    reset_caches()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()
    reset_caches()


def compare(frames: list[bytes], driver: str, now: str = sng.DEFAULT_NOW, tz: str = "UTC") -> None:
    sng.require()
    sng.require_faketime()
    outs = sng.render(frames, {"all": ALL, "text": TEXT}, driver=driver, now=now, tz=tz)
    os.environ["TZ"] = tz
    time.tzset()
    reset_caches()
    # faketime holds syslog-ng's clock at ``now`` in its local zone
    ns = int(time.mktime(time.strptime(now, "%Y-%m-%d %H:%M:%S"))) * 1_000_000_000
    old_clock = macros.clock
    macros.clock = lambda: ns
    try:
        parser = Parser(PROTOCOL[driver], "s_net")
        text_template = compile_template(TEXT, escapes=False)
        seq = 1
        problems = []
        for frame, out in zip(frames, outs, strict=True):
            msg = parser.parse(frame, PEER, ns)
            if msg.flags & FLAG_LOCAL:
                msg.seqnum = seq
                seq += 1
            error = msg.values.get("PROGRAM") == "syslog-ng"
            assert out["all"] is not None, frame
            expected = dict(flatten(json.loads(out["all"])))
            for name, want in expected.items():
                if error and name in ("PID", "MSGHDR"):
                    continue
                got = as_json_text(resolve(name)(msg))
                if got != want:
                    problems.append((frame, name, got, want))
            for name in macros.MACROS - set(expected) - HOST_SPECIFIC:
                if resolve(name)(msg):
                    problems.append((frame, name, resolve(name)(msg), None))
            for name in set(msg.values) - set(expected):
                # a pair that is also an object's prefix is written inside that object
                if name + "." + _tokens(name, ".")[-1] in expected:
                    continue
                problems.append((frame, name, msg.values[name], None))
            if not error:
                # through the template: a pair whose value starts with NUL prints as empty
                got_text = text_template.render(msg)
                if got_text != out["text"]:
                    problems.append((frame, "text", got_text, out["text"]))
        assert problems == [], problems
    finally:
        macros.clock = old_clock


@pytest.mark.parametrize("driver", ["network", "syslog"])
@settings(
    max_examples=int(os.environ.get("RELAY_DIFF_EXAMPLES", "4")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=st.lists(frame, min_size=30, max_size=40))
def test_generated_frames_match_syslog_ng(driver: str, frames: list[bytes]) -> None:
    compare(frames, driver)


@pytest.mark.parametrize(
    "now",
    ["2025-01-01 00:30:00", "2024-12-31 23:30:00", "2024-02-29 12:00:00"],
)
def test_year_guess_around_new_year(now: str) -> None:
    frames = [
        f"<13>{m} {d} 23:59:59 host1 prog: year guess".encode()
        for m in ("Dec", "Jan", "Feb", "Nov")
        for d in ("31", " 1", "29")
    ]
    compare(frames, "network", now)


@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Kolkata", "Europe/Budapest"])
@pytest.mark.parametrize("now", ["2025-03-09 12:00:00", "2025-07-01 03:00:00"])
def test_local_zone_applies_to_stamps_without_one(tz: str, now: str) -> None:
    frames = [
        b"<13>Mar  9 02:30:00 host1 prog: in the spring-forward gap (New York)",
        b"<13>Mar 30 02:30:00 host1 prog: in the spring-forward gap (Budapest)",
        b"<13>Oct 26 02:30:00 host1 prog: in the fall-back hour (Budapest)",
        b"<13>Nov  2 01:30:00 host1 prog: in the fall-back hour (New York)",
        b"<13>Jul  1 12:00:00.5 host1 prog: summer",
        b"<13>Jan  1 12:00:00 host1 prog: winter",
        b"<13>2025-07-01T12:00:00 host1 prog: iso without zone",
        b"<13>2025-07-01T12:00:00+09:00 host1 prog: iso with zone",
        b"<13>Jul  1 2025 12:00:00 host1 prog: pix",
        b"<13>no stamp at all",
        b"<14>1 2025-07-01T12:00:00 host app - - - 5424 without zone",
        b"<14>1 - host app - - - 5424 nil stamp",
        b"<abc>broken",
    ]
    compare(frames, "syslog", now, tz)


# hostnames at the 255-byte limit, AIX and "repeated" corner cases, Cisco marks alone,
# byte limits of RFC 5424 columns and SD names, stamps at the edge of each form
EDGE_FRAMES = [
    b"<13>Oct 11 22:14:15 " + b"h" * 255 + b" prog: 255",
    b"<13>Oct 11 22:14:15 " + b"h" * 256 + b" prog: 256",
    ("<13>Oct 11 22:14:15 " + "\u00e9" * 127 + "h prog: 255 bytes").encode(),
    ("<13>Oct 11 22:14:15 " + "\u00e9" * 128 + " prog: 256 bytes").encode(),
    b"<13>Oct 11 22:14:15 Message forwarded from aixhost no colon here",
    b"<13>Oct 11 22:14:15 last message repeated",
    b"<13>Oct 11 22:14:15 last message repeated ",
    b"<13>: hello",
    b"<13>12:",
    b"<13>.",
    b"<13>*Oct 11 22:14:15.123: host prog: m",
    (
        "<14>1 2024-05-06T07:08:09Z host "
        + "\u00e9" * 30
        + " "
        + "\u00e9" * 70
        + " "
        + "\u00e9" * 20
        + " - m"
    ).encode(),
    b"<14>1 2024-05-06T07:08:09Z host app - - [" + b"i" * 248 + b' x="1"] m',
    b"<14>1 2024-05-06T07:08:09Z host app - - [" + b"i" * 247 + b' x="1"] m',
    b'<14>1 2024-05-06T07:08:09Z host app - - [a@1 x="a\\nb\\"c"][a@1 y="2"] m',
    b'<14>1 2024-05-06T07:08:09Z host app - - [a@1 x="1"][',
    b'<14>1 2024-05-06T07:08:09Z host app - - [a@1 x="1"]x',
    b"<14>1 2024-05-06T07:08:09Z " + b"h" * 256 + b" app - - - m",
    b"<14>1  host app - - - m",
    b"<14>1 2024-05-06T07:08:09Z  app - - - empty host",
    b"<14>1 2024-05-06T07:08:09.1234567+01:00 host app - - - m",
    b"<14>1 2024-05-06T07:08:09+01:0 host app - - - m",
    b"<13>Oct  1 2024 22:14:15: host prog: pix colon",
    b"<13>Oct 11 22:14:15 2024\thost prog: linksys",
    b"<13>Oct 11 22:14:15 2024 host prog: linksys",
    b"<13>2024-01-02T03:04:05,5-03:30 host prog: iso",
    b"<13>  Oct 11 22:14:15 host prog: leading spaces",
    b"<13>Oct 11 22:14:15 host\tprog: tab",
    b"<13>Oct 11 22:14:15 host prog[12 34]: space pid",
    b"<13>Oct 11 22:14:15 host prog[12]x: after pid",
    b"\x00\n",
    b"<13>Oct 11 22:14:15 fe80::1:2:3:4:5:6:7 prog: 8 colons",
    b"<13>Oct 11 22:14:15 12345::1 prog: 5 digits",
    b"<13>Oct 11 22:14:15 host[1] prog: bracket host",
    # a NUL is skipped like a space in the header; a host starting with NUL is empty
    b"<13>Oct 11 22:14:15 web1 \x00app[1]: NUL before the program",
    b"<13>Oct 11 22:14:15\x00web1 app: NUL after the stamp",
    b"<13>\x00\x00Oct 11 22:14:15 web1 app: NULs before the stamp",
    b"<13>12: \x00Oct 11 22:14:15 web1 app: NUL after the sequence number",
    b"\x00<13>Oct 11 22:14:15 web1 app: NUL before the PRI",
    b"<13>Oct 11 22:14:15 \x00last message repeated 2 times",
    b"<13>Oct 11 22:14:15 Message forwarded from ai\x00x1: sshd[1]: AIX",
    b"<13>Oct 11 22:14:15 we\x00b1 a\x00pp: NULs inside",
    b"<14>1 2024-05-06T07:08:09Z \x00 app - - - NUL host",
    # the error mark goes by byte
    "<34>1 - - - -\u00e9".encode(),
    "<14>1 - \u00e9[x".encode(),
]


@pytest.mark.parametrize("driver", ["network", "syslog"])
def test_edge_cases_match_syslog_ng(driver: str) -> None:
    compare(EDGE_FRAMES, driver)


# tags the common shape reads since it follows parse_tag past "PROGRAM[PID]: " (Mac and
# Linux corpora): no colon, a space in the program, something after "]", no tag at all
TAG_SHAPES = [
    b"<13>Jul  1 09:29:02 calvisitor sandboxd[129] ([31211]): com.apple.Addres(31211) deny",
    b"<13>Jul  1 09:29:02 calvisitor Microsoft Word[72]: spaces in the program",
    b"<13>Jun 19 04:09:11 combo syslogd 1.4.1: restart.",
    b"<13>Jun 19 04:09:11 combo prog[1]text right after the pid",
    b"<13>Jun 19 04:09:11 combo prog[1] text after a space",
    b"<13>Jun 19 04:09:11 combo prog:text right after the colon",
    b"<13>Jun 19 04:09:11 combo prog[12 unclosed pid",
    b"<13>Jun 19 04:09:11 combo prog[12:3] colon in the pid",
    b"<13>Jun 19 04:09:11 combo prog",
    b"<13>Jun 19 04:09:11 combo prog ",
    b"<13>Jun 19 04:09:11 combo p\x00rog: a NUL in the program",
    b"<13>2025-07-01T12:00:00 combo prog text without a colon",
    b"<13>2025-07-01T12:00:00+02:00 combo prog[7] text",
]


@pytest.mark.parametrize("driver", ["network", "syslog"])
def test_tags_without_colon_match_syslog_ng(driver: str) -> None:
    compare(TAG_SHAPES, driver)
