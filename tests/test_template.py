"""The template compiler: syntax, config-string escapes, errors, and plain-text output.

Expected values are what a live syslog-ng 3.38.1 writes; the syslog_ng tests ask it again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixedclock import RECEIVED_NS, held_utc, parse_at

from relay.errors import TemplateError
from relay.message import LogMessage
from relay.parse import Parser, Peer
from relay.template import DEFAULT_TEMPLATE, compile_template, unescape_config_string

PEER = Peer("127.0.0.1", "127.0.0.1", 17, dest_ip="127.0.0.1")
LINE = b"<13>Oct 11 22:14:15 host1 prog[12]: hello"


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with held_utc():
        yield


def parse(frame: bytes = LINE) -> LogMessage:
    return parse_at(frame, PEER)


def render(text: str, msg: LogMessage | None = None, *, escapes: bool = False) -> str:
    return compile_template(text, escapes=escapes).render_str(msg or parse())


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ("plain text", "plain text"),
        ("$MSG|${MSG}|$PROGRAM[$PID]", "hello|hello|prog[12]"),
        ("${NOPE:-default}|${PID:-x}|${MSG:-}|${NOPE:-}", "default|12|hello|"),
        ("${.SDATA.x.y:-none}", "none"),
        ("a$$b $ x $-B$.C A$", "a$b $ x $-B$.C A$"),
        ("A$*B", "AB"),
        ("A$()B", "B"),  # $() also drops the text before it
        ("A${}B", "AB"),
        ("${MSG}@0|${MSG}@1|${MSG}@@x|${MSG}@x|$MSG@1|${PROGRAM}@00",
         "hello||hello@x|hello@x|hello@1|prog"),
        ("$(format-json --scope none --pair a=b)@1|x", "|x"),
        ("a\\b\\\\c", "a\\b\\\\c"),  # without config escapes a backslash is literal
        ("$msg$MSGX", ""),  # names are case-sensitive; unknown names are empty
    ],
)
def test_syntax(template: str, output: str) -> None:
    assert render(template) == output


def test_value_starting_with_nul_counts_as_empty() -> None:
    msg = LogMessage()
    msg.values.update({"MESSAGE": "\x00x", "P": "\x00y"})
    assert render("${MESSAGE:-e}|${P:-e}|$P.", msg) == "\x00x|e|."


def test_function_arguments() -> None:
    out = render('$(format-json --scope none --pair "a=x y" "--pair" b=\\)c --pair c=\\\\x '
                 '--pair d=(e f) --pair g="(h)" "i=j)")')
    assert out == '{"i":"j)","g":"(h)","d":"(e f)","c":"\\\\x","b":")c","a":"x y"}'


def test_nested_format_json_is_a_string() -> None:
    out = render("$(format-json --scope none --pair j=$(format-json --scope none --pair k=v))")
    assert out == '{"j":"{\\"k\\":\\"v\\"}"}'
    out = render("$(format-json --no-cast --scope none --pair j=$(format-json --scope none "
                 "--pair k=v))")
    assert out == '{"j":{"k":"v"}}'


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("a\\nb\\tc\\rd", "a\nb\tc\rd"),
        ("\\\\ \\\" \\$ \\b \\f \\q", "\\ \" $ b f q"),
        ("\\a\\v\\x41\\x4a1\\o101\\o7", "\x07\x0bAJ1A\x07"),
        ("\\xc3\\xa9 \\xff", "é \udcff"),
        ("line\\\ncontinued", "linecontinued"),
        ("no escapes", "no escapes"),
    ],
)
def test_config_string_escapes(written: str, meant: str) -> None:
    assert unescape_config_string(written) == meant


def test_default_template_and_bytes() -> None:
    template = compile_template(DEFAULT_TEMPLATE)
    out = template.render(parse())
    assert out.endswith(b'"DATE":"Oct 11 22:14:15"}\n') and out.startswith(b'{"TAGS":')
    assert template.render_str(parse()) == out.decode()
    assert compile_template("$(format-json --scope none)\\n").render(parse()) == b"{}\n"
    assert compile_template("[$(format-json --scope none)]").render(parse()) == b"[{}]"


def test_plain_text_passes_bytes_through() -> None:
    msg = parse(b"<13>Oct 11 22:14:15 host1 prog: bad \xff byte")
    assert compile_template("$MSG\\n").render(msg) == b"bad \xff byte\n"
    assert compile_template("$MSG").render_str(msg) == "bad \udcff byte"


@pytest.mark.parametrize(
    ("template", "where"),
    [
        ("${MSG", "'}' is missing, at position 5"),
        ("x${MSG:+a}", "unknown substitution function .* at position 7"),
        ("ab$(format-json --scope none", "missing '\\)', at position 2"),
        ("$(nosuch hi)", "unknown template function 'nosuch'.* at position 0"),
        ("--$(uppercase)$(nosuch)", "'nosuch'.* at position 14"),
        ("$(format-json --scope bogus)", "unknown scope 'bogus'.* at position 0"),
        ("$(format-json --pair 'a=b)", "unterminated ' quote"),
    ],
)
def test_errors_say_where(template: str, where: str) -> None:
    with pytest.raises(TemplateError, match=where):
        compile_template(template)


# -- against syslog-ng ---------------------------------------------------------------------

TEXT_TEMPLATES = {
    "text": "$ISODATE $HOST $MSGHDR$MSG",
    "syntax": "a$$b $ x A$*B ${NOPE:-d} ${MSG}@0|${MSG}@1|${MSG}@@x|$MSG@1 $PROGRAM[$PID] A$",
    "dates": "$R_ISODATE $S_FULLDATE ${C_UNIXTIME} $P_WEEK_DAY_NAME $LEVEL_NUM $FACILITY",
    "mixed": "<$PRI>$(format-json --scope rfc3164 --exclude DATE) $SOURCEIP ${.SDATA.y.c:-}",
}
FRAMES = [
    LINE,
    b'<14>1 2024-05-06T07:08:09Z h app 1 ID [y c="3"] msg',
    b"<13>Oct 11 22:14:15 host1 prog: bad \xff byte and tab \t",
]


@pytest.mark.syslog_ng
@pytest.mark.parametrize("driver", ["network", "syslog"])
def test_plain_templates_against_syslog_ng(driver: str) -> None:
    import sng

    sng.require()
    expected = sng.render(FRAMES, TEXT_TEMPLATES, driver=driver)
    compiled = {n: compile_template(t, escapes=False) for n, t in TEXT_TEMPLATES.items()}
    protocol = {"network": "rfc3164", "syslog": "auto"}[driver]
    for frame, want in zip(FRAMES, expected, strict=True):
        msg = Parser(protocol, "s_net").parse(frame, PEER, RECEIVED_NS)
        assert {n: t.render(msg) for n, t in compiled.items()} == want
