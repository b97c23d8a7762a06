"""The small closures a compiled filter is made of, and what they read from a message.

Part of the pipeline stage (``relay.filter``): the parser (``compiler``) puts these
together; only they run per message.  ``always`` and ``never`` are constants that the
combinators fold away, so ``level(emerg..debug) and x`` costs what ``x`` costs.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable

from relay.facts.names import FILTER_ALIASES
from relay.filter.compare import Operand
from relay.filter.matcher import Matcher
from relay.macros import resolve
from relay.message import FLAG_LOCAL, LogMessage
from relay.template import compile_template

Predicate = Callable[[LogMessage], bool]
#: compiles the filters inside a template ($(if), $(grep)): the filter compiler itself
FilterCompiler = Callable[[str], Predicate]


def always(msg: LogMessage) -> bool:
    return True


def never(msg: LogMessage) -> bool:
    return False


def negate(fn: Predicate) -> Predicate:
    if fn is always:
        return never
    if fn is never:
        return always
    return lambda msg: not fn(msg)


def both(a: Predicate, b: Predicate) -> Predicate:
    if a is never or b is never:
        return never
    if a is always:
        return b
    if b is always:
        return a
    return lambda msg: a(msg) and b(msg)


def either(a: Predicate, b: Predicate) -> Predicate:
    if a is always or b is always:
        return always
    if a is never:
        return b
    if b is never:
        return a
    return lambda msg: a(msg) or b(msg)


def filter_value(name: str) -> Callable[[LogMessage], str]:
    """A macro or pair as a filter sees it: SEQNUM is the writer's, so empty here."""
    if name == "SEQNUM":
        return lambda msg: ""
    return resolve(FILTER_ALIASES.get(name, name))


_SEQNUM = re.compile(r"\$(?:SEQNUM\b|\{SEQNUM[}:])")


def filter_template(text: str, filter_compiler: FilterCompiler, *, untrusted: bool = False
                    ) -> Callable[[LogMessage], str]:
    """A template as a filter renders it: syslog-ng evaluates filters without a sequence
    number, so $SEQNUM is empty there (it is the destination writer's counter).  Its
    conditions ($(if), $(grep)) are filters themselves, compiled by ``filter_compiler``."""
    render = compile_template(text, escapes=False, filter_compiler=filter_compiler,
                              untrusted=untrusted).render_str
    if not _SEQNUM.search(text):
        return render

    def without_seqnum(msg: LogMessage) -> str:
        copy = msg.copy()
        copy.flags |= FLAG_LOCAL
        copy.seqnum = 0
        return render(copy)

    return without_seqnum


def constant_operand(text: str, hint: str) -> Operand:
    return Operand(text, lambda msg: text, hint, True)


def value_match(matcher: Matcher, name: str) -> Predicate:
    match = matcher.match

    def predicate(msg: LogMessage) -> bool:
        return match(msg.values.get(name, ""), msg)

    return predicate


def getter_match(matcher: Matcher, get: Callable[[LogMessage], str]) -> Predicate:
    match = matcher.match
    return lambda msg: match(get(msg), msg)


def program_pid_message(msg: LogMessage) -> str:
    """What match() without value() looks at: "$PROGRAM[$PID]: $MESSAGE" (3.38)."""
    values = msg.values
    pid = values.get("PID", "")
    program = values.get("PROGRAM", "")
    if pid:
        return f"{program}[{pid}]: {values.get('MESSAGE', '')}"
    return f"{program}: {values.get('MESSAGE', '')}"


def read_in_list(path: str) -> frozenset[str]:
    """The lines of an in-list() file, as syslog-ng reads them; raises OSError."""
    if "\0" in path:  # open() would raise ValueError
        raise OSError(errno.EINVAL, "the file name holds a NUL")
    with open(path, "rb") as f:
        # fgets, then the last character of each line is dropped
        lines = {ln[:-1] for ln in f.read().splitlines(keepends=True) if ln[:-1]}
    return frozenset(ln.decode("utf-8", "surrogateescape") for ln in lines)
