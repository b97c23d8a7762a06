"""``FormatJson``: one compiled ``$(format-json ...)``, from a message to its JSON bytes.

The middle of format-json, run per message: ``relay.template`` calls ``render_bytes``
(or a ``renderer`` with the template's trailing text) on a parsed ``LogMessage``.  The
arguments were read by ``relay.formatjson.options``; here the message's macros and
name-value pairs are selected and rekeyed (``relay.formatjson.valuepairs``), sorted, and
written, by orjson when it writes the same bytes and by the exact writer of
``relay.formatjson.encode`` when it does not.

The hot path is a writer generated per set of pair names (``_shape_function``): with no
``--pair`` and the default delimiter the keys of the output depend only on those names,
so one dict display in the final key order, with the macros computed in place, does it.
``direct`` generates the same writer for a parser's ``Shape``: from the few things that
vary between its messages, with no message made (``relay.parse.shape``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson

import relay.macros
from relay.facts.names import NEVER_EMPTY
from relay.formatjson.codegen import Reads, expression
from relay.formatjson.encode import (
    T_JSON,
    CastFailed,
    fill_shape,
    nest_shape,
    sort_key,
    walk,
)
from relay.formatjson.options import StrTemplate, parse_options
from relay.formatjson.valuepairs import (
    included,
    macro_names,
    pair_in_scopes,
    rekey,
    takes_pairs,
)
from relay.macros.recipes import Recipe, recipe
from relay.message import LogMessage
from relay.parse.shape import Shape

Getter = Callable[[LogMessage], str]

_NAME_CACHE_LIMIT = 4096
_UNKNOWN: list[tuple[str, str]] = []
# macros that read the name-value pair of the same name
_PAIR_MACROS = frozenset({"HOST", "MESSAGE", "PROGRAM", "PID", "MSGID"})
_SHAPE_CACHE_LIMIT = 1024


class FormatJson:
    """One compiled ``$(format-json ...)``; ``args`` are its arguments after the name."""

    def __init__(self, args: Sequence[str], compile_value: Callable[[str], StrTemplate],
                 resolve: Callable[[str], Getter]) -> None:
        options = parse_options(args, compile_value)
        self.scopes = options.scopes
        self.patterns = options.patterns
        self.pairs = options.pairs
        self.transforms = options.transforms
        self.omit_empty = options.omit_empty
        self.cast_to_strings = options.cast_to_strings
        self.key_delimiter = options.key_delimiter
        self._prepare(resolve)

    # ---- compile-time precomputation ---------------------------------------------------

    def _prepare(self, resolve: Callable[[str], Getter]) -> None:
        names = macro_names(self.scopes, self.patterns)
        self.use_values = takes_pairs(self.scopes, self.patterns)
        # name-value pair name -> output key, or None when left out
        self._names: dict[str, str | None] = {}
        # the names of a message's pairs -> which go where (None: all, unchanged)
        self._value_plans: dict[tuple[str, ...], list[tuple[str, str]] | None] = {}
        self._shapes: dict[tuple[str, ...], tuple[list[str], object]] = {}
        only_initial_dot = all(t.pattern == ".*" for t in self.transforms)
        builtins: list[tuple[str, Getter]] = []
        nonempty: set[str] = set()
        recipes: list[Recipe | None] = []
        macros: list[str] = []
        for name in dict.fromkeys(names):  # a macro twice has the same value twice
            # a macro that is also an included name-value pair of the same name adds nothing:
            # it has the same value, and when that is empty the pair's "" stays anyway
            if only_initial_dot and name in _PAIR_MACROS and self._value_key(name) == name:
                continue
            builtins.append((rekey(self.transforms, name), resolve(name)))
            macros.append(name)
            if name in NEVER_EMPTY:
                nonempty.add(builtins[-1][0])
            # generated writers compute these macros in place (when they are ours)
            recipes.append(recipe(name) if resolve is relay.macros.resolve else None)
        self.builtins = builtins
        self._nonempty_keys = nonempty
        self._recipes = recipes
        self._macros = macros  # the macro of each of builtins
        self.pair_keys: list[tuple[str, StrTemplate, int]] = [
            (rekey(self.transforms, name), tpl, kind) for name, tpl, kind in self.pairs
        ]
        self._fast = not self.pairs and self.key_delimiter == "."
        self.render_bytes: Callable[[LogMessage], bytes] = self.renderer()

    def _value_key(self, name: str) -> str | None:
        selected = included(self.patterns, name, pair_in_scopes(self.scopes, name))
        key = rekey(self.transforms, name) if selected else None
        if len(self._names) >= _NAME_CACHE_LIMIT:
            self._names.clear()
        self._names[name] = key
        return key

    # ---- per message ---------------------------------------------------------------------

    def collect(self, msg: LogMessage) -> tuple[dict[str, str], dict[str, int] | None]:
        """The selected key-value pairs (unsorted) and the explicit types, if any."""
        result: dict[str, str]
        if self.use_values:
            values = msg.values
            ident = tuple(values)
            plan = self._value_plans.get(ident, _UNKNOWN)
            if plan is _UNKNOWN:
                plan = self._value_plan(ident)
            if plan is None:
                result = values.copy()
            elif self.omit_empty:
                result = {key: v for name, key in plan if (v := values[name])}  # type: ignore[union-attr]
            else:
                result = {key: values[name] for name, key in plan}  # type: ignore[union-attr]
        else:
            result = {}
        for key, getter in self.builtins:
            value = getter(msg)
            if value:
                result[key] = value
        types: dict[str, int] | None = None
        if self.pair_keys:
            for key, tpl, kind in self.pair_keys:
                value = tpl.render_str(msg)
                if self.omit_empty and not value:
                    continue
                result[key] = value  # the last insert wins
                if kind < 0 and not self.cast_to_strings and _is_json_template(tpl):
                    kind = T_JSON
                if kind > 0:
                    if types is None:
                        types = {}
                    types[key] = kind
                elif types is not None:
                    types.pop(key, None)
        return result, types

    def _value_plan(self, ident: tuple[str, ...]) -> list[tuple[str, str]] | None:
        names = self._names
        plan = [(name, key) for name in ident
                if (key := names[name] if name in names else self._value_key(name)) is not None]
        whole = not self.omit_empty and len(plan) == len(ident) and all(
            name == key for name, key in plan)
        if len(self._value_plans) >= _SHAPE_CACHE_LIMIT:
            self._value_plans.clear()
        self._value_plans[ident] = None if whole else plan
        return None if whole else plan

    def render_str(self, msg: LogMessage) -> str:
        return self.render_bytes(msg).decode("utf-8")

    def renderer(self, suffix: bytes = b"") -> Callable[[LogMessage], bytes]:
        """A function that writes a message's JSON followed by ``suffix``.

        Pairs and macros only, with no --pair and the default delimiter, make a flat
        object whose keys are fixed by the names of the message's pairs.  For each set of
        names seen twice, the JSON is written by a function generated for that set: one
        dict display in the final key order, which orjson writes as it is.
        """
        general = self._render_general
        fallback = general
        if suffix:
            def fallback(msg: LogMessage) -> bytes:
                return general(msg) + suffix
        if not self._fast:
            return fallback
        shapes: dict[tuple[str, ...], Callable[[LogMessage], bytes]] = {}
        seen: set[tuple[str, ...]] = set()

        def render(msg: LogMessage) -> bytes:
            ident = tuple(msg.values)
            fn = shapes.get(ident)
            if fn is not None:
                return fn(msg)
            if ident not in seen:  # a set of names seen once may never come back
                if len(seen) >= _SHAPE_CACHE_LIMIT:
                    seen.clear()
                seen.add(ident)
                return fallback(msg)
            if len(shapes) >= _SHAPE_CACHE_LIMIT:
                shapes.clear()
            fn = shapes[ident] = self._shape_function(ident, suffix, fallback) or fallback
            return fn(msg)

        return render

    def _shape_function(self, ident: tuple[str, ...], suffix: bytes,
                        fallback: Callable[[LogMessage], bytes]
                        ) -> Callable[[LogMessage], bytes] | None:
        """The generated writer for messages whose pair names are ``ident``, or None."""
        return self._generate(ident, suffix, None, fallback)  # type: ignore[return-value]

    def direct(self, shape: Shape, suffix: bytes = b"") -> Callable[..., bytes | None] | None:
        """The writer of the messages of ``shape`` (followed by ``suffix``), from the
        shape's parameters rather than a message: the same bytes, or None where the
        writer for a message would fall back (bytes that were not UTF-8, a NUL).  None
        when some macro needs the message itself (a getter without a recipe, SEQNUM of a
        message that has a sequence id) or the output is not the flat kind."""
        if not self._fast:
            return None
        return self._generate(shape.ident, suffix, shape, None)

    def _generate(self, ident: tuple[str, ...], suffix: bytes, shape: Shape | None,
                  fallback: Callable[[LogMessage], bytes] | None
                  ) -> Callable[..., bytes | None] | None:
        """One dict display in the final key order, written by orjson: from a message
        (``shape`` None), or from the parameters of ``shape``."""
        plan = self._value_plans.get(ident, _UNKNOWN)
        if plan is _UNKNOWN:
            plan = self._value_plan(ident)
        pairs = [(name, name) for name in ident] if plan is None else plan
        pair_names = {key: name for name, key in pairs}
        macro_keys = [key for key, _ in self.builtins]
        keys = set(pair_names) | set(macro_keys)
        if (len(pair_names) != len(pairs) or len(set(macro_keys)) != len(macro_keys)
                or not all(k and k.isascii() and "." not in k and "@" not in k for k in keys)):
            return None
        namespace: dict[str, object] = {"dumps": orjson.dumps, "fallback": fallback}
        reads = Reads(shape, namespace)
        # key -> (the Python expression of its value, whether an empty value drops it)
        exprs: dict[str, tuple[str, bool]] = {
            key: (reads.value(name), self.omit_empty) for key, name in pair_names.items()}
        for i, (key, getter) in enumerate(self.builtins):
            found = self._recipes[i]
            text = None if shape is None or found is None else shape.texts.get(
                self._macros[i])
            if text is not None:  # the shape hands over the macro's text itself
                expr = f"({text})"
            elif found is None:
                if shape is not None:
                    return None
                expr = f"g{i}(msg)"
                namespace[f"g{i}"] = getter
            else:
                try:
                    made = expression(found, f"r{i}_", reads, ident)
                except KeyError:  # an attribute the shape does not hand over
                    return None
                if made is None:
                    return None
                expr = made
            if key in exprs:  # a macro and a pair of one key: a non-empty macro wins
                exprs[key] = (f"({expr} or {exprs[key][0]})", self.omit_empty)
            else:
                exprs[key] = (expr, key not in self._nonempty_keys)
        order = [key for key in sorted(exprs, reverse=True)
                 if not (exprs[key][1] and reads.empty(exprs[key][0]))]
        option = orjson.OPT_APPEND_NEWLINE if suffix == b"\n" else 0
        namespace["suffix"] = suffix
        declined = "fallback(msg)" if shape is None else "None"
        if shape is None:
            lines = ["def render(msg):", "    values = msg.values", "    d = {"]
        else:
            lines = [f"def render({', '.join(shape.params)}):", "    d = {"]
        lines += [f"        {key!r}: {exprs[key][0]}," for key in order]
        lines.append("    }")
        lines += [f"    if not d[{key!r}]: del d[{key!r}]" for key in order
                  if exprs[key][1] and not reads.fixed(exprs[key][0])]
        lines += [
            "    try:",
            f"        out = dumps(d, option={option})",
            "    except TypeError:  # a lone surrogate: bytes that were not UTF-8",
            f"        return {declined}",
            # a NUL, which syslog-ng writes as \\x00; look for a backslash first, since
            # "in" with an int is a plain memchr and with bytes it costs ten times more
            "    if 92 in out and b'\\\\u0000' in out:",
            f"        return {declined}",
            "    return out" + ("" if option or not suffix else " + suffix"),
        ]
        exec("\n".join(lines), namespace)
        return namespace["render"]  # type: ignore[return-value]

    def _render_general(self, msg: LogMessage) -> bytes:
        result, types = self.collect(msg)
        if types is None and self.key_delimiter == ".":
            ident = tuple(result)
            known = self._shapes.get(ident)
            if known is None:
                known = self._plan(ident)
            keys, shape = known
            if shape is not None:
                try:
                    if type(shape) is dict:  # flat: the keys in order, to be filled in
                        ordered = shape.copy()
                        ordered.update(result)
                        out = orjson.dumps(ordered)
                    else:
                        out = orjson.dumps(fill_shape(shape, [result[k] for k in keys]))  # type: ignore[arg-type]
                except TypeError:  # a lone surrogate: bytes that were not UTF-8
                    pass
                else:
                    if 92 not in out or b"\\u0000" not in out:
                        return out
            return walk([(k, result[k]) for k in keys]).encode("utf-8")
        return self._render_slow(result, types)

    def _plan(self, ident: tuple[str, ...]) -> tuple[list[str], object]:
        if all(k.isascii() for k in ident):
            keys = sorted(ident, reverse=True)
        else:
            keys = sorted(ident, key=sort_key, reverse=True)
        shape: object
        if not any("." in k or "@" in k or not k for k in keys):
            shape = dict.fromkeys(keys)  # flat
        else:
            shape = nest_shape(keys)
        if len(self._shapes) >= _SHAPE_CACHE_LIMIT:
            self._shapes.clear()
        plan = (keys, shape)
        self._shapes[ident] = plan
        return plan

    def _render_slow(self, result: dict[str, str], types: dict[str, int] | None) -> bytes:
        keys = sorted(result, key=sort_key, reverse=True)
        try:
            text = walk([(k, result[k]) for k in keys], self.key_delimiter, types)
        except CastFailed:
            return b""
        return text.encode("utf-8")


def _is_json_template(tpl: StrTemplate) -> bool:
    return bool(getattr(tpl, "is_json", False))
