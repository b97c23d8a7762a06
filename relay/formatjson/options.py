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
# --pair NAME=HINT(VALUE)
_TYPE_HINT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t]*\((.*)\)", re.DOTALL)

_SHORT = {"s": "scope", "x": "exclude", "k": "key", "r": "rekey", "p": "pair", "S": "shift",
          "A": "add-prefix", "R": "replace-prefix"}
_WITH_ARG = {"scope", "exclude", "key", "rekey", "pair", "shift", "shift-levels", "add-prefix",
             "replace-prefix", "replace", "subkeys", "key-delimiter"}
_NO_ARG = {"omit-empty-values", "cast", "no-cast", "auto-cast", "leave-initial-dot", "upper",
           "lower"}


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


def _positive(option: str, text: str) -> int:
    try:
        number = int(text, 0)
    except ValueError:
        number = 0
    if number <= 0:
        raise TemplateError(f"--{option} needs a positive number, not {text!r}")
    return number


def parse_options(args: Sequence[str], compile_value: Callable[[str], StrTemplate]) -> Options:
    """Read ``args`` (those after ``format-json``); ``compile_value`` compiles a ``--pair``
    value.  A bad argument is a ``TemplateError``."""
    argv = list(args)
    opts = Options()
    leave_initial_dot = False
    current: TransformSet | None = None
    current_key: str | None = None

    def finish() -> None:
        nonlocal current, current_key
        if current is not None:
            opts.transforms.append(current)
        current = None
        current_key = None

    def rekey_set(option: str) -> TransformSet:
        nonlocal current, current_key
        if current is None:
            if current_key is None:
                raise TemplateError(f"--{option} used without --key or --rekey")
            current = TransformSet(current_key)
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
        opts.pairs.append((name, compile_value(text), kind))

    def add_key(spec: str) -> None:
        start_key(spec)
        for pattern in spec.split(","):
            opts.patterns.append((glob(pattern), True))

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
                    opts.scopes = 0
                    continue
                flag = SCOPES.get(scope.replace("_", "-"))
                if flag is None:
                    raise TemplateError(f"unknown scope {scope!r}")
                opts.scopes |= flag
        elif name == "exclude":
            assert value is not None
            finish()
            for pattern in value.split(","):
                opts.patterns.append((glob(pattern), False))
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
            rekey_set(name).funcs.append(shift(amount))
        elif name == "shift-levels":
            assert value is not None
            amount = _positive(name, value)
            rekey_set(name).funcs.append(shift_levels(amount))
        elif name == "add-prefix":
            assert value is not None
            rekey_set(name).funcs.append(add_prefix(value))
        elif name in ("replace-prefix", "replace"):
            assert value is not None
            tset = rekey_set(name)
            if "=" not in value:
                raise TemplateError(f"--{name} needs OLD=NEW, not {value!r}")
            old, new = value.split("=", 1)
            tset.funcs.append(replace_prefix(old, new))
        elif name == "subkeys":
            assert value is not None
            if not value:
                raise TemplateError("--subkeys needs a non-empty argument")
            opts.patterns.append((glob(value + "*"), True))
            start_key(value + "*")
            rekey_set(name).funcs.append(replace_prefix(value, ""))
        elif name == "upper":
            rekey_set(name).funcs.append(ascii_upper)
        elif name == "lower":
            rekey_set(name).funcs.append(ascii_lower)
        elif name == "omit-empty-values":
            opts.omit_empty = True
        elif name == "cast":
            opts.cast_to_strings = True
        elif name == "no-cast":
            opts.cast_to_strings = False
        elif name == "auto-cast":
            pass
        elif name == "leave-initial-dot":
            leave_initial_dot = True
        elif name == "key-delimiter":
            assert value is not None
            if len(sort_key(value)) != 1:
                raise TemplateError(
                    f"--key-delimiter takes a single character, not {value!r}")
            opts.key_delimiter = value
    finish()
    if not leave_initial_dot and opts.key_delimiter == ".":
        initial_dot = TransformSet(".*")
        initial_dot.funcs.append(replace_prefix(".", "_"))
        opts.transforms.append(initial_dot)
    return opts
