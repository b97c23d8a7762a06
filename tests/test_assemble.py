"""Assemble: what the data path is built from a config, without opening anything."""

from __future__ import annotations

from fixedclock import RECEIVED_NS

from relay.assemble import _stores_matches, compile_renders
from relay.config import loads
from relay.parse import Parser, local_peer

HEAD = ('[[source]]\nname = "s"\nlisten = "udp://127.0.0.1:0"\n'
        '[[destination]]\nname = "d"\ntype = "file"\npath = "x"\n')


def test_a_destination_template_may_use_conditions() -> None:
    config = loads(HEAD + 'template = "$(if (program(\\"sshd\\")) ssh other)\\n"\n')
    render = compile_renders(config)["d"]
    parser = Parser("rfc3164", "s")
    sshd = parser.parse(b"<38>Jun 14 15:16:01 combo sshd[1]: hi", local_peer(), RECEIVED_NS)
    cron = parser.parse(b"<38>Jun 14 15:16:01 combo cron[1]: hi", local_peer(), RECEIVED_NS)
    assert (render(sshd), render(cron)) == (b"ssh\n", b"other\n")


def test_paths_copy_messages_only_when_a_filter_stores_matches() -> None:
    def config(expr: str) -> bool:
        return _stores_matches(loads(HEAD + f"[[filter]]\nname = \"f\"\nexpr = '{expr}'\n"))

    assert config('message("a(b)" flags(store-matches))')
    assert not config('message("store-matches")')
