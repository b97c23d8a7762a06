"""PCRE patterns, as syslog-ng 3.38 compiles them, translated into Python ``re`` patterns.

Part of the pipeline stage: filters (``message("...")``, ``match(...)``) and rewrites
(``subst(...)``) are written in PCRE 8 syntax, and this module turns them into an
equivalent Python pattern once, at config load.  What Python cannot express (recursion,
branch reset, callouts, backtracking verbs, Unicode properties, \\G, \\K, \\X) is a
``PcreError`` that names the construct and its offset.

PCRE without the utf8 flag works on bytes with ASCII character tables, so ``\\w``, ``\\d``,
``\\s`` and case folding only know ASCII.  The translation keeps that: with ``ascii_classes``
the shorthand classes are spelt out as ASCII sets, so that a ``str`` pattern without
``re.ASCII`` (needed for Unicode case folding under ``utf8``) still matches like PCRE.

The reading is split by theme: ``reader`` (the cursor, errors, character escapes),
``classes`` (``[...]``), ``groups`` (``(...)`` and alternatives) and ``translator`` (the
main loop, quantifiers and the remaining escapes), each class building on the one before.
"""

from __future__ import annotations

from relay.filter.pcre.reader import PcreError
from relay.filter.pcre.translator import Translator


def translate(pattern: str, *, ascii_classes: bool = False, newline_anycrlf: bool = False) -> str:
    """The Python ``re`` source that matches like the PCRE ``pattern``.

    Raises ``PcreError`` for constructs Python cannot express.
    """
    return Translator(
        pattern, ascii_classes=ascii_classes, newline_anycrlf=newline_anycrlf
    ).translate()


__all__ = ["PcreError", "translate"]
