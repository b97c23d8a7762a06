"""Fuzz the template compiler: only TemplateError may escape, and a template that
compiles renders bytes from any message."""

from __future__ import annotations

import atheris
from _common import MESSAGES, run

with atheris.instrument_imports(include=["relay"]):
    from relay.errors import TemplateError
    from relay.filter import compile_filter
    from relay.template import compile_template


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        template = compile_template(text, filter_compiler=compile_filter)
    except TemplateError:
        return
    for msg in MESSAGES:
        if not isinstance(template.render(msg), bytes):
            raise AssertionError(f"{text!r} rendered something other than bytes")


if __name__ == "__main__":
    run(test_one_input, [
        b"$(format-json --scope selected_macros --scope nv_pairs)\\n",
        b"${HOST:-none} $(if (\"$PID\" ne \"\") \"[$PID]\" \"\") $(substr $MSG 1 5)",
        b"$(format-json --pair a=int($PID) --key .SDATA.* --rekey .SDATA.* --shift 7)",
        b"$(grep (\"$PROGRAM\" eq \"p\") $MSG) $(sha1 $MSG) $(+ 1 $PID) $(length $MSG)",
        b"$ISODATE $(lowercase $HOST) ${.SDATA.x@1.a} $(echo $(echo x)) \\t\\x41",
    ])
