"""Template functions (relay.template_functions): unit tests, and differential tests that
render the same frames with the same templates in the relay and in a live syslog-ng."""

from __future__ import annotations

import calendar
import os
import re
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator

import pytest
import sng
from hypothesis import given
from hypothesis import strategies as st

from relay import macros
from relay.errors import TemplateError
from relay.filter import compile_filter
from relay.message import LogMessage
from relay.parse import Parser, Peer
from relay.template import Template, compile_template

RECVD_NS = calendar.timegm((2025, 3, 1, 12, 0, 0)) * 1_000_000_000
PEER = Peer("127.0.0.1", "127.0.0.1", 17, "127.0.0.1", 514)
PROTOCOL = {"network": "rfc3164", "syslog": "auto"}


def message(**values: str) -> LogMessage:
    msg = LogMessage()
    msg.values.update(values)
    return msg


def compile_tf(template: str) -> Template:
    # $(if) and $(grep) hold filters: the filter layer hands its compiler in
    return compile_template(template, escapes=False, filter_compiler=compile_filter)


def render(template: str, msg: LogMessage | None = None) -> bytes:
    return compile_tf(template).render(msg or message())


# -- unit tests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$(echo $MSG x)", b"hello world x"),
        ("$(echo)", b""),
        ("$(length $MSG '')", b"11 0"),
        ("$(length caf\u00e9)", b"5"),
        ("$(substr $MSG 6)", b"world"),
        ("$(substr $MSG -5 3)", b"wor"),
        ("$(substr $MSG 1 -2)", b"ello wor"),
        ("$(substr $MSG -3 -1)", b"rl"),
        ("$(substr $MSG 20)", b""),
        ("$(substr $MSG x)", b""),
        ("$(substr $MSG)", b""),
        ("$(uppercase $MSG)", b"HELLO WORLD"),
        ("$(lowercase ABC D)", b"abc d"),
        ("$(strip ' a b ' '  ' c)", b"a b c"),
        ("$(sanitize a/b)", b"a_b"),
        ("$(sanitize -r X --invalid-chars=ab abc)", b"XXc"),
        ("$(sanitize a b)", b"a/b"),
        ("$(padding $PID 6 0)", b"000123"),
        ("$(padding $PID 6 ab)", b"aba123"),
        ("$(padding $MSG 3)", b"hello world"),
        ("$(padding $PID 5)", b"  123"),
        ("$(indent-multi-line 'a\nb\n\tc')", b"a\n\tb\n\tc"),
        ("$(replace-delimiter ' ' - $MSG)", b"hello-world"),
        ("$(binary 0x41 66 0103)", b"ABC"),
        ("$(base64-encode ab c)", b"YWJj"),
        ("$(url-encode 'a b/\u00e9')", b"a%20b%2F%C3%A9"),
        ("$(url-decode a%20b%2f)", b"a b/"),
        ("$(url-decode a%2 b)", b"b"),
        ("$(if (\"${PID}\" ne \"\") \"[${PID}]\" \"\")", b"[123]"),
        ("$(if (\"${NOPE}\" ne \"\") \"[${NOPE}]\" none)", b"none"),
        ("$(grep (\"$PID\" == 123) $PID x)", b"123,x"),
        ("$(or $NOPE '' $PID)", b"123"),
        ("$(+ $PID 1)", b"124"),
        ("$(- 1 2.5)", b"-1.50000000000000000000"),
        ("$(* 3 4)", b"12"),
        ("$(/ -7 2)", b"-3"),
        ("$(% -7 2)", b"-1"),
        ("$(/ 1 0)", b"NaN"),
        ("$(+ a 1)", b"NaN"),
        ("$(+ 1)", b"NaN"),
        ("$(+ 9223372036854775807 1)", b"-9223372036854775808"),
        ("$(round 2.5)", b"3"),
        ("$(round 3.14159 2)", b"3.14"),
        ("$(ceil 1.2)", b"2"),
        ("$(floor -1.2)", b"-2"),
        ("$(sum $PID)", b"123"),
        ("$(max x)", b""),
        ("$(ipv4-to-int 10.0.0.1 1.2)", b"167772161,16777218"),
        ("$(basename /var/log/messages)", b"messages"),
        ("$(dirname /var/log/messages)", b"/var/log"),
        ("$(dirname messages)", b"."),
        ("$(basename /a/b/)", b"b"),
        ("$(md5 abc)", b"900150983cd24fb0d6963f7d28e17f72"),
        ("$(sha1 --length 8 abc)", b"a9993e36"),
        ("$(hash abc)", b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("$(echo $(length $(echo $MSG)))", b"11"),
        ("[$(echo a)@@]", b"[a@]"),
        ("$(echo \\) x)", b") x"),
        ("$(length 'a b' \"c\")", b"3 1"),
    ],
)
def test_function_renders(template: str, expected: bytes) -> None:
    msg = message(MESSAGE="hello world", PID="123")
    assert render(template, msg) == expected


def test_arguments_keep_bytes_that_are_not_utf8() -> None:
    msg = message(MESSAGE=b"caf\xe9 \xff".decode("utf-8", "surrogateescape"))
    assert render("$(length $MSG)", msg) == b"6"
    assert render("$(substr $MSG 3 1)", msg) == b"\xe9"
    assert render("$(url-encode $MSG)", msg) == b"caf%E9%20%FF"
    assert render("$(base64-encode $MSG)", msg) == b"Y2Fm6SD/"


def test_env_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAY_TF_A", "one")
    monkeypatch.delenv("RELAY_TF_NONE", raising=False)
    assert render("$(env RELAY_TF_A RELAY_TF_NONE)") == b"one "
    assert render("$(env RELAY_TF_NONE RELAY_TF_A)") == b"one"


def _ipv4_to_int_with_sockets(data: bytes, last: int) -> int:
    # the reader before relay.facts.cnum: the first word, through socket.inet_aton
    word = re.match(rb"[^ \t\n\v\f\r]*", data.split(b"\0")[0]).group(0)  # type: ignore[union-attr]
    try:
        return int.from_bytes(socket.inet_aton(word.decode("ascii")), "big")
    except (OSError, ValueError, UnicodeDecodeError):
        return last


@given(st.binary(max_size=20) | st.text(alphabet="0123456789.xX \t", max_size=20).map(str.encode))
def test_ipv4_to_int_reads_as_inet_aton(data: bytes) -> None:
    msg = message(MESSAGE=data.decode("utf-8", "surrogateescape"))
    expected = f"16909060,{_ipv4_to_int_with_sockets(data, 16909060)}".encode()
    assert render("$(ipv4-to-int 1.2.3.4 $MSG)", msg) == expected


def test_uuid_is_random() -> None:
    tpl = compile_template("$(uuid)")
    first, second = tpl.render(message()), tpl.render(message())
    assert len(first) == 36 and first != second


def test_names_take_underscores() -> None:
    assert render("$(indent_multi_line 'a\nb')") == b"a\n\tb"


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("$(nosuch x)", "unknown template function 'nosuch'.* at position 0"),
        ("ab$(list-concat a b)", "not supported by the relay.* at position 2"),
        ("$(padding x)", "Not enough arguments"),
        ("$(padding x y)", "requires a number"),
        ("$(padding x -3)", "not negative"),
        ("$(binary)", "Incorrect parameters"),
        ("$(binary 256)", "above 255"),
        ("$(binary 0x1g)", "as a hex number"),
        ("$(if (level(err)) a)", "requires three arguments"),
        ("$(if (nosuch(x)) a b)", "conditional filter"),
        ("$(grep (level(err)))", "at least two arguments"),
        ("$(sum a b)", "only one argument"),
        ("$(sanitize --nope x)", "unknown option --nope"),
        ("$(sanitize -r)", "missing argument"),
        ("$(hash)", "invalid number of arguments"),
        ("$(hash --length x y)", "cannot parse integer"),
        ("$(md4 x)", "MD4"),
        ("$(echo " + "x " * 65 + ")", "Too many arguments"),
        ("$(echo ${MSG)", "'}' is missing"),
    ],
)
def test_errors_say_what_and_where(template: str, error: str) -> None:
    with pytest.raises(TemplateError, match=error):
        compile_tf(template)


@pytest.mark.parametrize("template", [
    "$(if (level(err)) a b)", "$(grep (level(err)) a)", "$(echo $(if (level(err)) a b))",
    "$(format-json x=$(if (level(err)) a b))",
])
def test_conditions_need_a_filter_compiler(template: str) -> None:
    with pytest.raises(TemplateError, match="needs a filter compiler.*filter_compiler="):
        compile_template(template, escapes=False)


def test_nested_conditions_get_the_filter_compiler() -> None:
    msg = message(PID="7")
    assert render("$(echo $(if ('$PID' == 7) yes no))", msg) == b"yes"
    assert render("$(format-json x=$(if ('$PID' == 7) yes no))", msg) == b'{"x":"yes"}'
    seen: list[str] = []

    def recording(expr: str) -> Callable[[LogMessage], bool]:
        seen.append(expr)
        return compile_filter(expr)

    compile_template("$(grep ('$PID' == 7) a)", filter_compiler=recording)
    assert seen == ["('$PID' == 7)"]


def test_filter_compares_a_function() -> None:
    long = compile_filter('"$(length ${MSG})" > "5"')
    assert long(message(MESSAGE="hello world"))
    assert not long(message(MESSAGE="hi"))


def test_plain_templates_are_unchanged() -> None:
    tpl = compile_template("$HOST $MSG\n")
    assert tpl.render(message(HOST="h", MESSAGE="m")) == b"h m\n"


# -- differential tests against a live syslog-ng -----------------------------------------

CORPUS = [
    b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    b"<13>Feb  5 17:32:18 10.0.0.99 sshd[1234]: Accepted password for alice from 10.1.2.3",
    b"<86>Mar  1 11:59:59 web1 CRON[20001]: (root) CMD (run-parts /etc/cron.hourly)",
    b"<0>Mar  1 11:59:59 db-2 kernel: [ 12.345] eth0: link up  ",
    b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
    b'[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] '
    b"\xef\xbb\xbfAn application event log entry...",
    b"<14>1 2025-03-01T11:00:00+01:00 host app 4242 - - path=/var/log/app/x.log size=1.5k",
    b"<30>Mar  1 12:00:00 host prog[77]: caf\xe9 na\xefve \xff\xfe bytes",
    b"<30>Mar  1 12:00:00 host prog[]: empty pid, Caf\xc3\xa9 \xce\xa3\xce\x9f\xce\xa6\xce\x91",
    b"<30>Mar  1 12:00:00 host prog: ",
    b"<30>Mar  1 12:00:00 host prog: a/b\\c\tt\x01x  %41%2 %zz+1 ~._-",
    b"<11>Mar  1 12:00:00 host prog: multi\nline\n\tindented\n",
    b"<11>Mar  1 12:00:00 host prog: -12 3.75 1e3 0x1f nan 9223372036854775807",
    b"<11>Mar  1 12:00:00 host prog: 192.168.1.10",
    b"<11>1 - - - - - -",
    b"<11>Mar  1 12:00:00 host prog[9]: word",
    # case mapping of GLib (special casing, final sigma, bytes that are not UTF-8)
    b"<30>Mar  1 12:00:00 host prog: Stra\xc3\x9fe \xc4\xb0stanbul \xce\xa3 \xce\xa3\xce\xb1 "
    b"x\xce\xa3. \xc7\x85 \xc3\xa9t\xc3\xa9",
    b"<30>Mar  1 12:00:00 host prog: over\xc1\x81long \xed\xa0\x80 sur \xf4\x90\x80\x80 "
    b"big \xe2\x82",
    b"<30>Mar  1 12:00:00 host prog: trunc \xc3",
    b"<14>1 2025-03-01T11:00:00Z host app - - - nul\x00inside msg",
    b"<30>Mar  1 12:00:00 host prog: \xf8\x88\x80\x80\x80 five \xfc\x84\x80\x80\x80\x80 "
    b"six \xfe\xff",
    # numbers at the edges of strtoll and strtod
    b"<30>Mar  1 12:00:00 host prog:    1e400",
    b"<30>Mar  1 12:00:00 host prog: 0x1p3",
    b"<30>Mar  1 12:00:00 host prog: -0",
    b"<30>Mar  1 12:00:00 host prog: 4.9e-324",
    b"<30>Mar  1 12:00:00 host prog: -nan",
    b"<30>Mar  1 12:00:00 host prog: inf",
    b"<30>Mar  1 12:00:00 host prog: 12abc",
]

TEMPLATES = [
    "$(echo $MSG)", "$(echo $PROGRAM $PID ${NOPE} x)", "$(echo)", "<$(echo ${PID:-none})>",
    "$(length $MSG)", "$(length $MSG $PROGRAM ${PID})", "$(length)",
    "$(substr $MSG 0 5)", "$(substr $MSG 3)", "$(substr $MSG -4)", "$(substr $MSG -4 2)",
    "$(substr $MSG 2 -3)", "$(substr $MSG -6 -2)", "$(substr $MSG -2 -6)",
    "$(substr $MSG 100)", "$(substr $MSG -100)", "$(substr $MSG 0 -100)", "$(substr $MSG a)",
    "$(substr $MSG 1 b)", "$(substr $MSG)", "$(substr $MSG 1 2 3)", "$(substr $MSG ' 2')",
    "$(substr $MSG +1 +2)", "$(substr $MSG $PID 3)",
    "$(lowercase $MSG)", "$(uppercase $MSG $HOST)", "$(uppercase)",
    "$(strip $MSG)", "$(strip '  a  ' $NOPE ' ' b)", "$(strip \"$MSG \")",
    "$(sanitize $MSG)", "$(sanitize $MSG $PROGRAM)", "$(sanitize -r X $MSG)",
    "$(sanitize --no-ctrl-chars $MSG)", "$(sanitize -C --invalid-chars='ab/' $MSG)",
    "$(sanitize --replacement=. -i ' ' $MSG)", "$(sanitize $MSG -r '')",
    "$(padding $PID 10)", "$(padding $PID 10 0)", "$(padding $PID 10 abc)",
    "$(padding $MSG 5 x)", "$(padding $PID 0)", "$(padding $PID 3 '')",
    "$(indent-multi-line $MSG)", "$(indent-multi-line $MSG $PROGRAM)",
    "$(replace-delimiter ' ' _ $MSG)", "$(replace-delimiter '/\\.' ':' $MSG)",
    "$(replace-delimiter ' ' '' $MSG)", "$(replace-delimiter '' x $MSG)",
    "$(replace-delimiter ' ' _)", "$(binary 65 0x42 0103 10)",
    "$(base64-encode $MSG)", "$(base64-encode $PROGRAM $PID)", "$(base64-encode '')",
    "$(url-encode $MSG)", "$(url-encode $PROGRAM $MSG)", "$(url-decode $MSG)",
    "$(url-decode a%20b %zz c%41)",
    "$(if (\"${PID}\" ne \"\") \"[${PID}]\" \"\")",
    "$(if (program(\"sshd\") or level(crit..emerg)) yes no)",
    "$(if ('$(length $MSG)' > '20') long short)",
    "$(if (message('caf')) $(uppercase $MSG) $(length $MSG))",
    "$(grep (\"${PID}\" ne \"\") $PROGRAM $PID)", "$(grep --max-count=1 (level(info)) $HOST)",
    "$(or ${PID} ${PROGRAM} x)", "$(or ${NOPE} '')",
    "$(+ $PID 1)", "$(- $PID 0.5)", "$(* $PID $PID)", "$(/ $PID 7)", "$(% $PID 7)",
    "$(/ $PID 0)", "$(% 7.5 2)", "$(+ $MSG 1)", "$(+ 1)", "$(+ 1 2 3)",
    "$(/ 1.0 3)", "$(* 1e300 1e300)", "$(- nan 1)", "$(+ ' 5' 3)", "$(+ 0x10 1)",
    "$(+ 9223372036854775807 1)", "$(* -4611686018427387904 4)", "$(/ -7 2)", "$(% -7 2)",
    "$(% 7 -2)", "$(/ 7 0.0000000000000001)", "$(+ 1e-320 0)", "$(- 0.1 0.3)",
    "$(round 2.5)", "$(round -2.5)", "$(round 3.14159 3)", "$(round $PID 21)",
    "$(round 1.005 2)", "$(round x)", "$(ceil 1.2)", "$(ceil -1.2)", "$(floor 2.7)",
    "$(floor $PID)", "$(ceil x)",
    "$(sum $PID)", "$(min ${PID})", "$(max $MSG)", "$(average $PID)",
    "$(ipv4-to-int $SOURCEIP 10.1 0x7f.1 010.0.0.1)",
    "$(basename $MSG)", "$(dirname $MSG)", "$(basename /a/b/)", "$(dirname /a/b/)",
    "$(dirname /a)", "$(dirname //)", "$(basename //)", "$(basename '')", "$(dirname '')",
    "$(dirname a//b)", "$(basename a//b)",
    "$(sha1 $MSG)", "$(sha256 $MSG $HOST)", "$(sha512 $MSG)", "$(md5 $MSG)",
    "$(hash $MSG)", "$(hash --length 10 $MSG)", "$(md5 -l 7 $MSG)", "$(sha1 -l 100 x)",
    "$(echo $(length $(uppercase $MSG)) \"$(substr $MSG 0 3)\")",
    "$(echo 'a b' \"c  d\" e\\ f (g h) '(i j)')",
    "pre $(echo x)@0 mid $(echo y)@1 post",
    "$(format-json a=$(length $MSG) b=$(uppercase $PROGRAM))",
    "$(echo ${MSG}@0 $(echo z)@1)",
    "$(uppercase $MSG)", "$(lowercase $MSG)", "$(length $MSG)", "$(substr $MSG 2 4)",
    "$(strip $MSG)", "$(sanitize $MSG)", "$(url-encode $MSG)", "$(base64-encode $MSG)",
    "$(replace-delimiter ' ' - $MSG)", "$(basename $MSG)", "$(echo $MSG)",
    "$(+ $MSG 1)", "$(- $MSG 1.5)", "$(* $MSG 2)", "$(/ $MSG 3)", "$(% $MSG 3)", "$(/ 1 $MSG)",
    "$(round $MSG)", "$(round $MSG 3)", "$(ceil $MSG)", "$(floor $MSG)", "$(sum $MSG)",
    "$(padding $MSG 40 .-)", "$(sha1 $MSG)", "$(url-decode $MSG)",
    "$(sanitize -Cc -r '#' $MSG)", "$(hash -l 0x10 $MSG)", "$(grep -m 1 (level(info)) a b)",
    "$(echo a\\ b \\$MSG)", "$(echo (a \"b c\" 'd'))",
    "$(echo $(echo 'x  y') \"$(echo z)\")", "$(length \"$(echo '')\")",
    "$(if ('$PID' == '') 'no pid' \"$PID\")", "$(substr \"$MSG\" \"1\" '2')",
    "$(url-encode %00)", "$(url-decode %00x)", "$(url-decode %4)", "$(url-decode %41%42)",
    "$(binary 1 2 0xff)", "$(binary -1)", "$(binary 0)",
    "$(+ 1.5 1.5)", "$(* 0.1 3)", "$(/ 10 4.0)", "$(% -7.5 2)", "$(- 0 -0.0)",
    "$(round 2.675 2)", "$(round 0.5)", "$(round -0.5)", "$(round 1e20 20)", "$(ceil 1e30)",
    "$(floor nan)", "$(ceil -0.5)",
    "$(ipv4-to-int 1.2.3.4\\ x 255.255.255.255 0xffffffff 1.2.3.4.5)",
]


def relay_render(frames: list[bytes], templates: dict[str, str],
                 driver: str) -> list[dict[str, bytes]]:
    old_clock = macros.clock
    macros.clock = lambda: RECVD_NS
    try:
        parser = Parser(PROTOCOL[driver], "s_net")
        compiled = {n: compile_tf(t) for n, t in templates.items()}
        out = []
        for frame in frames:
            msg = parser.parse(frame, PEER, RECVD_NS)
            out.append({n: t.render(msg) for n, t in compiled.items()})
        return out
    finally:
        macros.clock = old_clock


def _compare(frames: list[bytes], templates: list[str], driver: str) -> None:
    named = {f"t{i}": t for i, t in enumerate(templates)}
    expected = sng.render(frames, named, driver=driver)
    got = relay_render(frames, named, driver)
    bad = [
        (frame, named[n], want.get(n), have[n])
        for frame, want, have in zip(frames, expected, got, strict=True)
        for n in named
        if want.get(n) != have[n]
    ]
    assert not bad, f"{len(bad)} differences:\n" + "\n".join(
        f"{t!r} on {f!r}:\n  sng:   {w!r}\n  relay: {h!r}" for f, t, w, h in bad[:40])


@pytest.fixture
def env_var() -> Iterator[None]:
    old = os.environ.get("RELAY_TF_ENV")
    os.environ["RELAY_TF_ENV"] = "from-env"
    yield
    if old is None:
        del os.environ["RELAY_TF_ENV"]
    else:
        os.environ["RELAY_TF_ENV"] = old


@pytest.mark.syslog_ng
@pytest.mark.parametrize("driver", ["network", "syslog"])
def test_functions_render_what_syslog_ng_renders(driver: str, env_var: None) -> None:
    sng.require()
    sng.require_faketime()
    templates = TEMPLATES + ["$(env RELAY_TF_ENV RELAY_TF_NONE PATH_NONE)"]
    _compare(CORPUS, templates, driver)


def _syslog_ng_accepts(template: str) -> bool:
    quoted = template.replace("\\", "\\\\").replace('"', '\\"')
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as conf:
        conf.write("@version: 3.38\n"
                   f'destination d {{ file("/dev/null" template("{quoted}")); }};\n')
        conf.flush()
        run = subprocess.run([sng.require(), "--syntax-only", "-f", conf.name],
                             capture_output=True)
    return run.returncode == 0


ACCEPTANCE = [
    "$(echo x)", "$(nosuch x)", "$(padding x)", "$(padding x y)", "$(padding x 5 ab)",
    "$(padding x -3)", "$(binary)", "$(binary 256)", "$(binary -1)", "$(binary 0x1g)",
    "$(binary 08)", "$(binary 1 z)", "$(if (level(err)) a)", "$(if (level(err)) a b)",
    "$(if (nosuch(x)) a b)", "$(if level(err) a b)", "$(grep (level(err)))",
    "$(grep (level(err)) a b c)", "$(grep -m 2 (level(err)) a)", "$(grep --bogus x y)",
    "$(sum a b)", "$(sum)", "$(sum $PID)", "$(sanitize --nope x)", "$(sanitize -r)",
    "$(sanitize -C -c -r x -i y z)", "$(sanitize -Cr x y)", "$(hash)", "$(hash --length x y)",
    "$(hash -l 0x10 y)", "$(hash -l 99999999999 y)", "$(md4 x)", "$(sha512 x)", "$(hash -- -x)",
    "$(echo " + "x " * 64 + ")", "$(echo " + "x " * 65 + ")", "$(echo ${MSG)",
    "$(uuid)", "$(uuid x)", "$(+ 1)", "$(round)", "$(format_json a=b)",
    "$(echo \"a\\\"b\" 'c\\'d)", "$(echo 'a)", "$(echo (a)",
    "$(length_x a)", "$(Echo a)", "$(replace_delimiter a b c)", "$(url-decode)",
]


@pytest.mark.syslog_ng
def test_config_errors_match_syslog_ng() -> None:
    sng.require()
    relay_accepts: dict[str, bool] = {}
    for template in ACCEPTANCE:
        try:
            compile_tf(template)
            relay_accepts[template] = True
        except TemplateError:
            relay_accepts[template] = False
    bad = [(t, relay_accepts[t]) for t in ACCEPTANCE
           if relay_accepts[t] != _syslog_ng_accepts(t)]
    assert not bad, "\n".join(f"{t!r}: relay accepts={a}" for t, a in bad)


FILTERS = [
    '"$(length ${MSG})" > "20"', '"$(length ${MSG})" <= 10',
    '"$(uppercase $PROGRAM)" eq "SSHD"', '"$(if (\\"${PID}\\" ne \\"\\") yes no)" eq "yes"',
    '"$(+ ${PID} 1)" > 1000', '"$(substr $MSG 0 3)" eq "caf"',
]


@pytest.mark.syslog_ng
def test_filters_with_functions_pass_what_syslog_ng_passes() -> None:
    sng.require()
    named = {f"f{i}": f for i, f in enumerate(FILTERS)}
    expected = sng.filter_outputs(CORPUS, named, template="$MSG")
    parser = Parser("auto", "s_net")
    got: dict[str, list[bytes]] = {n: [] for n in named}
    compiled = {n: compile_filter(f) for n, f in named.items()}
    for frame in CORPUS:
        msg = parser.parse(frame, PEER, RECVD_NS)
        for n, fn in compiled.items():
            if fn(msg):
                got[n].append(msg.values.get("MESSAGE", "").encode("utf-8", "surrogateescape"))
    assert all(expected[n] for n in named)
    bad = [(named[n], expected[n], got[n]) for n in named if expected[n] != got[n]]
    assert not bad, "\n".join(f"{e!r}:\n  sng:   {x}\n  relay: {y}" for e, x, y in bad)
