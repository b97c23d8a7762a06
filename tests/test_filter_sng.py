"""Filter expressions, differentially: the same frames and expressions through a live
syslog-ng 3.38 and through the relay's parser and compile_filter; every expression must
pass exactly the same messages, in the same order."""

from __future__ import annotations

import time

import pytest
import sng
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.filter import compile_filter
from relay.parse import Parser, Peer

# Each message text is unique: the records are the $MSG of each frame that passed.
CORPUS: list[bytes] = [
    b"<38>Mar  1 12:00:01 web1 sshd[1234]: Accepted publickey for alice from 10.0.0.5",
    b"<86>Mar  1 12:00:02 web1 sshd(pam_unix)[4321]: session opened for user root",
    b"<84>Mar  1 12:00:03 web1 sudo: alice : TTY=pts/0 ; COMMAND=/bin/ls",
    b"<13>Mar  1 12:00:04 db-2 postgres[25001]: LOG:  checkpoint starting: time",
    b"<11>Mar  1 12:00:05 db-2 postgres[987]: ERROR:  relation \"x\" does not exist",
    b"<30>Mar  1 12:00:06 web1 systemd[1]: Started Session 42 of user alice.",
    b"<0>Mar  1 12:00:07 core kernel: panic: something broke",
    b"<6>Mar  1 12:00:08 core kernel: [  12.345] eth0: link up",
    b"<78>Mar  1 12:00:09 web1 CRON[20000]: (root) CMD (run-parts /etc/cron.hourly)",
    b"<134>Mar  1 12:00:10 lb1 haproxy[30000]: 10.1.2.3:5555 GET /index.html 200",
    b"<191>Mar  1 12:00:11 lb1 app[abc]: debug message with non-numeric pid",
    b"<165>1 2025-03-01T12:00:12.000Z mymachine.example.com evntslog 777 ID47 "
    b'[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event',
    b"<34>1 2025-03-01T12:00:13Z host5 su - ID48 - 'su root' failed for lonvick on /dev/pts/8",
    b"<190>1 2025-03-01T12:00:14+01:00 host6 - - - [meta sequenceId=\"9\"] no program here",
    b"<14>Mar  1 12:00:15 web2 nginx: 192.168.1.10 - - \"GET / HTTP/1.1\" 404",
    b"<27>Mar  1 12:00:16 web2 nginx[20001]: upstream timed out (110: Connection timed out)",
    b"<150>Mar  1 12:00:17 mail1 postfix/smtpd[555]: connect from unknown[203.0.113.9]",
    b"<22>Mar  1 12:00:18 mail1 postfix/qmgr[556]: 4F2A: removed",
    b"<45>Mar  1 12:00:19 web1 syslog-ng[99]: syslog-ng starting up; version='3.38.1'",
    b"<29>Mar  1 12:00:20 web1 ntpd[19999]: Listen normally on 3 eth0 10.0.0.1:123",
    b"<85>Mar  1 12:00:21 web1 sshd[1235]: Failed password for invalid user admin",
    b"<87>Mar  1 12:00:22 WEB1 SSHD[7]: FAILED PASSWORD FOR ROOT",
    b"<13>Mar  1 12:00:23 web1 app[]: empty pid brackets",
    b"<13>Mar  1 12:00:24 web1 app[-5]: negative pid",
    b"<13>Mar  1 12:00:25 web1 app[ 42]: pid with a space",
    b"<13>Mar  1 12:00:26 web1 caf\xc3\xa9[12]: caf\xc3\xa9 ol\xc3\xa9 na\xc3\xafve",
    b"<13>Mar  1 12:00:27 web1 bin: raw \xff\xfe bytes here",
    b"just a bare line without any header",
    b"<13>Mar  1 12:00:29 web1 app[0x10]: hex pid",
    b"<13>Mar  1 12:00:30 web1 app[2147483648]: pid over int32",
    b"<13>Mar  1 12:00:31 web1 app[1e3]: float pid",
    b"<13>Mar  1 12:00:32 web1 app[020]: octal-looking pid",
]

EXPRESSIONS: list[str] = [
    # facility / level
    "facility(auth)", "facility(auth, authpriv)", "facility(AUTH)", "facility(kern)",
    "facility(local0..local7)", "facility(local7..local0)", "facility(syslog)",
    "facility(4)", "facility(0)", "facility(daemon user mail)", "facility(security)",
    "level(err)", "level(warning..emerg)", "level(emerg..warning)", "level(debug)",
    "priority(info, notice)", "severity(crit)", "level(panic error warn informational)",
    "level(emerg..debug)",
    # program / host / message / source
    'program("sshd")', "program(sshd)", 'program("^sshd$")', 'program("sshd" type(string))',
    'program("sshd" type(string) flags(prefix))', 'program("SSHD" flags(ignore-case))',
    'program("sshd" flags(ignore_case))', 'program("ssh*" type(glob))',
    'program("s?hd" type(glob))', 'program("post" type(string) flags(substring))',
    'program("^postfix/")', 'program("caf\xe9")', 'program("^.{4}$")',
    'program("^.{4}$" flags(utf8))', 'program("")', 'program("" type(string))',
    'host("web1")', 'host("^web[0-9]$")', 'host("WEB" flags(icase))', 'host("db-2" type(string))',
    'host("example" type(string) flags(substring))',
    'message("failed")', 'message("failed" flags(ignore-case))', 'message("\\\\d+\\\\.\\\\d+")',
    'message("^(?i)FAILED")', 'message("timed out$")', 'message("[[:digit:]]{3}")',
    'message("\\\\bfor\\\\b")', 'message("(?<user>\\\\w+) from")', "message('^[a-z]')",
    'message("ol\xe9")', 'message("\\\\xff")', 'message("na.ve")', 'message("na.ve" flags(utf8))',
    'message("a{,3}")', 'message("x*")', 'message("checkpoint" type(string))',
    'message("checkpoint" type(string) flags(substring))',
    'message("LOG:" type(string) flags(prefix))', 'message("*event*" type(glob))',
    'source("s_net")', 'source("s_other")',
    # match()
    'match("sshd")', 'match("sshd\\\\[1234\\\\]: Accepted")', 'match("^app: ")',
    'match("^: ")', 'match("web" value("HOST"))',
    'match("^3$" value(".SDATA.exampleSDID@32473.iut"))',
    'match("Application" value(".SDATA.exampleSDID@32473.eventSource"))',
    'match("ID4" value("MSGID"))', 'match("^auth" value("FACILITY"))',
    'match("^err$" value("LEVEL"))', 'match("web1" value("$HOST"))',
    'match("^[0-9]+$" value("PID"))', 'match("alice" template("$PROGRAM $MSG"))',
    'match("ALICE" value("MESSAGE") flags(ignore-case))',
    # netmask / tags / references
    "netmask(127.0.0.1)", "netmask(127.0.0.0/8)", "netmask(10.0.0.0/8)",
    "netmask(127.0.0.0/255.0.0.0)", 'netmask("0.0.0.0/0")', 'netmask6("::1")',
    'netmask6("::/0")', 'netmask6("2001:db8::/32")',
    'tags(".source.s_net")', 'tags(".source.s_other")', 'tags(foo ".source.s_net")', "tags()",
    "filter(f_auth)", "not filter(f_auth)", "filter(f_auth) or filter(f_errors)",
    # comparisons
    '"${PID}" > "20000"', '"${PID}" >= "20000"', '"${PID}" < "1000"', '"${PID}" == "1234"',
    '"${PID}" != "1234"', '"${PID}" <= 0', '"${PID}" > 20000', '"${PID}" == 0', '"$PID" != 0',
    '"${PID}" == ""', '"${PID}" != ""', '"${PID}" < "${PID}"', '"${PID}" == "${PID}"',
    '"$PROGRAM" == "sshd"', '"$PROGRAM" eq "sshd"', '"$PROGRAM" ne "sshd"',
    '"$PROGRAM" lt "m"', '"$PROGRAM" ge "postfix"', '"$HOST" gt "web1"', '"$HOST" le "db-2"',
    '"${PID}" eq ""', '"${PID}" ne ""', '"$FACILITY_NUM" > 10', '"$LEVEL_NUM" <= "3"',
    '"${LEVEL_NUM}" == "6"', '"$PID" > "1k"', '"$PID" > "20000.5"', '"$PID" > 20000.5',
    'int64("$PID") > 20000', 'int("$PID") < 100', 'string("$PID") == "1234"',
    '"$PID" === "1234"', '"$PID" !== 1234', "$PID > 100", '"$MSGID" == "ID47"',
    '"x" == "x"', '"1" < "2"', '"abc" eq "abd"',
    '"${.SDATA.exampleSDID@32473.eventID}" > 1000', '"${NOSUCH}" <= 0', '"${NOSUCH}" != 0',
    '"${NOSUCH}" === ""', '"${NOSUCH}" !== ""', 'int64("${NOSUCH}") == 0', '"$PID" == "1k"',
    '"x${PID}" > 5', '"$PID" < 1.5e3', 'double("$PID") > 100', 'boolean("$PID") == 1',
    '"$TAGS" eq ".source.s_net"', '"$TAGS" == 0',
    # boolean composition and precedence
    'facility(auth) or facility(authpriv) and level(err)',
    '(facility(auth) or facility(authpriv)) and level(err..emerg)',
    "not level(info) and not level(debug)", "not not level(err)",
    "not (level(info) or level(debug))", "level(err); facility(user)",
    "level(err) or level(crit); facility(user)", "level(info);", "level(info);;",
    'facility(auth, authpriv) and level(warning..emerg) and not program("sudo")',
    'program("sshd") and message("Failed" flags(ignore-case)) or host("^db")',
    'not program("kernel") and (message("error" flags(ignore-case)) or level(err..emerg))',
    'facility(kern) and not message("link")',
]

DEFINITIONS = {
    "f_auth": "facility(auth, authpriv)",
    "f_errors": "level(err..emerg)",
}


def relay_outputs(
    frames: list[bytes], filters: dict[str, str], definitions: dict[str, str]
) -> dict[str, list[bytes]]:
    parser = Parser("auto", "s_net")
    peer = Peer("127.0.0.1", "127.0.0.1", 17, "127.0.0.1", 514)
    now = time.time_ns()
    defined: dict[str, object] = {}
    for name, expr in definitions.items():
        defined[name] = compile_filter(expr, filters=defined, name=name)  # type: ignore[arg-type]
    compiled = {name: compile_filter(expr, filters=defined, name=name)  # type: ignore[arg-type]
                for name, expr in filters.items()}
    out: dict[str, list[bytes]] = {name: [] for name in filters}
    for frame in frames:
        msg = parser.parse(frame, peer, now)
        for name, fn in compiled.items():
            copy = msg.copy()
            if fn(copy):
                out[name].append(copy.values.get("MESSAGE", "").encode("utf-8", "surrogateescape"))
    return out


def _compare(frames: list[bytes], exprs: list[str]) -> None:
    filters = {f"e{i}": e for i, e in enumerate(exprs)}
    expected = sng.filter_outputs(frames, filters, definitions=DEFINITIONS)
    got = relay_outputs(frames, filters, DEFINITIONS)
    bad = [(filters[n], expected[n], got[n]) for n in filters if expected[n] != got[n]]
    assert not bad, "\n".join(f"{e!r}:\n  sng:   {x}\n  relay: {y}" for e, x, y in bad)


@pytest.mark.syslog_ng
def test_expressions_pass_what_syslog_ng_passes() -> None:
    sng.require()
    _compare(CORPUS, EXPRESSIONS)


# -- generated expressions -------------------------------------------------------------
_atoms = st.sampled_from([
    "facility(auth)", "facility(kern, user)", "facility(local0..local7)", "facility(3)",
    "level(err..emerg)", "level(info)", "level(debug notice)", 'program("sshd")',
    'program("^post")', 'host("web")', 'message("failed" flags(ignore-case))',
    'message("[0-9]{3}")', 'match("alice")', 'match("^1" value("PID"))',
    '"${PID}" > "20000"', '"$PID" < 1000', '"$PID" == ""', '"$HOST" eq "web1"',
    '"$PROGRAM" ne "kernel"', "netmask(127.0.0.0/8)", 'tags(".source.s_net")',
    'program("ssh" type(string) flags(prefix))', 'host("*1" type(glob))',
])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from([" and ", " or ", "; "]), children).map("".join),
        children.map(lambda e: f"not {e}"),
        children.map(lambda e: f"({e})"),
    )


_exprs = st.recursive(_atoms, _combine, max_leaves=6)


@pytest.mark.syslog_ng
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_exprs, min_size=40, max_size=40))
def test_generated_expressions(exprs: list[str]) -> None:
    sng.require()
    _compare(CORPUS, exprs)


def test_relay_side_runs_without_syslog_ng() -> None:
    """The relay half on its own: every expression compiles and runs on the corpus."""
    out = relay_outputs(CORPUS, {f"e{i}": e for i, e in enumerate(EXPRESSIONS)}, DEFINITIONS)
    assert len(out) == len(EXPRESSIONS)
    assert out["e0"]  # facility(auth) passes the sshd line
