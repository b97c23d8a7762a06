"""syslog-ng 3.38's functions of the environment and of file names
(modules/basicfuncs/misc-funcs.c, fname-funcs.c): ``env``, ``basename``, ``dirname``.

Part of the templates stage (``relay.template_functions``).
"""

from __future__ import annotations

import os

from relay.template_functions._common import (
    FunctionCompiler,
    cstr,
    simple,
)


def _env(argv: list[bytes]) -> bytes:
    out = bytearray()
    for i, a in enumerate(argv):
        name = cstr(a)
        val = os.environb.get(name) if name and b"=" not in name else None
        if val is None:
            continue
        out += cstr(val)
        if i < len(argv) - 1:
            out += b" "
    return bytes(out)


def _basename(argv: list[bytes]) -> bytes:
    """g_path_get_basename()."""
    path = cstr(argv[0]) if argv else b""
    if not path:
        return b"."
    trimmed = path.rstrip(b"/")
    if not trimmed:
        return b"/"
    return trimmed[trimmed.rfind(b"/") + 1:]


def _dirname(argv: list[bytes]) -> bytes:
    """g_path_get_dirname(): up to the last slash, without the slashes before it."""
    path = cstr(argv[0]) if argv else b""
    slash = path.rfind(b"/")
    if slash < 0:
        return b"."
    head = path[:slash + 1]
    while len(head) > 1 and head.endswith(b"/"):
        head = head[:-1]
    return head


FUNCTIONS: dict[str, FunctionCompiler] = {
    "env": simple(_env),
    "basename": simple(_basename),
    "dirname": simple(_dirname),
}
