"""Template comparisons in filter expressions, with syslog-ng 3.38's exact semantics.

Part of the pipeline stage: ``"${PID}" > "20000"``, ``"$HOST" eq "web1"`` and the like.

With ``@version: 3.38`` syslog-ng picks the comparison from the operator and the operands:

- ``lt le eq ne ge gt`` compare the two rendered strings byte by byte (strcmp).
- ``< <= == != >= >`` compare with C's ``atoi`` (so "abc" and "" are 0), unless an
  operand carries a type: an unquoted number (``> 20000``, but not ``> "20000"``) or a
  cast (``int64("...")``).  Then the comparison is "type aware": two strings compare as
  strings, and otherwise both sides become numbers, where a value that is not a number
  (NaN: "abc", "", an unset pair) makes every operator false except ``!=``.  Without a
  cast every template is a string, macros included: 3.38 passes ``"$LEVEL_NUM" ===
  "5"`` and fails ``"$LEVEL_NUM" === 5``.  An int64 against a double compares as doubles.
- ``=== !==`` also compare the types first.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from relay.message import LogMessage

LT, EQ, GT = 1, 2, 4
OPERATORS: dict[str, tuple[str, int]] = {
    "<": ("typed", LT), "<=": ("typed", LT | EQ), "==": ("typed", EQ),
    "!=": ("typed", LT | GT), ">=": ("typed", EQ | GT), ">": ("typed", GT),
    "lt": ("string", LT), "le": ("string", LT | EQ), "eq": ("string", EQ),
    "ne": ("string", LT | GT), "ge": ("string", EQ | GT), "gt": ("string", GT),
    "===": ("type-and-value", EQ), "!==": ("type-and-value", LT | GT),
}
# type hint names (log_msg_value_type_from_str) and the type they stand for
TYPE_HINTS = {
    "string": "string", "json": "json", "literal": "json", "boolean": "boolean",
    "int32": "int32", "int": "int32", "int64": "int64", "double": "double", "float": "double",
    "datetime": "datetime", "list": "list", "null": "null",
}
_CSPACE = " \t\n\x0b\x0c\r"
_INT = re.compile(r"[ \t\n\x0b\x0c\r]*[-+]?[0-9]+")
_FLOAT = re.compile(
    r"[ \t\n\x0b\x0c\r]*[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
    r"|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)",
    re.IGNORECASE,
)
_HEXFLOAT = re.compile(
    r"[ \t\n\x0b\x0c\r]*([-+]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
    r"(?:[pP][-+]?[0-9]+)?)"
)

Number = int | float | None  # None is NaN
_DBL_MIN = sys.float_info.min
_NONZERO = re.compile("[1-9a-f]")


def c_atoi(text: str) -> int:
    """C's atoi on glibc: strtol clamped to a long, then truncated to an int."""
    m = _INT.match(text)
    if m is None:
        return 0
    value = max(-(2**63), min(2**63 - 1, int(m.group(0).lstrip(_CSPACE))))
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def parse_number(text: str) -> Number:
    """parse_generic_number(): an int64, else a double (strtod), else NaN (None)."""
    if _INT.fullmatch(text):
        value = int(text.lstrip(_CSPACE))
        if -(2**63) <= value < 2**63:
            return value
    exact: Fraction | None = None
    if _FLOAT.fullmatch(text):
        body = text.lstrip(_CSPACE)
        if "n" in body.lower() and "inf" not in body.lower():
            return None  # nan, nan(...)
        result = float(body)
        if abs(result) < _DBL_MIN and "inf" not in body.lower():
            mantissa = body.lower().partition("e")[0]
            if result == 0:
                if _NONZERO.search(mantissa):
                    return None  # ERANGE: underflow to zero
            else:
                exact = Fraction(body)
    else:
        m = _HEXFLOAT.fullmatch(text)
        if m is None:
            return None
        body = m.group(2)
        if "p" not in body.lower():
            body += "p0"
        mantissa, _, exponent = body.lower().partition("p")
        try:
            result = float.fromhex(m.group(1) + "0x" + body)
        except OverflowError:
            return None  # ERANGE: overflow
        if result == 0 and _NONZERO.search(mantissa):
            return None  # ERANGE: underflow to zero
        if 0 < abs(result) < _DBL_MIN:
            whole, _, frac = mantissa.partition(".")
            digits = int((whole + frac) or "0", 16)
            exact = Fraction(digits * (-1 if m.group(1) == "-" else 1)) * Fraction(2) ** (
                int(exponent) - 4 * len(frac))
    if result in (float("inf"), float("-inf")) and "inf" not in text.lower():
        return None  # ERANGE: overflow
    if exact is not None and Fraction(result) != exact:
        return None  # ERANGE: an underflow that lost precision (glibc)
    return result


def _bool_number(text: str) -> int:
    return 1 if text[:1] in ("T", "t", "1") else 0


def _datetime_msec(text: str) -> int:
    """type_cast_to_datetime_msec(): strtoll seconds times 1000 (wrapping like int64),
    plus up to three characters after a ".", themselves read with strtoll; 0 if bad."""
    m = _INT.match(text)
    seconds = 0 if m is None else max(-(2**63), min(2**63 - 1, int(m.group(0).lstrip(_CSPACE))))
    rest = text[m.end():] if m else text
    msec = seconds * 1000
    if rest.startswith("."):
        frac = rest[1:4]
        f = _INT.fullmatch(frac)
        if frac and f is None:
            return 0
        digits = int(frac.lstrip(_CSPACE)) if frac else 0
        msec += digits * 10 ** (3 - len(frac))
    elif rest:
        return 0
    msec &= 0xFFFFFFFFFFFFFFFF
    return msec - 2**64 if msec >= 2**63 else msec


def _to_number(text: str, type_: str) -> Number:
    if type_ in ("json", "list"):
        return None
    if type_ == "null":
        return 0
    if type_ == "boolean":
        return _bool_number(text)
    if type_ == "datetime":
        return _datetime_msec(text)
    return parse_number(text)


def _c_strcmp(a: str, b: str) -> int:
    if not (a.isascii() and b.isascii()):
        ab, bb = a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape")
        return (ab > bb) - (ab < bb)
    return (a > b) - (a < b)


def _outcome(mask: int, cmp: int) -> bool:
    return bool(mask & (EQ if cmp == 0 else LT if cmp < 0 else GT))


def _typed(mask: int, left: str, ltype: str, right: str, rtype: str) -> bool:
    if ltype == rtype and ltype in ("string", "json", "list"):
        return _outcome(mask, _c_strcmp(left, right))
    if ltype == "null" or rtype == "null":
        if mask == LT | GT:
            return ltype != rtype
        if mask == EQ:
            return ltype == rtype
    lnum, rnum = _to_number(left, ltype), _to_number(right, rtype)
    if lnum is None or rnum is None:
        return mask & (LT | GT) == LT | GT
    if type(lnum) is not type(rnum):
        # gn_compare(): an int64 and a double compare as doubles
        lnum, rnum = float(lnum), float(rnum)
    return _outcome(mask, (lnum > rnum) - (lnum < rnum))


@dataclass
class Operand:
    """One side of a comparison: a template, its type hint and whether it is a literal."""

    text: str
    render: Callable[[LogMessage], str]
    hint: str | None = None  # an explicit type (log_template_set_type_hint)
    literal: bool = False

    def type_getter(self) -> Callable[[LogMessage], str]:
        hint = self.hint or "string"
        return lambda msg: hint


def compile_comparison(
    left: Operand, op: str, right: Operand
) -> Callable[[LogMessage], bool]:
    """The predicate for ``left op right``; constant when both sides are literals."""
    kind, mask = OPERATORS[op]
    if kind == "typed" and left.hint is None and right.hint is None:
        kind = "numeric"
    lrender, rrender = left.render, right.render

    fn: Callable[[LogMessage], bool]
    if kind == "string":
        def fn(msg: LogMessage) -> bool:
            return _outcome(mask, _c_strcmp(lrender(msg), rrender(msg)))
    elif kind == "numeric":
        if right.literal:
            r = c_atoi(right.text)

            def fn(msg: LogMessage) -> bool:
                lv = c_atoi(lrender(msg))
                return _outcome(mask, (lv > r) - (lv < r))
        else:
            def fn(msg: LogMessage) -> bool:
                lv, rv = c_atoi(lrender(msg)), c_atoi(rrender(msg))
                return _outcome(mask, (lv > rv) - (lv < rv))
    else:
        ltype, rtype = left.type_getter(), right.type_getter()
        if kind == "typed":
            def fn(msg: LogMessage) -> bool:
                return _typed(mask, lrender(msg), ltype(msg), rrender(msg), rtype(msg))
        else:
            def fn(msg: LogMessage) -> bool:
                lt, rt = ltype(msg), rtype(msg)
                if lt != rt:
                    return mask == LT | GT
                return _typed(mask, lrender(msg), lt, rrender(msg), rt)
    if left.literal and right.literal:
        value = fn(LogMessage())
        return (lambda msg: True) if value else (lambda msg: False)
    return fn

