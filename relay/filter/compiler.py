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

The closures it builds are in ``predicates``; netmask() and netmask6() in ``netmask``;
template comparisons in ``compare``; the keywords and tokens in ``lexer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from relay.errors import FilterError, TemplateError
from relay.facts.names import FACILITY_CODES, SEVERITY_CODES, TYPE_HINTS
from relay.filter import lexer
from relay.filter.compare import OPERATORS, Operand, compile_comparison
from relay.filter.lexer import Token, TokenStream, keyword
from relay.filter.matcher import MatcherError, compile_matcher
from relay.filter.netmask import compile_netmask, compile_netmask6
from relay.filter.predicates import (
    Predicate,
    always,
    both,
    constant_operand,
    either,
    filter_template,
    filter_value,
    getter_match,
    negate,
    never,
    program_pid_message,
    read_in_list,
    value_match,
)
from relay.macros import resolve
from relay.message import LogMessage, tag_id

_ATOM_FIELDS = {"program": "PROGRAM", "host": "HOST", "message": "MESSAGE", "source": "SOURCE"}


class _Parser(TokenStream):
    """One expression's parse; ``pure`` parses without effects outside it (no tag is
    numbered, no in-list file read, a filter(NAME) is never), for ``stores_matches``;
    ``untrusted`` (a subscriber's filter) refuses what reads the relay's files or
    environment: in-list() and, in its templates, $(env)."""

    def __init__(self, text: str, filters: Mapping[str, Predicate], *, pure: bool = False,
                 untrusted: bool = False) -> None:
        super().__init__(lexer.tokenize(text))
        self.filters = filters
        self.pure = pure
        self.untrusted = untrusted
        #: whether a matcher of the expression (or of a filter in its templates) stores
        self.stores_matches = False

    def nested_filter(self, expr: str) -> Predicate:
        """A filter inside one of the expression's templates ($(if), $(grep)): compiled
        as ``compile_filter(expr)`` compiles it, and what it stores counts as ours."""
        nested = _Parser(expr, {}, pure=self.pure, untrusted=self.untrusted)
        fn = nested.parse()
        self.stores_matches |= nested.stores_matches
        return fn

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
        return tok.kind == lexer.WORD and keyword(tok) not in ("and", "or") and (
            keyword(tok) is None or keyword(tok) in lexer.KEYWORDS
        )

    def expr(self) -> Predicate:
        fn = self.or_expr()
        while self.tok.kind == ";":
            self.advance()
            if self.starts_expr():
                fn = both(fn, self.or_expr())
        return fn

    def or_expr(self) -> Predicate:
        fn = self.and_expr()
        while self.is_kw("or"):
            self.advance()
            fn = either(fn, self.and_expr())
        return fn

    def and_expr(self) -> Predicate:
        fn = self.unary()
        while self.is_kw("and"):
            self.advance()
            fn = both(fn, self.unary())
        return fn

    def unary(self) -> Predicate:
        if self.is_kw("not"):
            self.advance()
            return negate(self.unary())
        if self.tok.kind == "(":
            self.advance()
            fn = self.expr()
            self.expect(")", "')', 'and', 'or' or ';'")
            return fn
        return self.simple()

    def simple(self) -> Predicate:
        tok = self.tok
        kw = keyword(tok)
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
            return always
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
            okw = keyword(opt)
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
        self.stores_matches |= matcher.store_matches
        if kw in _ATOM_FIELDS:
            return value_match(matcher, _ATOM_FIELDS[kw])
        if value is not None:
            return getter_match(matcher, filter_value(value))
        if template is not None:
            return getter_match(matcher, template)
        return getter_match(matcher, program_pid_message)

    # -- addresses, tags, references ------------------------------------------------------
    def netmask(self) -> Predicate:
        self.expect("(")
        cidr = self.string("an IPv4 address or network").text
        self.expect(")")
        return compile_netmask(cidr)

    def netmask6(self) -> Predicate:
        self.expect("(")
        cidr = self.string("an IPv6 address or network").text
        self.expect(")")
        return compile_netmask6(cidr)

    def tags(self) -> Predicate:
        self.expect("(")
        names = set()
        while self.tok.kind != ")":
            tag = self.string("a tag name or ')'").text
            if not self.pure:
                tag_id(tag)  # numbered as the config is read, as syslog-ng does
            names.add(tag)
        self.advance()
        if not names:
            return never
        wanted = frozenset(names)
        return lambda msg: not wanted.isdisjoint(msg.tags)

    def reference(self) -> Predicate:
        self.expect("(")
        tok = self.string("a filter name")
        self.expect(")")
        if self.pure:
            return never
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
        if self.untrusted:
            raise self.fail("in-list() reads a file: not allowed in a filter from the network",
                            path_tok)
        if self.pure:
            return never
        try:
            wanted = read_in_list(path_tok.text)
        except OSError as e:
            raise self.fail(f"cannot read in-list file: {e.strerror}", path_tok) from None
        name = value_tok.text.lstrip("$") if value_tok.text.startswith("$") else value_tok.text
        get = resolve(name)
        return lambda msg: get(msg) in wanted

    # -- comparisons ---------------------------------------------------------------------
    def operand(self) -> Operand:
        tok = self.tok
        if tok.kind == lexer.NUMBER:
            self.advance()
            return constant_operand(str(tok.number), "int64")
        if tok.kind == lexer.FLOAT:
            self.advance()
            return constant_operand(tok.text, "double")
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
            render = filter_template(text_tok.text, self.nested_filter,
                                     untrusted=self.untrusted)
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


def compile_filter(
    expr: str,
    *,
    filters: Mapping[str, Callable[[LogMessage], bool]] | None = None,
    name: str = "",
    untrusted: bool = False,
) -> Callable[[LogMessage], bool]:
    """Compile a syslog-ng filter expression; raises FilterError saying where and what.

    ``filters`` resolves ``filter(NAME)`` references.  ``untrusted`` (an expression from
    the network) refuses what reads the relay's files or environment: in-list(), $(env).
    """
    try:
        return _Parser(expr, filters or {}, untrusted=untrusted).parse()
    except FilterError as e:
        if name:
            raise FilterError(f"filter {name}: {e}") from None
        raise


def stores_matches(expr: str) -> bool:
    """Whether the filter ``expr`` writes into the messages it is given: true when one of
    its matchers, or of the filters in its templates, has ``flags(store-matches)``.

    The answer comes from the parse, not from the text, and the parse has no effects.
    ``filter(NAME)`` references are not followed: the caller knows the named filters.
    A bad expression raises ``FilterError`` as ``compile_filter`` does.
    """
    parser = _Parser(expr, {}, pure=True)
    parser.parse()
    return parser.stores_matches
