"""What every template function is built with: the compile context, C strings, numbers
and options as syslog-ng's functions read them.

Part of the templates stage (``relay.template_functions``): the themed modules beside
this one import it, and nothing here imports them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from relay.errors import FilterError, TemplateError
from relay.facts import cnum
from relay.facts.cnum import CSPACE
from relay.facts.goption import OptionError, read_options
from relay.message import LogMessage

Render = Callable[[LogMessage], str]
CompileArg = Callable[[str], Render]
#: what compiles the condition of $(if) and $(grep): relay.filter.compile_filter
FilterCompiler = Callable[[str], Callable[[LogMessage], bool]]
#: TEMPLATE_INVOKE_MAX_ARGS
MAX_ARGS = 64


@dataclass(frozen=True, slots=True)
class CompileContext:
    """What a function compiler is handed besides its words."""

    #: compiles one argument: a template of its own, already unescaped
    compile_arg: CompileArg
    #: compiles a filter expression; None where the caller has no filters to offer
    filter_compiler: FilterCompiler | None = None

    def compile_condition(self, func: str, expr: str) -> Callable[[LogMessage], bool]:
        """The condition of ``$(func)``: a filter expression, compiled by the caller's
        filter compiler; a ``TemplateError`` when it is bad or there is none."""
        if self.filter_compiler is None:
            raise TemplateError(
                f"$({func}) needs a filter compiler for its condition, and this template "
                "was compiled without one (pass filter_compiler= to compile_template)")
        try:
            return self.filter_compiler(expr)
        except FilterError as exc:
            raise TemplateError(
                f"$({func}) Error parsing conditional filter expression: {exc}") from None


FunctionCompiler = Callable[[str, list[str], CompileContext], Render]


#: C isspace(), as bytes
C_SPACE = CSPACE.encode()


def to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that does not stand for a byte
        return text.encode("utf-8", "surrogatepass")


def to_str(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def cstr(data: bytes) -> bytes:
    """The argument as a C string: up to its first NUL."""
    nul = data.find(b"\0")
    return data if nul < 0 else data[:nul]


# -- numbers, as lib/parse-number.c reads them -----------------------------------------


def parse_int64(data: bytes) -> int | None:
    """parse_int64(): strtoll in base 10 of the whole C string; None when it fails."""
    return cnum.parse_int64(to_str(cstr(data)))


_NAN = re.compile(rb"[ \t\n\x0b\x0c\r]*([-+]?)nan(?:\([0-9A-Za-z_]*\))?", re.IGNORECASE)


def parse_generic(data: bytes) -> int | float | None:
    """parse_generic_number(): an int64, else a double (strtod, ``nan`` included)."""
    text = cstr(data)
    m = _NAN.fullmatch(text)
    if m is not None:
        return math.copysign(math.nan, -1.0 if m.group(1) == b"-" else 1.0)
    # strtod reads ASCII only (a str pattern's IGNORECASE would take more, "\u0131nf")
    return cnum.parse_number(text.decode("ascii")) if text.isascii() else None


def c_double(value: float, precision: int) -> str:
    """printf("%.*f"): glibc writes inf, -inf, nan and -nan."""
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{precision}f}"


def c_int64(value: float) -> int:
    """(gint64) of a double on x86-64: out of range and NaN give INT64_MIN."""
    if math.isnan(value) or not -(2.0**63) <= value < 2.0**63:
        return cnum.INT64_MIN
    return int(value)


# -- GOption, as the functions with options read their words -----------------------------

_Spec = dict[str, tuple[str, str]]  # long name -> (short letter, kind: flag/noflag/str/int)


def goption(func: str, argv: list[str], spec: _Spec) -> tuple[dict[str, object], list[str]]:
    """Options and positional arguments, as g_option_context_parse() leaves them."""
    takes_value = {name: kind in ("str", "int") for name, (_, kind) in spec.items()}
    shorts = {short: name for name, (short, _) in spec.items()}
    values: dict[str, object] = {}
    rest: list[str] = []
    try:
        for name, value, shown in read_options(argv, takes_value, shorts):
            if name is None:
                rest.append(shown)
                continue
            kind = spec[name][1]
            if kind == "flag":  # a value given to a flag ("--flag=x") is ignored
                values[name] = True
            elif kind == "noflag":  # G_OPTION_FLAG_REVERSE: --no-x sets x to false
                values[name.removeprefix("no-")] = False
            elif kind == "int":
                assert value is not None
                number = cnum.strtoll_any(value)
                if number is None:
                    raise TemplateError(
                        f"$({func}): cannot parse integer value {value!r} for {shown}")
                if not -(2**31) <= number < 2**31:
                    raise TemplateError(
                        f"$({func}): integer value {value!r} for {shown} out of range")
                values[name] = number
            else:
                values[name] = value
    except OptionError as exc:
        raise TemplateError(f"$({func}): {exc}") from None
    return values, rest


# -- helpers to build a function from its rendered arguments -----------------------------


def compile_args(args: Sequence[str], context: CompileContext) -> list[Render]:
    return [context.compile_arg(a) for a in args]


def simple(fn: Callable[[list[bytes]], bytes]) -> FunctionCompiler:
    """A function of the rendered arguments' bytes (syslog-ng's TEMPLATE_FUNCTION_SIMPLE)."""

    def compile_simple(name: str, args: list[str], context: CompileContext) -> Render:
        renders = compile_args(args, context)

        def render(msg: LogMessage) -> str:
            return to_str(fn([to_bytes(r(msg)) for r in renders]))

        return render

    return compile_simple


def each(fn: Callable[[bytes], bytes], sep: bytes = b" ") -> Callable[[list[bytes]], bytes]:
    return lambda argv: sep.join([fn(a) for a in argv])
