"""$(format-json): selection, rekeying, nesting, order and escaping, against syslog-ng 3.38.

The unit tests pin what a live syslog-ng 3.38.1 was seen to write; the differential tests
(marked syslog_ng) ask it again, for fixed and for generated option combinations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import orjson
import pytest
from fixedclock import RECEIVED_NS, held_utc, parse_at
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from relay.errors import TemplateError
from relay.formatjson import ALL_MACRO_NAMES, FormatJson, escape, walk
from relay.macros import MACROS, resolve
from relay.macros.recipes import recipe
from relay.message import FLAG_LOCAL, LogMessage
from relay.parse import Parser, Peer
from relay.template import Template, compile_template

PEER = Peer("127.0.0.1", "127.0.0.1", 17, dest_ip="127.0.0.1")
LINE = b"<13>Oct 11 22:14:15 host1 prog[12]: hello"


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with held_utc():
        yield


def parse(frame: bytes = LINE, protocol: str = "rfc3164") -> LogMessage:
    return parse_at(frame, PEER, protocol)


def render_settled(template: Template, msg: LogMessage) -> bytes:
    """``template.render(msg)``, checked to be the same the first time a set of pair names
    is seen (the general writer) and after (the writer generated for that set)."""
    outputs = [template.render(msg) for _ in range(3)]
    assert outputs[0] == outputs[1] == outputs[2]
    return outputs[0]


def fj(args: str, msg: LogMessage | None = None) -> str:
    return render_settled(compile_template(f"$(format-json {args})"), msg or parse()).decode()


def pairs(**values: str) -> LogMessage:
    msg = LogMessage()
    msg.values.update(values)
    return msg


# -- escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain", "plain"),
        ('"q" \\ /', '\\"q\\" \\\\ /'),
        ("\b\f\n\r\t", "\\b\\f\\n\\r\\t"),
        ("\x01\x0b\x1f", "\\u0001\\u000b\\u001f"),
        ("\x7f é \u2028 \U0001f600", "\x7f é \u2028 \U0001f600"),
        ("nul\x00inside", "nul\\\\x00inside"),
        ("bad \udcff byte", "bad \\\\xff byte"),
        ("trunc \udce2\udc82", "trunc \\\\xe2\\\\x82"),
        ("\ud800", "\\\\xed\\\\xa0\\\\x80"),
    ],
)
def test_escape(text: str, escaped: str) -> None:
    assert escape(text) == escaped


@pytest.mark.parametrize(
    "value", ["nul\x00", "bad\udcc3(", 'mix "\x00" \udcff\n', 'back\\slash "q" \\u0000'])
def test_orjson_fallback_gives_the_exact_escapes(value: str) -> None:
    assert fj("--scope nv-pairs", pairs(a=value, b="x")) == (
        '{"b":"x","a":"' + escape(value) + '"}')


# -- selection -----------------------------------------------------------------------------


def test_seed_template() -> None:
    assert fj("--scope selected_macros --scope nv_pairs") == (
        '{"TAGS":".source.s_net","SOURCEIP":"127.0.0.1","SOURCE":"s_net","PROGRAM":"prog",'
        '"PRIORITY":"notice","PID":"12","MESSAGE":"hello","LEGACY_MSGHDR":"prog[12]: ",'
        '"HOST_FROM":"127.0.0.1","HOST":"host1","FACILITY":"user","DATE":"Oct 11 22:14:15"}')


@pytest.mark.parametrize("scope", ["rfc3164", "core", "base"])
def test_rfc3164_aliases(scope: str) -> None:
    assert fj(f"--scope {scope}") == (
        '{"PROGRAM":"prog","PRIORITY":"notice","PID":"12","MESSAGE":"hello","HOST":"host1",'
        '"FACILITY":"user","DATE":"Oct 11 22:14:15"}')


@pytest.mark.parametrize(
    ("a", "b"),
    [("nv-pairs", "nv_pairs"), ("rfc5424", "syslog-proto"), ("syslog_proto", "rfc5424"),
     ("all-nv-pairs", "nv-pairs,dot-nv-pairs"), ("everything", "all_macros,all_nv_pairs,rfc5424"),
     ("selected-macros", "selected_macros"), ("sdata", "sdata")],
)
def test_scope_spellings_agree(a: str, b: str) -> None:
    msg = parse(b'<14>1 2024-05-06T07:08:09Z h app 1 ID [x@1 a="1"][y b="2"] m', "auto")
    assert fj(f"--scope {a}", msg) == fj(f"--scope {b}", msg)


def test_scope_none_resets() -> None:
    assert fj("--scope nv_pairs,none --pair a=1") == '{"a":"1"}'
    assert fj("--scope none") == "{}"


def test_sdata_scope_and_nesting() -> None:
    msg = parse(b'<14>1 2024-05-06T07:08:09Z h app 1 ID [x@18372.4 a="1" b="2"][y c="3"] m',
                "auto")
    assert fj("--scope sdata", msg) == (
        '{"_SDATA":{"y":{"c":"3"},"x@18372.4":{"b":"2","a":"1"}}}')
    assert fj("--scope sdata --leave-initial-dot", msg) == (
        '{".SDATA":{"y":{"c":"3"},"x@18372.4":{"b":"2","a":"1"}}}')


def test_key_and_exclude_last_match_wins() -> None:
    assert fj("--exclude HOST HOST") == '{"HOST":"host1"}'
    assert fj("HOST --exclude HOST") == "{}"
    assert fj("--key HOST* --exclude HOST_FROM,HOSTID") == '{"HOST":"host1"}'
    assert fj("--scope rfc3164 --exclude P*,DATE,HOST,MESSAGE") == '{"FACILITY":"user"}'


def test_key_glob_reaches_all_macros() -> None:
    assert fj("--key R_ISO*") == '{"R_ISOWEEK":"09","R_ISODATE":"2025-03-01T12:00:00+00:00"}'
    assert fj("--key ?EVERITY*") == '{"SEVERITY_NUM":"5","SEVERITY":"notice"}'


def test_empty_values() -> None:
    msg = pairs(a="", b="x")
    assert fj("--scope nv-pairs", msg) == '{"b":"x","a":""}'
    assert fj("--scope nv-pairs --omit-empty-values", msg) == '{"b":"x"}'
    # a macro that expands to nothing is always left out
    assert fj("--scope none --key PID --key SEQNUM", parse(b"<13>Oct 11 22:14:15 h p: m")) == "{}"
    assert fj("--scope none --pair e=") == '{"e":""}'
    assert fj("--scope none --pair e= --omit-empty-values") == "{}"


def test_pairs_are_templates_and_the_last_one_wins() -> None:
    assert fj("--scope none --pair a=1 --pair a=2 a=3") == '{"a":"3"}'
    assert fj("--scope none a=3 --pair a=2") == '{"a":"2"}'
    assert fj("--scope none --pair m=$MSG --pair n=${NOPE:-d} --pair o=$$x") == (
        '{"o":"$x","n":"d","m":"hello"}')
    assert fj("--scope nv-pairs --pair HOST=other --exclude *") == '{"HOST":"other"}'


def test_typed_pairs() -> None:
    assert fj('--scope none --pair x=int32(12) --pair y=boolean(t) --pair z=json({"q":1}) '
              "--pair w=int( 7) --pair v=null(x) --pair s=string(5)") == (
        '{"z":{"q":1},"y":true,"x":12,"w": 7,"v":null,"s":"5"}')
    # a value that is not of its type drops the whole object
    assert fj("--scope none --pair x=int32(abc) --pair y=2") == ""


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("1.5e400", ""),  # strtod overflows (ERANGE, infinite): the whole object goes
        ("-1.5e400", ""),
        (" 1e400", ""),
        ("0x1p5000", ""),
        ("1.7976931348623159e308", ""),
        ("1.7976931348623157e308", '{"d":1.7976931348623157e308}'),
        ("1e-400", '{"d":1e-400}'),  # an underflow is no failure
        ("0x1p-5000", '{"d":0x1p-5000}'),
        ("inf", '{"d":inf}'),
        ("-Infinity", '{"d":-Infinity}'),
        ("nan", '{"d":nan}'),
    ],
)
def test_double_cast_that_overflows_drops_the_object(value: str, written: str) -> None:
    assert fj(f"--scope none --pair d=double({value})") == written


def test_pair_aliases_are_no_keys() -> None:
    # FULLHOST, FULLHOST_FROM and MSGONLY only name pairs in a template
    assert fj("--key FULLHOST --key FULLHOST_FROM --key MSGONLY") == "{}"
    assert fj("--key FULL*") == '{"FULLDATE":"2025 Oct 11 22:14:15"}'
    assert fj("--scope none a=$FULLHOST b=${MSGONLY} c=${FULLHOST_FROM}") == (
        '{"c":"127.0.0.1","b":"hello","a":"host1"}')


# -- rekey ---------------------------------------------------------------------------------


def test_rekey() -> None:
    msg = pairs(**{".SDATA.x.a": "1", "HOST": "h", "PROGRAM": "p"})
    assert fj("--scope all-nv-pairs --rekey .SDATA.* --shift 7 --add-prefix sd.", msg) == (
        '{"sd":{"x":{"a":"1"}},"PROGRAM":"p","HOST":"h"}')
    assert fj("--scope nv-pairs --rekey H* --shift 100", msg) == '{"PROGRAM":"p","HOST":"h"}'
    assert fj("--scope all-nv-pairs --rekey .SDATA.* --shift-levels 2", msg) == (
        '{"x":{"a":"1"},"PROGRAM":"p","HOST":"h"}')
    assert fj("--scope all-nv-pairs --rekey .SDATA.* --replace-prefix .SDATA.x=y", msg) == (
        '{"y":{"a":"1"},"PROGRAM":"p","HOST":"h"}')
    assert fj("--scope nv-pairs --rekey P* --add-prefix x_ --upper", msg) == (
        '{"X_PROGRAM":"p","HOST":"h"}')
    assert fj("--scope nv-pairs --rekey H* --lower", msg) == '{"host":"h","PROGRAM":"p"}'
    assert fj("--scope nv-pairs --subkeys PRO", msg) == '{"TO":"0","HOST":"h","GRAM":"p"}'


# -- nesting and order ---------------------------------------------------------------------


def test_walker_quirks() -> None:
    assert fj("--scope none --pair a.b=1 --pair a=2 --pair a-c=3 --pair ab=4 --pair a.b.c=5") == (
        '{"ab":"4","a":{"b":{"c":"5","b":"1"},"a-c":"3","a":"2"}}')
    assert fj("--scope none --pair .a.b=1 --pair .c=2 --pair ..d=3 --pair e..f=4 --pair g.=5 "
              "--pair x@1.2.y=6 --pair x@1.2=7") == (
        '{"x@1.2":{"y":"6","x@1.2":"7"},"g":"5","e":{".f":"4"},"_c":"2","_a":{"b":"1"},'
        '"_":{"d":"3"}}')
    assert fj("--scope none --pair a/b=1 --pair a/c=2 --pair a/b/c=3 --pair a/b/d=4 "
              "--pair .a=5 --key-delimiter /") == (
        '{"a":{"c":"2","b":{"d":"4"},"b":{"c":"3"},"b":"1"},".a":"5"}')
    # the same key twice in one object: orjson can't, the walker can
    assert fj("--scope none --pair a.a=1 --pair a=2") == '{"a":{"a":"1","a":"2"}}'


def test_order_is_descending_bytes() -> None:
    msg = pairs(**{"b": "1", "B": "2", "é": "3", "a_": "4", "a": "5", "\udcff": "6"})
    assert fj("--scope nv-pairs", msg) == (
        '{"\\\\xff":"6","é":"3","b":"1","a_":"4","a":"5","B":"2"}')


def test_walk_matches_fast_path() -> None:
    items = [("z", "1"), ("a.b", "2"), ("a", "3")]
    assert walk(items) == '{"z":"1","a":{"b":"2","a":"3"}}'


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    ["--scope bogus", "--shift 2", "--rekey a --shift 0", "--rekey a --shift x",
     "--key-delimiter ab", "--pair novalue", "--bogus", "-z", "--scope",
     "--rekey a --replace-prefix nokv", "--pair x=nosuch(1)", "--subkeys ''"],
)
def test_bad_options(args: str) -> None:
    with pytest.raises(TemplateError, match="format-json"):
        compile_template(f"$(format-json {args})")


def test_formatjson_direct_api() -> None:
    func = FormatJson(["--scope", "none", "--pair", "a=1"],
                      lambda t: compile_template(t, escapes=False), resolve)
    assert func.render_bytes(LogMessage()) == b'{"a":"1"}'
    assert func.render_str(LogMessage()) == '{"a":"1"}'


def test_macro_table_is_known() -> None:
    assert set(ALL_MACRO_NAMES) <= MACROS


@pytest.mark.parametrize("name", ["HOST", "MESSAGE", "PROGRAM", "PID", "MSGID"])
def test_pair_macros_read_their_pair(name: str) -> None:
    # format-json leaves these macros out when the pair of the same name is selected
    for frame, protocol in [(LINE, "rfc3164"),
                            (b"<14>1 2024-05-06T07:08:09Z h app 1 ID - m", "auto"),
                            (b"<14>1 - - - - - -", "auto"), (b"garbage", "rfc3164")]:
        msg = parse(frame, protocol)
        assert resolve(name)(msg) == msg.values.get(name, "")


# -- against syslog-ng ---------------------------------------------------------------------

FRAMES = [
    LINE,
    b'<14>1 2024-05-06T07:08:09.123Z h app 1 ID [x@18372.4 a="1" b="q\\"z"][y c="3"] m',
    b"<13>Oct 11 22:14:15 host1 prog: quote \" back \\ tab \t ctl \x01 del \x7f",
    b"<13>Oct 11 22:14:15 host1 prog: bad \xff \xc3( \xe2\x82 utf8 \xed\xa0\x80 \xf4\x90\x80\x80",
    "<13>Oct 11 22:14:15 host1 prog: utf-8 é \u2028 \U0001f600".encode(),
    b"<13>Oct 11 22:14:15 host1 prog: nul\x00inside",
]
OPTION_TEMPLATES = {
    "seed": "$(format-json --scope selected_macros --scope nv_pairs)",
    "sdata": "$(format-json --scope sdata --scope rfc3164)",
    "dot": "$(format-json --scope all-nv-pairs --leave-initial-dot)",
    "rekey": "$(format-json --scope all-nv-pairs --rekey .SDATA.* --shift-levels 2 "
             "--add-prefix x. --rekey H* --replace-prefix HOST=h --key DATE)",
    "delim": "$(format-json --scope all-nv-pairs --key-delimiter @ --pair a@b=$PROGRAM)",
    "omit": "$(format-json --scope everything --exclude *ID --exclude LOGHOST --exclude SYSUPTIME "
            "--exclude *DATE* --exclude *STAMP --exclude *UNIXTIME --omit-empty-values "
            "--exclude *USEC --exclude *MSEC --exclude P_* --exclude C_* --exclude DESTPORT)",
    "pairs": "$(format-json --scope none --pair m=$MSG --pair .n=${PID:-none} m.x=${HOST}@0 "
             "--pair 'q=a b' --pair j=$(format-json --scope none --pair k=v))",
}


def ours(frames: list[bytes], templates: dict[str, str],
         driver: str) -> list[dict[str, bytes | None]]:
    protocol = {"network": "rfc3164", "syslog": "auto"}[driver]
    compiled = {name: compile_template(text, escapes=False) for name, text in templates.items()}
    result = []
    for frame in frames:
        msg = Parser(protocol, "s_net").parse(frame, PEER, RECEIVED_NS)
        result.append({name: render_settled(t, msg) for name, t in compiled.items()})
    return result


@pytest.mark.syslog_ng
@pytest.mark.parametrize("driver", ["network", "syslog"])
def test_options_against_syslog_ng(driver: str) -> None:
    import sng

    sng.require()
    expected = sng.render(FRAMES, OPTION_TEMPLATES, driver=driver)
    assert ours(FRAMES, OPTION_TEMPLATES, driver) == expected


SCOPE_NAMES = sorted(["nv-pairs", "dot-nv-pairs", "all-nv-pairs", "rfc3164", "core",
                                "base", "rfc5424", "syslog-proto", "selected-macros", "sdata",
                                "all-macros", "everything", "none"])
GLOBS = ["HOST*", "PROGRAM", ".SDATA.*", "*", "?ID", "MSG*", "S_*", "R_DATE", "*NUM", "PID",
         ".SDATA.x@18372.4.*", "_*", "L*", "TAG?"]
PAIR_NAMES = ["a", "a.b", "a.b.c", ".p", "ab", "a-c", "x@1.2.y", "HOST", "_q", "z..w", "a/b"]
PAIR_VALUES = ["$MSG", "${PROGRAM}", "lit", "", "${NOPE:-d}", "$HOST_FROM", "x$$y",
               "${.SDATA.y.c}", "$LEVEL_NUM"]
# printable ASCII without spaces, quotes, parentheses, '$', backslashes or backticks (the
# config's own substitution): so that the template means the same on both sides without
# quoting (syslog-ng's option parser also refuses non-ASCII arguments under the C locale)
SAFE_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                           blacklist_characters="()'\"$\\`"),
    min_size=1, max_size=6)


@st.composite
def option_lists(draw: st.DrawFn) -> str:
    opts: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["scope", "key", "exclude", "rekey", "pair", "flag"]))
        if kind == "scope":
            scope = draw(st.sampled_from(SCOPE_NAMES))
            if scope != "none" and draw(st.booleans()):
                scope = scope.replace("-", "_")
            opts += ["--scope", scope]
        elif kind in ("key", "exclude"):
            opts += [f"--{kind}", draw(st.sampled_from(GLOBS))]
        elif kind == "rekey":
            opts += ["--rekey", draw(st.sampled_from(GLOBS))]
            for _ in range(draw(st.integers(1, 2))):
                op = draw(st.sampled_from(["shift", "shift-levels", "add-prefix",
                                           "replace-prefix"]))
                if op in ("shift", "shift-levels"):
                    opts += [f"--{op}", str(draw(st.integers(1, 3)))]
                elif op == "add-prefix":
                    opts += ["--add-prefix", draw(st.sampled_from(["p.", "x_", ".", "sd."]))]
                else:
                    opts += ["--replace-prefix",
                             draw(st.sampled_from([".SDATA.=s.", "HOST=h", "_=", "P=.p"]))]
        elif kind == "pair":
            name = draw(st.sampled_from(PAIR_NAMES))
            value = draw(st.one_of(st.sampled_from(PAIR_VALUES), SAFE_TEXT))
            opts += ["--pair", f"{name}={value}"] if draw(st.booleans()) else [f"{name}={value}"]
        else:
            opts.append(draw(st.sampled_from(["--omit-empty-values", "--leave-initial-dot",
                                              "--key-delimiter=/", "--key-delimiter=."])))
    return "$(format-json " + " ".join(opts) + " --exclude *ID --exclude LOGHOST " \
        "--exclude SYSUPTIME --exclude DESTPORT)"


MESSAGE_TEXT = st.binary(max_size=30).map(
    lambda b: b.replace(b"\n", b" ").replace(b"\x00", b"0").replace(b"\r", b" "))


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    text = draw(MESSAGE_TEXT)
    if draw(st.booleans()):
        value = draw(st.sampled_from([b"1", b"", b"q\\\"z", b"\xc3\xa9", b"a\\]b"]))
        return (b'<14>1 2024-05-06T07:08:09Z h app 1 ID [x@18372.4 a="' + value +
                b'"][y c="3"] ' + text)
    return b"<13>Oct 11 22:14:15 host1 prog[12]: " + text


@pytest.mark.syslog_ng
@settings(max_examples=int(os.environ.get("RELAY_SNG_EXAMPLES", "12")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(templates=st.lists(option_lists(), min_size=1, max_size=4),
       batch=st.lists(frames(), min_size=1, max_size=5),
       driver=st.sampled_from(["network", "syslog"]))
def test_generated_options_against_syslog_ng(templates: list[str], batch: list[bytes],
                                             driver: str) -> None:
    import sng

    sng.require()
    named = {f"t{i}": text for i, text in enumerate(templates)}
    expected = sng.render(batch, named, driver=driver, wait=2.0)
    # a rekey that leaves an empty name kills syslog-ng 3.38 (the relay writes "" as the key)
    assume(all(out is not None for record in expected for out in record.values()))
    assert ours(batch, named, driver) == expected


def _recipe_messages() -> Iterator[LogMessage]:
    for pri in (0, 13, 191, 1023, 65535):
        for sec, gmtoff in ((1065910455, -7 * 3600 - 1800), (951868799, 0), (-1, 3600)):
            for flags, seq in ((0, ""), (0, "17"), (FLAG_LOCAL, "")):
                m = LogMessage()
                m.values = {"PROGRAM": "p"}
                if seq:
                    m.values[".SDATA.meta.sequenceId"] = seq
                m.pri, m.flags, m.seqnum = pri, flags, 5
                m.tags = [".source.s"] if pri & 1 else ["a b", "c"]
                m.source_ip = "" if pri == 13 else "192.0.2.1"
                m.stamp_sec, m.stamp_gmtoff = sec + pri, gmtoff
                m.recvd_sec, m.recvd_gmtoff = sec - pri * 997, -gmtoff
                yield m


@pytest.mark.parametrize("name", sorted(n for n in MACROS if recipe(n) is not None))
def test_generated_writers_compute_macros_as_their_getters(name: str) -> None:
    fj = FormatJson(["--key", name], lambda t: compile_template(t, escapes=False), resolve)
    render = fj.renderer()
    messages = list(_recipe_messages())
    for m in messages:  # each set of pair names is seen once: the general path
        render(m)
    for m in messages:  # then by the writer generated for it, from the recipe
        assert render(m) == fj._render_general(m), (name, m.pri, m.values)
        value = resolve(name)(m)
        assert render(m) == (orjson.dumps({name: value}) if value else b"{}")
