"""Rewrite rules: unit tests, and a differential test against a live syslog-ng 3.38."""

from __future__ import annotations

import socket
import time

import pytest
import sng

from relay.errors import ConfigError
from relay.message import LogMessage
from relay.parse import Parser, Peer
from relay.rewrite import compile_rewrite
from relay.template import compile_template


def _msg(text: str = "hello world", **values: str) -> LogMessage:
    msg = LogMessage()
    msg.values.update(MESSAGE=text, **values)
    return msg


def test_set_and_unset() -> None:
    msg = _msg(PROGRAM="sshd")
    compile_rewrite("r", {"set": {"value": "env", "template": "prod-$PROGRAM"}})(msg)
    assert msg.values["env"] == "prod-sshd"
    compile_rewrite("r", {"unset": {"value": "env"}})(msg)
    assert "env" not in msg.values
    compile_rewrite("r", {"set": {"template": "new"}})(msg)
    assert msg.values["MESSAGE"] == "new"


def test_subst_global_and_groups() -> None:
    msg = _msg("a1b22c333")
    compile_rewrite("r", {"subst": {"pattern": "([0-9]+)", "replacement": "<$1>",
                                    "flags": ["global"]}})(msg)
    assert msg.values["MESSAGE"] == "a<1>b<22>c<333>"
    msg = _msg("aaa")
    compile_rewrite("r", {"subst": {"pattern": "a", "replacement": "b"}})(msg)
    assert msg.values["MESSAGE"] == "baa"


def test_subst_empty_matches_follow_syslog_ng() -> None:
    msg = _msg("abxd")
    compile_rewrite("r", {"subst": {"pattern": "x*", "replacement": "-",
                                    "flags": ["global"]}})(msg)
    assert msg.values["MESSAGE"] == "-a-b--d"


def test_subst_string_type() -> None:
    msg = _msg("foo.bar.foo")
    compile_rewrite("r", {"subst": {"pattern": "foo", "replacement": "X", "type": "string",
                                    "flags": ["substring", "global"]}})(msg)
    assert msg.values["MESSAGE"] == "X.bar.X"


def test_tags_and_condition() -> None:
    msg = _msg(PROGRAM="sshd")
    compile_rewrite("r", {"set_tag": "seen", "condition": 'program("sshd")'})(msg)
    compile_rewrite("r", {"set_tag": "other", "condition": 'program("cron")'})(msg)
    assert msg.tags == ["seen"]
    compile_rewrite("r", {"clear_tag": "seen"})(msg)
    assert msg.tags == []


@pytest.mark.parametrize("spec", [
    {},
    {"set": {"value": "x"}},
    {"set": {"value": "x", "template": "y", "bogus": 1}},
    {"set": {"value": "x", "template": "y"}, "unset": {"value": "x"}},
    {"subst": {"pattern": "(", "replacement": "x"}},
    {"subst": {"pattern": "a", "replacement": "x", "type": "glob"}},
    {"subst": {"pattern": "a", "replacement": "x", "flags": ["nope"]}},
    {"unset": {"value": "$(x)"}},
    {"frobnicate": {}},
    {"set_tag": "x", "condition": "level(nope)"},
])
def test_bad_specs_are_config_errors(spec: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        compile_rewrite("r_bad", spec)


# -- differential ----------------------------------------------------------------------
FRAMES = [
    b"<38>Mar  1 12:00:01 web1 sshd[1234]: Accepted publickey for alice from 10.0.0.5",
    b"<13>Mar  1 12:00:04 db-2 postgres[25001]: LOG:  checkpoint 12 starting 345",
    b"<30>Mar  1 12:00:06 web1 systemd[1]: Started Session 42 of user alice.",
    b"<14>Mar  1 12:00:15 web2 nginx: aaa bbb aaa",
    b"<14>Mar  1 12:00:16 web2 app: ",
]
# (syslog-ng rewrite rule, relay spec)
RULES = [
    ('set("prod" value("env"));', {"set": {"value": "env", "template": "prod"}}),
    ('set("$HOST/$PROGRAM" value("MESSAGE"));',
     {"set": {"value": "MESSAGE", "template": "$HOST/$PROGRAM"}}),
    ('unset(value("PROGRAM"));', {"unset": {"value": "PROGRAM"}}),
    ('subst("alice", "bob");', {"subst": {"pattern": "alice", "replacement": "bob"}}),
    ('subst("[0-9]+", "N", flags(global));',
     {"subst": {"pattern": "[0-9]+", "replacement": "N", "flags": ["global"]}}),
    ('subst("([a-z]+) ([a-z]+)", "$2 $1");',
     {"subst": {"pattern": "([a-z]+) ([a-z]+)", "replacement": "$2 $1"}}),
    ('subst("a*", "-", flags(global));',
     {"subst": {"pattern": "a*", "replacement": "-", "flags": ["global"]}}),
    ('subst("aaa", "X", type(string) flags(substring global));',
     {"subst": {"pattern": "aaa", "replacement": "X", "type": "string",
                "flags": ["substring", "global"]}}),
    ('subst("WEB", "host", value("HOST") flags(ignore-case));',
     {"subst": {"pattern": "WEB", "replacement": "host", "value": "HOST",
                "flags": ["ignore-case"]}}),
    ('set("yes" value("flag") condition(program("sshd")));',
     {"set": {"value": "flag", "template": "yes"}, "condition": 'program("sshd")'}),
    ('set-tag("t_seen");', {"set_tag": "t_seen"}),
    ('subst("A", "x", flags(ignore-case global));',
     {"subst": {"pattern": "A", "replacement": "x", "flags": ["ignore-case", "global"]}}),
    ('subst("^", ">", flags(global));',
     {"subst": {"pattern": "^", "replacement": ">", "flags": ["global"]}}),
    ('subst("$", "<", flags(global));',
     {"subst": {"pattern": "$", "replacement": "<", "flags": ["global"]}}),
    # single-quoted strings are raw in syslog-ng.conf, as the TOML pattern is
    (r"subst('\b', '|', flags(global));",
     {"subst": {"pattern": r"\b", "replacement": "|", "flags": ["global"]}}),
    (r"subst('(?<first>\w+) (?<second>\w+)', '${second}-${first}');",
     {"subst": {"pattern": r"(?<first>\w+) (?<second>\w+)",
                "replacement": "${second}-${first}"}}),
    ('subst("aaa", "X", type(string) flags(prefix));',
     {"subst": {"pattern": "aaa", "replacement": "X", "type": "string", "flags": ["prefix"]}}),
    ('subst("", "-", type(string) flags(substring global));',
     {"subst": {"pattern": "", "replacement": "-", "type": "string",
                "flags": ["substring", "global"]}}),
    (r"subst('(\d)(?=\d)', '$1,', flags(global));",
     {"subst": {"pattern": r"(\d)(?=\d)", "replacement": "$1,", "flags": ["global"]}}),
    ('subst("e", "E", value("PROGRAM") flags(global));',
     {"subst": {"pattern": "e", "replacement": "E", "value": "PROGRAM", "flags": ["global"]}}),
    ('set("${1}|$0" value("MESSAGE") condition(message("(\\\\w+) (\\\\w+)" '
     'flags(store-matches))));',
     {"set": {"value": "MESSAGE", "template": "${1}|$0"},
      "condition": 'message("(\\\\w+) (\\\\w+)" flags(store-matches))'}),
    ('set-tag("t_$PROGRAM");', {"set_tag": "t_$PROGRAM"}),
    ('unset(value("MSG"));', {"unset": {"value": "MSG"}}),
]
TEMPLATE = "$MSG|${env}|${flag}|$HOST|$PROGRAM"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.syslog_ng
def test_rewrites_write_what_syslog_ng_writes() -> None:
    sng.require()
    port = _free_port()
    tpl = '"' + TEMPLATE.replace("\\", "\\\\").replace('"', '\\"') + '\\x1e\\n"'
    body = [f"options {{ {sng.OPTIONS} }};\n",
            f'source s_net {{ syslog(transport("udp") ip("127.0.0.1") port({port})); }};\n',
            f'destination d_all {{ file("@WORK@/all" template({tpl})); }};\n',
            "log { source(s_net); destination(d_all); flags(flow-control); };\n"]
    for i, (rule, _) in enumerate(RULES):
        body.append(f"rewrite r{i} {{ {rule} }};\n")
        body.append(f'destination d{i} {{ file("@WORK@/out{i}" template({tpl})); }};\n')
        body.append(f"log {{ source(s_net); rewrite(r{i}); destination(d{i}); "
                    "flags(flow-control); };\n")
    with sng.SyslogNg("".join(body)) as daemon:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("127.0.0.1", port))
            for frame in FRAMES:
                s.send(frame)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
            len(sng._records(daemon.path(f"out{i}"))) < len(FRAMES) for i in range(len(RULES))
        ):
            time.sleep(0.01)
        daemon.stop()
        expected = [sng._records(daemon.path(f"out{i}")) for i in range(len(RULES))]

    parser = Parser("auto", "s_net")
    peer = Peer("127.0.0.1", "127.0.0.1", 17, "127.0.0.1", port)
    render = compile_template(TEMPLATE).render
    bad = []
    for i, (rule, spec) in enumerate(RULES):
        rewrite = compile_rewrite(f"r{i}", spec)
        got = []
        for frame in FRAMES:
            msg = parser.parse(frame, peer, time.time_ns())
            rewrite(msg)
            got.append(render(msg))
        if got != expected[i]:
            bad.append(f"{rule}\n  sng:   {expected[i]}\n  relay: {got}")
    assert not bad, "\n".join(bad)
