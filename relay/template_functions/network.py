"""The address functions of syslog-ng 3.38 (modules/basicfuncs/ip-funcs.c):
``ipv4-to-int``.

Part of the templates stage (``relay.template_functions``).  Addresses are read as
glibc's inet_aton reads them (``relay.facts.cnum``), with no socket.
"""

from __future__ import annotations

from relay.facts import cnum
from relay.template_functions._common import (
    FunctionCompiler,
    cstr,
    simple,
    to_str,
)


def _ipv4_to_int(argv: list[bytes]) -> bytes:
    # syslog-ng leaves its address variable alone when inet_aton fails, so a bad
    # address repeats the one before it (the first one is left undefined: 0 here)
    out = []
    last = 0
    for a in argv:
        value = cnum.inet_aton(to_str(cstr(a)))
        last = last if value is None else value
        out.append(str(last).encode())
    return b",".join(out)


FUNCTIONS: dict[str, FunctionCompiler] = {
    "ipv4-to-int": simple(_ipv4_to_int),
}
