"""Fuzz the parsers, each protocol, and format-json over what they make: nothing may
escape, and format-json writes one line of valid JSON (UTF-8 text; bytes that were not
UTF-8 are written as \\xNN, as syslog-ng writes them)."""

from __future__ import annotations

import json

import atheris
from _common import NOW, PEER, SAMPLES, run

with atheris.instrument_imports(include=["relay"]):
    from relay.facts.names import DEFAULT_TEMPLATE, PROTOCOLS
    from relay.parse import Parser
    from relay.template import compile_template

PARSERS = [Parser(p, "s") for p in PROTOCOLS]
RENDERS = [compile_template(t).render for t in (
    DEFAULT_TEMPLATE,
    "$(format-json --scope everything)\n",
    "$(format-json --scope rfc5424 --scope all-nv-pairs --key .SDATA.* --rekey .* "
    "--shift 1)\n",
)]


def test_one_input(data: bytes) -> None:
    parser = PARSERS[data[0] % len(PARSERS)] if data else PARSERS[0]
    msg = parser.parse(data[1:], PEER, NOW)
    for render in RENDERS:
        out = render(msg)
        if not out.endswith(b"\n") or out.count(b"\n") != 1:
            raise AssertionError(f"not one line: {out!r}")
        json.loads(out.decode("utf-8"))


if __name__ == "__main__":
    run(test_one_input, [bytes([i]) + s for i in range(len(PARSERS)) for s in SAMPLES])
