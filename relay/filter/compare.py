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

from collections.abc import Callable
from dataclasses import dataclass

from relay.facts.cnum import Number, c_atoi, is_int, parse_number, strtol, strtol_prefix, wrap64
from relay.message import LogMessage

LT, EQ, GT = 1, 2, 4
OPERATORS: dict[str, tuple[str, int]] = {
    "<": ("typed", LT), "<=": ("typed", LT | EQ), "==": ("typed", EQ),
    "!=": ("typed", LT | GT), ">=": ("typed", EQ | GT), ">": ("typed", GT),
    "lt": ("string", LT), "le": ("string", LT | EQ), "eq": ("string", EQ),
    "ne": ("string", LT | GT), "ge": ("string", EQ | GT), "gt": ("string", GT),
    "===": ("type-and-value", EQ), "!==": ("type-and-value", LT | GT),
}


def _bool_number(text: str) -> int:
    return 1 if text[:1] in ("T", "t", "1") else 0


def _datetime_msec(text: str) -> int:
    """type_cast_to_datetime_msec(): strtoll seconds times 1000 (wrapping like int64),
    plus up to three characters after a ".", themselves read with strtoll; 0 if bad."""
    read = strtol_prefix(text)
    seconds, end = (0, 0) if read is None else read
    rest = text[end:]
    msec = seconds * 1000
    if rest.startswith("."):
        frac = rest[1:4]
        if frac and not is_int(frac):
            return 0
        msec += strtol(frac) * 10 ** (3 - len(frac))
    elif rest:
        return 0
    return wrap64(msec)


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

