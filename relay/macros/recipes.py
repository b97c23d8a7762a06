"""How some macros are computed, as data: for code generators that want no call per macro.

Data path: parse -> pipeline -> **templates** -> destinations.  A getter from
``relay.macros.resolve`` is all a template needs; but format-json's writer generates one
function per set of pair names and computes the common macros in place, and for that it
needs to know what a getter does.  ``recipe(name)`` says it, in five forms that the
writer turns into code of its own:

- ``Lookups``: the concatenation of ``table[(msg.a + msg.b ...) // div % mod]``;
- ``AttrOr``: ``msg.attr``, or ``default`` when that is empty;
- ``Memo``: ``table[tuple(msg.attr)]`` when present, else ``fill(msg)`` (which fills it);
- ``Guard``: ``getter(msg)`` when ``msg.flags & flag`` or ``pair in msg.values``, else "";
- ``Pair``: ``msg.values.get(name, "")``.

Each equals the macro's getter on every message (tests check it).  A macro without a
recipe (None) is computed by calling its getter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from relay.facts.names import DATE_FIELDS, SEVERITY_NAMES
from relay.macros import pair_of
from relay.macros.dates import FIELD_PARTS, WALL
from relay.macros.text import FACILITY_OF, SEQUENCE_ID, TAGS_TEXTS, seqnum_text, tags
from relay.message import FLAG_LOCAL, LogMessage


class Lookup(NamedTuple):
    """``table[(sum of the message's attributes ``attrs``) // div % mod]`` (no ``% mod``
    when ``mod`` is 0)."""

    table: Mapping[int, str] | Sequence[str]
    attrs: tuple[str, ...]
    div: int = 1
    mod: int = 0


class Lookups(NamedTuple):
    parts: tuple[Lookup, ...]


class AttrOr(NamedTuple):
    attr: str
    default: str


class Memo(NamedTuple):
    table: Mapping[tuple[str, ...], str]
    attr: str
    fill: Callable[[LogMessage], str]


class Guard(NamedTuple):
    flag: int
    pair: str
    getter: Callable[[LogMessage], str]


class Pair(NamedTuple):
    """``msg.values.get(name, "")``: a macro that is the value of a pair."""

    name: str


Recipe = Lookups | AttrOr | Memo | Guard | Pair

_SEVERITY = Lookups((Lookup(SEVERITY_NAMES, ("pri",), 1, 8),))
_RECIPES: dict[str, Recipe] = {
    # (the facility code is pri >> 3 & 127: a PRI has 16 bits, the facility 7 of them)
    "FACILITY": Lookups((Lookup(FACILITY_OF, ("pri",), 8, 128),)),
    "SEVERITY": _SEVERITY,
    "PRIORITY": _SEVERITY,
    "LEVEL": _SEVERITY,
    "SOURCEIP": AttrOr("source_ip", "127.0.0.1"),
    "TAGS": Memo(TAGS_TEXTS, "tags", tags),
    "SEQNUM": Guard(FLAG_LOCAL, SEQUENCE_ID, seqnum_text),
}


def _date_recipe(sec: str, gmtoff: str, field: str) -> Lookups | None:
    parts = FIELD_PARTS.get(field)
    if parts is None:
        return None
    return Lookups(tuple(
        Lookup(p.table, (sec, gmtoff) if p.of == WALL else (gmtoff,), p.div, p.mod)
        for p in parts))


# C_ and P_ read the clock: they have no recipe
for _field in DATE_FIELDS:
    for _prefix, _stamp in (("", "stamp"), ("S_", "stamp"), ("R_", "recvd")):
        _found = _date_recipe(f"{_stamp}_sec", f"{_stamp}_gmtoff", _field)
        if _found is not None:
            _RECIPES[_prefix + _field] = _found


def recipe(name: str) -> Recipe | None:
    """How the getter of macro ``name`` computes its text, or None when not said."""
    found = _RECIPES.get(name)
    if found is None:
        pair = pair_of(name)
        return None if pair is None else Pair(pair)
    return found
