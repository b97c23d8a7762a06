"""Properties of everything that reads bytes or text from outside: the framer, the parsers,
the filter and template compilers, and format-json's output.

Whatever comes in, only the documented error escapes (ParseError from the framer,
FilterError, TemplateError), nothing else, and format-json writes one line of valid JSON.
The coverage-guided counterpart of these tests is ``make fuzz`` (tests/fuzz/).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fixedclock import held_utc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.errors import FilterError, ParseError, TemplateError
from relay.facts.names import DEFAULT_TEMPLATE, PROTOCOLS
from relay.filter import compile_filter
from relay.framing import StreamFramer
from relay.parse import Parser, Peer
from relay.template import compile_template

NOW = 1740830400 * 1_000_000_000
UDP = Peer("192.0.2.1", "192.0.2.1", 17)
JSON_TEMPLATES = [
    DEFAULT_TEMPLATE,
    "$(format-json --scope all-nv-pairs --scope all-macros)\n",
    "$(format-json --scope rfc5424 --scope dot_nv_pairs --key .SDATA.*)\n",
    "$(format-json --scope nv_pairs --rekey .* --add-prefix x --pair m=$MSG --pair n=int($PID))\n",
    "$(format-json --scope everything --exclude DATE --key-delimiter ~)\n",
]
# a value a type hint cannot cast makes format-json write nothing, as syslog-ng's does
# (on-error(drop-message)): only the int() template may come out empty
RENDERS = [(compile_template(t).render, "int(" in t) for t in JSON_TEMPLATES]
PARSERS = {p: Parser(p, "s") for p in PROTOCOLS}

# frames that look like syslog: the parsers' own syntax, with bytes that are not UTF-8
_SYNTAX = st.sampled_from([b"<", b">", b"1 ", b" ", b"-", b"[", b"]", b"=", b'"', b"\\",
                           b":", b".", b"T", b"Z", b"@", b"Jan", b"Oct", b"13", b"2025-03-01",
                           b"12:00:00", b"\xff", b"\xc3\xa9", b"\x00", b"{", b"}", b",",
                           b'"a":', b"host", b"prog[1]:"])
frames = st.binary(max_size=120) | st.lists(_SYNTAX, max_size=40).map(b"".join)
SYSLOGISH = (b'<14>1 2024-05-06T07:08:09.5+02:00 h\xc3\xa9 app 12 ID [x@1 a="\\"\xff" b="]"]'
             b"[y c=\"\"] msg", b"<13>Oct 11 22:14:15 host1 prog[12]: text \xff\x00 end",
             b'{"MESSAGE":"m","a":{"b":"\\u0000"},"PROGRAM":"p"}')


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with held_utc():
        yield


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def _frame_all(chunks: list[bytes], max_size: int) -> list[bytes] | None:
    """The frames of CHUNKS, or None when the framer refused the stream (ParseError)."""
    framer = StreamFramer(max_size)
    out: list[bytes] = []
    try:
        for chunk in chunks:
            out.extend(framer.feed(chunk))
    except ParseError:
        return None
    return out + framer.close()


@settings(max_examples=400, deadline=None)
@given(data=frames | st.lists(frames, max_size=6).map(b"\n".join),
       cuts=st.lists(st.integers(0, 10**6), max_size=8), max_size=st.integers(16, 70),
       counted=st.booleans())
def test_the_framer_cuts_any_stream_the_same_in_any_chunks(data: bytes, cuts: list[int],
                                                          max_size: int, counted: bool) -> None:
    if counted:  # octet counting: frames of any length, some lying about it
        data = b"".join(b"%d %s" % (len(p) + (len(p) % 3 == 1), p) for p in data.split(b"\n"))
    whole = _frame_all([data], max_size)
    assert _frame_all(_chunks(data, cuts), max_size) == whole
    assert whole is None or all(0 < len(f) <= max_size for f in whole) or counted


@settings(max_examples=400, deadline=None)
@given(frame=frames | st.sampled_from(SYSLOGISH), protocol=st.sampled_from(PROTOCOLS))
def test_any_frame_parses_and_renders_one_line_of_json(frame: bytes, protocol: str) -> None:
    msg = PARSERS[protocol].parse(frame, UDP, NOW)
    for render, may_be_empty in RENDERS:
        out = render(msg)
        out.decode("utf-8")  # bytes that were not UTF-8 are written as \\xNN text
        assert out.endswith(b"\n") and out.count(b"\n") == 1
        assert (may_be_empty and out == b"\n") or isinstance(json.loads(out), dict)


@settings(max_examples=300, deadline=None)
@given(pairs=st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=6),
       raw=st.binary(max_size=20))
def test_any_pairs_render_as_json(pairs: dict[str, str], raw: bytes) -> None:
    msg = PARSERS["raw"].parse(b"x", UDP, NOW)
    msg.values.update(pairs)
    msg.values["bytes"] = raw.decode("utf-8", "surrogateescape")  # as parsing keeps them
    for render, may_be_empty in RENDERS:
        out = render(msg)
        out.decode("utf-8")
        assert out.count(b"\n") == 1
        assert (may_be_empty and out == b"\n") or isinstance(json.loads(out), dict)


_FILTER_WORDS = st.sampled_from([
    "facility(", "level(", "priority(", "program(", "host(", "message(", "match(", "netmask(",
    "netmask6(", "tags(", "filter(", "in-list(", "value(", "type(", "flags(", "template(",
    "and ", "or ", "not ", "(", ")", '"', "'", ",", " ", "..", "auth", "err", "emerg", "10.0.0.0/8",
    "::1/64", "$MSG", "${HOST}", "==", "!=", " eq ", " ne ", " lt ", "<", ">=", "pcre", "glob",
    "string", "prefix", "substring", "ignore-case", "store-matches", "\\", "*", "[", "a", "1",
    "$(", "\x00", "é", "\n",
])
filter_texts = st.text(max_size=60) | st.lists(_FILTER_WORDS, max_size=25).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=filter_texts, frame=st.sampled_from(SYSLOGISH))
def test_the_filter_compiler_raises_only_filter_error(expr: str, frame: bytes) -> None:
    try:
        matches = compile_filter(expr, filters={}, untrusted=True)
    except FilterError:
        return
    assert matches(PARSERS["auto"].parse(frame, UDP, NOW)) in (True, False)


_TEMPLATE_WORDS = st.sampled_from([
    "$", "${", "}", "$(", ")", "(", " ", "MSG", "HOST", ".SDATA.x", ":-", "format-json",
    "--scope", "all", "nv_pairs", "--key", "--pair", "--rekey", "--shift", "--add-prefix",
    "=", "if", "substr", "length", "lowercase", "+", "-", "1", "-1", "sha1", "echo", "grep",
    "'", '"', "\\", "\\n", "\\x", "$1", "${0}", "@", "*", "é", "\x00", "ISODATE", "R_",
])
template_texts = st.text(max_size=60) | st.lists(_TEMPLATE_WORDS, max_size=25).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=template_texts, frame=st.sampled_from(SYSLOGISH))
def test_the_template_compiler_raises_only_template_error(text: str, frame: bytes) -> None:
    try:
        template = compile_template(text, filter_compiler=compile_filter)
    except TemplateError:
        return
    assert isinstance(template.render(PARSERS["auto"].parse(frame, UDP, NOW)), bytes)
