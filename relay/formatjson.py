"""``$(format-json ...)``: value-pairs selection and the JSON writer, as syslog-ng 3.38 does them.

This is the last step of the data path before the destinations: a compiled template
(``relay.template``) calls ``FormatJson.render_bytes`` / ``render_str`` on a parsed
``LogMessage`` and gets the JSON text that syslog-ng's ``$(format-json)`` would write.

The rules, learnt from syslog-ng's value-pairs and format-json and checked against a
live syslog-ng 3.38.1:

* **Selection.** Name-value pairs of the message are taken by scope (``nv-pairs``: names
  not starting with a dot; ``dot-nv-pairs``: names starting with one; ``sdata`` and
  ``rfc5424``: ``.SDATA.*``) and by the ``--key``/``--exclude`` globs, where the last
  glob that matches decides.  Macros come from the scope sets (rfc3164, rfc5424,
  selected-macros, all-macros) unless a glob excludes them, and from the whole macro
  table when a ``--key`` glob names them.  A macro that expands to "" is always left out;
  an empty name-value pair only with ``--omit-empty-values``.  ``--pair`` values are
  templates, evaluated last.
* **Keys.** Each name goes through the ``--rekey`` transform sets in order, then a
  leading ``.`` becomes ``_`` (unless ``--leave-initial-dot`` or another
  ``--key-delimiter``).  The same resulting key twice: the one inserted last wins
  (pairs after macros after name-value pairs).
* **Order.** Keys are sorted in *descending* byte order (``strcmp`` reversed) and then
  walked into nested objects: a container stays open while the next name starts with its
  dotted prefix.  That is syslog-ng's walker, quirks included (``a`` after ``a.b`` lands
  *inside* the ``a`` object), so the walker below mirrors it rather than building a tree.
* **Escaping.** ``"`` and ``\\`` are backslash-escaped, ``\\b \\f \\n \\r \\t`` by name, other
  controls below 0x20 as ``\\u00xx``; a NUL and every byte that is not valid UTF-8 as the
  text ``\\\\xNN``; everything else, 0x7f and non-ASCII included, as is.

orjson writes the same bytes except for NUL and for invalid UTF-8 (which reaches us as
lone surrogates from ``surrogateescape`` and which orjson refuses), so the fast path uses
orjson and falls back to the exact writer only for those.

Options that syslog-ng 3.38 lacks but later versions have: ``--upper`` and ``--lower``
(ASCII case of the rekeyed names).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Protocol

import orjson

import relay.macros
from relay.errors import TemplateError
from relay.macros import NEVER_EMPTY, inline
from relay.message import LogMessage

Getter = Callable[[LogMessage], str]


class StrTemplate(Protocol):
    """What a ``--pair`` value compiles to (a ``relay.template.Template``)."""

    def render_str(self, msg: LogMessage) -> str: ...


# -- scopes ------------------------------------------------------------------------------

NV_PAIRS = 0x01
DOT_NV_PAIRS = 0x02
RFC3164 = 0x04
RFC5424 = 0x08
ALL_MACROS = 0x10
SELECTED_MACROS = 0x20
SDATA = 0x40
EVERYTHING = 0x7F

SCOPES: dict[str, int] = {
    "nv-pairs": NV_PAIRS,
    "dot-nv-pairs": DOT_NV_PAIRS,
    "all-nv-pairs": NV_PAIRS | DOT_NV_PAIRS,
    "rfc3164": RFC3164,
    "core": RFC3164,
    "base": RFC3164,
    "rfc5424": RFC5424,
    "syslog-proto": RFC5424,
    "all-macros": ALL_MACROS,
    "selected-macros": SELECTED_MACROS,
    "sdata": SDATA,
    "everything": EVERYTHING,
}

RFC3164_SET = ("FACILITY", "PRIORITY", "HOST", "PROGRAM", "PID", "MESSAGE", "DATE")
RFC5424_SET = ("MSGID",)
SELECTED_SET = ("TAGS", "SOURCEIP", "SEQNUM")


def _date_names(prefix: str) -> tuple[str, ...]:
    return tuple(
        prefix + n
        for n in (
            "DATE", "FULLDATE", "ISODATE", "STAMP", "YEAR", "YEAR_DAY", "MONTH",
            "MONTH_WEEK", "MONTH_ABBREV", "MONTH_NAME", "DAY", "HOUR", "HOUR12", "MIN",
            "SEC", "MSEC", "USEC", "AMPM", "WEEKDAY", "WEEK_DAY", "WEEK_DAY_ABBREV",
            "WEEK_DAY_NAME", "WEEK", "ISOWEEK", "TZOFFSET", "TZ", "UNIXTIME",
        )
    )


# syslog-ng 3.38's macro table, in its order: the "all-macros" scope and what --key
# globs are matched against.
ALL_MACRO_NAMES: tuple[str, ...] = (
    "FACILITY", "FACILITY_NUM", "SEVERITY", "SEVERITY_NUM", "PRIORITY", "LEVEL",
    "LEVEL_NUM", "TAG", "TAGS", "BSDTAG", "PRI",
    # the plain date macros, with SYSUPTIME in the middle as in the table
    "DATE", "FULLDATE", "ISODATE", "STAMP", "YEAR", "YEAR_DAY", "MONTH", "MONTH_WEEK",
    "MONTH_ABBREV", "MONTH_NAME", "DAY", "HOUR", "HOUR12", "MIN", "SEC", "USEC", "MSEC",
    "AMPM", "WEEKDAY", "WEEK_DAY", "WEEK_DAY_ABBREV", "WEEK_DAY_NAME", "WEEK", "ISOWEEK",
    "TZOFFSET", "TZ", "SYSUPTIME", "UNIXTIME",
    *_date_names("R_"), *_date_names("S_"), *_date_names("C_"), *_date_names("P_"),
    "SDATA", "MSGHDR", "SOURCEIP", "DESTIP", "DESTPORT", "PROTO", "SEQNUM", "CONTEXT_ID",
    "_", "RCPTID", "RUNID", "HOSTID", "UNIQID", "MSG", "MESSAGE", "HOST", "LOGHOST",
)

# -- value types (only --pair values with an explicit type hint carry one) ---------------

T_STRING = 0
T_JSON = 1
T_INT32 = 2
T_INT64 = 3
T_DOUBLE = 4
T_BOOLEAN = 5
T_NULL = 6
T_LIST = 7

TYPE_HINTS: dict[str, int] = {
    "string": T_STRING,
    "datetime": T_STRING,
    "json": T_JSON,
    "literal": T_JSON,
    "int": T_INT32,
    "int32": T_INT32,
    "int64": T_INT64,
    "double": T_DOUBLE,
    "float": T_DOUBLE,
    "boolean": T_BOOLEAN,
    "null": T_NULL,
    "list": T_LIST,
}
_TYPE_HINT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t]*\((.*)\)", re.DOTALL)


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


class _CastFailed(Exception):
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


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape" if text.isascii() else "surrogatepass")


def _sort_key(name: str) -> bytes:
    # strcmp order is byte order: str order equals it except for surrogates
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")


# -- globs and key transforms --------------------------------------------------------------


def glob(pattern: str) -> Callable[[str], bool]:
    """GLib's GPatternSpec: ``*`` and ``?`` only, no escapes, whole-string match."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL).fullmatch  # type: ignore[return-value]


KeyTransform = Callable[[str], str]


def _shift(amount: int) -> KeyTransform:
    def shift(key: str) -> str:
        raw = _sort_key(key)
        if amount > len(raw):  # syslog-ng leaves a too-short key alone
            return key
        return raw[amount:].decode("utf-8", "surrogateescape")

    return shift


def _shift_levels(amount: int) -> KeyTransform:
    def shift_levels(key: str) -> str:
        dot = key.find(".")
        left = amount - 1
        while dot >= 0 and left > 0:
            dot = key.find(".", dot + 1)
            left -= 1
        return key[dot + 1 :] if dot >= 0 else key

    return shift_levels


def _add_prefix(prefix: str) -> KeyTransform:
    return lambda key: prefix + key


def _replace_prefix(old: str, new: str) -> KeyTransform:
    size = len(old)
    return lambda key: new + key[size:] if key.startswith(old) else key


_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class _TransformSet:
    """Transforms applied, in order, to a key that matches the set's glob."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.match = glob(pattern)
        self.funcs: list[KeyTransform] = []

    def apply(self, key: str) -> str:
        if self.match(key):
            for func in self.funcs:
                key = func(key)
        return key


# -- the walker ----------------------------------------------------------------------------


def _tokens(name: str, delimiter: str) -> list[str]:
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
            raise _CastFailed(value)
        return escape(value)
    if kind == T_DOUBLE:
        if not _DOUBLE_RE.fullmatch(value) or _double_overflows(value):
            raise _CastFailed(value)
        return escape(value)
    if kind == T_BOOLEAN:
        if value[:1] in ("T", "t", "1"):
            return "true"
        if value[:1] in ("F", "f", "0"):
            return "false"
        raise _CastFailed(value)
    if kind == T_LIST:
        return "[" + ",".join('"' + escape(v) + '"' for v in _list_items(value)) + "]"
    return '"' + escape(value) + '"'


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
        tokens = _tokens(name, delimiter) or [""]
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


def _shape(keys: Sequence[str]) -> list[tuple[str, object]] | None:
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
        tokens = _tokens(name, ".")
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


def _fill(shape: list[tuple[str, object]], values: list[str]) -> dict[str, object]:
    return {
        key: values[sub] if type(sub) is int else _fill(sub, values)  # type: ignore[arg-type]
        for key, sub in shape
    }


# -- format-json itself ------------------------------------------------------------------

_SHORT = {"s": "scope", "x": "exclude", "k": "key", "r": "rekey", "p": "pair", "S": "shift",
          "A": "add-prefix", "R": "replace-prefix"}
_WITH_ARG = {"scope", "exclude", "key", "rekey", "pair", "shift", "shift-levels", "add-prefix",
             "replace-prefix", "replace", "subkeys", "key-delimiter"}
_NO_ARG = {"omit-empty-values", "cast", "no-cast", "auto-cast", "leave-initial-dot", "upper",
           "lower"}
_NAME_CACHE_LIMIT = 4096
_UNKNOWN: list[tuple[str, str]] = []
# macros that read the name-value pair of the same name
_PAIR_MACROS = frozenset({"HOST", "MESSAGE", "PROGRAM", "PID", "MSGID"})
_SHAPE_CACHE_LIMIT = 1024


def _positive(option: str, text: str) -> int:
    try:
        number = int(text, 0)
    except ValueError:
        number = 0
    if number <= 0:
        raise TemplateError(f"--{option} needs a positive number, not {text!r}")
    return number


class FormatJson:
    """One compiled ``$(format-json ...)``; ``args`` are its arguments after the name."""

    def __init__(self, args: Sequence[str], compile_value: Callable[[str], StrTemplate],
                 resolve: Callable[[str], Getter]) -> None:
        self.scopes = 0
        self.patterns: list[tuple[Callable[[str], bool], bool]] = []
        self.pairs: list[tuple[str, StrTemplate, int]] = []
        self.transforms: list[_TransformSet] = []
        self.omit_empty = False
        self.cast_to_strings = True
        self.key_delimiter = "."
        self._parse(list(args), compile_value)
        self._prepare(resolve)

    # ---- the command line, as GOption reads it -----------------------------------------

    def _parse(self, argv: list[str], compile_value: Callable[[str], StrTemplate]) -> None:
        leave_initial_dot = False
        current: _TransformSet | None = None
        current_key: str | None = None

        def finish() -> None:
            nonlocal current, current_key
            if current is not None:
                self.transforms.append(current)
            current = None
            current_key = None

        def rekey_set(option: str) -> _TransformSet:
            nonlocal current, current_key
            if current is None:
                if current_key is None:
                    raise TemplateError(f"--{option} used without --key or --rekey")
                current = _TransformSet(current_key)
                current_key = None
            return current

        def start_key(key: str) -> None:
            nonlocal current_key
            finish()
            current_key = key

        def add_pair(spec: str) -> None:
            finish()
            if "=" not in spec:
                raise TemplateError(f"--pair needs NAME=VALUE, not {spec!r}")
            name, text = spec.split("=", 1)
            kind = -1  # no explicit type
            m = _TYPE_HINT_RE.fullmatch(text)
            if m is not None:
                hint = m.group(1)
                if hint not in TYPE_HINTS and hint != "none":
                    raise TemplateError(f"unknown type hint {hint!r} in --pair {spec!r}")
                text = m.group(2)
                kind = TYPE_HINTS.get(hint, -1)
            self.pairs.append((name, compile_value(text), kind))

        def add_key(spec: str) -> None:
            start_key(spec)
            for pattern in spec.split(","):
                self.patterns.append((glob(pattern), True))

        i = 0
        options_done = False
        while i < len(argv):
            arg = argv[i]
            i += 1
            if options_done or not arg.startswith("-") or arg == "-":
                add_key(arg) if "=" not in arg else add_pair(arg)
                continue
            if arg == "--":
                options_done = True
                continue
            value: str | None = None
            if arg.startswith("--"):
                name = arg[2:]
                if "=" in name:
                    name, value = name.split("=", 1)
            elif len(arg) == 2 and arg[1] in _SHORT:
                name = _SHORT[arg[1]]
            else:
                raise TemplateError(f"unknown option {arg}")
            if name in _NO_ARG:
                if value is not None:
                    raise TemplateError(f"option --{name} takes no value")
            elif name in _WITH_ARG:
                if value is None:
                    if i >= len(argv):
                        raise TemplateError(f"missing argument for {arg}")
                    value = argv[i]
                    i += 1
            else:
                raise TemplateError(f"unknown option {arg}")

            if name == "scope":
                assert value is not None
                finish()
                for scope in value.split(","):
                    if scope == "none":
                        self.scopes = 0
                        continue
                    flag = SCOPES.get(scope.replace("_", "-"))
                    if flag is None:
                        raise TemplateError(f"unknown scope {scope!r}")
                    self.scopes |= flag
            elif name == "exclude":
                assert value is not None
                finish()
                for pattern in value.split(","):
                    self.patterns.append((glob(pattern), False))
            elif name == "key":
                assert value is not None
                add_key(value)
            elif name == "rekey":
                assert value is not None
                start_key(value)
            elif name == "pair":
                assert value is not None
                add_pair(value)
            elif name == "shift":
                assert value is not None
                amount = _positive(name, value)
                rekey_set(name).funcs.append(_shift(amount))
            elif name == "shift-levels":
                assert value is not None
                amount = _positive(name, value)
                rekey_set(name).funcs.append(_shift_levels(amount))
            elif name == "add-prefix":
                assert value is not None
                rekey_set(name).funcs.append(_add_prefix(value))
            elif name in ("replace-prefix", "replace"):
                assert value is not None
                tset = rekey_set(name)
                if "=" not in value:
                    raise TemplateError(f"--{name} needs OLD=NEW, not {value!r}")
                old, new = value.split("=", 1)
                tset.funcs.append(_replace_prefix(old, new))
            elif name == "subkeys":
                assert value is not None
                if not value:
                    raise TemplateError("--subkeys needs a non-empty argument")
                self.patterns.append((glob(value + "*"), True))
                start_key(value + "*")
                rekey_set(name).funcs.append(_replace_prefix(value, ""))
            elif name == "upper":
                rekey_set(name).funcs.append(lambda key: key.translate(_ASCII_UPPER))
            elif name == "lower":
                rekey_set(name).funcs.append(lambda key: key.translate(_ASCII_LOWER))
            elif name == "omit-empty-values":
                self.omit_empty = True
            elif name == "cast":
                self.cast_to_strings = True
            elif name == "no-cast":
                self.cast_to_strings = False
            elif name == "auto-cast":
                pass
            elif name == "leave-initial-dot":
                leave_initial_dot = True
            elif name == "key-delimiter":
                assert value is not None
                if len(_sort_key(value)) != 1:
                    raise TemplateError(
                        f"--key-delimiter takes a single character, not {value!r}")
                self.key_delimiter = value
        finish()
        if not leave_initial_dot and self.key_delimiter == ".":
            initial_dot = _TransformSet(".*")
            initial_dot.funcs.append(_replace_prefix(".", "_"))
            self.transforms.append(initial_dot)

    # ---- compile-time precomputation ---------------------------------------------------

    def _included_by_patterns(self, name: str, default: bool) -> bool:
        included = default
        for match, include in self.patterns:
            if match(name):
                included = include
        return included

    def _rekey(self, name: str) -> str:
        for tset in self.transforms:
            name = tset.apply(name)
        return name

    def _prepare(self, resolve: Callable[[str], Getter]) -> None:
        names: list[str] = []
        if self.patterns:
            names += [n for n in ALL_MACRO_NAMES if self._included_by_patterns(n, False)]
        sets: list[tuple[str, ...]] = []
        if self.scopes & (RFC3164 | RFC5424 | SELECTED_MACROS):
            sets.append(RFC3164_SET)
        if self.scopes & RFC5424:
            sets.append(RFC5424_SET)
        if self.scopes & SELECTED_MACROS:
            sets.append(SELECTED_SET)
        if self.scopes & ALL_MACROS:
            sets.append(ALL_MACRO_NAMES)
        for macro_set in sets:
            names += [n for n in macro_set if self._included_by_patterns(n, True)]
        self.use_values = bool(self.scopes & (NV_PAIRS | DOT_NV_PAIRS | SDATA | RFC5424)
                               or self.patterns)
        # name-value pair name -> output key, or None when left out
        self._names: dict[str, str | None] = {}
        # the names of a message's pairs -> which go where (None: all, unchanged)
        self._value_plans: dict[tuple[str, ...], list[tuple[str, str]] | None] = {}
        self._shapes: dict[tuple[str, ...], tuple[list[str], object]] = {}
        only_initial_dot = all(t.pattern == ".*" for t in self.transforms)
        builtins: list[tuple[str, Getter]] = []
        nonempty: set[str] = set()
        inlines: list[tuple[str, dict[str, object]] | None] = []
        for name in dict.fromkeys(names):  # a macro twice has the same value twice
            # a macro that is also an included name-value pair of the same name adds nothing:
            # it has the same value, and when that is empty the pair's "" stays anyway
            if only_initial_dot and name in _PAIR_MACROS and self._value_key(name) == name:
                continue
            builtins.append((self._rekey(name), resolve(name)))
            if name in NEVER_EMPTY:
                nonempty.add(builtins[-1][0])
            # generated writers compute these macros in place (when they are ours)
            inlines.append(inline(name) if resolve is relay.macros.resolve else None)
        self.builtins = builtins
        self._nonempty_keys = nonempty
        self._inlines = inlines
        self.pair_keys: list[tuple[str, StrTemplate, int]] = [
            (self._rekey(name), tpl, kind) for name, tpl, kind in self.pairs
        ]
        self._fast = not self.pairs and self.key_delimiter == "."
        self.render_bytes: Callable[[LogMessage], bytes] = self.renderer()

    def _value_key(self, name: str) -> str | None:
        scopes = self.scopes
        if name[:1] == ".":
            included = bool(scopes & DOT_NV_PAIRS) or (
                bool(scopes & (SDATA | RFC5424)) and name.startswith(".SDATA."))
        else:
            included = bool(scopes & NV_PAIRS)
        included = self._included_by_patterns(name, included)
        key = self._rekey(name) if included else None
        if len(self._names) >= _NAME_CACHE_LIMIT:
            self._names.clear()
        self._names[name] = key
        return key

    # ---- per message ---------------------------------------------------------------------

    def collect(self, msg: LogMessage) -> tuple[dict[str, str], dict[str, int] | None]:
        """The selected key-value pairs (unsorted) and the explicit types, if any."""
        result: dict[str, str]
        if self.use_values:
            values = msg.values
            ident = tuple(values)
            plan = self._value_plans.get(ident, _UNKNOWN)
            if plan is _UNKNOWN:
                plan = self._value_plan(ident)
            if plan is None:
                result = values.copy()
            elif self.omit_empty:
                result = {key: v for name, key in plan if (v := values[name])}  # type: ignore[union-attr]
            else:
                result = {key: values[name] for name, key in plan}  # type: ignore[union-attr]
        else:
            result = {}
        for key, getter in self.builtins:
            value = getter(msg)
            if value:
                result[key] = value
        types: dict[str, int] | None = None
        if self.pair_keys:
            for key, tpl, kind in self.pair_keys:
                value = tpl.render_str(msg)
                if self.omit_empty and not value:
                    continue
                result[key] = value  # the last insert wins
                if kind < 0 and not self.cast_to_strings and _is_json_template(tpl):
                    kind = T_JSON
                if kind > 0:
                    if types is None:
                        types = {}
                    types[key] = kind
                elif types is not None:
                    types.pop(key, None)
        return result, types

    def _value_plan(self, ident: tuple[str, ...]) -> list[tuple[str, str]] | None:
        names = self._names
        plan = [(name, key) for name in ident
                if (key := names[name] if name in names else self._value_key(name)) is not None]
        whole = not self.omit_empty and len(plan) == len(ident) and all(
            name == key for name, key in plan)
        if len(self._value_plans) >= _SHAPE_CACHE_LIMIT:
            self._value_plans.clear()
        self._value_plans[ident] = None if whole else plan
        return None if whole else plan

    def render_str(self, msg: LogMessage) -> str:
        return self.render_bytes(msg).decode("utf-8")

    def renderer(self, suffix: bytes = b"") -> Callable[[LogMessage], bytes]:
        """A function that writes a message's JSON followed by ``suffix``.

        Pairs and macros only, with no --pair and the default delimiter, make a flat
        object whose keys are fixed by the names of the message's pairs.  For each set of
        names seen twice, the JSON is written by a function generated for that set: one
        dict display in the final key order, which orjson writes as it is.
        """
        general = self._render_general
        fallback = general
        if suffix:
            def fallback(msg: LogMessage) -> bytes:
                return general(msg) + suffix
        if not self._fast:
            return fallback
        shapes: dict[tuple[str, ...], Callable[[LogMessage], bytes]] = {}
        seen: set[tuple[str, ...]] = set()

        def render(msg: LogMessage) -> bytes:
            ident = tuple(msg.values)
            fn = shapes.get(ident)
            if fn is not None:
                return fn(msg)
            if ident not in seen:  # a set of names seen once may never come back
                if len(seen) >= _SHAPE_CACHE_LIMIT:
                    seen.clear()
                seen.add(ident)
                return fallback(msg)
            if len(shapes) >= _SHAPE_CACHE_LIMIT:
                shapes.clear()
            fn = shapes[ident] = self._shape_function(ident, suffix, fallback) or fallback
            return fn(msg)

        return render

    def _shape_function(self, ident: tuple[str, ...], suffix: bytes,
                        fallback: Callable[[LogMessage], bytes]
                        ) -> Callable[[LogMessage], bytes] | None:
        """The generated writer for messages whose pair names are ``ident``, or None."""
        plan = self._value_plans.get(ident, _UNKNOWN)
        if plan is _UNKNOWN:
            plan = self._value_plan(ident)
        pairs = [(name, name) for name in ident] if plan is None else plan
        pair_names = {key: name for name, key in pairs}
        macro_keys = [key for key, _ in self.builtins]
        keys = set(pair_names) | set(macro_keys)
        if (len(pair_names) != len(pairs) or len(set(macro_keys)) != len(macro_keys)
                or not all(k and k.isascii() and "." not in k and "@" not in k for k in keys)):
            return None
        # key -> (the Python expression of its value, whether an empty value drops it)
        exprs: dict[str, tuple[str, bool]] = {
            key: (f"values[{name!r}]", self.omit_empty) for key, name in pair_names.items()}
        namespace: dict[str, object] = {"dumps": orjson.dumps, "fallback": fallback}
        for i, (key, getter) in enumerate(self.builtins):
            expr = f"g{i}(msg)"
            namespace[f"g{i}"] = getter
            found = self._inlines[i]
            if found is not None:
                expr, names = found
                namespace.update(names)
            if key in exprs:  # a macro and a pair of one key: a non-empty macro wins
                exprs[key] = (f"({expr} or {exprs[key][0]})", self.omit_empty)
            else:
                exprs[key] = (expr, key not in self._nonempty_keys)
        order = sorted(exprs, reverse=True)
        option = orjson.OPT_APPEND_NEWLINE if suffix == b"\n" else 0
        namespace["suffix"] = suffix
        lines = ["def render(msg):", "    values = msg.values", "    d = {"]
        lines += [f"        {key!r}: {exprs[key][0]}," for key in order]
        lines.append("    }")
        lines += [f"    if not d[{key!r}]: del d[{key!r}]" for key in order if exprs[key][1]]
        lines += [
            "    try:",
            f"        out = dumps(d, option={option})",
            "    except TypeError:  # a lone surrogate: bytes that were not UTF-8",
            "        return fallback(msg)",
            # a NUL, which syslog-ng writes as \\x00; look for a backslash first, since
            # "in" with an int is a plain memchr and with bytes it costs ten times more
            "    if 92 in out and b'\\\\u0000' in out:",
            "        return fallback(msg)",
            "    return out" + ("" if option or not suffix else " + suffix"),
        ]
        exec("\n".join(lines), namespace)
        return namespace["render"]  # type: ignore[return-value]

    def _render_general(self, msg: LogMessage) -> bytes:
        result, types = self.collect(msg)
        if types is None and self.key_delimiter == ".":
            ident = tuple(result)
            known = self._shapes.get(ident)
            if known is None:
                known = self._plan(ident)
            keys, shape = known
            if shape is not None:
                try:
                    if type(shape) is dict:  # flat: the keys in order, to be filled in
                        ordered = shape.copy()
                        ordered.update(result)
                        out = orjson.dumps(ordered)
                    else:
                        out = orjson.dumps(_fill(shape, [result[k] for k in keys]))  # type: ignore[arg-type]
                except TypeError:  # a lone surrogate: bytes that were not UTF-8
                    pass
                else:
                    if 92 not in out or b"\\u0000" not in out:
                        return out
            return walk([(k, result[k]) for k in keys]).encode("utf-8")
        return self._render_slow(result, types)

    def _plan(self, ident: tuple[str, ...]) -> tuple[list[str], object]:
        if all(k.isascii() for k in ident):
            keys = sorted(ident, reverse=True)
        else:
            keys = sorted(ident, key=_sort_key, reverse=True)
        shape: object
        if not any("." in k or "@" in k or not k for k in keys):
            shape = dict.fromkeys(keys)  # flat
        else:
            shape = _shape(keys)
        if len(self._shapes) >= _SHAPE_CACHE_LIMIT:
            self._shapes.clear()
        plan = (keys, shape)
        self._shapes[ident] = plan
        return plan

    def _render_slow(self, result: dict[str, str], types: dict[str, int] | None) -> bytes:
        keys = sorted(result, key=_sort_key, reverse=True)
        try:
            text = walk([(k, result[k]) for k in keys], self.key_delimiter, types)
        except _CastFailed:
            return b""
        return text.encode("utf-8")


def _is_json_template(tpl: StrTemplate) -> bool:
    return bool(getattr(tpl, "is_json", False))
