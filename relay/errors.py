"""One error hierarchy for the whole relay."""


class RelayError(Exception):
    """Base class of every error the relay raises on purpose."""


class ConfigError(RelayError):
    """The configuration (or a template or filter expression in it) is invalid."""


class ParseError(RelayError):
    """A message could not be parsed; it is counted and logged, never fatal."""


class TemplateError(ConfigError):
    """A template does not compile; the message says where."""


class FilterError(ConfigError):
    """A filter expression does not compile; the message says line, column and what was expected."""
