"""Filter expressions without syslog-ng: lexer, errors, PCRE translation, comparisons."""

from __future__ import annotations

import re
import subprocess

import pytest
import sng

from relay.errors import FilterError
from relay.facts.cnum import c_atoi, parse_number
from relay.filter import compile_filter, stores_matches
from relay.filter.lexer import NUMBER, STRING, WORD, tokenize
from relay.filter.pcre import PcreError, translate
from relay.filter.predicates import always
from relay.message import TAG_IDS, LogMessage


def _msg(pri: int = 38, **values: str) -> LogMessage:
    msg = LogMessage()
    msg.pri = pri
    msg.values.update(values)
    return msg


def test_lexer_follows_flex_longest_match() -> None:
    kinds = [(t.kind, t.text) for t in tokenize("level(warning..emerg) 10k 0x1f 017 $PID>=5")]
    assert kinds[:6] == [(WORD, "level"), ("(", "("), (WORD, "warning"), ("..", ".."),
                         (WORD, "emerg"), (")", ")")]
    numbers = [t.number for t in tokenize("10k 0x1f 017 1Ki") if t.kind == NUMBER]
    assert numbers == [10000, 31, 15, 1024]
    assert tokenize(r'"a\tb\x41\o101"')[0] == tokenize("'a\tbAA'")[0].__class__(
        STRING, "a\tbAA", 1, 1)


@pytest.mark.parametrize(("expr", "where"), [
    ("level(err", "line 1, column 10"),
    ("facility(nosuch)", "line 1, column 10"),
    ("program(\"x\" flags(bogus))", "line 1, column 19"),
    ("level(info)\n  and", "line 2, column 6"),
    ("message(\"(?R)\")", "line 1, column 9"),
    ("message(\"\\\\p{L}\")", "line 1, column 9"),
    ("filter(undefined)", "line 1, column 8"),
    ("tags(.x)", "line 1, column 6"),
    ("(level(info)", "line 1, column 13"),
    ("program(log)", "line 1, column 9"),
])
def test_errors_say_where(expr: str, where: str) -> None:
    with pytest.raises(FilterError, match=re.escape(where)):
        compile_filter(expr)


def test_precedence_and_folding() -> None:
    f = compile_filter("not level(info) and level(err) or level(debug)")
    assert f(_msg(pri=3)) and f(_msg(pri=7)) and not f(_msg(pri=6)) and not f(_msg(pri=4))
    assert compile_filter('"a" eq "a"')(_msg()) is True
    assert compile_filter("level(emerg..debug)") is always


def test_filter_references_and_store_matches() -> None:
    auth = compile_filter("facility(auth)")
    f = compile_filter('filter(f_auth) and message("(?<user>\\\\w+) from" flags(store-matches))',
                       filters={"f_auth": auth})
    msg = _msg(pri=38, MESSAGE="login alice from 10.0.0.1")
    assert f(msg)
    assert msg.values["user"] == "alice" and msg.values["1"] == "alice"


def test_c_number_rules() -> None:
    assert [c_atoi(s) for s in ("12abc", " -7", "", "abc", "2147483648")] == \
        [12, -7, 0, 0, -2147483648]
    assert [parse_number(s) for s in ("12", " 1.5", "1e3", "abc", "", "12 ")] == \
        [12, 1.5, 1000.0, None, None, None]


@pytest.mark.parametrize(("pattern", "subject", "found"), [
    ("^(?i)foo|bar", "BAR", True),
    ("a(?i)b|c", "C", True),
    ("[[:digit:]]+x", "12x", True),
    ("x{,3}", "x{,3}", True),
    ("\\Qa.b\\E", "axb", False),
    ("(?<n>o)\\k<n>", "foo", True),
    ("\\d\\z", "1\n", False),
    ("\\d\\Z", "1\n", True),
])
def test_pcre_translation(pattern: str, subject: str, found: bool) -> None:
    assert (re.search(translate(pattern), subject) is not None) is found


@pytest.mark.parametrize("pattern", ["(?R)", "(?1)", "\\p{L}", "\\G", "(?|a)", "(*UTF8)"])
def test_untranslatable_pcre_is_an_error(pattern: str) -> None:
    with pytest.raises(PcreError):
        translate(pattern)


REJECTED = ["level(err", "message(\"[a-\\\\d]\")", "message(\"[:alpha:]\")",
            "message(\"x{65536}\")", "facility(nosuch)", "level(3)", "program(log)", 'tags(.x)',
            "level(info) level(err)", '"$PID" ~ 5', 'message("(")',
            "program(\"a\" flags(bogus))", "program(\"a\" type(regex))", "and level(info)",
            'match("a" value("$(x)"))']


@pytest.mark.syslog_ng
def test_syslog_ng_rejects_what_the_relay_rejects(tmp_path: object) -> None:
    binary = sng.require()
    for expr in REJECTED:
        with pytest.raises(FilterError):
            compile_filter(expr)
        conf = f"{tmp_path}/c.conf"
        with open(conf, "w") as f:
            f.write(f"@version: 3.38\nfilter f {{ {expr}; }};\n"
                    "log { filter(f); };\n")
        rc = subprocess.run([binary, "-s", "-f", conf], capture_output=True).returncode
        assert rc != 0, expr


# -- rules found by the differential campaign ------------------------------------------
def _glibc() -> object:
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.strtod.restype = ctypes.c_double
    libc.strtod.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
    libc.strtoll.restype = ctypes.c_longlong
    libc.strtoll.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
    return libc


def _glibc_generic_number(libc: object, text: str) -> int | float | None:
    """parse_generic_number() in C: strtoll, else strtod, both whole and without ERANGE."""
    import ctypes

    raw = ctypes.create_string_buffer(text.encode())
    end = ctypes.c_char_p()
    for call in ("strtoll", "strtod"):
        ctypes.set_errno(0)
        if call == "strtoll":
            value = libc.strtoll(raw, ctypes.byref(end), 10)  # type: ignore[attr-defined]
        else:
            value = libc.strtod(raw, ctypes.byref(end))  # type: ignore[attr-defined]
        used = (ctypes.cast(end, ctypes.c_void_p).value or 0) - ctypes.addressof(raw)
        if ctypes.get_errno() == 0 and 0 < used == len(text):
            return None if value != value else value  # type: ignore[no-any-return]
    return None


def test_numbers_parse_like_glibc() -> None:
    libc = _glibc()
    import random as _random

    cases = ["1e-400", "1e-310", "4.9e-324", "0x1p-1074", "0x1p-1080", "1e400", "-1e400", "inf",
             "-Infinity", "nan", "NAN(abc)", "  12", " 12 ", "+5", "-0", "0x", "0x.8", "0x1.8p1",
             "1.", "  .5", ".", "e5", "1e", "9223372036854775808", "-9223372036854775809",
             "1e-999999999", "0x1p-99999999", "0x1p99999999"]
    rng = _random.Random(5)
    alphabet = "0123456789.eE+-xXpPaAfFinINtyNn \t"
    cases += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7))) for _ in range(3000)]
    for text in cases:
        want, got = _glibc_generic_number(libc, text), parse_number(text)
        assert want == got and type(want) is type(got), text


@pytest.mark.parametrize(("expr", "passes"), [
    # macros are strings in 3.38: no macro is typed, only casts and unquoted numbers are
    ('"$LEVEL_NUM" === "6"', True), ('"$LEVEL_NUM" === 6', False),
    ('"$LEVEL_NUM" === int32(6)', False), ('"$FACILITY_NUM" >= string("12")', True),
    # an int64 against a double compares as doubles
    ("9223372036854775807 == 9223372036854775808.0", True),
    # datetime(): strtoll seconds, then up to three characters after "."
    ('datetime("1.5") == 1500', True), ('datetime("1.x") == 0', True),
    ('datetime("192.168.1.10") == 192168', True), ('datetime("1.-5") == 950', True),
    ('datetime("9223372036854775808") == -1000', True), ('datetime("1 ") == 0', True),
    # SEQNUM belongs to the destination writer: a filter sees it empty
    ('"$SEQNUM" eq ""', True), ('match("^$" value("SEQNUM"))', True),
    # an empty value() name leaves match() on "$PROGRAM[$PID]: $MESSAGE"
    ('match("^sshd\\\\[7\\\\]" value(""))', True), ('match("^sshd" value("$"))', True),
    # value() names follow syslog-ng's aliases
    ('match("^x$" value("MSGONLY"))', True), ('match("^h$" value("FULLHOST"))', True),
])
def test_comparison_and_value_rules(expr: str, passes: bool) -> None:
    msg = _msg(pri=38, MESSAGE="x", PROGRAM="sshd", PID="7", HOST="h")
    msg.values[".SDATA.meta.sequenceId"] = "9"
    assert compile_filter(expr)(msg) is passes


def test_named_group_aliases_store_into_the_value() -> None:
    msg = _msg(MESSAGE="hello world")
    assert compile_filter('message("(?<MSG>\\\\w+)" flags(store-matches))')(msg)
    assert msg.values["MESSAGE"] == "hello" and "MSG" not in msg.values


@pytest.mark.parametrize(("pattern", "subject", "found"), [
    ("\\B", "", True),  # Python's \B never matches an empty string; PCRE's does
    ("a\\B", "ab", True),
    ("(?<=a|bc)d", "bcd", True), ("(?<=a|bc)d", "xcd", False),
    ("(?<!a|bc)d", "bcd", False), ("(?<!a|bc)d", "xcd", True),
    ("(?U)a+", "aaa", True),
    ("\\8", "8", True), ("\\9", "x9", True),
    ("a{65535}", "a", False),
])
def test_pcre_translation_found_by_the_campaign(pattern: str, subject: str, found: bool) -> None:
    assert (re.search(translate(pattern), subject) is not None) is found


def test_possessive_quantifiers_become_atomic_groups() -> None:
    # CPython 3.11 raises SystemError for this one written possessively
    regex = re.compile(translate("(([a-f]){1,3}|\\w)*+"), re.ASCII)
    assert regex.search("trailing spaces   ") is not None
    assert re.search(translate("a++a"), "aaa") is None
    assert re.search(translate("(ab)*+c"), "ababc") is not None


def test_ungreedy_option_swaps_laziness() -> None:
    assert re.search(translate("(?U)a+"), "aaa").group(0) == "a"  # type: ignore[union-attr]
    assert re.search(translate("(?U)a+?"), "aaa").group(0) == "aaa"  # type: ignore[union-attr]


@pytest.mark.parametrize("pattern", [
    "[a-\\d]", "[a-[:digit:]]", "[:alpha:]", "[.a.]", "[[=a=]]", "x{65536}", "x{1,65536}",
    "\\1(a)", "(?<=a{1,2})b", "(?<=x?)", "\\S(?<=((\\Z))*+)", "(?<!(a){0}b)",
])
def test_pcre_errors_syslog_ng_also_reports(pattern: str) -> None:
    with pytest.raises((PcreError, re.error)):
        re.compile(translate(pattern))


@pytest.mark.parametrize(("cidr", "passes"), [
    # the length is read with atoi(), as syslog-ng reads it (checked against 3.38)
    ("10.0.0.1/--8", True), ("10.0.0.1/+-8", True), ("10.0.0.1/4294967296", True),
    ("10.0.0.1/-0", True), ("10.0.0.1/9999999999999999999999", False),
    ("127.0.0.1/+8", True), ("127.0.0.1/ 8", True), ("10.0.0.1/8", False),
])
def test_netmask_length_is_atoi(cidr: str, passes: bool) -> None:
    msg = _msg()
    msg.source_ip = "127.0.0.1"
    assert compile_filter(f'netmask("{cidr}")')(msg) is passes


@pytest.mark.parametrize(("cidr", "source", "passes"), [
    ("::1", "::1", True), ("fe80::/10", "fe80::1", True), ("fe80::/10", "fe80::1%eth0", False),
    ("fe80::1%eth0", "fe80::1", False), ("::1/\u00b2", "::1", False), ("::/1", "::1", True),
])
def test_netmask6_reads_addresses_as_inet_pton(cidr: str, source: str, passes: bool) -> None:
    msg = _msg()
    msg.source_ip = source
    assert compile_filter(f'netmask6("{cidr}")')(msg) is passes


@pytest.mark.parametrize(("expr", "stores"), [
    ('message("(a)" flags(store-matches))', True),
    ('level(err) or not match("x" value("HOST") flags(store_matches))', True),
    ('program("x" type(string) flags("store-matches"))', True),
    # the words only inside a pattern, a value name or a comparison: nothing is stored
    ('message("store-matches")', False),
    ('match("flags(store-matches)" value("MSG"))', False),
    ('"$MSG" eq "store-matches"', False),
    ('message("a" flags(global, ignore-case))', False),
    ("level(err)", False),
    # a filter inside a template's condition stores into the message too
    ('"$(if (message(\\"(a)\\" flags(store-matches))) y n)" eq "y"', True),
    ('"$(if (message(\\"store-matches\\")) y n)" eq "y"', False),
    # references are the caller's to follow
    ("filter(f_stores)", False),
])
def test_stores_matches_reads_the_parse(expr: str, stores: bool) -> None:
    assert stores_matches(expr) is stores


def test_stores_matches_has_no_effects() -> None:
    before = dict(TAG_IDS)
    assert stores_matches('tags("tag-seen-only-by-stores-matches") or '
                          'in-list("/nonexistent/list" value("HOST"))') is False
    assert TAG_IDS == before
    with pytest.raises(FilterError):
        stores_matches('message("(a)" flags(store-matches)')
