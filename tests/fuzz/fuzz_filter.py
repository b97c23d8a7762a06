"""Fuzz the filter compiler as a subscriber's line reaches it (untrusted): only FilterError
may escape, and a filter that compiles answers True or False on any message."""

from __future__ import annotations

import atheris
from _common import MESSAGES, run

with atheris.instrument_imports(include=["relay"]):
    from relay.errors import FilterError
    from relay.filter import compile_filter


def test_one_input(data: bytes) -> None:
    expr = data.decode("utf-8", "replace")  # as the subscriber reads its line
    try:
        matches = compile_filter(expr, filters={}, untrusted=True)
    except FilterError:
        return
    for msg in MESSAGES:
        if matches(msg) not in (True, False):
            raise AssertionError(f"{expr!r} answered neither True nor False")


if __name__ == "__main__":
    run(test_one_input, [
        b'program("sshd") and level(err..emerg)',
        b'facility(auth, authpriv) and not message("x" type(glob))',
        b'netmask(10.0.0.0/8) or netmask6(::1/128) or tags(".source.s")',
        b'match("^a(b)c" value("MESSAGE") flags(store-matches)) and "$1" eq "b"',
        b'"${HOST}" == "h" or in-list("a,b", value("PROGRAM")) or host("h*" type(glob))',
    ])
