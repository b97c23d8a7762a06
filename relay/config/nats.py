"""What a nats:// source takes beyond what every source has: its stream and consumer.

``listen = "nats://HOST:PORT"`` names the first server; ``servers`` adds others to fail
over to.  ``stream`` and ``durable`` name the stream and the durable pull consumer (made
if missing, acknowledging each message explicitly), ``subject`` its filter subject and
``batch`` how many messages one fetch asks for.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

from relay.config.reader import Table, option, read_field
from relay.config.values import Listen, check_name, check_nats_url

#: the keys a nats source reads (and no other source does)
NATS_SOURCE_KEYS = ("servers", "stream", "durable", "subject", "batch", "ack_wait",
                    "reconnect_time_wait", "user", "password", "token", "creds")


def _servers(value: tuple[str, ...]) -> tuple[str, ...]:
    for url in value:
        check_nats_url(url)
    return value


def _batch(value: int) -> int:
    if not 1 <= value <= 10000:
        raise ValueError("must be from 1 to 10000")
    return value


@dataclass(frozen=True, kw_only=True)
class NatsConnection:
    """How a nats destination or source connects: reconnects, auth, TLS."""

    reconnect_time_wait: float = 0.5
    user: str = ""
    password: str = ""
    token: str = ""
    creds: str = ""
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""


@dataclass(frozen=True, kw_only=True)
class NatsSourceConfig(NatsConnection):
    servers: tuple[str, ...] = option((), check=_servers)  # the listen address comes first
    stream: str = option(check=check_name)
    durable: str = option(check=check_name)
    subject: str = ""  # the consumer's filter subject; "": all the stream holds
    batch: int = option(256, check=_batch)
    ack_wait: float = 30.0  # seconds before the server redelivers what was not acked


def read_nats_source(t: Table, listen: Listen, tls: tuple[str, str, str]) -> NatsSourceConfig:
    """The nats keys of source table T; TLS is the source's (tls_ca, tls_cert, tls_key)."""
    hints = typing.get_type_hints(NatsSourceConfig)
    values = {}
    for f in dataclasses.fields(NatsSourceConfig):
        if f.name in NATS_SOURCE_KEYS:
            values[f.name] = read_field(t, f, hints[f.name],
                                        "is required for a nats:// source")
    first = f"nats://{listen.host}:{listen.port}"
    values["servers"] = (first, *[s for s in values["servers"] if s != first])
    ca, cert, key = tls
    return NatsSourceConfig(**values, tls_ca=ca, tls_cert=cert, tls_key=key)
