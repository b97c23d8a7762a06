"""``$(format-json ...)``: value-pairs selection and the JSON writer, as syslog-ng 3.38 does them.

This is the last step of the data path before the destinations: a compiled template
(``relay.template``) calls ``FormatJson.render_bytes`` / ``render_str`` on a parsed
``LogMessage`` and gets the JSON text that syslog-ng's ``$(format-json)`` would write.
The package reads in that order:

* ``options``: the arguments, read once when the template is compiled;
* ``valuepairs``: the scopes, globs and rekey transforms that select and name the pairs;
* ``writer``: ``FormatJson``, per message: select, sort, and write through orjson, with a
  writer generated per set of pair names for the hot path;
* ``encode``: syslog-ng's exact escaping, type casts and nesting walker.

The rules, learnt from syslog-ng's value-pairs and format-json and checked against a
live syslog-ng 3.38.1:

* **Selection.** Name-value pairs of the message are taken by scope (``nv-pairs``: names
  not starting with a dot; ``dot-nv-pairs``: names starting with one; ``sdata`` and
  ``rfc5424``: ``.SDATA.*``) and by the ``--key``/``--exclude`` globs, where the last
  glob that matches decides.  Macros come from the scope sets (rfc3164, rfc5424,
  selected-macros, all-macros) unless a glob excludes them, and from the whole macro
  table when a ``--key`` glob names them.  A macro that expands to "" is always left out;
  an empty name-value pair only with ``--omit-empty-values``.  ``--pair`` values are
  templates, evaluated last.
* **Keys.** Each name goes through the ``--rekey`` transform sets in order, then a
  leading ``.`` becomes ``_`` (unless ``--leave-initial-dot`` or another
  ``--key-delimiter``).  The same resulting key twice: the one inserted last wins
  (pairs after macros after name-value pairs).
* **Order.** Keys are sorted in *descending* byte order (``strcmp`` reversed) and then
  walked into nested objects: a container stays open while the next name starts with its
  dotted prefix.  That is syslog-ng's walker, quirks included (``a`` after ``a.b`` lands
  *inside* the ``a`` object), so the walker in ``encode`` mirrors it rather than building a tree.
* **Escaping.** ``"`` and ``\\`` are backslash-escaped, ``\\b \\f \\n \\r \\t`` by name, other
  controls below 0x20 as ``\\u00xx``; a NUL and every byte that is not valid UTF-8 as the
  text ``\\\\xNN``; everything else, 0x7f and non-ASCII included, as is.

orjson writes the same bytes except for NUL and for invalid UTF-8 (which reaches us as
lone surrogates from ``surrogateescape`` and which orjson refuses), so the fast path uses
orjson and falls back to the exact writer only for those.

Options that syslog-ng 3.38 lacks but later versions have: ``--upper`` and ``--lower``
(ASCII case of the rekeyed names).
"""

from relay.facts.names import MACRO_TABLE as ALL_MACRO_NAMES
from relay.formatjson.encode import escape, walk
from relay.formatjson.encode import split_levels as _tokens
from relay.formatjson.options import StrTemplate
from relay.formatjson.writer import FormatJson

__all__ = ["ALL_MACRO_NAMES", "FormatJson", "StrTemplate", "_tokens", "escape", "walk"]
