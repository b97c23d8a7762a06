"""The parser of syslog-ng 3.38 filter expressions, compiling straight into closures.

Part of the pipeline stage: a ``[[filter]]`` expression (or a subscriber's) becomes one
``Callable[[LogMessage], bool]``; log paths call it for every message.

The grammar is syslog-ng's (lib/filter/filter-expr-grammar.ym).  Precedence, lowest
first: ``;`` (an "and" that may also end the expression), ``or``, ``and``, ``not``:

    expr       = or_expr *( ";" [ or_expr ] )
    or_expr    = and_expr *( "or" and_expr )
    and_expr   = unary *( "and" unary )
    unary      = "not" unary / "(" expr ")" / simple
    simple     = "facility(" ( NUMBER / fac *fac ) ")"
               / ( "level(" / "priority(" / "severity(" ) sev *sev ")"
               / ( "program(" / "host(" / "message(" / "source(" ) string *re_opt ")"
               / "match(" string *( re_opt / "value(" string ")" / "template(" tpl ")" ) ")"
               / "netmask(" string ")" / "netmask6(" string ")" / "tags(" *string ")"
               / "filter(" string ")" / "in-list(" string ( string / "value(" string ")" ) ")"
               / tpl operator tpl
    fac        = string [ ".." string ]         ; names, case-insensitive
    sev        = string [ ".." string ]
    re_opt     = "type(" string ")" / "flags(" *string ")"
    tpl        = string / IDENTIFIER "(" ( string / NUMBER / FLOAT ) ")" / NUMBER / FLOAT
    operator   = "<" / "<=" / "==" / "!=" / ">=" / ">" / "===" / "!=="
               / "lt" / "le" / "eq" / "ne" / "ge" / "gt"
    string     = IDENTIFIER / STRING
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from relay.errors import FilterError, TemplateError
from relay.facts.cnum import CSPACE, c_atoi, inet_aton, inet_pton6
from relay.facts.names import FACILITY_CODES, FILTER_ALIASES, SEVERITY_CODES, TYPE_HINTS
from relay.filter import lexer
from relay.filter.compare import OPERATORS, Operand, compile_comparison
from relay.filter.lexer import Token
from relay.filter.matcher import Matcher, MatcherError, compile_matcher
from relay.macros import resolve
from relay.message import FLAG_LOCAL, LogMessage, tag_id
from relay.template import compile_template

Predicate = Callable[[LogMessage], bool]

# keywords of the filter grammar ("-" and "_" are the same letter)
_KEYWORDS = {
    "or", "and", "not", "lt", "le", "eq", "ne", "ge", "gt", "<", "<=", "==", "!=", ">=", ">",
    "===", "!==", "severity", "level", "priority", "facility", "program", "host", "message",
    "match", "netmask", "netmask6", "throttle", "tags", "in_list", "value", "flags", "filter",
    "source", "type", "template", "rate_limit",
}
# other words syslog-ng's lexer turns into keywords, so they cannot be unquoted arguments
_RESERVED = set(
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
_ATOM_FIELDS = {"program": "PROGRAM", "host": "HOST", "message": "MESSAGE", "source": "SOURCE"}


def _always(msg: LogMessage) -> bool:
    return True


def _never(msg: LogMessage) -> bool:
    return False


def _keyword(tok: Token) -> str | None:
    if tok.kind != lexer.WORD:
        return None
    name = tok.text.replace("-", "_")
    return name if name in _KEYWORDS or name in _RESERVED else None


def _negate(fn: Predicate) -> Predicate:
    if fn is _always:
        return _never
    if fn is _never:
        return _always
    return lambda msg: not fn(msg)


def _and(a: Predicate, b: Predicate) -> Predicate:
    if a is _never or b is _never:
        return _never
    if a is _always:
        return b
    if b is _always:
        return a
    return lambda msg: a(msg) and b(msg)


def _or(a: Predicate, b: Predicate) -> Predicate:
    if a is _always or b is _always:
        return _always
    if a is _never:
        return b
    if b is _never:
        return a
    return lambda msg: a(msg) or b(msg)


class _Parser:
    def __init__(self, text: str, filters: Mapping[str, Predicate], name: str) -> None:
        self.tokens = lexer.tokenize(text)
        self.pos = 0
        self.filters = filters
        self.name = name

    # -- token helpers -------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != lexer.END:
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
        return _keyword(self.tok) in names

    def expect(self, kind: str, what: str | None = None) -> Token:
        if self.tok.kind != kind:
            raise self.error(what or f"'{kind}'")
        return self.advance()

    def string(self, what: str = "a string") -> Token:
        """``string`` in syslog-ng's grammar: a quoted string or a word that is no keyword."""
        tok = self.tok
        if tok.kind == lexer.STRING or (tok.kind == lexer.WORD and _keyword(tok) is None):
            return self.advance()
        raise self.error(what)

    # -- expressions ---------------------------------------------------------------------
    def parse(self) -> Predicate:
        fn = self.expr()
        if self.tok.kind != lexer.END:
            raise self.error("'and', 'or', ';' or the end of the expression")
        return fn

    def starts_expr(self) -> bool:
        tok = self.tok
        if tok.kind in (lexer.STRING, lexer.NUMBER, lexer.FLOAT, "("):
            return True
        return tok.kind == lexer.WORD and _keyword(tok) not in ("and", "or") and (
            _keyword(tok) is None or _keyword(tok) in _KEYWORDS
        )

    def expr(self) -> Predicate:
        fn = self.or_expr()
        while self.tok.kind == ";":
            self.advance()
            if self.starts_expr():
                fn = _and(fn, self.or_expr())
        return fn

    def or_expr(self) -> Predicate:
        fn = self.and_expr()
        while self.is_kw("or"):
            self.advance()
            fn = _or(fn, self.and_expr())
        return fn

    def and_expr(self) -> Predicate:
        fn = self.unary()
        while self.is_kw("and"):
            self.advance()
            fn = _and(fn, self.unary())
        return fn

    def unary(self) -> Predicate:
        if self.is_kw("not"):
            self.advance()
            return _negate(self.unary())
        if self.tok.kind == "(":
            self.advance()
            fn = self.expr()
            self.expect(")", "')', 'and', 'or' or ';'")
            return fn
        return self.simple()

    def simple(self) -> Predicate:
        tok = self.tok
        kw = _keyword(tok)
        if kw is None:
            if tok.kind in (lexer.STRING, lexer.WORD, lexer.NUMBER, lexer.FLOAT):
                return self.comparison()
            raise self.error("a filter function, a comparison, 'not' or '('")
        self.advance()
        if kw == "facility":
            return self.facility()
        if kw in ("level", "priority", "severity"):
            return self.severity()
        if kw in _ATOM_FIELDS:
            return self.regexp(kw)
        if kw == "match":
            return self.regexp(kw)
        if kw == "netmask":
            return self.netmask()
        if kw == "netmask6":
            return self.netmask6()
        if kw == "tags":
            return self.tags()
        if kw == "filter":
            return self.reference()
        if kw == "in_list":
            return self.in_list()
        if kw in ("throttle", "rate_limit"):
            raise self.fail(f"the {tok.text}() filter is not supported by the relay", tok)
        raise self.error("a filter function, a comparison, 'not' or '('", tok)

    # -- facility and level --------------------------------------------------------------
    def name_range(self, names: Mapping[str, int], what: str) -> int:
        mask = 0
        while True:
            first = self.string(f"a {what} name")
            lo = self.lookup(first, names, what)
            hi = lo
            if self.tok.kind == lexer.DOTDOT:
                self.advance()
                hi = self.lookup(self.string(f"a {what} name"), names, what)
            lo, hi = min(lo, hi), max(lo, hi)
            mask |= ((1 << (hi + 1)) - 1) & ~((1 << lo) - 1)
            if self.tok.kind == ")":
                self.advance()
                return mask

    def lookup(self, tok: Token, names: Mapping[str, int], what: str) -> int:
        value = names.get(tok.text.lower())
        if value is None:
            raise self.fail(f'unknown {what} "{tok.text}"', tok)
        return value

    def facility(self) -> Predicate:
        self.expect("(")
        if self.tok.kind == lexer.NUMBER:
            number = self.advance().number
            self.expect(")")
            return lambda msg: (msg.pri & 0x3F8) >> 3 == number
        mask = self.name_range(FACILITY_CODES, "facility")
        # syslog-ng tests bit (1 << facility) of a 32-bit mask; x86 takes the shift
        # count modulo 32, which matters for the PRIs above 255 it accepts
        return lambda msg: bool(mask >> ((msg.pri & 0x3F8) >> 3 & 31) & 1)

    def severity(self) -> Predicate:
        self.expect("(")
        mask = self.name_range(SEVERITY_CODES, "level")
        if mask == 0xFF:
            return _always
        return lambda msg: bool(mask >> (msg.pri & 7) & 1)

    # -- pattern matches -----------------------------------------------------------------
    def regexp(self, kw: str) -> Predicate:
        self.expect("(")
        pattern_tok = self.string("a pattern")
        type_ = "string" if kw == "source" else "pcre"
        flags: list[str] = []
        value: str | None = None
        template: Callable[[LogMessage], str] | None = None
        while self.tok.kind != ")":
            opt = self.tok
            okw = _keyword(opt)
            if okw == "type":
                self.advance()
                self.expect("(")
                type_tok = self.string("a matcher type")
                type_ = type_tok.text
                if type_ not in ("pcre", "string", "glob", "posix"):
                    raise self.fail(f'unknown matcher type "{type_}"', type_tok)
                self.expect(")")
            elif okw == "flags":
                self.advance()
                self.expect("(")
                while self.tok.kind != ")":
                    flag_tok = self.string("a matcher flag or ')'")
                    try:
                        compile_matcher("", "string", [flag_tok.text])
                    except MatcherError as e:
                        raise self.fail(str(e), flag_tok) from None
                    flags.append(flag_tok.text)
                self.advance()
            elif kw == "match" and okw == "value":
                self.advance()
                self.expect("(")
                value_tok = self.string("a name-value pair name")
                value = value_tok.text[1:] if value_tok.text.startswith("$") else value_tok.text
                if value.startswith("(") or "$" in value:
                    raise self.fail("value() takes a single name, not a template", value_tok)
                if not value:
                    value = None  # no name, no handle: match() falls back to its 3.x subject
                self.expect(")")
            elif kw == "match" and okw == "template":
                self.advance()
                self.expect("(")
                template = self.operand().render
                self.expect(")")
            else:
                raise self.error("type(), flags(), value(), template() or ')'"
                                 if kw == "match" else "type(), flags() or ')'")
        self.advance()
        try:
            matcher = compile_matcher(pattern_tok.text, type_, flags)
        except MatcherError as e:
            raise self.fail(str(e), pattern_tok) from None
        if kw in _ATOM_FIELDS:
            return _value_match(matcher, _ATOM_FIELDS[kw])
        if value is not None:
            return _getter_match(matcher, _filter_value(value))
        if template is not None:
            return _getter_match(matcher, template)
        return _getter_match(matcher, _program_pid_message)

    # -- addresses, tags, references ------------------------------------------------------
    def netmask(self) -> Predicate:
        self.expect("(")
        cidr = self.string("an IPv4 address or network").text
        self.expect(")")
        address, mask = _parse_netmask(cidr)
        cache: dict[str, int | None] = {}

        def netmask(msg: LogMessage) -> bool:
            ip = msg.source_ip
            value = cache.get(ip, -1)
            if value == -1:
                value = _ipv4(ip)
                if len(cache) > 4096:
                    cache.clear()
                cache[ip] = value
            return value is not None and value & mask == address

        return netmask

    def netmask6(self) -> Predicate:
        self.expect("(")
        cidr = self.string("an IPv6 address or network").text
        self.expect(")")
        network = _parse_netmask6(cidr)
        if network is None:
            return _never
        address, prefix = network
        shift = 128 - prefix
        cache: dict[str, int | None] = {}

        def netmask6(msg: LogMessage) -> bool:
            ip = msg.source_ip
            value = cache.get(ip, -1)
            if value == -1:
                value = _ipv6(ip)
                if len(cache) > 4096:
                    cache.clear()
                cache[ip] = value
            return value is not None and value >> shift == address

        return netmask6

    def tags(self) -> Predicate:
        self.expect("(")
        names = set()
        while self.tok.kind != ")":
            tag = self.string("a tag name or ')'").text
            tag_id(tag)  # numbered as the config is read, as syslog-ng does
            names.add(tag)
        self.advance()
        if not names:
            return _never
        wanted = frozenset(names)
        return lambda msg: not wanted.isdisjoint(msg.tags)

    def reference(self) -> Predicate:
        self.expect("(")
        tok = self.string("a filter name")
        self.expect(")")
        fn = self.filters.get(tok.text)
        if fn is None:
            raise self.fail(f'filter "{tok.text}" is not defined (before this one)', tok)
        return fn

    def in_list(self) -> Predicate:
        self.expect("(")
        path_tok = self.string("a file name")
        if self.is_kw("value"):
            self.advance()
            self.expect("(")
            value_tok = self.string("a name-value pair name")
            self.expect(")")
        else:
            value_tok = self.string("a name-value pair name")
        self.expect(")")
        try:
            with open(path_tok.text, "rb") as f:
                # fgets, then the last character of each line is dropped
                lines = {ln[:-1] for ln in f.read().splitlines(keepends=True) if ln[:-1]}
        except OSError as e:
            raise self.fail(f"cannot read in-list file: {e.strerror}", path_tok) from None
        wanted = frozenset(ln.decode("utf-8", "surrogateescape") for ln in lines)
        name = value_tok.text.lstrip("$") if value_tok.text.startswith("$") else value_tok.text
        get = resolve(name)
        return lambda msg: get(msg) in wanted

    # -- comparisons ---------------------------------------------------------------------
    def operand(self) -> Operand:
        tok = self.tok
        if tok.kind == lexer.NUMBER:
            self.advance()
            return _literal(str(tok.number), "int64")
        if tok.kind == lexer.FLOAT:
            self.advance()
            return _literal(tok.text, "double")
        text_tok = self.string("a template, a number or a string")
        hint = None
        if text_tok.kind == lexer.WORD and self.tok.kind == "(":
            self.advance()
            inner = self.tok
            if inner.kind not in (lexer.NUMBER, lexer.FLOAT):
                inner = self.string("a template, a number or a string")
            else:
                self.advance()
            self.expect(")")
            hint = TYPE_HINTS.get(text_tok.text)
            if hint is None:
                raise self.fail(f'unknown type hint "{text_tok.text}"', text_tok)
            text_tok = inner
        try:
            render = _filter_template(text_tok.text)
        except TemplateError as e:
            raise self.fail(f"bad template: {e}", text_tok) from None
        literal = "$" not in text_tok.text
        return Operand(text_tok.text, render, hint, literal)

    def comparison(self) -> Predicate:
        left = self.operand()
        op_tok = self.tok
        if op_tok.kind != lexer.WORD or op_tok.text not in OPERATORS:
            raise self.error("a comparison operator (==, !=, <, <=, >, >=, eq, ne, lt, le, gt, ge)")
        self.advance()
        right = self.operand()
        return compile_comparison(left, op_tok.text, right)


def _filter_value(name: str) -> Callable[[LogMessage], str]:
    """A macro or pair as a filter sees it: SEQNUM is the writer's, so empty here."""
    if name == "SEQNUM":
        return lambda msg: ""
    return resolve(FILTER_ALIASES.get(name, name))


_SEQNUM = re.compile(r"\$(?:SEQNUM\b|\{SEQNUM[}:])")


def _filter_template(text: str) -> Callable[[LogMessage], str]:
    """A template as a filter renders it: syslog-ng evaluates filters without a sequence
    number, so $SEQNUM is empty there (it is the destination writer's counter).  Its
    conditions ($(if), $(grep)) are filters themselves, compiled here."""
    render = compile_template(text, escapes=False, filter_compiler=compile_filter).render_str
    if not _SEQNUM.search(text):
        return render

    def without_seqnum(msg: LogMessage) -> str:
        copy = msg.copy()
        copy.flags |= FLAG_LOCAL
        copy.seqnum = 0
        return render(copy)

    return without_seqnum


def _literal(text: str, hint: str) -> Operand:
    return Operand(text, lambda msg: text, hint, True)


def _value_match(matcher: Matcher, name: str) -> Predicate:
    match = matcher.match

    def predicate(msg: LogMessage) -> bool:
        return match(msg.values.get(name, ""), msg)

    return predicate


def _getter_match(matcher: Matcher, get: Callable[[LogMessage], str]) -> Predicate:
    match = matcher.match
    return lambda msg: match(get(msg), msg)


def _program_pid_message(msg: LogMessage) -> str:
    """What match() without value() looks at: "$PROGRAM[$PID]: $MESSAGE" (3.38)."""
    values = msg.values
    pid = values.get("PID", "")
    program = values.get("PROGRAM", "")
    if pid:
        return f"{program}[{pid}]: {values.get('MESSAGE', '')}"
    return f"{program}: {values.get('MESSAGE', '')}"


def _parse_netmask(cidr: str) -> tuple[int, int]:
    """filter_netmask_new(): "a.b.c.d", "a.b.c.d/len" or "a.b.c.d/m.m.m.m"."""
    slash = cidr.find("/")
    if len(cidr) >= 32 or slash < 0:
        address, mask = inet_aton(cidr) or 0, 0xFFFFFFFF
    else:
        address = inet_aton(cidr[:slash]) or 0
        rest = cidr[slash + 1 :]
        if "." in rest:
            mask = inet_aton(rest) or 0
        else:
            prefix = c_atoi(rest)  # syslog-ng's atoi(): "--8" is 0, "4294967304" is 8
            if prefix == 32:
                mask = 0xFFFFFFFF
            else:
                # C int shifts: counts are taken modulo 32 on x86
                mask = ((((1 << (prefix & 31)) - 1) & 0xFFFFFFFF) << ((32 - prefix) & 31))
                mask &= 0xFFFFFFFF
    return address & mask, mask


def _ipv4(ip: str) -> int | None:
    if not ip:
        return 0x7F000001  # no address (local or internal source): loopback
    if ":" in ip:
        return None
    return inet_aton(ip)


def _parse_netmask6(cidr: str) -> tuple[int, int] | None:
    slash = cidr.find("/")
    if len(cidr) >= 46 + 5 or slash < 0:
        text, prefix = cidr, 128
    else:
        # white space, then decimal digits: no sign (unlike strtol)
        digits = ""
        for ch in cidr[slash + 1 :].lstrip(CSPACE):
            if not "0" <= ch <= "9":
                break
            digits += ch
        prefix = int(digits or "0")
        if not 0 < prefix < 129:
            return None
        text = cidr[:slash]
    address = _ipv6(text) if text else None
    if address is None or not text:
        return None
    return address >> (128 - prefix), prefix


def _ipv6(ip: str) -> int | None:
    if not ip:
        return 1  # ::1
    if ":" not in ip:
        return None
    return inet_pton6(ip)


def compile_filter(
    expr: str,
    *,
    filters: Mapping[str, Callable[[LogMessage], bool]] | None = None,
    name: str = "",
) -> Callable[[LogMessage], bool]:
    """Compile a syslog-ng filter expression; raises FilterError saying where and what.

    ``filters`` resolves ``filter(NAME)`` references.
    """
    try:
        return _Parser(expr, filters or {}, name).parse()
    except FilterError as e:
        if name:
            raise FilterError(f"filter {name}: {e}") from None
        raise
