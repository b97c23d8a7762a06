"""syslog-ng's filter language: the routing decisions of the pipeline stage.

A log path runs its filters on every message that parsing produced, before its rewrites
and destinations.  ``compile_filter`` turns one syslog-ng 3.38 filter expression into a
``Callable[[LogMessage], bool]``, once, at config load (or when a subscriber sends one):
the lexer (``lexer``), the recursive-descent parser and compiler (``compiler``), the
pcre/string/glob matchers (``matcher``, ``pcre``), the address matches (``netmask``) and
the template comparisons (``compare``) all run at compile time, and only small closures
(``predicates``) run per message.

A filter with ``flags(store-matches)`` writes ``$0``, ``$1``, ... and named groups into the
message it is given, as syslog-ng does; every other filter only reads.  ``stores_matches``
tells which is which from the parse, so that a log path knows whether it must copy the
message before filtering it.

Filters sit above templates: they compile template comparisons with ``relay.template``
and hand it ``compile_filter`` for the conditions of ``$(if)`` and ``$(grep)``; rendering
never imports this package.
"""

from relay.filter.compiler import compile_filter, stores_matches

__all__ = ["compile_filter", "stores_matches"]
