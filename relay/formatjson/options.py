"""The arguments of ``$(format-json ...)``, read as syslog-ng's GOption reads them.

Compile time, before any message: ``relay.template`` finds a ``$(format-json ...)`` and
``relay.formatjson.writer`` hands its arguments here.  ``parse_options`` turns them into
``Options``: the scopes, ``--key``/``--exclude`` globs and ``--rekey`` transform sets of
``relay.formatjson.valuepairs``, and the ``--pair`` templates with their type hints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from relay.errors import TemplateError
from relay.facts.goption import OptionError, read_options
from relay.facts.names import TYPE_HINTS as FACT_TYPE_HINTS
from relay.formatjson.encode import (
    T_BOOLEAN,
    T_DOUBLE,
    T_INT32,
    T_INT64,
    T_JSON,
    T_LIST,
    T_NULL,
    T_STRING,
    sort_key,
)
from relay.formatjson.valuepairs import (
    SCOPES,
    Patterns,
    TransformSet,
    add_prefix,
    ascii_lower,
    ascii_upper,
    glob,
    replace_prefix,
    shift,
    shift_levels,
)
from relay.message import LogMessage


class StrTemplate(Protocol):
    """What a ``--pair`` value compiles to (a ``relay.template.Template``)."""

    def render_str(self, msg: LogMessage) -> str: ...


# what the writer makes of each type name; format-json writes a datetime as a string
_TYPE_CODES = {"string": T_STRING, "json": T_JSON, "boolean": T_BOOLEAN, "int32": T_INT32,
               "int64": T_INT64, "double": T_DOUBLE, "list": T_LIST, "null": T_NULL}
#: --pair type hint -> the writer's type code
TYPE_HINTS: dict[str, int] = {
    hint: _TYPE_CODES["string" if kind == "datetime" else kind]
    for hint, kind in FACT_TYPE_HINTS.items()
}
# --pair NAME=HINT(VALUE)
_TYPE_HINT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t]*\((.*)\)", re.DOTALL)

_SHORT = {"s": "scope", "x": "exclude", "k": "key", "r": "rekey", "p": "pair", "S": "shift",
          "A": "add-prefix", "R": "replace-prefix"}


@dataclass
class Options:
    """One ``$(format-json ...)``'s arguments, read."""

    scopes: int = 0
    patterns: Patterns = field(default_factory=list)
    # (name, value template, type: -1 for none given)
    pairs: list[tuple[str, StrTemplate, int]] = field(default_factory=list)
    transforms: list[TransformSet] = field(default_factory=list)
    omit_empty: bool = False
    cast_to_strings: bool = True
    key_delimiter: str = "."
    leave_initial_dot: bool = False


def _positive(option: str, text: str) -> int:
    try:
        number = int(text, 0)
    except ValueError:
        number = 0
    if number <= 0:
        raise TemplateError(f"--{option} needs a positive number, not {text!r}")
    return number


class _Reader:
    """The state of one reading: the options so far and the open --rekey set.

    syslog-ng's --key and --rekey name the glob of a transform set that the transform
    options after them (--shift, --add-prefix, ...) fill; the set closes at the next
    --key, --rekey, --scope, --exclude or --pair.
    """

    def __init__(self, compile_value: Callable[[str], StrTemplate]) -> None:
        self.opts = Options()
        self.compile_value = compile_value
        self.current: TransformSet | None = None
        self.current_key: str | None = None

    def finish(self) -> None:
        if self.current is not None:
            self.opts.transforms.append(self.current)
        self.current = None
        self.current_key = None

    def rekey_set(self, option: str) -> TransformSet:
        if self.current is None:
            if self.current_key is None:
                raise TemplateError(f"--{option} used without --key or --rekey")
            self.current = TransformSet(self.current_key)
            self.current_key = None
        return self.current

    def start_key(self, key: str) -> None:
        self.finish()
        self.current_key = key

    def positional(self, word: str) -> None:
        self.pair(word) if "=" in word else self.key(word)

    # ---- options that select --------------------------------------------------------

    def scope(self, value: str) -> None:
        self.finish()
        for scope in value.split(","):
            if scope == "none":
                self.opts.scopes = 0
                continue
            flag = SCOPES.get(scope.replace("_", "-"))
            if flag is None:
                raise TemplateError(f"unknown scope {scope!r}")
            self.opts.scopes |= flag

    def exclude(self, value: str) -> None:
        self.finish()
        for pattern in value.split(","):
            self.opts.patterns.append((glob(pattern), False))

    def key(self, value: str) -> None:
        self.start_key(value)
        for pattern in value.split(","):
            self.opts.patterns.append((glob(pattern), True))

    def pair(self, spec: str) -> None:
        self.finish()
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
        self.opts.pairs.append((name, self.compile_value(text), kind))

    # ---- options that rename ----------------------------------------------------------

    def rekey(self, value: str) -> None:
        self.start_key(value)

    def shift(self, value: str) -> None:
        self.rekey_set("shift").funcs.append(shift(_positive("shift", value)))

    def shift_levels(self, value: str) -> None:
        amount = _positive("shift-levels", value)
        self.rekey_set("shift-levels").funcs.append(shift_levels(amount))

    def add_prefix(self, value: str) -> None:
        self.rekey_set("add-prefix").funcs.append(add_prefix(value))

    def replace_prefix(self, value: str, option: str = "replace-prefix") -> None:
        tset = self.rekey_set(option)
        if "=" not in value:
            raise TemplateError(f"--{option} needs OLD=NEW, not {value!r}")
        old, new = value.split("=", 1)
        tset.funcs.append(replace_prefix(old, new))

    def replace(self, value: str) -> None:
        self.replace_prefix(value, "replace")

    def subkeys(self, value: str) -> None:
        if not value:
            raise TemplateError("--subkeys needs a non-empty argument")
        self.opts.patterns.append((glob(value + "*"), True))
        self.start_key(value + "*")
        self.rekey_set("subkeys").funcs.append(replace_prefix(value, ""))

    def upper(self) -> None:
        self.rekey_set("upper").funcs.append(ascii_upper)

    def lower(self) -> None:
        self.rekey_set("lower").funcs.append(ascii_lower)

    def key_delimiter(self, value: str) -> None:
        if len(sort_key(value)) != 1:
            raise TemplateError(f"--key-delimiter takes a single character, not {value!r}")
        self.opts.key_delimiter = value

    # ---- flags ------------------------------------------------------------------------

    def omit_empty_values(self) -> None:
        self.opts.omit_empty = True

    def cast(self) -> None:
        self.opts.cast_to_strings = True

    def no_cast(self) -> None:
        self.opts.cast_to_strings = False

    def auto_cast(self) -> None:
        pass

    def leave_initial_dot(self) -> None:
        self.opts.leave_initial_dot = True


# option -> what reads it: a method of _Reader that takes the value, or none
_WITH_VALUE: dict[str, Callable[[_Reader, str], None]] = {
    "scope": _Reader.scope, "exclude": _Reader.exclude, "key": _Reader.key,
    "rekey": _Reader.rekey, "pair": _Reader.pair, "shift": _Reader.shift,
    "shift-levels": _Reader.shift_levels, "add-prefix": _Reader.add_prefix,
    "replace-prefix": _Reader.replace_prefix, "replace": _Reader.replace,
    "subkeys": _Reader.subkeys, "key-delimiter": _Reader.key_delimiter,
}  # fmt: skip
_FLAGS: dict[str, Callable[[_Reader], None]] = {
    "omit-empty-values": _Reader.omit_empty_values, "cast": _Reader.cast,
    "no-cast": _Reader.no_cast, "auto-cast": _Reader.auto_cast,
    "leave-initial-dot": _Reader.leave_initial_dot, "upper": _Reader.upper,
    "lower": _Reader.lower,
}  # fmt: skip
_TAKES_VALUE = {name: True for name in _WITH_VALUE} | {name: False for name in _FLAGS}


def parse_options(args: Sequence[str], compile_value: Callable[[str], StrTemplate]) -> Options:
    """Read ``args`` (those after ``format-json``); ``compile_value`` compiles a ``--pair``
    value.  A bad argument is a ``TemplateError``."""
    reader = _Reader(compile_value)
    try:
        for name, value, _ in read_options(list(args), _TAKES_VALUE, _SHORT,
                                           grouped_shorts=False):
            if name is None:
                assert value is not None
                reader.positional(value)
            elif name in _FLAGS:
                if value is not None:
                    raise TemplateError(f"option --{name} takes no value")
                _FLAGS[name](reader)
            else:
                assert value is not None
                _WITH_VALUE[name](reader, value)
    except OptionError as exc:
        raise TemplateError(str(exc)) from None
    reader.finish()
    opts = reader.opts
    if not opts.leave_initial_dot and opts.key_delimiter == ".":
        initial_dot = TransformSet(".*")
        initial_dot.funcs.append(replace_prefix(".", "_"))
        opts.transforms.append(initial_dot)
    return opts
