"""The JSON text of format-json: escaping, type casts and the walker that nests keys.

The bottom of format-json, just before the bytes go to the destinations: the writer
(``relay.formatjson.writer``) hands its sorted key-value pairs here, either as a whole
(``walk``, the exact writer, for typed values, another ``--key-delimiter``, NULs and
invalid UTF-8) or as a nesting skeleton (``nest_shape``) that orjson fills in and writes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

# -- value types (only --pair values with an explicit type hint carry one) ---------------

T_STRING = 0
T_JSON = 1
T_INT32 = 2
T_INT64 = 3
T_DOUBLE = 4
T_BOOLEAN = 5
T_NULL = 6
T_LIST = 7

# what strtod() takes whole: decimal, hexadecimal, inf and nan
_DOUBLE_RE = re.compile(
    r"[ \t\n\v\f\r]*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?i:inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?))"
)


def _double_overflows(text: str) -> bool:
    """Whether strtod would say ERANGE with an infinite result for ``text`` (which matches
    _DOUBLE_RE): a finite number too large for a double.  An underflow is no failure."""
    t = text.lstrip(" \t\n\v\f\r").lstrip("+-")
    if t[:2] in ("0x", "0X"):
        try:
            float.fromhex(t)
        except OverflowError:
            return True
        return False
    return t[:1] not in "iInN" and math.isinf(float(t))


class CastFailed(Exception):
    """A typed value does not parse as its type: syslog-ng drops the whole format-json."""


# -- escaping ----------------------------------------------------------------------------

_ESCAPES: dict[str, str] = {chr(i): f"\\u{i:04x}" for i in range(32)}
_ESCAPES.update({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_ESCAPES.update({'"': '\\"', "\\": "\\\\", "\x00": "\\\\x00"})
for _cp in range(0xD800, 0xE000):
    # surrogateescape maps an undecodable byte b to U+DC00+b; any other lone surrogate
    # stands for its own (invalid) UTF-8 bytes.  Either way: one \\xNN per byte.
    _errors = "surrogateescape" if 0xDC80 <= _cp <= 0xDCFF else "surrogatepass"
    _ESCAPES[chr(_cp)] = "".join(f"\\\\x{b:02x}" for b in chr(_cp).encode("utf-8", _errors))
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\\ud800-\udfff]')


def escape(text: str) -> str:
    """``text`` escaped for the inside of a JSON string, exactly as syslog-ng does it."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group()], text)


def sort_key(name: str) -> bytes:
    # strcmp order is byte order: str order equals it except for surrogates
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")


# -- the walker ----------------------------------------------------------------------------


def split_levels(name: str, delimiter: str) -> list[str]:
    """Split a name into nesting levels the way syslog-ng's walker does.

    With the default delimiter an empty level is not a level (``a..b`` is ``a``,
    ``.b``), and ``@`` followed by digits and dots keeps an SD-ID's enterprise number
    (``x@18372.4.y`` is ``x@18372.4``, ``y``).
    """
    tokens: list[str] = []
    start = i = 0
    n = len(name)
    if delimiter == ".":
        while i < n:
            c = name[i]
            if c == "@":
                while True:
                    i += 1
                    while i < n and "0" <= name[i] <= "9":
                        i += 1
                    if not (i + 1 < n and name[i] == "." and "0" <= name[i + 1] <= "9"):
                        break
            elif c == "." and start != i:
                tokens.append(name[start:i])
                i += 1
                start = i
            else:
                i += 1
                while i < n and name[i] not in "@.":
                    i += 1
    else:
        while i < n:
            if name[i] == delimiter and start != i:
                tokens.append(name[start:i])
                i += 1
                start = i
            else:
                j = name.find(delimiter, i + 1)
                i = j if j >= 0 else n
    if start != i:
        tokens.append(name[start:i])
    return tokens


def _typed_json(value: str, kind: int) -> str:
    """The JSON text of a value with an explicit type hint."""
    if kind == T_JSON:
        return value
    if kind == T_NULL:
        return "null"
    if kind in (T_INT32, T_INT64):
        if not re.fullmatch(r"[ \t\n\v\f\r]*[+-]?[0-9]+", value):
            raise CastFailed(value)
        return escape(value)
    if kind == T_DOUBLE:
        if not _DOUBLE_RE.fullmatch(value) or _double_overflows(value):
            raise CastFailed(value)
        return escape(value)
    if kind == T_BOOLEAN:
        if value[:1] in ("T", "t", "1"):
            return "true"
        if value[:1] in ("F", "f", "0"):
            return "false"
        raise CastFailed(value)
    # T_LIST: the walker writes T_STRING itself, so no other kind gets here
    return "[" + ",".join('"' + escape(v) + '"' for v in _list_items(value)) + "]"


def _list_items(value: str) -> list[str]:
    # syslog-ng's list scanner: comma-separated, items may be quoted
    items: list[str] = []
    for part in value.split(","):
        part = part.strip()
        if len(part) >= 2 and part[0] == part[-1] and part[0] in "\"'":
            part = part[1:-1]
        if part:
            items.append(part)
    return items


def walk(
    items: Sequence[tuple[str, str]],
    delimiter: str = ".",
    types: dict[str, int] | None = None,
) -> str:
    """Write sorted ``(key, value)`` pairs as syslog-ng's walker and JSON writer do."""
    out: list[str] = ["{"]
    stack: list[str] = []  # the dotted prefix of every open object
    need_comma = False
    for name, value in items:
        while stack and not name.startswith(stack[-1]):
            stack.pop()
            out.append("}")
            need_comma = True
        tokens = split_levels(name, delimiter) or [""]
        for i in range(len(stack), len(tokens) - 1):
            if need_comma:
                out.append(",")
            out.append('"' + escape(tokens[i]) + '":{')
            need_comma = False
            stack.append(".".join(tokens[: i + 1]))
        if need_comma:
            out.append(",")
        kind = types.get(name, T_STRING) if types else T_STRING
        if kind == T_STRING:
            out.append('"' + escape(tokens[-1]) + '":"' + escape(value) + '"')
        else:
            out.append('"' + escape(tokens[-1]) + '":' + _typed_json(value, kind))
        need_comma = True
    out.append("}" * (len(stack) + 1))
    return "".join(out)


def nest_shape(keys: Sequence[str]) -> list[tuple[str, object]] | None:
    """The nesting of sorted keys as a fill-in skeleton, or None if orjson can't write it.

    A skeleton is a list of ``(json_key, index_or_sub_skeleton)``.  None means the
    walker would write one key twice in an object (a dict can't hold that) or a key
    is empty.
    """
    root: list[tuple[str, object]] = []
    frames: list[tuple[str, list[tuple[str, object]], set[str]]] = [("", root, set())]
    for index, name in enumerate(keys):
        while len(frames) > 1 and not name.startswith(frames[-1][0]):
            frames.pop()
        tokens = split_levels(name, ".")
        if not tokens:
            return None
        for i in range(len(frames) - 1, len(tokens) - 1):
            _, body, seen = frames[-1]
            if tokens[i] in seen:
                return None
            seen.add(tokens[i])
            child: list[tuple[str, object]] = []
            body.append((tokens[i], child))
            frames.append((".".join(tokens[: i + 1]), child, set()))
        _, body, seen = frames[-1]
        if tokens[-1] in seen:
            return None
        seen.add(tokens[-1])
        body.append((tokens[-1], index))
    return root


def fill_shape(shape: list[tuple[str, object]], values: list[str]) -> dict[str, object]:
    return {
        key: values[sub] if type(sub) is int else fill_shape(sub, values)  # type: ignore[arg-type]
        for key, sub in shape
    }
