"""The names syslog-ng 3.38 gives things, and its defaults.

Leaf layer (``relay.facts``): nothing here imports the rest of the relay.  Tables are in
syslog-ng's own order where the order shows (the all-macros scope, the date fields).
"""

from __future__ import annotations

# -- priorities ------------------------------------------------------------------------

FACILITY_NAMES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1",
    "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
SEVERITY_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
#: name -> code, with syslog-ng's aliases (for readers of names: filters, JSON input)
FACILITY_CODES: dict[str, int] = {name: code for code, name in enumerate(FACILITY_NAMES)} | {
    "megasafe": 10}
SEVERITY_CODES: dict[str, int] = {name: code for code, name in enumerate(SEVERITY_NAMES)} | {
    "emergency": 0, "panic": 0, "critical": 2, "error": 3, "warn": 4, "informational": 6,
}  # fmt: skip

#: user.notice: the PRI of a frame that has none
DEFAULT_PRI = 13
#: syslog.err: the PRI of syslog-ng's own "Error processing log message"
ERROR_PRI = 43

# -- dates -----------------------------------------------------------------------------

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
# Sunday first, as C's tm_wday
WEEKDAY_ABBREVS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
WEEKDAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

#: the date fields; each also exists with every prefix of DATE_PREFIXES
DATE_FIELDS = (
    "DATE", "FULLDATE", "ISODATE", "STAMP", "YEAR", "YEAR_DAY", "MONTH", "MONTH_WEEK",
    "MONTH_ABBREV", "MONTH_NAME", "DAY", "HOUR", "HOUR12", "MIN", "SEC", "USEC", "MSEC",
    "AMPM", "WEEKDAY", "WEEK_DAY", "WEEK_DAY_ABBREV", "WEEK_DAY_NAME", "WEEK", "ISOWEEK",
    "TZOFFSET", "TZ", "UNIXTIME",
)  # fmt: skip
#: S_ the sender's stamp (as no prefix), R_ receive time, C_ now, P_ processing time
DATE_PREFIXES = ("R_", "S_", "C_", "P_")

# -- macros ----------------------------------------------------------------------------


def _prefixed_dates(prefix: str) -> tuple[str, ...]:
    # (in syslog-ng's macro table the prefixed forms list MSEC before USEC)
    order = [f for f in DATE_FIELDS if f not in ("USEC", "MSEC")]
    order.insert(order.index("AMPM"), "MSEC")
    order.insert(order.index("AMPM"), "USEC")
    return tuple(prefix + f for f in order)


#: syslog-ng 3.38's macro table, in its order: the all-macros scope of format-json, and
#: what its --key globs are matched against
MACRO_TABLE: tuple[str, ...] = (
    "FACILITY", "FACILITY_NUM", "SEVERITY", "SEVERITY_NUM", "PRIORITY", "LEVEL",
    "LEVEL_NUM", "TAG", "TAGS", "BSDTAG", "PRI",
    # the plain date macros, with SYSUPTIME in the middle as in the table
    *DATE_FIELDS[:-1], "SYSUPTIME", DATE_FIELDS[-1],
    *(name for prefix in DATE_PREFIXES for name in _prefixed_dates(prefix)),
    "SDATA", "MSGHDR", "SOURCEIP", "DESTIP", "DESTPORT", "PROTO", "SEQNUM", "CONTEXT_ID",
    "_", "RCPTID", "RUNID", "HOSTID", "UNIQID", "MSG", "MESSAGE", "HOST", "LOGHOST",
)  # fmt: skip
#: every macro name (everything else is a name-value pair)
MACROS: frozenset[str] = frozenset(MACRO_TABLE)
#: every date macro, prefixed or not
DATE_MACROS: frozenset[str] = frozenset(
    DATE_FIELDS + tuple(p + f for p in DATE_PREFIXES for f in DATE_FIELDS))
#: macros whose text is never empty
NEVER_EMPTY: frozenset[str] = frozenset(
    ("FACILITY", "FACILITY_NUM", "SEVERITY", "SEVERITY_NUM", "PRIORITY", "LEVEL",
     "LEVEL_NUM", "TAG", "BSDTAG", "PRI", "SOURCEIP", "DESTIP", "DESTPORT", "PROTO",
     "RUNID", "HOSTID", "SYSUPTIME")
) | DATE_MACROS  # fmt: skip

#: other names of name-value pairs: not macros, so no scope and no --key glob sees them
PAIR_ALIASES = {"FULLHOST": "HOST", "FULLHOST_FROM": "HOST_FROM", "MSGONLY": "MESSAGE"}
#: the names filters accept for pairs: the aliases, and MSG (a macro elsewhere)
FILTER_ALIASES = PAIR_ALIASES | {"MSG": "MESSAGE"}
#: the names a rewrite rule's ``value`` takes for another pair: only MSG; in a rewrite,
#: FULLHOST and the other pair aliases name pairs of their own
REWRITE_ALIASES = {"MSG": "MESSAGE"}

# -- values ----------------------------------------------------------------------------

#: type hint names (log_msg_value_type_from_str) -> the type they stand for
TYPE_HINTS = {
    "string": "string", "json": "json", "literal": "json", "boolean": "boolean",
    "int32": "int32", "int": "int32", "int64": "int64", "double": "double", "float": "double",
    "datetime": "datetime", "list": "list", "null": "null",
}  # fmt: skip

# -- the relay's own defaults ----------------------------------------------------------

#: how a source reads its frames: syslog() auto-detects, network() is RFC 3164
PROTOCOLS = ("auto", "rfc3164", "rfc5424", "json", "raw")
#: the template of a destination that names none: one format-json object per line
DEFAULT_TEMPLATE = "$(format-json --scope selected_macros --scope nv_pairs)\n"
#: the subject a nats destination publishes to when it names none: one token per field
DEFAULT_SUBJECT = "syslog.$FACILITY.$LEVEL.$HOST.$PROGRAM"
