"""The numeric functions of syslog-ng 3.38 (modules/basicfuncs/numeric-funcs.c):
arithmetic, ``round``, ``ceil``, ``floor`` and the aggregates.

Part of the templates stage (``relay.template_functions``).  Numbers are read as
lib/parse-number.c reads them (an int64, else a double) and written as printf does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from relay.errors import TemplateError
from relay.facts import cnum
from relay.message import LogMessage
from relay.template_functions._common import (
    CompileContext,
    FunctionCompiler,
    Render,
    c_double,
    c_int64,
    parse_generic,
    parse_int64,
    simple,
    to_bytes,
)


def _format_number(value: int | float) -> bytes:
    if isinstance(value, int):
        return str(value).encode()
    return c_double(value, 20).encode()


def _arith(op: str) -> Callable[[list[bytes]], bytes]:
    def calc(argv: list[bytes]) -> bytes:
        if len(argv) != 2:
            return b"NaN"
        n, m = parse_generic(argv[0]), parse_generic(argv[1])
        if n is None or m is None:
            return b"NaN"
        if op in "/%" and (m == 0 if isinstance(m, int) else abs(m) < 2.220446049250313e-16):
            return b"NaN"  # gn_is_zero(): zero, or a double closer to it than DBL_EPSILON
        if isinstance(n, int) and isinstance(m, int):
            if op == "+":
                r = n + m
            elif op == "-":
                r = n - m
            elif op == "*":
                r = n * m
            elif op == "/":
                r = abs(n) // abs(m) * (1 if (n < 0) == (m < 0) else -1)  # C truncates
            else:
                r = abs(n) % abs(m) * (-1 if n < 0 else 1)
            return _format_number(cnum.wrap64(r))
        x, y = float(n), float(m)
        if op == "+":
            f = x + y
        elif op == "-":
            f = x - y
        elif op == "*":
            f = x * y
        elif op == "/":
            f = x / y
        else:
            # fmod(inf, y) is the x86 default NaN, which printf shows as -nan
            f = math.fmod(x, y) if not math.isinf(x) else -math.nan
        return _format_number(f)

    return calc


def _round(argv: list[bytes]) -> bytes:
    if not 1 <= len(argv) <= 2:
        return b"NaN"
    n = parse_generic(argv[0])
    if n is None:
        return b"NaN"
    precision = 0
    if len(argv) > 1:
        p = parse_int64(argv[1])
        if p is None or not 0 <= p <= 20:
            return b"NaN"
        precision = p
    multiplier = float(10**precision)
    scaled = float(n) * multiplier
    if abs(scaled) < 2.0**52:  # larger doubles are whole numbers already
        # C's round(): halves away from zero
        scaled = float(Decimal(scaled).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return c_double(scaled / multiplier, precision).encode()


def _ceil_floor(fn: Callable[[float], float]) -> Callable[[list[bytes]], bytes]:
    def calc(argv: list[bytes]) -> bytes:
        if len(argv) != 1:
            return b"NaN"
        n = parse_generic(argv[0])
        if n is None:
            return b"NaN"
        x = float(n)
        return str(c_int64(fn(x) if math.isfinite(x) else x)).encode()

    return calc


def _compile_aggregate(name: str, args: list[str], context: CompileContext) -> Render:
    # sum, min, max, average: over the messages of a context, which here is one message
    if len(args) != 1:
        raise TemplateError(f"$({name}) requires only one argument")
    arg = context.compile_arg(args[0])

    def render(msg: LogMessage) -> str:
        value = parse_int64(to_bytes(arg(msg)))
        return "" if value is None else str(value)

    return render


FUNCTIONS: dict[str, FunctionCompiler] = {
    "+": simple(_arith("+")),
    "-": simple(_arith("-")),
    "*": simple(_arith("*")),
    "/": simple(_arith("/")),
    "%": simple(_arith("%")),
    "round": simple(_round),
    "ceil": simple(_ceil_floor(math.ceil)),
    "floor": simple(_ceil_floor(math.floor)),
    "sum": _compile_aggregate,
    "min": _compile_aggregate,
    "max": _compile_aggregate,
    "average": _compile_aggregate,
}
