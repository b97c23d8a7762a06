"""Parser: protocols other than the conformance data covers, and robustness."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixedclock import held_utc
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.macros import MACROS, resolve
from relay.message import FLAG_LOCAL, LogMessage
from relay.parse import Parser, Peer, local_peer

NOW = 1740830400 * 1_000_000_000
UDP = Peer("192.0.2.1", "192.0.2.1", 17)


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with held_utc():
        yield


def test_raw_keeps_the_whole_frame() -> None:
    m = Parser("raw", "s").parse(b"<13>Oct 11 22:14:15 h p: x\n\x00", UDP, NOW)
    assert m.values["MESSAGE"] == "<13>Oct 11 22:14:15 h p: x"
    assert m.pri == 13 and m.stamp_sec == NOW // 10**9
    assert m.values["HOST"] == "192.0.2.1" and m.tags == [".source.s"]


def test_rfc5424_only_refuses_rfc3164() -> None:
    m = Parser("rfc5424", "s", pid=99).parse(b"<13>Oct 11 22:14:15 h p: x", UDP, NOW)
    assert m.values["MESSAGE"] == "Error processing log message: <13>Oct 11 22:14:15 h p: x"
    assert m.values["PID"] == "99" and m.pri == 43 and m.flags & FLAG_LOCAL


def test_json_reads_what_format_json_writes() -> None:
    line = (
        b'{"_SDATA":{"a@1":{"x":"1"}},"PROGRAM":"app","PRIORITY":"err","MESSAGE":"hi",'
        b'"ISODATE":"2024-05-06T07:08:09+02:00","HOST":"h1","FACILITY":"daemon","n":3}'
    )
    m = Parser("json", "s").parse(line, UDP, NOW)
    assert m.values[".SDATA.a@1.x"] == "1" and m.values["n"] == "3"
    assert m.pri == 3 * 8 + 3 and m.values["HOST"] == "h1"
    assert resolve("ISODATE")(m) == "2024-05-06T07:08:09+02:00"
    assert "PRIORITY" not in m.values


@pytest.mark.parametrize(
    ("date", "isodate", "usec"),
    [
        ("Dec 31 23:59:59", "2024-12-31T23:59:59+00:00", 0),  # received in January 2025
        ("Jan  2 03:04:05", "2025-01-02T03:04:05+00:00", 0),
        ("Jan  2 03:04:05.25", "2025-01-02T03:04:05+00:00", 250_000),
        ("Xyz  2 03:04:05", "2025-01-05T00:00:00+00:00", 500_000),  # no month: received
    ],
)
def test_json_date_without_isodate(date: str, isodate: str, usec: int) -> None:
    january = 1736035200 * 1_000_000_000 + 500_000_000  # 2025-01-05 00:00:00.5 UTC
    m = Parser("json", "s").parse(b'{"DATE":"' + date.encode() + b'"}', UDP, january)
    assert resolve("ISODATE")(m) == isodate
    assert m.stamp_usec == usec


def test_json_that_is_not_an_object_is_the_message() -> None:
    m = Parser("json", "s").parse(b"not json", UDP, NOW)
    assert m.values["MESSAGE"] == "not json"


def test_local_kernel_message_without_stamp_is_from_the_kernel() -> None:
    m = Parser("rfc3164", "s").parse(b"<4>[ 1.0] oops", local_peer(), NOW)
    assert m.values["PROGRAM"] == "kernel" and m.values["MESSAGE"] == "[ 1.0] oops"
    assert m.flags & FLAG_LOCAL and resolve("SOURCEIP")(m) == "127.0.0.1"


@settings(max_examples=300, deadline=None)
@given(frame=st.binary(max_size=80), protocol=st.sampled_from(["auto", "rfc3164", "rfc5424"]))
def test_any_bytes_parse_and_every_macro_resolves(frame: bytes, protocol: str) -> None:
    m = Parser(protocol, "s").parse(frame, UDP, NOW)
    for name in MACROS:
        assert isinstance(resolve(name)(m), str)
    for value in m.values.values():
        value.encode("utf-8", "surrogateescape")


@settings(max_examples=200, deadline=None)
@given(frame=st.text(alphabet=st.sampled_from(list('<>1 -[]="\\:.*T0123456789ZabJanOct'))))
def test_syntax_soup_never_raises(frame: str) -> None:
    for protocol in ("auto", "rfc3164", "json"):
        Parser(protocol, "s").parse(frame.encode(), UDP, NOW)


COMMON_SHAPES = [
    (b"<28>Jan  6 06:25:00 ns2 named[65832]: client query denied", "rfc3164"),
    (b"<190>Dec 31 23:59:59 web-01 nginx: GET / 200", "rfc3164"),
    (b"<0>Feb 29 12:00:00 h p[]: empty pid", "auto"),
    (b"<013>Oct 11 22:14:15 h\xc3\xa9 prog: bad \xff byte\n\x00", "rfc3164"),
    (b"<13>Jan 11 22:14:15 1234 prog: a LinkSys look-alike", "rfc3164"),
    (b"<13>Jan 11 22:14:15 Message forwarded from h: p: AIX", "rfc3164"),
    (b"<13>Xyz 11 22:14:15 h p: no month", "auto"),
    (b"<38>2026-11-21T06:20:09 localhost prg00000[1234]: seq: 0000000000, loggen", "rfc3164"),
    (b"<38>2026-11-21T06:20:09.5+02:00 h p: fraction and zone", "auto"),
    (b"<38>2026-02-30T25:20:09.123456Z h p: normalized", "rfc3164"),
    (b"<38>2026-11-21T06:20:09: h p: colon after the stamp", "rfc3164"),
    (b"<38>2026-11-21T06:20:09 2024 p: a year-like host", "rfc3164"),
    (b"<13>Mar  1 11:59:59 \x00web1 app: NUL before the host", "rfc3164"),
    (b"<13>Mar  1 11:59:59 web1 \x00app[1]: NUL before the program", "auto"),
    (b"<13>Mar  1 11:59:59 we\x00b1 a\x00pp[1]: NULs inside", "rfc3164"),
    (b"<38>2026-11-21T06:20:09 h \x00p: ISO, NUL before the program", "rfc3164"),
    (b"<38>2026-11-21T06:20:09 \x00h p: ISO, NUL before the host", "auto"),
    (b"<14>Oct 11 22:14:15.123 host1 app: milliseconds", "rfc3164"),
    (b"<14>Oct 11 22:14:15,987654 host1 app[7]: a comma fraction", "auto"),
    (b"<14>Oct 11 22:14:15.1234567 host1 app: seven digits", "rfc3164"),
    (b"<14>Oct 11 22:14:15. host1 app: a dot alone", "rfc3164"),
    (b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: no PRI", "rfc3164"),
    (b"2024-01-02T03:04:05.123+02:00 host1 prog[12]: ISO, no PRI", "auto"),
    (b"<38>Nov 21 05:20:13 prog[1234]: no hostname before the program", "rfc3164"),
    (b"<38>Nov 21 05:20:13 prog: no hostname, no pid", "auto"),
    (b"<38>Nov 21 05:20:13 beef: an IPv6-like hostname", "rfc3164"),
    (b"<38>Nov 21 05:20:13 beefs: too long for IPv6", "rfc3164"),
    (b"<38>Nov 21 05:20:13 2024[1]: a year, then a pid", "rfc3164"),
    (b"<38>Nov 21 05:20:13 2024\tx[1]: a LinkSys stamp", "rfc3164"),
    (b"<38>Nov 21 05:20:13 last[1]: not repeated", "rfc3164"),
    (b"<189>123: *Mar  1 00:00:01.123: %SYS-5-CONFIG_I: Configured from console", "rfc3164"),
    (b"<189>: .Mar  1 00:00:01: %SYS-5-CONFIG_I: empty sequence, synced", "auto"),
    (b"<189>45: Mar  1 00:00:01 r1 %SYS-5-CONFIG_I: a sequence, a hostname", "rfc3164"),
    (b"<189>45:  Mar  1 00:00:01 r1 %SYS-5-CONFIG_I: two spaces", "rfc3164"),
    (b"<189>*Xyz  1 00:00:01: %SYS-5-CONFIG_I: no month", "rfc3164"),
    (b"<166>Jan 05 2024 10:00:00 fw01 : %ASA-6-302013: Built outbound TCP connection 1",
     "rfc3164"),
    (b"<166>Jan 05 2024 10:00:00: %ASA-6-302013: PIX stamp, a colon, no hostname", "auto"),
    (b"<166>Jan  5 1999 23:59:60 fw01 %ASA-6-302013: leap second", "rfc3164"),
    (b"<166>Jan 05 2024 10:00:00:: fw01 : two colons", "rfc3164"),
    (b"<166>Jan 05 2024 10:00:00 fw01  : two spaces", "rfc3164"),
    (b"<166>Jan 05 2024 10:00:00 fw01 [9]: a pid alone", "rfc3164"),
    (b"<166>Jan 05 2024 10:00:00 : empty host", "rfc3164"),
    (b"<166>%ASA-6-302013: Built outbound TCP connection 1", "rfc3164"),
    (b"<13>prog[12]: no stamp", "auto"),
    (b"<0>kernel[1]: no stamp, the kernel facility", "rfc3164"),
    (b"<13>12: *: a sequence, a mark, no program", "rfc3164"),
    (b"<13>ab cd efghijklmnopqrstuvwxyz: a stamp scanner starts", "rfc3164"),
    (b"<13>abcd-ef-ghijklmnopqrstuvwxyz: an ISO scanner starts", "rfc3164"),
    (b"<1234>prog: a long PRI", "rfc3164"),
    (b"<>prog: an empty PRI", "auto"),
    (b"<1x>prog: a bad PRI", "rfc3164"),
    (b"prog: no PRI, no stamp", "rfc3164"),
    (b"<13>1: x", "auto"),
    (b"<13>01: x", "auto"),
    (b'<28>1 2024-01-06T06:25:00.000001+00:00 ns2 named 65832 - [origin@32473 ip="192.0.2.1"'
     b' software="relay-bench"] client query denied', "rfc5424"),
    (b"<190>1 2024-01-06T06:25:00Z web-01 nginx - - - GET / 200", "auto"),
    (b"<14>1 2003-10-11T22:14:15.3-07:30 - - - ID47 [x][y a=\"1\" a=\"2\" b=\"\"][x c=\"3\"]",
     "rfc5424"),
    (b"<14>1 2003-10-11T22:14:15.123456+05:45 h app 1 - - \xef\xbb\xbfBOM \xff", "rfc5424"),
    (b"<14>1 2003-02-30T25:61:61+00:00 h app 1 - - normalized by mktime", "auto"),
    (b"<14>1 2003-10-11T22:14:15+00:00 h app 1 - [a b=\"c\\\"d\"] escaped", "rfc5424"),
    (b"<14>1 2003-10-11T22:14:15+00:00 h app 1 - [a b=\"\\\\\\x\\]\"] escapes", "auto"),
    (b"<14>1 2003-10-11T22:14:15+00:00 h app 1 - [a b=\"x\\\"] end in an escape", "auto"),
    (b"<14>1 2003-10-11T22:14:15+00:00 h app 1 - [a b=\"x\\", "rfc5424"),
    (b"<14>1 2003-10-11T22:14:15 h app 1 - - no zone", "rfc5424"),
    (b"<14>1 2003-10-11T22:14:15.25 h app 1 - [a b=\"1\"] no zone", "auto"),
    (b"<14>1 2003-10-11T22:14:15+02:001 h app 1 - - digit after the zone", "auto"),
    (b"<14>1 2003-10-11T22:14:15+00:00 h:1 app 1 - - colon in the host", "rfc5424"),
    (b"<14>1 2003-10-11T22:14:15+00:00 h app 1 - -x", "rfc5424"),
    (b"<14>1 2003-10-11T22:14:15+00:00 \x00 app 1 - - NUL host", "auto"),
]


@pytest.mark.parametrize("keep_hostname", [True, False])
@pytest.mark.parametrize("peer", [UDP, local_peer()])
@pytest.mark.parametrize(("frame", "protocol"), COMMON_SHAPES)
def test_common_shape_fast_path_agrees_with_the_general_path(
        frame: bytes, protocol: str, peer: Peer, keep_hostname: bool) -> None:
    parser = Parser(protocol, "s", keep_hostname=keep_hostname)
    fast = parser.parse(frame, peer, NOW + 12345)
    general_parser = Parser(protocol, "s", keep_hostname=keep_hostname)
    general_parser._one_match = None
    general_parser._common_5424 = False
    general = general_parser.parse(frame, peer, NOW + 12345)
    for name in LogMessage.__slots__:
        assert getattr(fast, name) == getattr(general, name), name
    assert list(fast.values) == list(general.values)


_PIECES = [b" ", b":", b"[", b"]", b"-", b"=", b'"', b"\\", b"0", b"9", b"T", b"Z", b"+",
           b"\xef\xbb\xbf", b"\xff", b"\x00", b"\n", b"\t", b"@", b".", b"Message ", b"2024 ",
           b"*", b"a", b"12: ", b"last ", b"Jan 05 2024 ", b"<", b">", b"<0>", b"beef"]


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from([frame for frame, _ in COMMON_SHAPES]),
       edits=st.lists(st.tuples(st.integers(0, 80), st.integers(0, 3),
                                st.sampled_from(_PIECES)), min_size=1, max_size=3),
       protocol=st.sampled_from(["rfc3164", "auto", "rfc5424"]),
       day=st.integers(0, 400))
def test_fast_paths_agree_with_the_general_path_on_edited_frames(
        base: bytes, edits: list[tuple[int, int, bytes]], protocol: str, day: int) -> None:
    frame = bytearray(base)
    for pos, cut, piece in edits:
        frame[pos:pos + cut] = piece
    now = NOW + day * 86400 * 10**9
    fast = Parser(protocol, "s").parse(bytes(frame), UDP, now)
    general_parser = Parser(protocol, "s")
    general_parser._one_match = None
    general_parser._common_5424 = False
    general = general_parser.parse(bytes(frame), UDP, now)
    for name in LogMessage.__slots__:
        assert getattr(fast, name) == getattr(general, name), name
    assert list(fast.values) == list(general.values)


@pytest.mark.parametrize(
    ("frame", "protocol", "host", "message"),
    [
        (b"<14>1 2025-03-01T11:59:59Z \x00 app - - - x", "auto", "192.0.2.1", "x"),
        (b"<14>1 2025-03-01T11:59:59Z \x00abc app - - - x", "rfc5424", "192.0.2.1", "x"),
        (b"<14>1 2025-03-01T11:59:59Z a\x00bc app - - - x", "rfc5424", "a\x00bc", "x"),
        (b"<13>Mar  1 11:59:59 Message forwarded from \x00aix: p: x", "rfc3164", "192.0.2.1",
         "p: x"),
    ],
)
def test_a_host_that_starts_with_nul_is_the_sender(
        frame: bytes, protocol: str, host: str, message: str) -> None:
    # syslog-ng takes a hostname whose first byte is NUL for an empty one
    msg = Parser(protocol, "s").parse(frame, UDP, NOW)
    assert (msg.values["HOST"], msg.values["MESSAGE"]) == (host, message)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        # the frame's last byte is where it failed: the mark goes one byte before it
        ("<34>1 - - - -é".encode(),
         "<34>1 - - - -\udcc3>@<\udca9"),
        # a hostname that is none: one byte past its start, here a character's first byte
        ("<14>1 - é[x".encode(), "<14>1 - >@<é[x"),
        ('<14>1 2025-03-01T11:59:59Z hóst app - - [x@1 a="é" b] y'.encode(),
         '<14>1 2025-03-01T11:59:59Z hóst app - - [x@1 a="é" >@<b] y'),
        ("<14>1 2025-03-01T11:59:59Zé host app - - - x".encode(),
         "<14>1 2025-03-01T11:59:59>@<Zé host app - - - x"),
        (b"<14>1 2025-03-01T11:59:59Z h\xffst app - -", "<14>1 2025-03-01T11:59:59Z h\udcffst"
         " app - >@<-"),
    ],
)
def test_the_error_mark_is_placed_by_byte(frame: bytes, message: str) -> None:
    msg = Parser("auto", "s", pid=1).parse(frame, UDP, NOW)
    assert msg.values["MESSAGE"] == "Error processing log message: " + message


@pytest.mark.parametrize("escape", [b"", b"\\\\", b'\\"'])
@pytest.mark.parametrize("length", [16383, 16384, 40000])
def test_long_sd_values_are_cut_alike_on_both_paths(escape: bytes, length: int) -> None:
    frame = (b'<14>1 2003-10-11T22:14:15Z h app 1 - [a b="' + escape + "é".encode() * length
             + b'" c="' + escape + b'x"] long')
    fast = Parser("auto", "s").parse(frame, UDP, NOW)
    general_parser = Parser("auto", "s")
    general_parser._one_match = None
    general_parser._common_5424 = False
    general = general_parser.parse(frame, UDP, NOW)
    assert fast.values == general.values and list(fast.values) == list(general.values)
    assert fast.values["MESSAGE"] == "long"
