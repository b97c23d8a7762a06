"""The strict reader: TOML tables into frozen dataclasses, every mistake a ConfigError.

A table is read field by field from the dataclass it becomes: the field's type says what
TOML must hold, ``option(read=..., check=...)`` adds a conversion (a size, an address)
or a check, and a default is written once, in the dataclass.  A key no field takes is an
error; errors name the file, the table (with its number among [[tables]]), the key and,
as far as it can be found, the line.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from relay.config.values import parse_listen, parse_mode, parse_size
from relay.errors import ConfigError

T = TypeVar("T")
_READERS: dict[str, Callable[[Any], Any]] = {"size": parse_size, "listen": parse_listen,
                                             "mode": parse_mode}
_RAW: dict[str, tuple[type, ...]] = {"size": (int, str), "listen": (str,), "mode": (int, str)}


def option(default: Any = dataclasses.MISSING, *, read: str = "",
           check: Callable[[Any], Any] | None = None, list_only: bool = False) -> Any:
    """A dataclass field with how to read it: READ ("size", "listen") converts what TOML
    gave, CHECK returns the value (perhaps normalised) or raises ValueError.  A tuple of
    strings may be written as one string, unless LIST_ONLY."""
    return dataclasses.field(default=default, metadata={"read": read, "check": check,
                                                        "list_only": list_only})


class Loader:
    """One config file: its name and lines, for errors that say where."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, where: str, key: str | None, index: int) -> int:
        """Best effort: the line of KEY inside the INDEX-th [[where]] (or [where]) table."""
        header = re.compile(r"^\s*\[\[?\s*" + re.escape(where.split(".")[0]) + r"\s*\]\]?\s*$")
        any_header = re.compile(r"^\s*\[")
        seen = -1
        start = None
        for n, line in enumerate(self.lines):
            if header.match(line):
                seen += 1
                if seen == max(index, 0):
                    start = n
                    break
        if start is None:
            return 0
        if key is None:
            return start + 1
        # a key of an inline table (rotate = { keep = 0 }) is on the line of its parent key
        keys = [key] + where.split(".")[1:][::-1]
        for k in keys:
            key_re = re.compile(r"^\s*" + re.escape(k) + r"\s*=")
            for n in range(start + 1, len(self.lines)):
                if any_header.match(self.lines[n]):
                    break
                if key_re.match(self.lines[n]):
                    return n + 1
        return start + 1

    def error(self, where: str, key: str | None, message: str, index: int = -1) -> ConfigError:
        table = f"[[{where}]]" if index >= 0 else f"[{where}]"
        if index >= 0:
            table += f" #{index + 1}"
        line = self.line_of(where, key, index)
        at = f", line {line}" if line else ""
        what = f"{table} key {key!r}" if key else table
        return ConfigError(f"{self.path}{at}: {what} {message}")


class Table:
    """One TOML table being read: typed getters that know where they are for errors."""

    def __init__(self, loader: Loader, where: str, data: Mapping[str, Any], index: int = -1):
        self.loader = loader
        self.where = where
        self.data = data
        self.index = index
        self.used: set[str] = set()

    def error(self, key: str | None, message: str) -> ConfigError:
        return self.loader.error(self.where, key, message, self.index)

    def line(self, key: str | None) -> int:
        return self.loader.line_of(self.where, key, self.index)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...,
            required: str = "is required") -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise self.error(key, required)
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join(_type_name(k) for k in kinds)
            raise self.error(key, f"must be {names}, not {_type_name(type(value))}")
        return value

    def names(self, key: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(key, (list, str), default)
        if isinstance(value, str):
            return (value,)
        if not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of names")
        return tuple(value)

    def convert(self, key: str, func: Callable[[Any], T], value: Any) -> T:
        try:
            return func(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def finish(self) -> None:
        for key in self.data:
            if key not in self.used:
                raise self.error(key, "is not a known key")


def _type_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            list: "a list", dict: "a table"}.get(kind, kind.__name__)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unoptional(hint: Any) -> Any:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def read_field(t: Table, f: dataclasses.Field[Any], hint: Any, required: str) -> Any:
    """The value of field F in table T (its default when T does not set it)."""
    key = f.name
    has_default = f.default is not dataclasses.MISSING
    if key not in t.data:
        t.used.add(key)
        if not has_default:
            raise t.error(key, required)
        return f.default
    read = f.metadata.get("read", "")
    hint = _unoptional(hint)
    value: Any
    if read:
        value = t.convert(key, _READERS[read], t.get(key, _RAW[read]))
    elif dataclasses.is_dataclass(hint):
        inner = Table(t.loader, f"{t.where}.{key}", t.get(key, dict), t.index)
        value = read_table(inner, typing.cast(type, hint))
    elif typing.get_origin(hint) is tuple:
        value = t.names(key)
        if not isinstance(t.data[key], list) and f.metadata.get("list_only"):
            raise t.error(key, "must be a list of strings")
    elif hint is float:
        value = float(t.get(key, (int, float)))
    else:
        value = t.get(key, hint)
    check = f.metadata.get("check")
    if check is not None:
        value = t.convert(key, check, value)
    return value


def read_table(t: Table, cls: type[T], *, skip: tuple[str, ...] = (),
               required: str = "is required", **given: Any) -> T:
    """Table T as a CLS: every field not in SKIP or GIVEN is read; then no key may be left."""
    hints = _hints(cls)
    values = dict(given)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in values and f.name not in skip:
            values[f.name] = read_field(t, f, hints[f.name], required)
    t.finish()
    return cls(**values)
