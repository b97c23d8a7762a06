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
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field


class PcreError(ValueError):
    """A PCRE construct that has no Python equivalent, or a malformed pattern."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.offset = offset


_W = "a-zA-Z0-9_"
_POSIX = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "ascii": "\\x00-\\x7f",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e",
    "lower": "a-z",
    "print": "\\x20-\\x7e",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\x0b\\x0c\\r ",
    "upper": "A-Z",
    "word": _W,
    "xdigit": "0-9A-Fa-f",
}
# class shorthands, as the inside of a [...] set
_SHORT_IN = {
    "d": "0-9",
    "w": _W,
    "s": "\\t\\n\\x0b\\x0c\\r ",
    "h": " \\t\\xa0",
    "v": "\\n\\x0b\\x0c\\r\\x85",
}
_UNSUPPORTED_ESCAPES = {
    "G": "\\G (start of match)",
    "K": "\\K (reset start of match)",
    "X": "\\X (extended grapheme cluster)",
    "C": "\\C (single code unit)",
    "p": "\\p (Unicode property)",
    "P": "\\P (Unicode property)",
    "L": "\\L",
    "l": "\\l",
    "U": "\\U",
    "u": "\\u",
}
_SIMPLE_CHAR_ESCAPES = {"a": 7, "e": 27, "f": 12, "n": 10, "r": 13, "t": 9}
_OPT_LETTERS = "imsxU"
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}")


def _lit(code: int) -> str:
    """A Python pattern fragment matching exactly the character ``code``."""
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


@dataclass
class _Frame:
    """An open group: the scoped-flag groups opened inside it and the options in force."""

    wrappers: int = 0
    extended: bool = False
    flags: str = ""
    # a lookbehind: where its body starts in the output and where its "|"s are, since
    # PCRE lets each top-level alternative have its own fixed length and Python does not
    behind: str = ""
    ahead: bool = False
    opened_at: int = 0  # where the group starts in the output
    body_start: int = 0
    bars: list[int] = field(default_factory=list)


class _Translator:
    def __init__(self, pattern: str, *, ascii_classes: bool, newline_anycrlf: bool) -> None:
        self.p = pattern
        self.i = 0
        self.out: list[str] = []
        self.ascii_classes = ascii_classes
        self.anycrlf = newline_anycrlf
        self.groups = 0
        self.atom_start = 0
        self.frames: list[_Frame] = [_Frame()]

    # -- helpers -------------------------------------------------------------------------
    def error(self, what: str, at: int | None = None) -> PcreError:
        return PcreError(what, self.i if at is None else at)

    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.p[j] if j < len(self.p) else ""

    def shorthand(self, c: str) -> str:
        if c in "dws" and not self.ascii_classes:
            return "\\" + c
        if c.lower() in _SHORT_IN:
            inner = _SHORT_IN[c.lower()]
            return f"[{inner}]" if c.islower() else f"[^{inner}]"
        raise AssertionError(c)

    def word_boundary(self, negate: bool) -> str:
        # Python's \B never matches an empty string, PCRE's does: \B is spelt out always
        if not self.ascii_classes and not negate:
            return "\\b"
        w = f"[{_W}]"
        if negate:
            return f"(?:(?<={w})(?={w})|(?<!{w})(?!{w}))"
        return f"(?:(?<={w})(?!{w})|(?<!{w})(?={w}))"

    def read_hex_braced(self) -> int:
        end = self.p.find("}", self.i)
        if end < 0:
            raise self.error("missing } in \\x{...}")
        digits = self.p[self.i : end]
        if not digits or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise self.error("bad hex digits in \\x{...}")
        self.i = end + 1
        return int(digits, 16)

    def read_char_escape(self, c: str, in_class: bool) -> int | None:
        """Escapes that stand for one character (the backslash and ``c`` are consumed)."""
        if c in _SIMPLE_CHAR_ESCAPES:
            return _SIMPLE_CHAR_ESCAPES[c]
        if c == "b" and in_class:
            return 8
        if c == "x":
            if self.peek() == "{":
                self.i += 1
                return self.read_hex_braced()
            digits = ""
            while len(digits) < 2 and self.peek() and self.peek() in "0123456789abcdefABCDEF":
                digits += self.peek()
                self.i += 1
            return int(digits, 16) if digits else 0
        if c == "o" and self.peek() == "{":
            end = self.p.find("}", self.i)
            digits = self.p[self.i + 1 : end] if end > 0 else ""
            if not digits or not all(d in "01234567" for d in digits):
                raise self.error("bad octal digits in \\o{...}")
            self.i = end + 1
            return int(digits, 8)
        if c == "c":
            ch = self.peek()
            if not ch or ord(ch) > 127:
                raise self.error("\\c must be followed by an ASCII character")
            self.i += 1
            return ord(ch.upper()) ^ 0x40
        if c == "0":
            digits = ""
            while len(digits) < 2 and self.peek() and self.peek() in "01234567":
                digits += self.peek()
                self.i += 1
            return int(digits or "0", 8)
        return None

    # -- main loop -----------------------------------------------------------------------
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

    def fixed_length_check(self, start: int) -> None:
        """PCRE 8 wants a lookbehind of fixed length: no variable quantifier in it, even on
        an item of no width (Python only measures widths)."""
        for frame in reversed(self.frames):
            if frame.ahead:
                return
            if frame.behind:
                raise self.error("lookbehind assertion is not fixed length", start)

    def dotall(self) -> bool:
        return "s" in self.frames[-1].flags

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
            self.out.append("".join(_lit(ord(ch)) for ch in text))
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
        if c in _UNSUPPORTED_ESCAPES:
            raise self.error(f"{_UNSUPPORTED_ESCAPES[c]} has no Python equivalent", start)
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
            self.out.append(_lit(int(m.group(0), 8)))
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
            self.out.append(_lit(code))
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

    # -- groups --------------------------------------------------------------------------
    def push(self, inherited_flags: str | None = None) -> None:
        flags = self.frames[-1].flags if inherited_flags is None else inherited_flags
        self.frames.append(_Frame(0, "x" in flags, flags, opened_at=self.atom_start))

    def open_group(self, start: int) -> None:
        p = self.p
        if self.peek() == "*":
            raise self.error("backtracking control verbs (*...) have no Python equivalent", start)
        if self.peek() != "?":
            self.groups += 1
            self.out.append("(")
            self.push()
            return
        rest = p[self.i + 1 :]
        m = re.match(r"P?<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)'", rest)
        if m and not rest.startswith(("<=", "<!")):
            self.groups += 1
            self.i += 1 + len(m.group(0))
            self.out.append(f"(?P<{m.group(1) or m.group(2)}>")
            self.push()
            return
        m = re.match(r"P=([A-Za-z_]\w*)\)", rest)
        if m:
            self.i += 1 + len(m.group(0))
            self.out.append(f"(?P={m.group(1)})")
            return
        for prefix in (":", "=", "!", "<=", "<!", ">"):
            if rest.startswith(prefix):
                self.i += 1 + len(prefix)
                self.out.append("(?" + prefix)
                self.push()
                if prefix in ("<=", "<!"):
                    self.frames[-1].behind = prefix
                    self.frames[-1].body_start = len(self.out)
                elif prefix in ("=", "!"):
                    self.frames[-1].ahead = True
                return
        if rest.startswith("#"):
            end = p.find(")", self.i)
            if end < 0:
                raise self.error("missing ) after comment", start)
            self.i = end + 1
            return
        if rest.startswith("("):
            self.condition(start)
            return
        if re.match(r"R\)|[-+]?\d|&|P>", rest):
            raise self.error("recursion and subroutine calls have no Python equivalent", start)
        m = re.match(r"([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])", rest)
        if m:
            on, off, closer = m.group(1), m.group(2) or "", m.group(3)
            for letter in on + off:
                if letter not in _OPT_LETTERS:
                    raise self.error(f"option (?{letter}) has no Python equivalent", start)
            self.i += 1 + len(m.group(0))
            current = self.frames[-1].flags
            flags = "".join(f for f in _OPT_LETTERS if (f in current or f in on) and f not in off)
            spec = self.flag_spec(on, off)
            if closer == ":":
                self.out.append(f"(?{spec}:" if spec else "(?:")
                self.push(flags)
            else:
                # (?i) lasts to the end of the enclosing group: open a scoped group that
                # the group's end (or the next alternative) closes.
                if spec:
                    self.out.append(f"(?{spec}:")
                    self.frames[-1].wrappers += 1
                self.frames[-1].extended = "x" in flags
                self.frames[-1].flags = flags
            return
        raise self.error(
            "this group construct (recursion, branch reset, callout, ...) has no Python "
            "equivalent",
            start,
        )

    @staticmethod
    def flag_spec(on: str, off: str) -> str:
        # x and U are handled by the translator itself (whitespace and comments are
        # dropped, quantifiers are made lazy)
        on = "".join(f for f in on if f not in "xU")
        off = "".join(f for f in off if f not in "xU")
        return on + ("-" + off if off else "")

    def condition(self, start: int) -> None:
        rest = self.p[self.i + 2 :]
        m = re.match(r"(\d+)\)|<([A-Za-z_]\w*)>\)|'([A-Za-z_]\w*)'\)|([A-Za-z_]\w*)\)", rest)
        if m is None or (m.group(4) and m.group(4).startswith("R")):
            raise self.error("this condition has no Python equivalent", start)
        ref = m.group(1) or m.group(2) or m.group(3) or m.group(4)
        self.i += 2 + len(m.group(0))
        self.out.append(f"(?({ref})")
        self.push()

    def close_group(self, start: int) -> None:
        if len(self.frames) == 1:
            raise self.error("unmatched )", start)
        frame = self.frames.pop()
        if frame.behind and frame.bars:
            # (?<=a|bc) becomes (?:(?<=a)|(?<=bc)); (?<!a|bc) becomes (?<!a)(?<!bc)
            self.out.append(")" * frame.wrappers)
            cuts = [frame.body_start, *frame.bars, len(self.out)]
            pairs = enumerate(itertools.pairwise(cuts))
            branches = ["".join(self.out[a + (i > 0) : b]) for i, (a, b) in pairs]
            del self.out[frame.body_start - 1 :]
            if frame.behind == "<=":
                self.out.append("(?:" + "|".join(f"(?<={b})" for b in branches) + ")")
            else:
                self.out.append("".join(f"(?<!{b})" for b in branches))
            return
        self.out.append(")" * frame.wrappers + ")")

    def alternation(self) -> None:
        frame = self.frames[-1]
        opened = frame.wrappers
        if frame.behind:
            self.out.append(")" * opened)
            frame.bars.append(len(self.out))
            self.out.append("|")
            if opened:
                on = "".join(f for f in "ims" if f in frame.flags)
                off = "".join(f for f in "ims" if f not in frame.flags)
                self.out.append(f"(?{on + ('-' + off if off else '')}:")
                frame.wrappers = 1
            return
        if opened:
            # an option set in one alternative carries on into the next ones
            self.out.append(")" * opened + "|")
            on = "".join(f for f in "ims" if f in frame.flags)
            off = "".join(f for f in "ims" if f not in frame.flags)
            spec = on + ("-" + off if off else "")
            self.out.append(f"(?{spec}:")
            frame.wrappers = 1
        else:
            self.out.append("|")

    # -- character classes ---------------------------------------------------------------
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
                    if m.group(2) not in _POSIX:
                        raise self.error(f"unknown POSIX class [:{m.group(2)}:]")
                    self.i += len(m.group(0))
                    inner = _POSIX[m.group(2)]
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
                    items.extend(_lit(ord(ch)) for ch in text)
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
                        items.append(_SHORT_IN[e])
                    else:
                        items.append(f"(?:[^{_SHORT_IN[e.lower()]}])")
                    prev_code = None
                    continue
                if e in _UNSUPPORTED_ESCAPES or e in "RXN":
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
                items[-1] = f"{_lit(lo)}-{_lit(code)}"
                prev_code = None
                continue
            if code == ord("-") and c == "-" and prev_code is not None and self.peek() != "]":
                items.append("-")
                continue
            items.append(_lit(code))
            prev_code = code
        # a trailing "-" pending as a range operator is a literal
        items = [_lit(ord("-")) if it == "-" else it for it in items]
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


def translate(pattern: str, *, ascii_classes: bool = False, newline_anycrlf: bool = False) -> str:
    """The Python ``re`` source that matches like the PCRE ``pattern``.

    Raises ``PcreError`` for constructs Python cannot express.
    """
    return _Translator(
        pattern, ascii_classes=ascii_classes, newline_anycrlf=newline_anycrlf
    ).translate()
