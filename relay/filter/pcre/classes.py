"""PCRE character classes (``[...]``) as Python sets, with POSIX named classes and the
shorthands inside them.

Part of the pipeline stage (``relay.filter.pcre``):

    class     = "[" ["^"] ["]"] *( range / posix / escape / CHAR ) "]"
    range     = char "-" char                      ; in order, or an error
    posix     = "[:" ["^"] NAME ":]"               ; [.x.] and [=x=] are errors, as in PCRE
"""

from __future__ import annotations

import re

from relay.filter.pcre.reader import (
    POSIX_CLASSES,
    SHORTHAND_SETS,
    UNSUPPORTED_ESCAPES,
    Reader,
    lit,
)


class ClassReader(Reader):
    """A ``Reader`` that also reads character classes."""

    def posix_syntax_at(self, j: int) -> bool:
        """check_posix_syntax(): does ``[:``, ``[.`` or ``[=`` at ``j`` close like one?"""
        p = self.p
        terminator = p[j + 1 : j + 2]
        if terminator not in (":", ".", "="):
            return False
        k = j + 2
        while k < len(p):
            ch = p[k]
            if ch == "\\" and p[k + 1 : k + 2] in ("]", "\\"):
                k += 2
                continue
            if (ch == "[" and p[k + 1 : k + 2] == terminator) or ch == "]":
                return False
            if ch == terminator and p[k + 1 : k + 2] == "]":
                return True
            k += 1
        return False

    def posix_outside_class(self, start: int) -> None:
        if self.posix_syntax_at(start):
            if self.p[start + 1] == ":":
                raise self.error("POSIX named classes are supported only within a class", start)
            raise self.error("POSIX collating elements are not supported", start)

    def char_class(self) -> str:
        p = self.p
        start = self.i - 1
        negate = False
        if self.peek() == "^":
            negate = True
            self.i += 1
        items: list[str] = []
        first = True
        prev_code: int | None = None  # last single character, for ranges
        while True:
            if self.i >= len(p):
                raise self.error("missing terminating ] for character class", start)
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "[" and p[self.i + 1 : self.i + 2] in (".", "=") and self.posix_syntax_at(
                self.i
            ):
                raise self.error("POSIX collating elements are not supported")
            if c == "[":
                m = re.match(r"\[:(\^?)([a-z]+):\]", p[self.i :])
                if m:
                    if prev_code is not None and items[-1:] == ["-"]:
                        raise self.error("invalid range in character class")
                    if m.group(2) not in POSIX_CLASSES:
                        raise self.error(f"unknown POSIX class [:{m.group(2)}:]")
                    self.i += len(m.group(0))
                    inner = POSIX_CLASSES[m.group(2)]
                    if m.group(1):
                        items.append(f"(?:[^{inner}])")
                    else:
                        items.append(inner)
                    prev_code = None
                    continue
            code: int | None
            self.i += 1
            if c == "\\":
                e = self.peek()
                if not e:
                    raise self.error("\\ at end of pattern")
                self.i += 1
                if e == "Q":
                    end = p.find("\\E", self.i)
                    text = p[self.i :] if end < 0 else p[self.i : end]
                    self.i = len(p) if end < 0 else end + 2
                    items.extend(lit(ord(ch)) for ch in text)
                    prev_code = ord(text[-1]) if text else prev_code
                    continue
                if e == "E":
                    continue
                if e in "dwshvDWSHV":
                    if prev_code is not None and items[-1:] == ["-"]:
                        raise self.error("invalid range in character class")
                    if e in "dws" and not self.ascii_classes:
                        items.append("\\" + e)
                    elif e.islower():
                        items.append(SHORTHAND_SETS[e])
                    else:
                        items.append(f"(?:[^{SHORTHAND_SETS[e.lower()]}])")
                    prev_code = None
                    continue
                if e in UNSUPPORTED_ESCAPES or e in "RXN":
                    raise self.error(f"\\{e} in a character class has no Python equivalent")
                if e in "123456789":
                    m = re.match(r"[0-7]{1,3}", p[self.i - 1 :])
                    if m:
                        self.i += len(m.group(0)) - 1
                        code = int(m.group(0), 8)
                    else:
                        code = ord(e)
                else:
                    code = self.read_char_escape(e, in_class=True)
                    if code is None:
                        code = ord(e)
            else:
                code = ord(c)
            # a range?
            if prev_code is not None and items and items[-1] == "-" and len(items) >= 2:
                items.pop()
                lo = prev_code
                if code < lo:
                    raise self.error("range out of order in character class")
                items[-1] = f"{lit(lo)}-{lit(code)}"
                prev_code = None
                continue
            if code == ord("-") and c == "-" and prev_code is not None and self.peek() != "]":
                items.append("-")
                continue
            items.append(lit(code))
            prev_code = code
        # a trailing "-" pending as a range operator is a literal
        items = [lit(ord("-")) if it == "-" else it for it in items]
        negated = [it for it in items if it.startswith("(?:[^")]
        plain = [it for it in items if not it.startswith("(?:[^")]
        body = "".join(plain)
        if not negated:
            if not body:
                return "(?!)" if not negate else "[\\s\\S]"
            return f"[{'^' if negate else ''}{body}]"
        # a set holding negated POSIX/shorthand classes: build it from alternatives
        alts = ([f"[{body}]"] if body else []) + [it[3:-1] for it in negated]
        union = "(?:" + "|".join(alts) + ")"
        return f"(?:(?!{union})[\\s\\S])" if negate else union
