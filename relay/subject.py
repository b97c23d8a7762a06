"""Subjects: the NATS subject a message is published to, rendered from a template.

Part of rendering (templates -> **subjects** -> the nats destination).  A subject is a
list of tokens separated by "."; NATS gives "*" and ">" a meaning (wildcards) and refuses
white space, so each token of the subject template is compiled as a template of its own
and what it renders is made into exactly one token:

    SUBJECT = TOKEN *( "." TOKEN )     ; split at every "." outside $(...) and ${...}
    TOKEN   = template                 ; rendered, then:
              "." "*" ">" and white space -> "_"
              nothing at all              -> "-"

So ``syslog.$FACILITY.$LEVEL.$HOST.$PROGRAM`` always has five tokens, whatever the
sender put in HOST or PROGRAM, and a subscriber can filter on any of them with
wildcards (``syslog.auth.*.web01.>``).
"""

from __future__ import annotations

from collections.abc import Callable

from relay.errors import ConfigError, TemplateError
from relay.message import LogMessage
from relay.template import compile_template

Subject = Callable[[LogMessage], str]

_UNSAFE = b".*> \t\n\v\f\r"
_SANITIZE = bytes.maketrans(_UNSAFE, b"_" * len(_UNSAFE))


def split_tokens(text: str) -> list[str]:
    """TEXT split at each "." that is not inside $(...) or ${...}."""
    tokens: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == "$" and i + 1 < len(text) and text[i + 1] in "({":
            depth += 1
            i += 2
            continue
        if depth and c in "({":
            depth += 1
        elif depth and c in ")}":
            depth -= 1
        elif c == "." and not depth:
            tokens.append(text[start:i])
            start = i + 1
        i += 1
    tokens.append(text[start:])
    return tokens


def sanitize(token: bytes) -> bytes:
    """One subject token from what a template rendered."""
    return token.translate(_SANITIZE) or b"-"


def compile_subject(text: str) -> Subject:
    """The subject renderer of TEXT; ConfigError naming the token that does not compile."""
    if not text:
        raise ConfigError("a subject needs at least one token")
    parts: list[Callable[[LogMessage], bytes] | bytes] = []
    for token in split_tokens(text):
        if "$" not in token:
            parts.append(sanitize(token.encode()))
            continue
        try:
            parts.append(compile_template(token).render)
        except TemplateError as exc:
            raise ConfigError(f"subject token {token!r}: {exc}") from None
    if all(isinstance(p, bytes) for p in parts):
        constant = b".".join(p for p in parts if isinstance(p, bytes)).decode("utf-8", "replace")
        return lambda msg: constant
    fixed = tuple(parts)

    def subject(msg: LogMessage) -> str:
        return b".".join([p if isinstance(p, bytes) else sanitize(p(msg))
                          for p in fixed]).decode("utf-8", "replace")

    return subject
