"""Log paths: sans-IO routing rules, then the running relay against syslog-ng.

The whole-relay tests send the same corpus over UDP (protocol "auto") to a live syslog-ng
and to `relay --config`, with one [[filter]] + [[log]] + file destination per expression,
and compare what each file holds, in order.
"""

from __future__ import annotations

import os
import socket

import orjson
import pytest
import sng
from relayproc import RelayProcess, lines_of, wait_for
from test_filter_sng import CORPUS, DEFINITIONS, EXPRESSIONS

from relay.message import LogMessage
from relay.pipeline import LogPath, Pipeline


def _msg(program: str, level: int = 5) -> LogMessage:
    msg = LogMessage()
    msg.values["PROGRAM"] = program
    msg.pri = 8 + level
    return msg


def _set_env(msg: LogMessage) -> None:
    msg.values["env"] = "prod"


def test_final_fallback_catchall_and_copy_on_write() -> None:
    seen: dict[str, list[str]] = {k: [] for k in "abcde"}

    def dest(name: str):  # type: ignore[no-untyped-def]
        return lambda m: seen[name].append(m.values["PROGRAM"] + ":" + m.values.get("env", ""))

    def is_sshd(m: LogMessage) -> bool:
        return m.values["PROGRAM"] == "sshd"

    pipeline = Pipeline([
        LogPath(frozenset({"s1"}), (is_sshd,), (_set_env,), (dest("a"),), final=True),
        LogPath(frozenset({"s1"}), (), (), (dest("b"),)),
        LogPath(frozenset(), (), (), (dest("c"),), fallback=True, catchall=True),
        LogPath(frozenset({"s2"}), (is_sshd,), (), (dest("d"),)),
        LogPath(frozenset(), (is_sshd,), (), (dest("e"),), catchall=True),
    ])
    r1, r2 = pipeline.router("s1"), pipeline.router("s2")
    m = _msg("sshd")
    r1(m)
    r1(_msg("cron"))
    r2(_msg("cron"))
    r2(_msg("sshd"))
    assert seen["a"] == ["sshd:prod"]  # the rewrite worked on a copy ...
    assert "env" not in m.values  # ... and did not leak into the original
    assert seen["b"] == ["cron:"]  # final stopped the sshd message before path b
    assert seen["c"] == ["cron:"]  # fallback: only what no other path took (s2's cron)
    assert seen["d"] == ["sshd:"]
    assert seen["e"] == ["sshd:"]  # s2's sshd; s1's sshd was stopped by the final path


def _relay_config(exprs: dict[str, str], definitions: dict[str, str]) -> str:
    parts = ['[[source]]\nname = "s_net"\nlisten = "udp://127.0.0.1:0"\nprotocol = "auto"\n']
    for name, expr in definitions.items():
        parts.append(f'[[filter]]\nname = "{name}"\nexpr = {orjson.dumps(expr).decode()}\n')
    for name, expr in exprs.items():
        parts.append(f'[[filter]]\nname = "f_{name}"\nexpr = {orjson.dumps(expr).decode()}\n'
                     f'[[destination]]\nname = "d_{name}"\ntype = "file"\npath = "{name}.out"\n'
                     f'template = "$MSG\\u001e\\n"\n'
                     f'[[log]]\nsource = ["s_net"]\nfilter = ["f_{name}"]\n'
                     f'destination = ["d_{name}"]\n')
    parts.append('[[destination]]\nname = "d_all"\ntype = "file"\npath = "all.out"\n'
                 'template = "$MSG\\u001e\\n"\n'
                 '[[log]]\nsource = ["s_net"]\ndestination = ["d_all"]\n')
    return "\n".join(parts)


def _records(path: str) -> list[bytes]:
    try:
        with open(path, "rb") as f:
            return f.read().split(b"\x1e\n")[:-1]
    except FileNotFoundError:
        return []


def _send_udp(relay: RelayProcess, frames: list[bytes], progress: str) -> None:
    host, port = relay.address("s_net")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i, frame in enumerate(frames):
            s.sendto(frame, (host, port))
            if i % 20 == 19:
                wait_for(lambda i=i: len(_records(progress)) > i, 10, "the relay")
    wait_for(lambda: len(_records(progress)) >= len(frames), 10, "every frame")


@pytest.mark.syslog_ng
def test_running_relay_filters_like_syslog_ng(tmp_path: object) -> None:
    d = str(tmp_path)
    exprs = {f"e{i}": e for i, e in enumerate(EXPRESSIONS)}
    expected = sng.filter_outputs(CORPUS, exprs, definitions=DEFINITIONS)
    with RelayProcess(_relay_config(exprs, DEFINITIONS), d, expect_addresses=1) as relay:
        _send_udp(relay, CORPUS, os.path.join(d, "all.out"))
        assert relay.stop() == 0
    bad = []
    for name, expr in exprs.items():
        got = _records(os.path.join(d, f"{name}.out"))
        if got != expected[name]:
            bad.append(f"{expr!r}:\n  syslog-ng: {expected[name]}\n  relay:     {got}")
    assert not bad, "\n".join(bad[:10]) + f"\n({len(bad)} of {len(exprs)} differ)"


FLAG_PATHS = [
    # (filter or None, flags, destination)
    ('program("sshd")', ["final"], "d1"),
    ('level(err..emerg)', [], "d2"),
    (None, ["fallback"], "d3"),
    ('facility(auth, authpriv)', [], "d4"),
    ('level(debug)', ["catchall"], "d5"),
]
SENTINEL = b"<13>Mar  1 12:00:59 web1 end: SENTINEL-END"


@pytest.mark.syslog_ng
def test_log_flags_like_syslog_ng(tmp_path: object) -> None:
    d = str(tmp_path)
    body = [f"options {{ {sng.OPTIONS} }};\n"]
    port = sng._free_port(socket.SOCK_DGRAM)
    body.append(f'source s_net {{ syslog(transport("udp") ip("127.0.0.1") port({port})); }};\n')
    relay_conf = ['[[source]]\nname = "s_net"\nlisten = "udp://127.0.0.1:0"\nprotocol = "auto"\n']
    # first and final: only the sentinel, sent last, lands there; it tells when all arrived
    body.append('destination d_all { file("@WORK@/all" template("$MSG\\n")); };\n')
    body.append('filter f_end { message("SENTINEL-END"); };\n')
    body.append("log { source(s_net); filter(f_end); destination(d_all); flags(final); };\n")
    relay_conf.append('[[filter]]\nname = "f_end"\nexpr = \'message("SENTINEL-END")\'\n'
                      '[[destination]]\nname = "d_all"\ntype = "file"\npath = "all"\n'
                      'template = "$MSG\\n"\n[[log]]\nsource = ["s_net"]\nfilter = ["f_end"]\n'
                      'destination = ["d_all"]\nflags = ["final"]\n')
    for i, (expr, flags, dest) in enumerate(FLAG_PATHS):
        body.append(f'destination {dest} {{ file("@WORK@/{dest}" template("$MSG\\n")); }};\n')
        flt = f"filter(f{i}); " if expr else ""
        if expr:
            body.append(f"filter f{i} {{ {expr}; }};\n")
        src = "" if "catchall" in flags else "source(s_net); "
        fl = f" flags({','.join(flags)});" if flags else ""
        body.append(f"log {{ {src}{flt}destination({dest});{fl} }};\n")
        relay_conf.append(f'[[destination]]\nname = "{dest}"\ntype = "file"\npath = "{dest}"\n'
                          'template = "$MSG\\n"\n')
        if expr:
            relay_conf.append(f'[[filter]]\nname = "f{i}"\nexpr = {orjson.dumps(expr).decode()}\n')
        relay_conf.append("[[log]]\n" + ("" if "catchall" in flags else 'source = ["s_net"]\n')
                          + (f'filter = ["f{i}"]\n' if expr else "")
                          + f'destination = ["{dest}"]\nflags = {orjson.dumps(flags).decode()}\n')
    frames = [*CORPUS, SENTINEL]
    with sng.SyslogNg("".join(body)) as daemon:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for frame in frames:
                s.sendto(frame, ("127.0.0.1", port))
        wait_for(lambda: lines_of(daemon.path("all")), 10, "syslog-ng")
        daemon.stop()
        expected = {dest: lines_of(daemon.path(dest)) for _, _, dest in FLAG_PATHS}
    rd = os.path.join(d, "relay")
    os.mkdir(rd)
    with RelayProcess("\n".join(relay_conf), rd, expect_addresses=1) as relay:
        host, rport = relay.address("s_net")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for frame in frames:
                s.sendto(frame, (host, rport))
        wait_for(lambda: lines_of(f"{rd}/all"), 10, "the relay")
        assert relay.stop() == 0
    for _, _, dest in FLAG_PATHS:
        assert lines_of(f"{rd}/{dest}") == expected[dest], dest
    assert expected["d3"] and expected["d1"] and expected["d5"]


def test_filter_may_name_a_later_filter_but_not_itself() -> None:
    from relay.assemble import compile_filters
    from relay.config import loads
    from relay.errors import ConfigError

    head = '[[source]]\nname = "s"\nlisten = "udp://127.0.0.1:0"\n'
    config = loads(head + "[[filter]]\nname = \"f_a\"\nexpr = 'filter(f_b) and level(err)'\n"
                   "[[filter]]\nname = \"f_b\"\nexpr = 'program(\"sshd\")'\n")
    f_a = compile_filters(config)["f_a"]
    assert f_a(_msg("sshd", 3)) and not f_a(_msg("sshd", 5)) and not f_a(_msg("cron", 3))
    looped = loads(head + "[[filter]]\nname = \"f_a\"\nexpr = 'filter(f_b)'\n"
                   "[[filter]]\nname = \"f_b\"\nexpr = 'not filter(f_a)'\n")
    with pytest.raises(ConfigError, match="f_a -> f_b -> f_a"):
        compile_filters(looped)


@pytest.mark.syslog_ng
def test_tags_are_listed_in_syslog_ng_order(tmp_path: object) -> None:
    """$TAGS lists tags by when the config named them, then the source's own tag."""
    d = str(tmp_path)
    port = sng._free_port(socket.SOCK_DGRAM)
    body = (f"options {{ {sng.OPTIONS} }};\n"
            f'source s_net {{ syslog(transport("udp") ip("127.0.0.1") port({port})); }};\n'
            'rewrite r_a { set-tag("zzz"); };\nrewrite r_b { set-tag("aaa"); };\n'
            'destination d { file("@WORK@/out" template("$TAGS\\n")); };\n'
            "log { source(s_net); rewrite(r_b); rewrite(r_a); destination(d); };\n")
    frame = b"<13>Jan  1 00:00:00 h p: tagged"
    with sng.SyslogNg(body) as daemon:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(frame, ("127.0.0.1", port))
        wait_for(lambda: lines_of(daemon.path("out")), 10, "syslog-ng")
        daemon.stop()
        expected = lines_of(daemon.path("out"))
    conf = ('[[source]]\nname = "s_net"\nlisten = "udp://127.0.0.1:0"\n'
            '[[rewrite]]\nname = "r_a"\nset_tag = "zzz"\n'
            '[[rewrite]]\nname = "r_b"\nset_tag = "aaa"\n'
            '[[destination]]\nname = "d"\ntype = "file"\npath = "out"\ntemplate = "$TAGS\\n"\n'
            '[[log]]\nsource = ["s_net"]\nrewrite = ["r_b", "r_a"]\ndestination = ["d"]\n')
    with RelayProcess(conf, d, expect_addresses=1) as relay:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(frame, relay.address("s_net"))
        wait_for(lambda: lines_of(f"{d}/out"), 10, "the relay")
        assert relay.stop() == 0
    assert expected == [b"zzz,aaa,.source.s_net"]
    assert lines_of(f"{d}/out") == expected
