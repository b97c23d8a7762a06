"""Template functions: ``$(echo ...)``, ``$(length ...)``, ``$(if ...)`` and the rest of
syslog-ng 3.38's basicfuncs and cryptofuncs that work on one message.

Part of the templates stage.  ``relay.template`` splits ``$(NAME ARG ...)`` into words
and calls ``compile_function(argv, context)``; ``FUNCTIONS`` maps each name to a
compiler that checks the words at config time (a ``TemplateError`` where syslog-ng
refuses the config) and returns a getter from a message to the text.  ``format-json``
is not here: ``relay.template`` compiles it itself, for its fast path.

The ``CompileContext`` carries what a function needs to compile its words: a compiler
for argument templates and, for the conditions of ``$(if)`` and ``$(grep)``, a filter
compiler.  Filters are routing, a layer above templates: this module never imports
them, it is handed one.

How syslog-ng evaluates a function, and so the relay:

* Each argument is a template of its own (macros, nested functions), rendered first.
* A function works on the bytes of its arguments.  Many of them treat an argument as a
  C string, so a NUL byte ends it there (``_common.cstr``); ``length``, ``substr``, ``echo``
  and the like count and copy every byte.
* A run-time problem (``$(substr)`` with a bad offset, ``$(+ a b)`` with a word) gives
  empty text or ``NaN``, never an error; only option and arity checks that syslog-ng
  makes when it compiles the template are ``TemplateError``.
* Options (``--replacement``, ``--length``, ...) are read like GLib's GOption: anywhere
  among the arguments, ``--name=value`` or ``--name value``, ``-x value``; an unknown
  option is an error, ``--`` ends the options.
* ``-`` and ``_`` are the same in a function's name.

The message context of correlation (``@N``, ``$(grep)`` over several messages) is
always the one message, so ``sum``, ``min``, ``max`` and ``average`` give that
message's number.  Types (int, double) that syslog-ng attaches to a function's result
do not show with ``@version: 3.38``, so every function gives text.

The functions live by theme, as syslog-ng's source files group them: ``strings``,
``conditions``, ``numbers``, ``network``, ``misc`` (environment, file names) and
``hashes``; ``_common`` holds what they share and imports none of them.
"""

from __future__ import annotations

from relay.errors import TemplateError
from relay.template_functions import conditions, hashes, misc, network, numbers, strings
from relay.template_functions._common import (
    MAX_ARGS,
    CompileArg,
    CompileContext,
    FilterCompiler,
    FunctionCompiler,
    Render,
)

#: every function the relay implements, by name: the themed modules' tables, in
#: syslog-ng's order of modules (basicfuncs, then cryptofuncs)
FUNCTIONS: dict[str, FunctionCompiler] = {
    **strings.FUNCTIONS, **conditions.FUNCTIONS, **numbers.FUNCTIONS, **network.FUNCTIONS,
    **misc.FUNCTIONS, **hashes.FUNCTIONS,
}

#: syslog-ng 3.38 template functions the relay does not implement (lists, contexts,
#: value-pairs, DNS, getent, ...): compiling one is a TemplateError that says so
NOT_IMPLEMENTED = frozenset({
    "context-lookup", "context-length", "context-values", "implode", "explode", "values",
    "names", "list-concat", "list-head", "list-nth", "list-tail", "list-slice", "list-count",
    "list-append", "list-search", "dns-resolve-ip", "template", "iterate", "map", "filter",
    "getent", "format-cef-extension", "format-welf", "format-flat-json", "python",
})


def compile_function(argv: list[str], context: CompileContext) -> Render:
    """Compile ``$(argv[0] argv[1:]...)``; ``context`` compiles its arguments (and
    conditions)."""
    name = argv[0].replace("_", "-")
    if len(argv) > MAX_ARGS + 1:
        raise TemplateError(
            f'Too many arguments ({len(argv) - 1}) to template function "{argv[0]}", '
            f"maximum number of arguments is {MAX_ARGS}")
    compiler = FUNCTIONS.get(name)
    if compiler is None:
        if name in NOT_IMPLEMENTED:
            raise TemplateError(f"template function {argv[0]!r} is not supported by the relay")
        raise TemplateError(f"unknown template function {argv[0]!r}")
    return compiler(name, argv[1:], context)


__all__ = [
    "FUNCTIONS", "MAX_ARGS", "NOT_IMPLEMENTED", "CompileArg", "CompileContext", "FilterCompiler",
    "FunctionCompiler", "Render", "compile_function",
]
