"""Template functions: ``$(echo ...)``, ``$(length ...)``, ``$(if ...)`` and the rest of
syslog-ng 3.38's basicfuncs and cryptofuncs that work on one message.

Part of the templates stage.  ``relay.template`` splits ``$(NAME ARG ...)`` into words
and calls ``compile_function(argv, context)``; ``FUNCTIONS`` maps each name to a
compiler that checks the words at config time (a ``TemplateError`` where syslog-ng
refuses the config) and returns a getter from a message to the text.  ``format-json``
is not here: ``relay.template`` compiles it itself, for its fast path.

The ``CompileContext`` carries what a function needs to compile its words: a compiler
for argument templates and, for the conditions of ``$(if)`` and ``$(grep)``, a filter
compiler.  Filters are routing, a layer above templates: this module never imports
them, it is handed one.

How syslog-ng evaluates a function, and so the relay:

* Each argument is a template of its own (macros, nested functions), rendered first.
* A function works on the bytes of its arguments.  Many of them treat an argument as a
  C string, so a NUL byte ends it there (``_cstr``); ``length``, ``substr``, ``echo``
  and the like count and copy every byte.
* A run-time problem (``$(substr)`` with a bad offset, ``$(+ a b)`` with a word) gives
  empty text or ``NaN``, never an error; only option and arity checks that syslog-ng
  makes when it compiles the template are ``TemplateError``.
* Options (``--replacement``, ``--length``, ...) are read like GLib's GOption: anywhere
  among the arguments, ``--name=value`` or ``--name value``, ``-x value``; an unknown
  option is an error, ``--`` ends the options.
* ``-`` and ``_`` are the same in a function's name.

The message context of correlation (``@N``, ``$(grep)`` over several messages) is
always the one message, so ``sum``, ``min``, ``max`` and ``average`` give that
message's number.  Types (int, double) that syslog-ng attaches to a function's result
do not show with ``@version: 3.38``, so every function gives text.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from relay.errors import FilterError, TemplateError
from relay.facts import cnum
from relay.facts.cnum import CSPACE
from relay.facts.goption import OptionError, read_options
from relay.message import LogMessage

Render = Callable[[LogMessage], str]
CompileArg = Callable[[str], Render]
#: what compiles the condition of $(if) and $(grep): relay.filter.compile_filter
FilterCompiler = Callable[[str], Callable[[LogMessage], bool]]


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

#: TEMPLATE_INVOKE_MAX_ARGS
MAX_ARGS = 64
_CSPACE = CSPACE.encode()


def _b(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that does not stand for a byte
        return text.encode("utf-8", "surrogatepass")


def _s(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _cstr(data: bytes) -> bytes:
    """The argument as a C string: up to its first NUL."""
    nul = data.find(b"\0")
    return data if nul < 0 else data[:nul]


# -- numbers, as lib/parse-number.c reads them -----------------------------------------


def parse_int64(data: bytes) -> int | None:
    """parse_int64(): strtoll in base 10 of the whole C string; None when it fails."""
    return cnum.parse_int64(_s(_cstr(data)))


_NAN = re.compile(rb"[ \t\n\x0b\x0c\r]*([-+]?)nan(?:\([0-9A-Za-z_]*\))?", re.IGNORECASE)


def parse_generic(data: bytes) -> int | float | None:
    """parse_generic_number(): an int64, else a double (strtod, ``nan`` included)."""
    text = _cstr(data)
    m = _NAN.fullmatch(text)
    if m is not None:
        return math.copysign(math.nan, -1.0 if m.group(1) == b"-" else 1.0)
    # strtod reads ASCII only (a str pattern's IGNORECASE would take more, "\u0131nf")
    return cnum.parse_number(text.decode("ascii")) if text.isascii() else None


def _c_double(value: float, precision: int) -> str:
    """printf("%.*f"): glibc writes inf, -inf, nan and -nan."""
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{precision}f}"


def _c_int64(value: float) -> int:
    """(gint64) of a double on x86-64: out of range and NaN give INT64_MIN."""
    if math.isnan(value) or not -(2.0**63) <= value < 2.0**63:
        return cnum.INT64_MIN
    return int(value)


# -- GOption, as the functions with options read their words -----------------------------

_Spec = dict[str, tuple[str, str]]  # long name -> (short letter, kind: flag/noflag/str/int)


def _goption(func: str, argv: list[str], spec: _Spec) -> tuple[dict[str, object], list[str]]:
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


def _args(args: Sequence[str], context: CompileContext) -> list[Render]:
    return [context.compile_arg(a) for a in args]


def _simple(fn: Callable[[list[bytes]], bytes]) -> FunctionCompiler:
    """A function of the rendered arguments' bytes (syslog-ng's TEMPLATE_FUNCTION_SIMPLE)."""

    def compile_simple(name: str, args: list[str], context: CompileContext) -> Render:
        renders = _args(args, context)

        def render(msg: LogMessage) -> str:
            return _s(fn([_b(r(msg)) for r in renders]))

        return render

    return compile_simple


def _each(fn: Callable[[bytes], bytes], sep: bytes = b" ") -> Callable[[list[bytes]], bytes]:
    return lambda argv: sep.join([fn(a) for a in argv])


# -- strings (str-funcs.c) ---------------------------------------------------------------


def _length(argv: list[bytes]) -> bytes:
    return b" ".join([str(len(a)).encode() for a in argv])


def _substr(argv: list[bytes]) -> bytes:
    if not 2 <= len(argv) <= 3:
        return b""
    text = argv[0]
    n = len(text)
    start = parse_int64(argv[1])
    if start is None:
        return b""
    if len(argv) > 2:
        length = parse_int64(argv[2])
        if length is None:
            return b""
    else:
        length = n
    if length < 0 and -length > n:
        return b""
    length = min(length, n)
    if start >= n or (start < 0 and -start > n):
        return b""
    if length < 0 and ((start < 0 and start > length) or (start >= 0 and length + n - start < 0)):
        return b""
    if start < 0:
        start = max(0, start + n)
    if length < 0:
        length = n - start + length
        if length < 0:
            return b""
    return text[start:start + length]


def _strip(argv: list[bytes]) -> bytes:
    stripped = [a.strip(_CSPACE) for a in argv]
    return b" ".join([a for a in stripped if a])


# g_utf8_skip: how far GLib steps from a lead byte, valid UTF-8 or not
_UTF8_SKIP = bytes(
    1 if c < 0xC0 else 2 if c < 0xE0 else 3 if c < 0xF0 else 4 if c < 0xF8
    else 5 if c < 0xFC else 6 if c < 0xFE else 1 for c in range(256))
_UTF8_MASK = {2: 0x1F, 3: 0x0F, 4: 0x07, 5: 0x03, 6: 0x01}
_SIGMA = 0x3A3


def _glib_char(data: bytes, pos: int) -> tuple[int, int]:
    """g_utf8_get_char() at ``pos`` and the step to the next one: -1 when the bytes
    there are not a sequence (continuation bytes are checked, nothing else is)."""
    c = data[pos]
    step = _UTF8_SKIP[c]
    if c < 0x80:
        return c, 1
    if c < 0xC0 or c >= 0xFE:
        return -1, step
    cp = c & _UTF8_MASK[step]
    for i in range(pos + 1, pos + step):
        if i >= len(data) or data[i] & 0xC0 != 0x80:
            return -1, step
        cp = cp << 6 | data[i] & 0x3F
    return cp, step


def _glib_case(data: bytes, upper: bool) -> bytes:
    """g_utf8_strup/strdown: cased characters are mapped, every other sequence (invalid
    ones included, stepping as GLib does) is copied; a NUL ends the text."""
    data = _cstr(data)
    if data.isascii():
        return data.upper() if upper else data.lower()
    out = bytearray()
    pos = 0
    while pos < len(data):
        cp, step = _glib_char(data, pos)
        raw = data[pos:pos + step]
        pos += step
        if not 0 <= cp <= 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            out += raw
            continue
        char = chr(cp)
        if not upper and cp == _SIGMA:
            # GLib: final sigma unless a letter follows
            following = _glib_char(data, pos)[0] if pos < len(data) else -1
            is_letter = 0 <= following <= 0x10FFFF and chr(following).isalpha()
            out += ("\u03c3" if is_letter else "\u03c2").encode()
            continue
        mapped = char.upper() if upper else char.lower()
        out += raw if mapped == char else mapped.encode("utf-8", "surrogatepass")
    return bytes(out)


def _utf8_case(upper: bool) -> Callable[[bytes], bytes]:
    return lambda data: _glib_case(data, upper)


def _replace_delimiter(argv: list[bytes]) -> bytes:
    if len(argv) != 3:
        return b""
    delimiters = _cstr(argv[0])
    new = argv[1][:1] or b"\0"
    haystack = _cstr(argv[2])
    if delimiters:
        haystack = haystack.translate(bytes.maketrans(delimiters, new * len(delimiters)))
    return _cstr(haystack)  # an empty new delimiter is a NUL, which ends the text


def _indent_multi_line(argv: list[bytes]) -> bytes:
    return re.sub(b"\n(?!\t)", b"\n\t", b" ".join(argv))


def _base64_encode(argv: list[bytes]) -> bytes:
    return base64.b64encode(b"".join(argv))


def _compile_sanitize(name: str, args: list[str], context: CompileContext) -> Render:
    opts, rest = _goption(name, args, {
        "ctrl-chars": ("c", "flag"), "no-ctrl-chars": ("C", "noflag"),
        "invalid-chars": ("i", "str"), "replacement": ("r", "str"),
    })
    ctrl = opts.get("ctrl-chars", True)
    invalid = _cstr(_b(str(opts.get("invalid-chars", "/"))))
    replacement = (_b(str(opts.get("replacement", "_"))) or b"\0")[:1]
    # strchr() finds the terminating NUL too, so a NUL is always replaced
    bad = set(invalid) | {0} | (set(range(32)) if ctrl else set())
    table = bytes(replacement[0] if c in bad else c for c in range(256))
    renders = _args(rest, context)

    def render(msg: LogMessage) -> str:
        return _s(b"/".join([_b(r(msg)).translate(table) for r in renders]))

    return render


def _compile_padding(name: str, args: list[str], context: CompileContext) -> Render:
    if len(args) < 2:
        raise TemplateError(
            "$(padding) Not enough arguments, usage $(padding <input> <width> [padding string])")
    width = parse_int64(_b(args[1]))
    if width is None:
        raise TemplateError("Padding template function requires a number as second argument!")
    if width < 0:
        # syslog-ng 3.38 aborts on a negative width (g_string_sized_new)
        raise TemplateError("$(padding) requires a width that is not negative")
    fill = _cstr(_b(args[2])) if len(args) > 2 else b""
    # the padding is made once: the pattern repeated and cut to the width
    pattern = (fill * (width // len(fill) + 1))[:width] if fill else b" " * width
    text = context.compile_arg(args[0])

    def render(msg: LogMessage) -> str:
        value = _b(text(msg))
        if len(value) > width:
            return _s(value)
        return _s(pattern[:width - len(value)] + value)

    return render


def _compile_binary(name: str, args: list[str], context: CompileContext) -> Render:
    if not args:
        raise TemplateError("$(binary) Incorrect parameters, usage $(binary <number> <number> ...)")
    octets = bytearray()
    for token in args:
        number = cnum.strtoll_any(token)
        if number is None:
            base = ("hex" if token[1:2] == "x" else "oct") if token.startswith("0") else "dec"
            raise TemplateError(
                "$(binary) template function requires list of dec/hex/oct numbers as "
                f"arguments, unable to parse {token} as a {base} number")
        if number > 0xFF:
            raise TemplateError(
                "$(binary) template function only supports 8 bit values as characters, "
                f"{number} is above 255")
        octets.append(number & 0xFF)
    for a in args:
        context.compile_arg(a)  # syslog-ng compiles them too, so a bad one is an error
    constant = _s(bytes(octets))
    return lambda msg: constant


_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _url_encode_one(data: bytes) -> bytes:
    return b"".join(
        [bytes([c]) if c in _URL_SAFE else b"%%%02X" % c for c in _cstr(data)])


_URL_ESCAPE = re.compile(rb"%(.?.?)", re.DOTALL)
_HEX2 = re.compile(rb"[0-9A-Fa-f]{2}")


def _url_decode_one(data: bytes) -> bytes:
    text = _cstr(data)
    bad = False

    def one(m: re.Match[bytes]) -> bytes:
        nonlocal bad
        if _HEX2.fullmatch(m.group(1)) is None or m.group(1) == b"00":
            bad = True  # g_uri_unescape_string() gives NULL: nothing is written
            return b""
        return bytes([int(m.group(1), 16)])

    decoded = _URL_ESCAPE.sub(one, text)
    return b"" if bad else decoded


# -- conditions (cond-funcs.c) -----------------------------------------------------------


def _compile_if(name: str, args: list[str], context: CompileContext) -> Render:
    if len(args) != 3:
        raise TemplateError("$(if) requires three arguments")
    cond = context.compile_condition(name, args[0])
    then, other = context.compile_arg(args[1]), context.compile_arg(args[2])
    return lambda msg: then(msg) if cond(msg) else other(msg)


def _compile_grep(name: str, args: list[str], context: CompileContext) -> Render:
    _, rest = _goption(name, args, {"max-count": ("m", "int")})
    if len(rest) < 2:
        raise TemplateError(f"$({name}) requires at least two arguments")
    cond = context.compile_condition(name, rest[0])
    renders = _args(rest[1:], context)
    return lambda msg: ",".join([r(msg) for r in renders]) if cond(msg) else ""


def _or(argv: list[bytes]) -> bytes:
    return next((a for a in argv if a), b"")


# -- numbers (numeric-funcs.c) -----------------------------------------------------------


def _format_number(value: int | float) -> bytes:
    if isinstance(value, int):
        return str(value).encode()
    return _c_double(value, 20).encode()


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
    return _c_double(scaled / multiplier, precision).encode()


def _ceil_floor(fn: Callable[[float], float]) -> Callable[[list[bytes]], bytes]:
    def calc(argv: list[bytes]) -> bytes:
        if len(argv) != 1:
            return b"NaN"
        n = parse_generic(argv[0])
        if n is None:
            return b"NaN"
        x = float(n)
        return str(_c_int64(fn(x) if math.isfinite(x) else x)).encode()

    return calc


def _compile_aggregate(name: str, args: list[str], context: CompileContext) -> Render:
    # sum, min, max, average: over the messages of a context, which here is one message
    if len(args) != 1:
        raise TemplateError(f"$({name}) requires only one argument")
    arg = context.compile_arg(args[0])

    def render(msg: LogMessage) -> str:
        value = parse_int64(_b(arg(msg)))
        return "" if value is None else str(value)

    return render


# -- the rest (ip-funcs.c, misc-funcs.c, fname-funcs.c, cryptofuncs) ----------------------


def _ipv4_to_int(argv: list[bytes]) -> bytes:
    # syslog-ng leaves its address variable alone when inet_aton fails, so a bad
    # address repeats the one before it (the first one is left undefined: 0 here)
    out = []
    last = 0
    for a in argv:
        value = cnum.inet_aton(_s(_cstr(a)))
        last = last if value is None else value
        out.append(str(last).encode())
    return b",".join(out)


def _env(argv: list[bytes]) -> bytes:
    out = bytearray()
    for i, a in enumerate(argv):
        name = _cstr(a)
        val = os.environb.get(name) if name and b"=" not in name else None
        if val is None:
            continue
        out += _cstr(val)
        if i < len(argv) - 1:
            out += b" "
    return bytes(out)


def _basename(argv: list[bytes]) -> bytes:
    """g_path_get_basename()."""
    path = _cstr(argv[0]) if argv else b""
    if not path:
        return b"."
    trimmed = path.rstrip(b"/")
    if not trimmed:
        return b"/"
    return trimmed[trimmed.rfind(b"/") + 1:]


def _dirname(argv: list[bytes]) -> bytes:
    """g_path_get_dirname(): up to the last slash, without the slashes before it."""
    path = _cstr(argv[0]) if argv else b""
    slash = path.rfind(b"/")
    if slash < 0:
        return b"."
    head = path[:slash + 1]
    while len(head) > 1 and head.endswith(b"/"):
        head = head[:-1]
    return head


def _compile_hash(name: str, args: list[str], context: CompileContext) -> Render:
    opts, rest = _goption(name, args, {"length": ("l", "int")})
    if not rest:
        raise TemplateError("$(hash) parsing failed, invalid number of arguments")
    digest = "sha256" if name == "hash" else name
    if digest == "md4":
        raise TemplateError("MD4 hash function is not available starting with OpenSSL 3.0.")
    renders = _args(rest, context)
    size = hashlib.new(digest).digest_size * 2
    length = int(opts.get("length", 0))  # type: ignore[call-overload]
    if length <= 0 or length > size:
        length = size  # a negative length reads past the digest in syslog-ng: not followed

    def render(msg: LogMessage) -> str:
        h = hashlib.new(digest)
        for r in renders:
            h.update(_b(r(msg)))
        return h.hexdigest()[:length]

    return render


def _compile_uuid(name: str, args: list[str], context: CompileContext) -> Render:
    _args(args, context)
    return lambda msg: str(uuid.uuid4())


FUNCTIONS: dict[str, FunctionCompiler] = {
    # str-funcs.c
    "echo": _simple(b" ".join),
    "length": _simple(_length),
    "substr": _simple(_substr),
    "strip": _simple(_strip),
    "sanitize": _compile_sanitize,
    "lowercase": _simple(_each(_utf8_case(False))),
    "uppercase": _simple(_each(_utf8_case(True))),
    "replace-delimiter": _simple(_replace_delimiter),
    "padding": _compile_padding,
    "binary": _compile_binary,
    "base64-encode": _simple(_base64_encode),
    "indent-multi-line": _simple(_indent_multi_line),
    "url-encode": _simple(lambda argv: b"".join([_url_encode_one(a) for a in argv])),
    "url-decode": _simple(lambda argv: b"".join([_url_decode_one(a) for a in argv])),
    # cond-funcs.c
    "if": _compile_if,
    "grep": _compile_grep,
    "or": _simple(_or),
    # numeric-funcs.c
    "+": _simple(_arith("+")),
    "-": _simple(_arith("-")),
    "*": _simple(_arith("*")),
    "/": _simple(_arith("/")),
    "%": _simple(_arith("%")),
    "round": _simple(_round),
    "ceil": _simple(_ceil_floor(math.ceil)),
    "floor": _simple(_ceil_floor(math.floor)),
    "sum": _compile_aggregate,
    "min": _compile_aggregate,
    "max": _compile_aggregate,
    "average": _compile_aggregate,
    # ip-funcs.c, misc-funcs.c, fname-funcs.c
    "ipv4-to-int": _simple(_ipv4_to_int),
    "env": _simple(_env),
    "basename": _simple(_basename),
    "dirname": _simple(_dirname),
    # cryptofuncs
    "hash": _compile_hash,
    "sha1": _compile_hash,
    "sha256": _compile_hash,
    "sha512": _compile_hash,
    "md4": _compile_hash,
    "md5": _compile_hash,
    "uuid": _compile_uuid,
}

#: syslog-ng 3.38 template functions the relay does not implement (lists, contexts,
#: value-pairs, DNS, getent, ...): compiling one is a TemplateError that says so
NOT_IMPLEMENTED = frozenset({
    "context-lookup", "context-length", "context-values", "implode", "explode", "values",
    "names", "list-concat", "list-head", "list-nth", "list-tail", "list-slice", "list-count",
    "list-append", "list-search", "dns-resolve-ip", "template", "iterate", "map", "filter",
    "getent", "format-cef-extension", "format-welf", "format-flat-json", "python",
})


def compile_function(argv: list[str], context: CompileContext) -> Render:
    """Compile ``$(argv[0] argv[1:]...)``; ``context`` compiles its arguments (and
    conditions)."""
    name = argv[0].replace("_", "-")
    if len(argv) > MAX_ARGS + 1:
        raise TemplateError(
            f'Too many arguments ({len(argv) - 1}) to template function "{argv[0]}", '
            f"maximum number of arguments is {MAX_ARGS}")
    compiler = FUNCTIONS.get(name)
    if compiler is None:
        if name in NOT_IMPLEMENTED:
            raise TemplateError(f"template function {argv[0]!r} is not supported by the relay")
        raise TemplateError(f"unknown template function {argv[0]!r}")
    return compiler(name, argv[1:], context)
