"""The string functions of syslog-ng 3.38 (modules/basicfuncs/str-funcs.c): ``echo``,
``length``, ``substr``, ``strip``, ``sanitize``, case, ``padding``, ``binary``, base64 and
URL coding.

Part of the templates stage (``relay.template_functions``).  Each works on the bytes of
its rendered arguments, as syslog-ng does.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

from relay.errors import TemplateError
from relay.facts import cnum
from relay.message import LogMessage
from relay.template_functions._common import (
    C_SPACE,
    CompileContext,
    FunctionCompiler,
    Render,
    compile_args,
    cstr,
    each,
    goption,
    parse_int64,
    simple,
    to_bytes,
    to_str,
)


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
    stripped = [a.strip(C_SPACE) for a in argv]
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
    data = cstr(data)
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
    delimiters = cstr(argv[0])
    new = argv[1][:1] or b"\0"
    haystack = cstr(argv[2])
    if delimiters:
        haystack = haystack.translate(bytes.maketrans(delimiters, new * len(delimiters)))
    return cstr(haystack)  # an empty new delimiter is a NUL, which ends the text


def _indent_multi_line(argv: list[bytes]) -> bytes:
    return re.sub(b"\n(?!\t)", b"\n\t", b" ".join(argv))


def _base64_encode(argv: list[bytes]) -> bytes:
    return base64.b64encode(b"".join(argv))


def _compile_sanitize(name: str, args: list[str], context: CompileContext) -> Render:
    opts, rest = goption(name, args, {
        "ctrl-chars": ("c", "flag"), "no-ctrl-chars": ("C", "noflag"),
        "invalid-chars": ("i", "str"), "replacement": ("r", "str"),
    })
    ctrl = opts.get("ctrl-chars", True)
    invalid = cstr(to_bytes(str(opts.get("invalid-chars", "/"))))
    replacement = (to_bytes(str(opts.get("replacement", "_"))) or b"\0")[:1]
    # strchr() finds the terminating NUL too, so a NUL is always replaced
    bad = set(invalid) | {0} | (set(range(32)) if ctrl else set())
    table = bytes(replacement[0] if c in bad else c for c in range(256))
    renders = compile_args(rest, context)

    def render(msg: LogMessage) -> str:
        return to_str(b"/".join([to_bytes(r(msg)).translate(table) for r in renders]))

    return render


def _compile_padding(name: str, args: list[str], context: CompileContext) -> Render:
    if len(args) < 2:
        raise TemplateError(
            "$(padding) Not enough arguments, usage $(padding <input> <width> [padding string])")
    width = parse_int64(to_bytes(args[1]))
    if width is None:
        raise TemplateError("Padding template function requires a number as second argument!")
    if width < 0:
        # syslog-ng 3.38 aborts on a negative width (g_string_sized_new)
        raise TemplateError("$(padding) requires a width that is not negative")
    fill = cstr(to_bytes(args[2])) if len(args) > 2 else b""
    # the padding is made once: the pattern repeated and cut to the width
    pattern = (fill * (width // len(fill) + 1))[:width] if fill else b" " * width
    text = context.compile_arg(args[0])

    def render(msg: LogMessage) -> str:
        value = to_bytes(text(msg))
        if len(value) > width:
            return to_str(value)
        return to_str(pattern[:width - len(value)] + value)

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
    constant = to_str(bytes(octets))
    return lambda msg: constant


_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _url_encode_one(data: bytes) -> bytes:
    return b"".join(
        [bytes([c]) if c in _URL_SAFE else b"%%%02X" % c for c in cstr(data)])


_URL_ESCAPE = re.compile(rb"%(.?.?)", re.DOTALL)
_HEX2 = re.compile(rb"[0-9A-Fa-f]{2}")


def _url_decode_one(data: bytes) -> bytes:
    text = cstr(data)
    bad = False

    def one(m: re.Match[bytes]) -> bytes:
        nonlocal bad
        if _HEX2.fullmatch(m.group(1)) is None or m.group(1) == b"00":
            bad = True  # g_uri_unescape_string() gives NULL: nothing is written
            return b""
        return bytes([int(m.group(1), 16)])

    decoded = _URL_ESCAPE.sub(one, text)
    return b"" if bad else decoded


FUNCTIONS: dict[str, FunctionCompiler] = {
    "echo": simple(b" ".join),
    "length": simple(_length),
    "substr": simple(_substr),
    "strip": simple(_strip),
    "sanitize": _compile_sanitize,
    "lowercase": simple(each(_utf8_case(False))),
    "uppercase": simple(each(_utf8_case(True))),
    "replace-delimiter": simple(_replace_delimiter),
    "padding": _compile_padding,
    "binary": _compile_binary,
    "base64-encode": simple(_base64_encode),
    "indent-multi-line": simple(_indent_multi_line),
    "url-encode": simple(lambda argv: b"".join([_url_encode_one(a) for a in argv])),
    "url-decode": simple(lambda argv: b"".join([_url_decode_one(a) for a in argv])),
}
