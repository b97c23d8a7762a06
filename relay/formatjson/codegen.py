"""The code format-json's generated writers are made of: how they read a message.

Part of rendering (``relay.formatjson.writer`` generates one writer per set of pair
names).  A writer reads a message as ``msg.attr`` and ``values[name]``; one made for a
parser's ``Shape`` (``relay.parse.shape``) reads the shape's parameters and its Fixed
values instead.  ``expression`` turns a macro's recipe (``relay.macros.recipes``) into
Python source that computes it in place.
"""

from __future__ import annotations

from relay.macros.recipes import AttrOr, Guard, Lookups, Memo, Pair, Recipe
from relay.message import LogMessage
from relay.parse.shape import Fixed, Shape


class Reads:
    """How generated code reads a message: ``msg.attr`` and ``values[name]``, or, with a
    Shape, the expressions it gives and its Fixed values (bound in ``namespace``)."""

    def __init__(self, shape: Shape | None, namespace: dict[str, object]) -> None:
        self.shape = shape
        self.namespace = namespace
        self._fixed: dict[str, object] = {}  # name in namespace -> its value

    def bind(self, name: str, value: object) -> str:
        self.namespace[name] = value
        return name

    def constant(self, name: str, value: object) -> str:
        """NAME bound to VALUE, known to be the same for every message."""
        self._fixed[name] = value
        return self.bind(name, value)

    def fixed(self, expr: str) -> bool:
        return expr in self._fixed

    def empty(self, expr: str) -> bool:
        """Whether EXPR is a constant that is empty for every message."""
        return expr in self._fixed and not self._fixed[expr]

    def _read(self, found: str | Fixed, name: str) -> str:
        if type(found) is Fixed:
            return self.constant(name, found.value)
        return f"({found})"

    def value(self, name: str) -> str:
        if self.shape is None:
            return f"values[{name!r}]"
        return self._read(self.shape.values[name], f"v_{len(self.namespace)}")

    def attr(self, name: str) -> str:
        if not name.isidentifier():
            raise ValueError(f"not an attribute name: {name!r}")
        if self.shape is None:
            return f"msg.{name}"
        return self._read(self.shape.attrs[name], f"a_{name}")

    def fixed_attr(self, name: str) -> tuple[bool, object]:
        """(True, value) when every message has this attribute value."""
        if self.shape is None:
            return False, None
        found = self.shape.attrs[name]
        return (True, found.value) if type(found) is Fixed else (False, None)


def expression(how: Recipe, prefix: str, reads: Reads,
                ident: tuple[str, ...]) -> str | None:
    """The Python expression that computes a macro as its recipe says (the objects it
    names are bound under names starting with ``prefix``), or None when the recipe needs
    the message itself and the code reads a shape."""
    bind = reads.bind
    attr = reads.attr
    if type(how) is Lookups:
        terms = []
        sums: dict[tuple[str, ...], str] = {}  # a sum the parts share is computed once
        for j, part in enumerate(how.parts):
            number = " + ".join(attr(a) for a in part.attrs)
            if len(part.attrs) > 1:
                if part.attrs in sums:
                    number = sums[part.attrs]
                else:
                    name = sums[part.attrs] = f"{prefix}s{len(sums)}"
                    number = f"({name} := {number})"
            if part.div != 1:
                number = f"({number}) // {int(part.div)}"
            if part.mod:
                number = f"({number}) % {int(part.mod)}"
            terms.append(f"{bind(prefix + f't{j}', part.table)}[{number}]")
        return "(" + " + ".join(terms) + ")"
    if type(how) is AttrOr:
        return f"({attr(how.attr)} or {bind(prefix + 'default', how.default)})"
    if type(how) is Memo:
        known, value = reads.fixed_attr(how.attr)
        if known:  # the same text for every message: computed once, here
            sample = LogMessage()
            setattr(sample, how.attr, value)
            return reads.constant(prefix + "value", how.fill(sample))
        if reads.shape is not None:
            return None
        table, fill = bind(prefix + "table", how.table), bind(prefix + "fill", how.fill)
        return f"({table}.get(tuple({attr(how.attr)})) or {fill}(msg))"
    if type(how) is Guard:
        if reads.shape is not None:
            known, flags = reads.fixed_attr("flags")
            if not known or int(flags) & how.flag or how.pair in ident:  # type: ignore[call-overload]
                return None  # (the getter needs the message)
            return reads.constant(prefix + "value", "")
        getter, pair = bind(prefix + "get", how.getter), bind(prefix + "pair", how.pair)
        return f"({getter}(msg) if msg.flags & {int(how.flag)} or {pair} in msg.values else '')"
    if type(how) is Pair:
        if reads.shape is None:
            return f"values.get({how.name!r}, '')"
        if how.name in ident:
            return reads.value(how.name)
        return reads.constant(prefix + "value", "")
    raise TypeError(f"no code for {how!r}")
