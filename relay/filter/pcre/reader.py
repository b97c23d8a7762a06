"""Reading a PCRE pattern: the cursor, the errors, and the escapes and shorthand
classes that stand for characters.

Part of the pipeline stage (``relay.filter.pcre``): the class and group readers and the
translator build on ``Reader``.  PCRE 8 without the utf8 flag has ASCII tables, so the
shorthand sets here are ASCII:

    escape    = "\\" ( "a" / "e" / "f" / "n" / "r" / "t"          ; one character
              / "x" 0*2HEXDIG / "x{" 1*HEXDIG "}" / "o{" 1*ODIGIT "}"
              / "c" ASCII / "0" 0*2ODIGIT
              / "d" / "w" / "s" / "h" / "v" / ... )                 ; a class
"""

from __future__ import annotations


class PcreError(ValueError):
    """A PCRE construct that has no Python equivalent, or a malformed pattern."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.offset = offset


WORD_CHARS = "a-zA-Z0-9_"
POSIX_CLASSES = {
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
    "word": WORD_CHARS,
    "xdigit": "0-9A-Fa-f",
}
# class shorthands, as the inside of a [...] set
SHORTHAND_SETS = {
    "d": "0-9",
    "w": WORD_CHARS,
    "s": "\\t\\n\\x0b\\x0c\\r ",
    "h": " \\t\\xa0",
    "v": "\\n\\x0b\\x0c\\r\\x85",
}
UNSUPPORTED_ESCAPES = {
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
SIMPLE_CHAR_ESCAPES = {"a": 7, "e": 27, "f": 12, "n": 10, "r": 13, "t": 9}


def lit(code: int) -> str:
    """A Python pattern fragment matching exactly the character ``code``."""
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


class Reader:
    """A position in the pattern, and the escapes that stand for one character."""

    def __init__(self, pattern: str, *, ascii_classes: bool) -> None:
        self.p = pattern
        self.i = 0
        self.ascii_classes = ascii_classes

    def error(self, what: str, at: int | None = None) -> PcreError:
        return PcreError(what, self.i if at is None else at)

    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.p[j] if j < len(self.p) else ""

    def shorthand(self, c: str) -> str:
        if c in "dws" and not self.ascii_classes:
            return "\\" + c
        if c.lower() in SHORTHAND_SETS:
            inner = SHORTHAND_SETS[c.lower()]
            return f"[{inner}]" if c.islower() else f"[^{inner}]"
        raise AssertionError(c)

    def word_boundary(self, negate: bool) -> str:
        # Python's \B never matches an empty string, PCRE's does: \B is spelt out always
        if not self.ascii_classes and not negate:
            return "\\b"
        w = f"[{WORD_CHARS}]"
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
        if c in SIMPLE_CHAR_ESCAPES:
            return SIMPLE_CHAR_ESCAPES[c]
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
