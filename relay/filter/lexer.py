"""The tokenizer of syslog-ng's configuration language, as a filter expression sees it.

Part of the pipeline stage: the first step of compiling a ``[[filter]]`` expression (or a
subscriber's expression).  The rules are syslog-ng 3.38's lexer (lib/cfg-lex.l), applied
with flex's longest-match-then-first-rule choice:

    white     = [ \\t]+ | "\\" NL (continuation) | NL           ; skipped
    comment   = "#" to the end of the line                       ; skipped
    dotdot    = ".."            dotdotdot = "..."       arrow = "=>"
    float     = [+-]? digit+ "." digit+
    number    = "0x" xdigit+ | "0" odigit+ | [+-]? digit+ [kKmMgG]? [iI]? [bB]?
    word      = (wchar+ "."?)* wchar+
    wchar     = any character but space # ' " ( ) { } [ ] \\ ; CR LF TAB , | . @ :
    string    = '"' with \\a \\n \\r \\t \\v \\xHH \\oOOO and \\<char> escapes '"'
    qstring   = "'" raw text "'"
    ","       ; skipped
    other     = any other single character is a token of its own

A word is a keyword when it spells one ("-" and "_" are the same letter in keywords,
``keyword``); otherwise it is an identifier.  Comparison operators (``==``, ``<``, ...)
are words too.  ``TokenStream`` is the parser's cursor over the tokens, and words its
errors with the line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from relay.errors import FilterError

# token kinds
WORD = "word"
STRING = "string"
NUMBER = "number"
FLOAT = "float"
DOTDOT = ".."
DOTDOTDOT = "..."
ARROW = "=>"
END = "end of expression"

_WCHAR = r"[^ \#'\"(){}\[\]\\;\r\n\t,|.@:]"
_WORD = re.compile(rf"(?:{_WCHAR}+\.?)*{_WCHAR}+")
_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_OCT = re.compile(r"0[0-7]+")
_DEC = re.compile(r"([-+]?[0-9]+)([MmGgkK]?[iI]?[bB]?)")
_STRING_ESCAPES = {"a": 7, "n": 10, "r": 13, "t": 9, "v": 11}


#: keywords of the filter grammar ("-" and "_" are the same letter)
KEYWORDS = {
    "or", "and", "not", "lt", "le", "eq", "ne", "ge", "gt", "<", "<=", "==", "!=", ">=", ">",
    "===", "!==", "severity", "level", "priority", "facility", "program", "host", "message",
    "match", "netmask", "netmask6", "throttle", "tags", "in_list", "value", "flags", "filter",
    "source", "type", "template", "rate_limit",
}
#: other words syslog-ng's lexer turns into keywords, so they cannot be unquoted arguments
RESERVED = set(
    "parser rewrite destination log junction channel options include block if else elif "
    "internal value_pairs exclude pair key scope rekey shift shift_levels add_prefix replace "
    "replace_prefix cast pad_size truncate_size mark_freq mark mark_mode stats_freq "
    "stats_lifetime stats_level stats stats_max_dynamics min_iw_size_per_reader flush_lines "
    "flush_timeout suppress sync_freq sync long_hostnames chain_hostnames normalize_hostnames "
    "keep_hostname check_hostname bad_hostname custom_domain keep_timestamp encoding ts_format "
    "frac_digits time_zone recv_time_zone send_time_zone local_time_zone format use_time_recvd "
    "use_fqdn use_dns time_reopen time_reap time_sleep file_template proto_template "
    "default_level default_priority default_severity default_facility threaded use_rcptid "
    "use_uniqid log_fifo_size log_fetch_limit log_iw_size log_msg_size trim_large_messages "
    "log_prefix program_override host_override create_dirs optional owner group perm "
    "dir_owner dir_group dir_perm template_escape template_function on_error persist_only "
    "dns_cache_hosts dns_cache dns_cache_size dns_cache_expire dns_cache_expire_failed "
    "persist_name retries workers batch_lines batch_timeout read_old_records "
    "use_syslogng_pid fetch_no_data_delay yes on no off condition".split()
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str  # the source text (for a string: its decoded value)
    line: int
    column: int
    number: int = 0

    def describe(self) -> str:
        if self.kind == END:
            return END
        if self.kind == STRING:
            return f'string "{self.text}"'
        return f"'{self.text}'"


def keyword(tok: Token) -> str | None:
    """The keyword a token spells ("-" read as "_"), or None for anything else."""
    if tok.kind != WORD:
        return None
    name = tok.text.replace("-", "_")
    return name if name in KEYWORDS or name in RESERVED else None


class TokenStream:
    """The tokens of one expression, read one at a time, and errors that say where."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != END:
            self.pos += 1
        return tok

    def error(self, expected: str, tok: Token | None = None) -> FilterError:
        tok = tok or self.tok
        return FilterError(
            f"line {tok.line}, column {tok.column}: expected {expected}, got {tok.describe()}"
        )

    def fail(self, message: str, tok: Token) -> FilterError:
        return FilterError(f"line {tok.line}, column {tok.column}: {message}")

    def is_kw(self, *names: str) -> bool:
        return keyword(self.tok) in names

    def expect(self, kind: str, what: str | None = None) -> Token:
        if self.tok.kind != kind:
            raise self.error(what or f"'{kind}'")
        return self.advance()

    def string(self, what: str = "a string") -> Token:
        """``string`` in syslog-ng's grammar: a quoted string or a word that is no keyword."""
        tok = self.tok
        if tok.kind == STRING or (tok.kind == WORD and keyword(tok) is None):
            return self.advance()
        raise self.error(what)


def _suffix_value(digits: str, suffix: str) -> int | None:
    """parse_int64_with_suffix: k/M/G, an optional i for powers of 1024, an optional b."""
    value = int(digits)
    if not suffix:
        return value
    if len(suffix) == 1 and suffix in "bB":
        return value
    exponent = suffix[0]
    if exponent not in "kKmMgG":
        return None
    rest = suffix[1:]
    base = 1000
    if rest[:1] in ("i", "I"):
        base = 1024
        rest = rest[1:]
    if rest not in ("", "b", "B"):
        return None
    power = {"k": 1, "m": 2, "g": 3}[exponent.lower()]
    return value * base**power


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending in an END token; raises FilterError."""
    tokens: list[Token] = []
    i = 0
    line = 1
    line_start = 0
    n = len(text)
    while i < n:
        c = text[i]
        col = i - line_start + 1
        if c in " \t,":
            i += 1
            continue
        if c == "\n" or (c == "\r" and text.startswith("\r\n", i)):
            i += 1 if c == "\n" else 2
            line += 1
            line_start = i
            continue
        if c == "\\" and (text.startswith("\\\n", i) or text.startswith("\\\r\n", i)):
            i = text.index("\n", i) + 1
            line += 1
            line_start = i
            continue
        if c == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if c == '"' or c == "'":
            decoded, i, line, line_start = _string(text, i, line, line_start)
            tokens.append(Token(STRING, decoded, line, col))
            continue
        if text.startswith("...", i):
            tokens.append(Token(DOTDOTDOT, "...", line, col))
            i += 3
            continue
        if text.startswith("..", i):
            tokens.append(Token(DOTDOT, "..", line, col))
            i += 2
            continue
        # longest match among arrow, float, hex, octal, decimal and word; ties go to the
        # rule listed first in syslog-ng's lexer, which is this order
        candidates: list[tuple[int, int, str]] = []
        if text.startswith("=>", i):
            candidates.append((2, 0, ARROW))
        for rank, (regex, kind) in enumerate(
            ((_FLOAT, FLOAT), (_HEX, "hex"), (_OCT, "oct"), (_DEC, NUMBER), (_WORD, WORD)),
            start=1,
        ):
            m = regex.match(text, i)
            if m:
                candidates.append((m.end() - i, -rank, kind))
        if not candidates:
            tokens.append(Token(c, c, line, col))
            i += 1
            continue
        length, _, kind = max(candidates)
        word = text[i : i + length]
        i += length
        if kind == "hex":
            tokens.append(Token(NUMBER, word, line, col, int(word, 16)))
        elif kind == "oct":
            tokens.append(Token(NUMBER, word, line, col, int(word, 8)))
        elif kind == NUMBER:
            m = _DEC.fullmatch(word)
            assert m
            number = _suffix_value(m.group(1), m.group(2))
            if number is None or not -(2**63) <= number < 2**63:
                raise FilterError(f"line {line}, column {col}: bad number '{word}'")
            tokens.append(Token(NUMBER, word, line, col, number))
        else:
            tokens.append(Token(kind, word, line, col))
    tokens.append(Token(END, "", line, i - line_start + 1))
    return tokens


def _string(text: str, i: int, line: int, line_start: int) -> tuple[str, int, int, int]:
    quote = text[i]
    start_line, start_col = line, i - line_start + 1
    i += 1
    out = bytearray()
    n = len(text)
    while True:
        if i >= n:
            raise FilterError(
                f"line {start_line}, column {start_col}: unterminated string, expected {quote}"
            )
        c = text[i]
        if c == quote:
            i += 1
            break
        if c == "\n":
            line += 1
            line_start = i + 1
        if quote == '"' and c == "\\" and i + 1 < n:
            e = text[i + 1]
            if e == "\n" or text.startswith("\r\n", i + 1):
                i = text.index("\n", i + 1) + 1
                line += 1
                line_start = i
                continue
            if e in _STRING_ESCAPES:
                out.append(_STRING_ESCAPES[e])
                i += 2
                continue
            m = re.compile(r"x([0-9a-fA-F]{1,2})|o([0-7]{1,3})").match(text, i + 1)
            if m:
                out.append(int(m.group(1), 16) if m.group(1) else int(m.group(2), 8) & 0xFF)
                i = m.end()
                continue
            out += e.encode("utf-8", "surrogateescape")
            i += 2
            continue
        out += c.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape"), i, line, line_start
