"""The typed [[rewrite]] tables: one rule each (set, unset, subst, set_tag, clear_tag).

Read and checked here, with the line, as every other table; relay.rewrite compiles the
rule from ``RewriteConfig.spec``, the mapping it takes, and checks what needs compiling
(templates, patterns, the condition).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from relay.config.reader import Table, option, read_table
from relay.config.values import check_name


@dataclass(frozen=True, kw_only=True)
class SetRule:
    template: str
    value: str = "MESSAGE"


@dataclass(frozen=True, kw_only=True)
class UnsetRule:
    value: str = "MESSAGE"


@dataclass(frozen=True, kw_only=True)
class SubstRule:
    pattern: str
    replacement: str
    value: str = "MESSAGE"
    type: str = "pcre"
    flags: tuple[str, ...] = option((), list_only=True)


#: rule key -> what it holds: a table read into its dataclass, or a tag (a template)
RULES: dict[str, type] = {"set": SetRule, "unset": UnsetRule, "subst": SubstRule,
                          "set_tag": str, "clear_tag": str}
Rule = SetRule | UnsetRule | SubstRule | str


@dataclass(frozen=True)
class RewriteConfig:
    name: str
    rule: str  # a key of RULES
    args: Rule
    condition: str | None = None  # a filter expression: rewrite only what passes it
    line: int = 0

    @property
    def spec(self) -> dict[str, object]:
        """The rule as relay.rewrite.compile_rewrite takes it (a [[rewrite]] table)."""
        args: object = self.args
        if not isinstance(self.args, str):
            args = {k: list(v) if isinstance(v, tuple) else v
                    for k, v in dataclasses.asdict(self.args).items()}
        spec: dict[str, object] = {self.rule: args}
        if self.condition is not None:
            spec["condition"] = self.condition
        return spec


def read_rewrite(t: Table) -> RewriteConfig:
    name = t.convert("name", check_name, t.get("name", str))
    rules = [k for k in RULES if k in t.data]
    if not rules:
        raise t.error(None, "needs a rule: set, unset, subst, set_tag or clear_tag")
    if len(rules) > 1:
        raise t.error(rules[1], f"is a second rule: a [[rewrite]] holds one of "
                      f"{', '.join(RULES)}")
    rule = rules[0]
    kind = RULES[rule]
    args: Rule
    if kind is str:
        args = t.get(rule, str)
    else:
        args = read_table(Table(t.loader, f"rewrite.{rule}", t.get(rule, dict), t.index), kind)
    condition = t.get("condition", str, None)
    line = t.line(rule)
    t.finish()
    return RewriteConfig(name, rule, args, condition, line)
