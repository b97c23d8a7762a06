"""PCRE groups: captures, names, lookarounds, conditions and option settings, and the
alternatives inside them.

Part of the pipeline stage (``relay.filter.pcre``):

    group     = "(" [ "?:" / "?<" NAME ">" / "?P<" NAME ">" / "?'" NAME "'" / "?=" / "?!"
                    / "?<=" / "?<!" / "?>" / "?(" cond ")" / "?" flags ":" ] alts ")"
              / "(?" flags ")"                      ; lasts to the end of the group
              / "(?#" *CHAR ")"                     ; a comment
    flags     = *OPT [ "-" *OPT ]                   ; OPT = i m s x U
    alts      = branch *( "|" branch )

A lookbehind must have a fixed length in each top-level alternative (PCRE 8); Python
wants one length for all, so ``(?<=a|bc)`` becomes ``(?:(?<=a)|(?<=bc))``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from relay.filter.pcre.classes import ClassReader

_OPT_LETTERS = "imsxU"


@dataclass
class Frame:
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


class GroupReader(ClassReader):
    """A ``ClassReader`` that also reads groups, and keeps the output they frame."""

    def __init__(self, pattern: str, *, ascii_classes: bool) -> None:
        super().__init__(pattern, ascii_classes=ascii_classes)
        self.out: list[str] = []
        self.groups = 0
        self.atom_start = 0
        self.frames: list[Frame] = [Frame()]

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

    def push(self, inherited_flags: str | None = None) -> None:
        flags = self.frames[-1].flags if inherited_flags is None else inherited_flags
        self.frames.append(Frame(0, "x" in flags, flags, opened_at=self.atom_start))

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
