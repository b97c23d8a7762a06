"""syslog-ng's filter language: the routing decisions of the pipeline stage.

A log path runs its filters on every message that parsing produced, before its rewrites
and destinations.  ``compile_filter`` turns one syslog-ng 3.38 filter expression into a
``Callable[[LogMessage], bool]``, once, at config load (or when a subscriber sends one):
the lexer (``lexer``), the recursive-descent parser and compiler (``compiler``), the
pcre/string/glob matchers (``matcher``, ``pcre``) and the template comparisons
(``compare``) all run at compile time, and only small closures run per message.

A filter with ``flags(store-matches)`` writes ``$0``, ``$1``, ... and named groups into the
message it is given, as syslog-ng does; every other filter only reads.
"""

from relay.filter.compiler import compile_filter

__all__ = ["compile_filter"]
