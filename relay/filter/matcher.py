"""syslog-ng's value matchers: pcre, string and glob, with their flags.

Part of the pipeline stage: filters (``program()``, ``host()``, ``message()``,
``match()``) match with them, and the ``subst`` rewrite replaces with them.  Each matcher
is compiled once from its pattern, type and flags and then only runs.

Values are ``str`` decoded from UTF-8 with ``surrogateescape``.  PCRE without the utf8
flag works on bytes, so a non-ASCII value is matched as its original bytes; an ASCII value
(the usual case) is matched as a ``str`` with the same ASCII semantics, which is faster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from relay.facts.names import FILTER_ALIASES
from relay.filter.pcre import PcreError, translate
from relay.message import LogMessage

# syslog-ng's matcher flags (lib/logmatcher.c); "_" is read as "-"
FLAGS = frozenset(
    {"global", "icase", "ignore-case", "newline", "unicode", "utf8", "store-matches",
     "substring", "prefix", "disable-jit", "dupnames"}
)
TYPES = ("pcre", "string", "glob")
MAX_MATCHES = 256

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_SURROGATE = re.compile("[\udc80-\udcff]")


class MatcherError(ValueError):
    """A pattern that does not compile, or an unknown type or flag."""


def normalize_flags(flags: Iterable[str]) -> frozenset[str]:
    out = set()
    for flag in flags:
        name = flag.replace("_", "-")
        if name not in FLAGS:
            raise MatcherError(f'unknown matcher flag "{flag}"')
        out.add({"icase": "ignore-case", "unicode": "utf8"}.get(name, name))
    return frozenset(out)


def _ascii_lower(text: str) -> str:
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


class Matcher:
    """A compiled pattern: ``match(value, msg)`` and ``replace(value, msg, render)``."""

    pattern: str
    store_matches: bool
    supports_replace = True

    def match(self, value: str, msg: LogMessage) -> bool:
        raise NotImplementedError

    def replace(
        self, value: str, msg: LogMessage, render: Callable[[LogMessage], str]
    ) -> str | None:
        raise NotImplementedError


class StringMatcher(Matcher):
    """type(string): the whole value, or a prefix or substring of it (flags)."""

    def __init__(self, pattern: str, flags: frozenset[str]) -> None:
        self.pattern = pattern
        self.icase = "ignore-case" in flags
        self.prefix = "prefix" in flags
        self.substring = "substring" in flags and not self.prefix
        self.glob_all = "global" in flags
        self.store_matches = "store-matches" in flags
        self.needle = _ascii_lower(pattern) if self.icase else pattern

    def find(self, value: str, start: int = 0) -> int:
        """Offset of the match in ``value[start:]`` (relative to ``value``), or -1."""
        if self.icase:
            value = _ascii_lower(value)
        rest = len(value) - start
        if len(self.pattern) > rest:
            return -1
        if self.substring:
            return value.find(self.needle, start)
        if self.prefix:
            return start if value.startswith(self.needle, start) else -1
        return start if value[start:] == self.needle else -1

    def match(self, value: str, msg: LogMessage) -> bool:
        return self.find(value) >= 0

    def replace(
        self, value: str, msg: LogMessage, render: Callable[[LogMessage], str]
    ) -> str | None:
        out: list[str] = []
        pos = 0
        first = True
        while pos != len(value):
            at = self.find(value, pos)
            if at < 0:
                break
            end = at + len(self.pattern)
            if at == end and not first:
                at += 1
                end += 1
            out.append(value[pos:at])
            out.append(render(msg))
            pos = end
            first = False
            if not self.glob_all:
                break
        if not out:
            return None
        out.append(value[pos:])
        return "".join(out)


class GlobMatcher(Matcher):
    """type(glob): GLib pattern spec, ``*`` and ``?`` over the whole value, UTF-8 only."""

    supports_replace = False

    def __init__(self, pattern: str, flags: frozenset[str]) -> None:
        self.pattern = pattern
        self.store_matches = False
        parts = []
        for ch in pattern:
            parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        self.regex = re.compile("".join(parts), re.DOTALL)

    def match(self, value: str, msg: LogMessage) -> bool:
        # GLib only matches valid UTF-8: a value holding undecodable bytes never matches
        if not value.isascii() and _SURROGATE.search(value):
            return False
        return self.regex.fullmatch(value) is not None


class PcreMatcher(Matcher):
    """type(pcre), the default."""

    def __init__(self, pattern: str, flags: frozenset[str]) -> None:
        self.pattern = pattern
        self.store_matches = "store-matches" in flags
        self.glob_all = "global" in flags
        self.utf8 = "utf8" in flags
        icase = re.IGNORECASE if "ignore-case" in flags else 0
        anycrlf = "newline" in flags
        try:
            if self.utf8:
                src = translate(pattern, ascii_classes=True, newline_anycrlf=anycrlf)
                self.text_re = re.compile(src, icase)
                self.bytes_re: re.Pattern[bytes] | None = None
            else:
                # PCRE sees the pattern's bytes, one character each
                latin = pattern.encode("utf-8", "surrogateescape").decode("latin-1")
                src = translate(latin, newline_anycrlf=anycrlf)
                self.text_re = re.compile(src, icase | re.ASCII)
                self.bytes_re = re.compile(src.encode("latin-1"), icase)
        except PcreError as e:
            raise MatcherError(f"cannot compile PCRE pattern: {e}") from None
        except re.error as e:
            raise MatcherError(f"cannot compile PCRE pattern: {e}") from None
        except UnicodeEncodeError:
            raise MatcherError(
                "cannot compile PCRE pattern: a character above \\xff needs the utf8 flag"
            ) from None
        # a group named like an alias sets the value it stands for ((?<MSG>...) sets MESSAGE)
        groups = self.text_re.groupindex.items()
        self.names = tuple((FILTER_ALIASES.get(name, name), index) for name, index in groups)

    def search(self, value: str, pos: int = 0) -> re.Match[str] | re.Match[bytes] | None:
        if self.bytes_re is None or value.isascii():
            return self.text_re.search(value, pos)
        return self.bytes_re.search(value.encode("utf-8", "surrogateescape"), pos)

    def match(self, value: str, msg: LogMessage) -> bool:
        m = self.search(value)
        if m is None:
            return False
        if self.store_matches:
            store(m, msg, self.names)
        return True

    def replace(
        self, value: str, msg: LogMessage, render: Callable[[LogMessage], str]
    ) -> str | None:
        subject: str | bytes
        regex: re.Pattern[str] | re.Pattern[bytes]
        if self.bytes_re is None or value.isascii():
            subject, regex = value, self.text_re
        else:
            subject, regex = value.encode("utf-8", "surrogateescape"), self.bytes_re
        # syslog-ng's loop (Perl-like empty-match handling, but no attempt at the very end
        # after an empty match has advanced the position)
        pieces: list[str] = []
        n = len(subject)
        start = last = 0
        last_empty = False
        matched = False
        while True:
            if last_empty:
                m = regex.match(subject, start)  # type: ignore[arg-type]
                if m is None or m.end() == m.start():
                    start += 1
                    last_empty = False
                    if self.glob_all and start < n:
                        continue
                    break
            else:
                m = regex.search(subject, start)  # type: ignore[arg-type]
                if m is None:
                    break
            matched = True
            store(m, msg, self.names)
            pieces.append(_text(subject[last : m.start()]))
            pieces.append(render(msg))
            last_empty = m.start() == m.end()
            start = last = m.end()
            if not (self.glob_all and start < n):
                break
        if not matched:
            return None
        pieces.append(_text(subject[last:]))
        return "".join(pieces)


def _text(chunk: str | bytes) -> str:
    return chunk if isinstance(chunk, str) else chunk.decode("utf-8", "surrogateescape")


def store(
    m: re.Match[str] | re.Match[bytes], msg: LogMessage, names: tuple[tuple[str, int], ...]
) -> None:
    """Put $0, $1, ... and the named groups into the message, as syslog-ng does."""
    values = msg.values
    count = 0
    for i in range(min(m.re.groups + 1, MAX_MATCHES)):
        group = m.group(i)
        if group is None:
            continue
        values[str(i)] = _text(group)
        count = i + 1
    # matches beyond the last one that took part are cleared
    for key in [k for k in values if k.isdigit() and int(k) >= count and int(k) < MAX_MATCHES]:
        del values[key]
    for name, index in names:
        group = m.group(index)
        if group is not None:
            values[name] = _text(group)


def compile_matcher(pattern: str, type_: str = "pcre", flags: Iterable[str] = ()) -> Matcher:
    """A matcher for ``pattern``; raises ``MatcherError`` for a bad type, flag or pattern."""
    normalized = normalize_flags(flags)
    if type_ == "posix":  # syslog-ng reads the retired POSIX type as PCRE
        type_ = "pcre"
    if type_ == "pcre":
        return PcreMatcher(pattern, normalized)
    if type_ == "string":
        return StringMatcher(pattern, normalized)
    if type_ == "glob":
        return GlobMatcher(pattern, normalized)
    raise MatcherError(f'unknown matcher type "{type_}"')
