"""The PCRE to Python translation proper: the main loop over atoms, quantifiers, anchors
and escapes, on top of the class and group readers.

Part of the pipeline stage (``relay.filter.pcre``):

    pattern   = *( atom [ quantifier ] / "|" )
    quantifier = ( "*" / "+" / "?" / "{" n [ "," [ m ] ] "}" ) [ "?" / "+" ]
    atom      = CHAR / "." / "^" / "$" / escape / class / group
              / "\\" DIGIT+ / "\\g" ref / "\\k<" NAME ">"   ; back references
              / "\\Q" *CHAR "\\E"                        ; quoted text
"""

from __future__ import annotations

import re

from relay.filter.pcre.groups import GroupReader
from relay.filter.pcre.reader import UNSUPPORTED_ESCAPES, lit

_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}")


class Translator(GroupReader):
    """One pattern's translation: ``translate()`` gives the Python source."""

    def __init__(self, pattern: str, *, ascii_classes: bool, newline_anycrlf: bool) -> None:
        super().__init__(pattern, ascii_classes=ascii_classes)
        self.anycrlf = newline_anycrlf

    def translate(self) -> str:
        p = self.p
        while self.i < len(p):
            c = p[self.i]
            start = self.i
            self.i += 1
            extended = self.frames[-1].extended
            if extended and c in " \t\n\r\x0b\x0c":
                continue
            if extended and c == "#":
                nl = p.find("\n", self.i)
                self.i = len(p) if nl < 0 else nl + 1
                continue
            quantifier = c in "*+?" or (c == "{" and _QUANTIFIER.match(p, start) is not None)
            if not quantifier and c != ")":
                self.atom_start = len(self.out)  # what a quantifier after it applies to
            if c == "\\":
                self.escape(start)
            elif c == "[":
                self.posix_outside_class(start)
                self.out.append(self.char_class())
            elif c == "(":
                self.open_group(start)
            elif c == ")":
                opened_at = self.frames[-1].opened_at
                self.close_group(start)
                self.atom_start = opened_at
            elif c == "|":
                self.alternation()
            elif c in "*+?":
                self.fixed_length_check(start)
                self.out.append(c)
                self.quantifier_suffix()
            elif c == "{":
                m = re.match(r"\{(\d+)(,(\d*))?\}", p[start:])
                if m and max(int(m.group(1)), int(m.group(3) or 0)) > 65535:
                    raise self.error("number too big in {} quantifier", start)
                if m:
                    if m.group(2) is not None and m.group(3) != m.group(1):
                        self.fixed_length_check(start)
                    elif int(m.group(1)) == 0 and p[start - 1 : start] == ")":
                        self.fixed_length_check(start)  # PCRE 8 measures a group{0} as variable
                    self.out.append(m.group(0))
                    self.i = start + len(m.group(0))
                    self.quantifier_suffix()
                else:
                    self.out.append("\\{")
            elif c == ".":
                self.out.append("[^\\r\\n]" if self.anycrlf and not self.dotall() else c)
            elif c == "$":
                self.out.append("(?=(?:\\r\\n|[\\r\\n])?\\Z)" if self.anycrlf else "$")
            elif c == "^":
                self.out.append(c)
            else:
                self.out.append(re.escape(c))
        if len(self.frames) > 1:
            raise self.error("missing )")
        self.out.append(")" * self.frames[-1].wrappers)
        return "".join(self.out)

    def quantifier_suffix(self) -> None:
        suffix = self.peek() if self.peek() in ("?", "+") else ""
        self.i += len(suffix)
        if suffix == "+":
            # X*+ as (?>X*): the same match, and CPython 3.11's possessive quantifiers can
            # fail with SystemError on some patterns with groups
            self.out.insert(self.atom_start, "(?>")
            self.out.append(")")
            return
        if "U" in self.frames[-1].flags and suffix != "+":
            # (?U): quantifiers are lazy, and a "?" after one makes it greedy
            suffix = "" if suffix else "?"
        self.out.append(suffix)

    def escape(self, start: int) -> None:
        c = self.peek()
        if not c:
            raise self.error("\\ at end of pattern")
        self.i += 1
        if c == "Q":
            end = self.p.find("\\E", self.i)
            text = self.p[self.i :] if end < 0 else self.p[self.i : end]
            self.out.append("".join(lit(ord(ch)) for ch in text))
            self.i = len(self.p) if end < 0 else end + 2
            return
        if c == "E":
            return
        if c in "dwsDWShHvV":
            self.out.append(self.shorthand(c))
            return
        if c in "bB":
            self.out.append(self.word_boundary(c == "B"))
            return
        if c == "A":
            self.out.append("\\A")
            return
        if c == "z":
            self.out.append("\\Z")
            return
        if c == "Z":
            self.out.append("(?=\\n?\\Z)")
            return
        if c == "R":
            self.out.append("(?:\\r\\n|[\\n\\x0b\\x0c\\r\\x85])")
            return
        if c == "N":
            if self.peek() == "{":
                raise self.error("\\N{name} is not supported", start)
            self.out.append("[^\\n]")
            return
        if c in UNSUPPORTED_ESCAPES:
            raise self.error(f"{UNSUPPORTED_ESCAPES[c]} has no Python equivalent", start)
        if c in "123456789":
            m = re.match(r"\d+", self.p[start + 1 :])
            assert m
            num = int(m.group(0))
            # PCRE 8: \1-\7 are always back references, a larger number only when that
            # many groups were opened before it; otherwise up to three octal digits, and
            # \8 or \9 stand for themselves
            if num < 8 or num <= self.groups:
                self.i = start + 1 + len(m.group(0))
                self.out.append(f"(?:\\{num})")
                return
            m = re.match(r"[0-7]{1,3}", self.p[start + 1 :])
            if m is None:
                self.out.append(re.escape(c))
                return
            self.i = start + 1 + len(m.group(0))
            self.out.append(lit(int(m.group(0), 8)))
            return
        if c == "g":
            self.out.append(self.group_reference(start))
            return
        if c == "k":
            close = {"<": ">", "'": "'", "{": "}"}.get(self.peek())
            end = self.p.find(close, self.i + 1) if close else -1
            if end < 0:
                raise self.error("malformed \\k<name> reference", start)
            name = self.p[self.i + 1 : end]
            self.i = end + 1
            self.out.append(f"(?P={name})")
            return
        code = self.read_char_escape(c, in_class=False)
        if code is not None:
            self.out.append(lit(code))
            return
        # any other escaped character stands for itself (PCRE without PCRE_EXTRA)
        self.out.append(re.escape(c))

    def group_reference(self, start: int) -> str:
        m = re.match(r"\{(-?\d+)\}|(-?\d+)|\{([A-Za-z_]\w*)\}|<|'", self.p[self.i :])
        if m is None or m.group(0) in ("<", "'"):
            raise self.error("subroutine calls (\\g<...>) have no Python equivalent", start)
        self.i += len(m.group(0))
        if m.group(3):
            return f"(?P={m.group(3)})"
        num = int(m.group(1) or m.group(2))
        if num < 0:
            num = self.groups + 1 + num
        if num <= 0:
            raise self.error("bad relative back reference", start)
        return f"(?:\\{num})"
