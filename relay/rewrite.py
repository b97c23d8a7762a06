"""syslog-ng's rewrite rules, compiled into closures that change a message in place.

Part of the pipeline stage: a log path applies its rewrites, in order, after its filters
and before its destinations, to its own copy of the message.  Each ``[[rewrite]]`` table
holds exactly one rule (plus an optional ``condition``):

    set       = { value = "NAME", template = "TEMPLATE" }     ; value defaults to MESSAGE
    unset     = { value = "NAME" }
    subst     = { pattern = "...", replacement = "TEMPLATE", value = "MESSAGE",
                  type = "pcre" | "string", flags = ["global", "ignore-case", ...] }
    set_tag   = "TAG"                                         ; a template, as in syslog-ng
    clear_tag = "TAG"
    condition = "FILTER EXPRESSION"                           ; rewrite only when it passes

Templates are written as inside double quotes in syslog-ng.conf (``\\n`` is a newline).
``subst`` follows syslog-ng's replace loop: matches of a pcre pattern set ``$0``, ``$1``,
... and named groups before the replacement is rendered, and ``global`` replaces every
match.  glob patterns cannot replace, as in syslog-ng.
"""

from __future__ import annotations

from collections.abc import Callable

from relay.errors import ConfigError, FilterError, TemplateError
from relay.facts.names import REWRITE_ALIASES
from relay.filter import compile_filter
from relay.filter.matcher import MatcherError, compile_matcher
from relay.message import LogMessage, tag_id
from relay.template import compile_template

Rewrite = Callable[[LogMessage], None]

_RULES = ("set", "unset", "subst", "set_tag", "clear_tag")


def _fail(name: str, key: str, what: str) -> ConfigError:
    return ConfigError(f"rewrite {name}: {key}: {what}")


def _table(name: str, key: str, spec: object, allowed: set[str], required: set[str]
           ) -> dict[str, object]:
    if not isinstance(spec, dict):
        raise _fail(name, key, "must be a table")
    unknown = sorted(set(spec) - allowed)
    if unknown:
        allowed_text = ", ".join(sorted(allowed))
        raise _fail(name, key, f"unknown key {unknown[0]!r} (allowed: {allowed_text})")
    missing = sorted(required - set(spec))
    if missing:
        raise _fail(name, key, f"missing key {missing[0]!r}")
    return spec


def _str(name: str, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise _fail(name, key, "must be a string")
    return value


def _value_name(name: str, key: str, value: object) -> str:
    text = _str(name, key, value)
    if text.startswith("$"):
        text = text[1:]
    if not text or "$" in text or text.startswith("("):
        raise _fail(name, key, "must name one name-value pair, not a template")
    return REWRITE_ALIASES.get(text, text)


def _template(name: str, key: str, value: object) -> Callable[[LogMessage], str]:
    try:
        return compile_template(_str(name, key, value), filter_compiler=compile_filter).render_str
    except TemplateError as e:
        raise _fail(name, key, str(e)) from None


def _set(name: str, spec: object) -> Rewrite:
    t = _table(name, "set", spec, {"value", "template"}, {"template"})
    target = _value_name(name, "set.value", t.get("value", "MESSAGE"))
    render = _template(name, "set.template", t["template"])

    def set_value(msg: LogMessage) -> None:
        msg.values[target] = render(msg)

    return set_value


def _unset(name: str, spec: object) -> Rewrite:
    t = _table(name, "unset", spec, {"value"}, set())
    target = _value_name(name, "unset.value", t.get("value", "MESSAGE"))

    def unset_value(msg: LogMessage) -> None:
        msg.values.pop(target, None)

    return unset_value


def _subst(name: str, spec: object) -> Rewrite:
    t = _table(name, "subst", spec, {"pattern", "replacement", "value", "type", "flags"},
               {"pattern", "replacement"})
    pattern = _str(name, "subst.pattern", t["pattern"])
    render = _template(name, "subst.replacement", t["replacement"])
    target = _value_name(name, "subst.value", t.get("value", "MESSAGE"))
    type_ = _str(name, "subst.type", t.get("type", "pcre"))
    flags = t.get("flags", [])
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise _fail(name, "subst.flags", "must be a list of strings")
    try:
        matcher = compile_matcher(pattern, type_, flags)
    except MatcherError as e:
        raise _fail(name, "subst", str(e)) from None
    if not matcher.supports_replace:
        raise _fail(name, "subst.type", f"{type_} patterns cannot replace (use pcre or string)")
    replace = matcher.replace

    def subst(msg: LogMessage) -> None:
        new = replace(msg.values.get(target, ""), msg, render)
        if new is not None:
            msg.values[target] = new

    return subst


def _tag(name: str, key: str, spec: object, on: bool) -> Rewrite:
    text = _str(name, key, spec)
    if "$" not in text:
        tag = compile_template(text, filter_compiler=compile_filter).render_str(LogMessage())
        tag_id(tag)  # numbered as the config is read, as syslog-ng does
        if on:
            def set_tag(msg: LogMessage) -> None:
                if tag not in msg.tags:
                    msg.tags.append(tag)
            return set_tag

        def clear_tag(msg: LogMessage) -> None:
            if tag in msg.tags:
                msg.tags.remove(tag)
        return clear_tag
    render = _template(name, key, text)

    def set_or_clear(msg: LogMessage) -> None:
        tag = render(msg)
        if on and tag not in msg.tags:
            tag_id(tag)
            msg.tags.append(tag)
        elif not on and tag in msg.tags:
            msg.tags.remove(tag)

    return set_or_clear


def compile_rewrite(name: str, spec: dict[str, object]) -> Callable[[LogMessage], None]:
    """The closure for one ``[[rewrite]]`` table (without its ``name``); ConfigError if bad."""
    unknown = sorted(set(spec) - set(_RULES) - {"condition", "name"})
    if unknown:
        raise _fail(name, unknown[0], f"unknown key (allowed: {', '.join(_RULES)}, condition)")
    rules = [k for k in _RULES if k in spec]
    if len(rules) != 1:
        raise _fail(name, "rule", f"needs exactly one of {', '.join(_RULES)}, got {len(rules)}")
    key = rules[0]
    value = spec[key]
    if key == "set":
        fn = _set(name, value)
    elif key == "unset":
        fn = _unset(name, value)
    elif key == "subst":
        fn = _subst(name, value)
    else:
        fn = _tag(name, key, value, key == "set_tag")
    if "condition" not in spec:
        return fn
    try:
        condition = compile_filter(_str(name, "condition", spec["condition"]))
    except FilterError as e:
        raise _fail(name, "condition", str(e)) from None

    def conditional(msg: LogMessage) -> None:
        if condition(msg):
            fn(msg)

    return conditional
