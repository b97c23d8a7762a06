"""The conditional functions of syslog-ng 3.38 (modules/basicfuncs/cond-funcs.c):
``if``, ``grep`` and ``or``.

Part of the templates stage (``relay.template_functions``).  A condition is a filter
expression; filters are routing, a layer above templates, so the caller's filter
compiler compiles it (``CompileContext.compile_condition``).
"""

from __future__ import annotations

from relay.errors import TemplateError
from relay.template_functions._common import (
    CompileContext,
    FunctionCompiler,
    Render,
    compile_args,
    goption,
    simple,
)


def _compile_if(name: str, args: list[str], context: CompileContext) -> Render:
    if len(args) != 3:
        raise TemplateError("$(if) requires three arguments")
    cond = context.compile_condition(name, args[0])
    then, other = context.compile_arg(args[1]), context.compile_arg(args[2])
    return lambda msg: then(msg) if cond(msg) else other(msg)


def _compile_grep(name: str, args: list[str], context: CompileContext) -> Render:
    _, rest = goption(name, args, {"max-count": ("m", "int")})
    if len(rest) < 2:
        raise TemplateError(f"$({name}) requires at least two arguments")
    cond = context.compile_condition(name, rest[0])
    renders = compile_args(rest[1:], context)
    return lambda msg: ",".join([r(msg) for r in renders]) if cond(msg) else ""


def _or(argv: list[bytes]) -> bytes:
    return next((a for a in argv if a), b"")


FUNCTIONS: dict[str, FunctionCompiler] = {
    "if": _compile_if,
    "grep": _compile_grep,
    "or": simple(_or),
}
