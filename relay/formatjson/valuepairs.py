"""What value-pairs selects and how names become keys: scopes, macro sets, globs, rekey.

The first half of format-json's work on a message: before anything is written, the
writer (``relay.formatjson.writer``) picks the message's macros and name-value pairs by
the scopes and ``--key``/``--exclude`` globs defined here, and turns each name into its
output key through the ``--rekey`` transform sets built from these pieces by
``relay.formatjson.options``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from relay.facts.names import MACRO_TABLE
from relay.formatjson.encode import sort_key

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


# (glob, include) in argument order, from --key, --exclude and --subkeys
Patterns = list[tuple[Callable[[str], bool], bool]]


def included(patterns: Patterns, name: str, default: bool) -> bool:
    """Whether ``name`` is selected: the last glob that matches it decides."""
    selected = default
    for match, include in patterns:
        if match(name):
            selected = include
    return selected


def macro_names(scopes: int, patterns: Patterns) -> list[str]:
    """The selected macros, in order; a macro may come twice."""
    names: list[str] = []
    if patterns:
        names += [n for n in MACRO_TABLE if included(patterns, n, False)]
    sets: list[tuple[str, ...]] = []
    if scopes & (RFC3164 | RFC5424 | SELECTED_MACROS):
        sets.append(RFC3164_SET)
    if scopes & RFC5424:
        sets.append(RFC5424_SET)
    if scopes & SELECTED_MACROS:
        sets.append(SELECTED_SET)
    if scopes & ALL_MACROS:
        sets.append(MACRO_TABLE)
    for macro_set in sets:
        names += [n for n in macro_set if included(patterns, n, True)]
    return names


def takes_pairs(scopes: int, patterns: Patterns) -> bool:
    """Whether any name-value pair can be selected."""
    return bool(scopes & (NV_PAIRS | DOT_NV_PAIRS | SDATA | RFC5424) or patterns)


def pair_in_scopes(scopes: int, name: str) -> bool:
    """Whether the scopes select the name-value pair ``name`` (before the globs)."""
    if name[:1] == ".":
        return bool(scopes & DOT_NV_PAIRS) or (
            bool(scopes & (SDATA | RFC5424)) and name.startswith(".SDATA."))
    return bool(scopes & NV_PAIRS)


# -- globs and key transforms --------------------------------------------------------------


def glob(pattern: str) -> Callable[[str], bool]:
    """GLib's GPatternSpec: ``*`` and ``?`` only, no escapes, whole-string match."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL).fullmatch  # type: ignore[return-value]


KeyTransform = Callable[[str], str]


def shift(amount: int) -> KeyTransform:
    """``--shift``: drop the first ``amount`` bytes."""

    def shift_bytes(key: str) -> str:
        raw = sort_key(key)
        if amount > len(raw):  # syslog-ng leaves a too-short key alone
            return key
        return raw[amount:].decode("utf-8", "surrogateescape")

    return shift_bytes


def shift_levels(amount: int) -> KeyTransform:
    """``--shift-levels``: drop the first ``amount`` dotted levels."""

    def shift(key: str) -> str:
        dot = key.find(".")
        left = amount - 1
        while dot >= 0 and left > 0:
            dot = key.find(".", dot + 1)
            left -= 1
        return key[dot + 1 :] if dot >= 0 else key

    return shift


def add_prefix(prefix: str) -> KeyTransform:
    return lambda key: prefix + key


def replace_prefix(old: str, new: str) -> KeyTransform:
    size = len(old)
    return lambda key: new + key[size:] if key.startswith(old) else key


_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_upper(key: str) -> str:
    """``--upper`` (not in syslog-ng 3.38)."""
    return key.translate(_ASCII_UPPER)


def ascii_lower(key: str) -> str:
    """``--lower`` (not in syslog-ng 3.38)."""
    return key.translate(_ASCII_LOWER)


class TransformSet:
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


def rekey(transforms: list[TransformSet], name: str) -> str:
    """The output key of ``name``: every transform set applied in order."""
    for tset in transforms:
        name = tset.apply(name)
    return name
