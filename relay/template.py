"""Templates: the step that turns a routed message into the bytes a destination writes.

A destination's template is compiled once, at config time, into a ``Template`` whose
``render`` is a short chain of precomputed getters; filters use ``render_str`` for
template comparisons.  The syntax is syslog-ng 3.38's:

    template  = *( literal / "$$" / "$" NAME / "${" NAME [ ":-" DEFAULT ] "}" [ "@" DIGITS ]
                 / "$(" FUNCTION *( WS ARG ) ")" [ "@" DIGITS ] )
    NAME      = 1*( ALPHA / DIGIT / "_" )          ; braced names may hold anything but "}" ":"
    ARG       = 1*( CHAR / "\\" CHAR / quoted )    ; "(" and ")" nest; quotes are dropped at
                                                   ; the top level and kept inside nested ones

* A ``$`` followed by anything else is literal, and so is a ``$`` at the end.
* ``${NAME:-DEFAULT}`` writes DEFAULT when the value is empty.
* ``@0`` is the message itself; any other ``@N`` refers to a correlation context the
  relay does not have, so that element writes nothing (as syslog-ng does without one).
  An ``@`` that is not followed by a digit is literal text, and ``@@`` is one ``@``.
* ``$()`` writes nothing, and drops the literal text since the previous element.
* ``$(format-json ...)`` is compiled here (``relay.formatjson``), for its fast path; every
  other function (``$(echo ...)``, ``$(if ...)``, ...) by ``relay.template_functions``.
  An unknown function or a bad argument is a ``TemplateError`` naming it and its position.
* ``$(if (FILTER) ...)`` and ``$(grep (FILTER) ...)`` hold filter expressions.  Filters are
  routing, a layer above templates, so this module never imports them: whoever compiles a
  template with conditions hands in ``filter_compiler`` (``relay.filter.compile_filter``).

``compile_template`` takes the text as it would appear between double quotes in
syslog-ng.conf, so it first applies that string's escapes (``\\n``, ``\\t``, ``\\r``,
``\\a``, ``\\v``, ``\\xHH``, ``\\oOOO``, ``\\`` before any other character gives that
character, and a backslash-newline disappears).  syslog-ng's template compiler itself
treats a backslash as literal, except inside function arguments where it quotes the
next character.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from relay.errors import TemplateError
from relay.facts.names import DEFAULT_TEMPLATE as DEFAULT_TEMPLATE  # re-exported
from relay.formatjson import FormatJson
from relay.macros import MACROS, resolve
from relay.message import LogMessage
from relay.parse.shape import Shape
from relay.template_functions import CompileContext, FilterCompiler, compile_function
from relay.template_functions._common import to_bytes

StrPart = Callable[[LogMessage], str]

_FUNCTIONS = ("format-json",)
_SPACE = " \t\n\v\f\r"
_CONFIG_ESCAPE = re.compile(
    rb"\\(?:\r?\n|x([0-9A-Fa-f]{1,2})|o([0-7]{1,3})|(.))", re.DOTALL
)
_SIMPLE_ESCAPES = {b"a": b"\x07", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\x0b"}


def unescape_config_string(text: str) -> str:
    """What syslog-ng's config lexer makes of ``text`` written inside double quotes."""
    if "\\" not in text:
        return text

    def one(m: re.Match[bytes]) -> bytes:
        if m.group(1) is not None:
            return bytes([int(m.group(1), 16)])
        if m.group(2) is not None:
            return bytes([int(m.group(2), 8) & 0xFF])
        char = m.group(3)
        if char is None:  # backslash-newline: a continuation line
            return b""
        return _SIMPLE_ESCAPES.get(char, char)

    raw = _CONFIG_ESCAPE.sub(one, to_bytes(text))
    return raw.decode("utf-8", "surrogateescape")


class Template:
    """A compiled template.

    ``render(msg)`` gives the final bytes for a destination (text parts encoded as UTF-8,
    undecodable bytes restored); ``render_str(msg)`` the same as ``str`` (bytes that are
    not UTF-8 as surrogates).  Both are plain attributes holding the compiled function,
    so that a call costs no extra frame.
    """

    __slots__ = ("text", "is_json", "render", "render_str", "_json", "_suffix")

    def __init__(self, text: str, parts: list[str | StrPart],
                 json_func: FormatJson | None = None) -> None:
        self.text = text
        # a template that is exactly one $(format-json): its value is JSON, not a string
        self.is_json = json_func is not None and len(parts) == 1
        self.render_str: Callable[[LogMessage], str] = _join_str(parts)
        self.render: Callable[[LogMessage], bytes] = _join_bytes(parts, json_func)
        # $(format-json ...) with at most a literal after it: what direct() can write
        kinds = [isinstance(p, str) for p in parts]
        self._json = json_func if kinds in ([False], [False, True]) else None
        self._suffix = to_bytes(parts[1]) if kinds == [False, True] else b""  # type: ignore[arg-type]

    def direct(self, shape: Shape) -> Callable[..., bytes | None] | None:
        """``render`` for the messages of ``shape``, from the shape's parameters (None
        where ``render`` would take another path), or None when this template cannot be
        written that way (see ``FormatJson.direct``)."""
        if self._json is None:
            return None
        return self._json.direct(shape, self._suffix)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


def _join_str(parts: list[str | StrPart]) -> Callable[[LogMessage], str]:
    if not parts:
        return lambda msg: ""
    if len(parts) == 1:
        only = parts[0]
        if isinstance(only, str):
            return lambda msg: only
        return only
    funcs = parts

    def render_str(msg: LogMessage) -> str:
        return "".join([p if isinstance(p, str) else p(msg) for p in funcs])

    return render_str


def _join_bytes(parts: list[str | StrPart],
                json_func: FormatJson | None) -> Callable[[LogMessage], bytes]:
    if json_func is not None:
        # the common destination template: [literal] $(format-json ...) [literal]
        kinds = [isinstance(p, str) for p in parts]
        if kinds == [False]:
            return json_func.render_bytes
        if kinds == [False, True]:
            return json_func.renderer(to_bytes(parts[1]))  # type: ignore[arg-type]
        if kinds == [True, False]:
            prefix = to_bytes(parts[0])  # type: ignore[arg-type]
            fj = json_func.render_bytes
            return lambda msg: prefix + fj(msg)
        if kinds == [True, False, True]:
            prefix = to_bytes(parts[0])  # type: ignore[arg-type]
            fj = json_func.renderer(to_bytes(parts[2]))  # type: ignore[arg-type]
            return lambda msg: prefix + fj(msg)
    if len(parts) == 1 and isinstance(parts[0], str):
        constant = to_bytes(parts[0])
        return lambda msg: constant
    render_str = _join_str(parts)
    return lambda msg: to_bytes(render_str(msg))


#: functions a template from the network may not use: they read the relay's environment
UNTRUSTED_REFUSED = frozenset({"env"})


def compile_template(
    text: str, *, escapes: bool = True, filter_compiler: FilterCompiler | None = None,
    untrusted: bool = False,
) -> Template:
    """Compile a template; a mistake is a ``TemplateError`` that says where.

    ``escapes=False`` takes ``text`` as already unescaped (syslog-ng's template text
    proper, e.g. a ``--pair`` value), so backslashes stay literal.  ``filter_compiler``
    compiles the conditions of ``$(if)`` and ``$(grep)``; without one, a template that
    uses them is a ``TemplateError``.  ``untrusted`` (a template inside a subscriber's
    filter) refuses the functions of UNTRUSTED_REFUSED, at any depth.
    """
    if escapes:
        text = unescape_config_string(text)
    return _Compiler(text, filter_compiler, untrusted).compile()


def _value_part(name: str, default: str | None) -> StrPart:
    getter = resolve(name)
    if name in MACROS:
        if default is None:
            return getter
        dflt = default
        return lambda msg: getter(msg) or dflt
    # a name-value pair whose value starts with NUL counts as empty, as in syslog-ng
    fallback = "" if default is None else default

    def value(msg: LogMessage) -> str:
        v = getter(msg)
        return v if v and v[0] != "\x00" else fallback

    return value


class _Compiler:
    def __init__(self, text: str, filter_compiler: FilterCompiler | None,
                 untrusted: bool = False) -> None:
        self.text = text
        self.filter_compiler = filter_compiler
        self.untrusted = untrusted
        # nested templates (function arguments, --pair values) compile with the same
        # filter compiler, so a condition may sit at any depth
        self.context = CompileContext(self.compile_nested, filter_compiler)
        self.pos = 0
        self.literal: list[str] = []
        self.parts: list[str | StrPart] = []
        self.json_func: FormatJson | None = None
        self.functions = 0

    def error(self, what: str, pos: int) -> TemplateError:
        return TemplateError(f"{what}, at position {pos} of template {self.text!r}")

    def compile_nested(self, text: str) -> StrPart:
        """A function's argument: a template of its own, already unescaped."""
        return self.compile_nested_template(text).render_str

    def compile_nested_template(self, text: str) -> Template:
        return compile_template(text, escapes=False, filter_compiler=self.filter_compiler,
                                untrusted=self.untrusted)

    def compile(self) -> Template:
        text = self.text
        n = len(text)
        while self.pos < n:
            dollar = text.find("$", self.pos)
            if dollar < 0:
                self.literal.append(text[self.pos:])
                break
            self.literal.append(text[self.pos:dollar])
            self.pos = dollar
            self._dollar()
        self._flush()
        json_func = self.json_func if self.functions == 1 else None
        return Template(text, self.parts, json_func)

    def _flush(self) -> None:
        if self.literal:
            lit = "".join(self.literal)
            self.literal = []
            if lit:
                if self.parts and isinstance(self.parts[-1], str):
                    self.parts[-1] += lit
                else:
                    self.parts.append(lit)

    def _element(self, part: StrPart | None) -> None:
        self._flush()
        if part is not None:
            self.parts.append(part)

    def _dollar(self) -> None:
        text = self.text
        start = self.pos
        self.pos += 1
        c = text[self.pos] if self.pos < len(text) else ""
        if c == "{":
            self._braced(start)
        elif c == "(":
            self._function(start)
        elif c.isascii() and (c.isalnum() or c == "_"):
            end = self.pos
            while end < len(text) and text[end].isascii() and (
                    text[end].isalnum() or text[end] == "_"):
                end += 1
            name = text[self.pos:end]
            self.pos = end
            self._element(_value_part(name, None))
        elif c == "*":
            # $* lists the messages of a correlation context: there is none
            self.pos += 1
            self._element(None)
        elif c == "$":
            self.literal.append("$")
            self.pos += 1
        else:
            self.literal.append("$" + c)
            self.pos += len(c)

    def _msg_ref(self) -> bool:
        """Read an optional ``@N``; False when it refers to another message."""
        text = self.text
        if self.pos >= len(text) or text[self.pos] != "@":
            return True
        self.pos += 1
        end = self.pos
        while end < len(text) and "0" <= text[end] <= "9":
            end += 1
        if end > self.pos:
            digits = text[self.pos:end]
            self.pos = end
            return digits.strip("0") == ""
        if self.pos >= len(text) or text[self.pos] != "@":
            self.pos -= 1  # a lone '@' is literal text
        return True

    def _braced(self, start: int) -> None:
        text = self.text
        body_start = self.pos + 1
        close = text.find("}", body_start)
        if close < 0:
            raise self.error("invalid macro, '}' is missing", len(text))
        body = text[body_start:close]
        self.pos = close + 1
        default: str | None = None
        colon = body.find(":")
        if colon >= 0:
            if body[colon + 1:colon + 2] != "-":
                raise self.error(
                    f"unknown substitution function in {text[start:close + 1]!r}"
                    " (only ${NAME:-DEFAULT} is supported)", body_start + colon + 1)
            default = body[colon + 2:]
            body = body[:colon]
        same_message = self._msg_ref()
        self._element(_value_part(body, default) if same_message else None)

    def _function(self, start: int) -> None:
        argv = self._arguments(start)
        self.pos += 1  # the closing parenthesis
        same_message = self._msg_ref()
        if not argv:  # $() is nothing, and (as in syslog-ng) takes the text before it along
            self.literal = []
            return
        name = argv[0]
        if self.untrusted and name.replace("_", "-") in UNTRUSTED_REFUSED:
            raise self.error(f"$({name}) is not allowed in a filter from the network", start)
        if name.replace("_", "-") not in _FUNCTIONS:
            try:
                part = compile_function(argv, self.context)
            except TemplateError as exc:
                raise self.error(str(exc), start) from None
            self._element(part if same_message else None)
            return
        try:
            func = FormatJson(argv[1:], self.compile_nested_template, resolve)
        except TemplateError as exc:
            raise self.error(f"$({name}): {exc}", start) from None
        self._element(func.render_str if same_message else None)
        if same_message:
            self.functions += 1
            self.json_func = func

    def _arguments(self, start: int) -> list[str]:
        """Split ``$(...)`` into arguments; ``self.pos`` ends on the closing parenthesis."""
        text = self.text
        n = len(text)
        pos = self.pos + 1
        while pos < n and text[pos] in _SPACE:
            pos += 1
        argv: list[str] = []
        arg: list[str] = []
        has_value = False
        parens = 1
        while pos < n:
            c = text[pos]
            if c == "\\":
                pos += 1
                if pos >= n:
                    break
                c = text[pos]
            elif c == "(":
                parens += 1
            elif c == ")":
                parens -= 1
                if parens == 0:
                    break
            elif c in "\"'":
                close = text.find(c, pos + 1)
                if close < 0:
                    raise self.error(f"unterminated {c} quote in template function", pos)
                arg.append(text[pos + 1:close] if parens == 1 else text[pos:close + 1])
                has_value = True
                pos = close + 1
                continue
            elif parens == 1 and c in _SPACE:
                argv.append("".join(arg))
                arg = []
                has_value = False
                while pos < n and text[pos] in _SPACE:
                    pos += 1
                continue
            arg.append(c)
            has_value = True
            pos += 1
        if pos >= n:
            raise self.error("invalid template function reference, missing ')'", start)
        if has_value:
            argv.append("".join(arg))
        self.pos = pos
        return argv
