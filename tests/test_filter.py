"""Filter expressions without syslog-ng: lexer, errors, PCRE translation, comparisons."""

from __future__ import annotations

import re
import subprocess

import pytest
import sng

from relay.errors import FilterError
from relay.filter import compile_filter
from relay.filter.compare import c_atoi, parse_number
from relay.filter.lexer import NUMBER, STRING, WORD, tokenize
from relay.filter.pcre import PcreError, translate
from relay.message import LogMessage


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
    assert compile_filter("level(emerg..debug)").__name__ == "_always"


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


REJECTED = ["level(err", "facility(nosuch)", "level(3)", "program(log)", 'tags(.x)',
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
