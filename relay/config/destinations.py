"""One typed config per destination type, and the reader of a [[destination]] table.

Each type's dataclass holds exactly the keys that type takes, with their defaults; the
destination module of that type gets it.  A key of another type is an error that says
so, except the bounds the relay once took on every destination (``_EVERY_TYPE``): those
are still read and checked there, then unused, so older configs keep loading.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

from relay.config.metrics import HostPort, split_host_port
from relay.config.nats import NatsConnection
from relay.config.reader import Table, option, read_field, read_table
from relay.config.values import Listen, check_cidrs, check_name, check_nats_url
from relay.errors import ConfigError
from relay.facts.names import DEFAULT_SUBJECT, DEFAULT_TEMPLATE
from relay.filter import compile_filter
from relay.subject import compile_subject
from relay.template import compile_template


def _flush_interval(value: float) -> float:
    if not 0 < value <= 0.1:
        raise ValueError("must be more than 0 and at most 0.1 seconds")
    return value


def _compress(value: str) -> str:
    if value not in ("", "gzip", "none"):
        raise ValueError(f'must be "gzip" or "none", not {value!r}')
    return "" if value == "none" else value


def _at_least_one(value: int) -> int:
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _positive(value: int) -> int:
    if value < 1:
        raise ValueError("must be positive")
    return value


def _non_negative(value: float) -> float:
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _every(value: str) -> str:
    if value not in ("", "1d", "1h"):
        raise ValueError(f'must be "1d" (at local midnight) or "1h" (every full hour), '
                         f'not {value!r}')
    return value


def _file_path(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    if "$" in value:  # a template, expanded per message: it must compile
        try:
            compile_template(value, filter_compiler=compile_filter)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
    return value


def _when_full(value: str) -> str:
    if value not in ("block", "drop"):
        raise ValueError(f'must be "block" or "drop", not {value!r}')
    return value


def _subscribers_listen(value: Listen) -> Listen:
    if value.scheme not in ("tcp", "tls", "unix-stream"):
        raise ValueError("subscribers listen on tcp://, tls:// or unix-stream://")
    return value


@dataclass(frozen=True, kw_only=True)
class RotateConfig:
    max_bytes: int = option(100 * 1024 * 1024, read="size", check=_positive)
    keep: int = option(5, check=_at_least_one)
    compress: str = option("", check=_compress)  # "" or "gzip"
    every: str = option("", check=_every)  # "", "1d" or "1h": also at that local boundary


@dataclass(frozen=True, kw_only=True)
class DestinationConfig:
    """What every destination has."""

    name: str = option(check=check_name)
    type: str
    template: str = DEFAULT_TEMPLATE


@dataclass(frozen=True, kw_only=True)
class BufferedConfig(DestinationConfig):
    """A destination that joins lines and writes them at least every flush_interval."""

    flush_interval: float = option(0.1, check=_flush_interval)


@dataclass(frozen=True, kw_only=True)
class QueuedConfig(BufferedConfig):
    """A destination whose queue past queue_bytes pauses the stream sources."""

    queue_bytes: int = option(16 * 1024 * 1024, read="size")
    # past queue_bytes: "block" pauses the stream sources, "drop" drops and counts
    when_full: str = option("block", check=_when_full)


@dataclass(frozen=True, kw_only=True)
class FileConfig(QueuedConfig):
    path: str = option(check=_file_path)  # a template: "$" makes one file per expansion
    rotate: RotateConfig | None = None
    file_mode: int = option(0o640, read="mode")
    create_dirs: bool = False
    dir_mode: int = option(0o750, read="mode")
    # a templated path: a file idle that many seconds is closed (0: never), and past
    # max_open_files the least recently written one is
    time_reap: float = option(60.0, check=_non_negative)
    max_open_files: int = option(256, check=_at_least_one)


@dataclass(frozen=True, kw_only=True)
class PipeConfig(QueuedConfig):
    path: str


@dataclass(frozen=True, kw_only=True)
class ProgramConfig(QueuedConfig):
    command: str


@dataclass(frozen=True, kw_only=True)
class StdoutConfig(BufferedConfig):
    pass


@dataclass(frozen=True, kw_only=True)
class SubscribersConfig(DestinationConfig):
    listen: Listen = option(read="listen", check=_subscribers_listen)
    buffer_bytes: int = option(4 * 1024 * 1024, read="size")
    stall_timeout: float = 30.0
    max_clients: int = 256
    allow: tuple[str, ...] = option((), check=check_cidrs)
    # a tls:// listener: its certificate and key; with tls_ca, clients need a certificate
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""


def _nats_servers(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("must name at least one server, as in [\"nats://127.0.0.1:4222\"]")
    for url in value:
        check_nats_url(url)
    return value


def _subject(value: str) -> str:
    try:
        compile_subject(value)  # compiling it is the check
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return value


def _web_listen(value: str) -> str:
    split_host_port(value)
    return value


@dataclass(frozen=True, kw_only=True)
class NatsConfig(DestinationConfig, NatsConnection):
    """Publishes each message to NATS, to JetStream (acknowledged) when ``stream`` is set."""

    servers: tuple[str, ...] = option(("nats://127.0.0.1:4222",), check=_nats_servers)
    stream: str = ""  # "": core NATS publish, no acknowledgement
    subject: str = option(DEFAULT_SUBJECT, check=_subject)
    instance: str = ""  # first part of each Nats-Msg-Id; "": random per process start
    max_pending: int = option(4096, check=_at_least_one)
    ack_timeout: float = 5.0
    queue_bytes: int = option(16 * 1024 * 1024, read="size")
    when_full: str = option("block", check=_when_full)
    stop_timeout: float = 10.0


@dataclass(frozen=True, kw_only=True)
class WebConfig(DestinationConfig, HostPort):
    """The live feed over HTTP: Server-Sent Events, a WebSocket and a live-tail page."""

    listen: str = option("127.0.0.1:5516", check=_web_listen)  # HOST:PORT
    tls_cert: str = ""  # with tls_key: HTTPS
    tls_key: str = ""
    ring_lines: int = option(10_000, check=_at_least_one)  # kept for resume and backlog
    buffer_bytes: int = option(4 * 1024 * 1024, read="size")
    stall_timeout: float = 30.0
    max_clients: int = 256
    allow: tuple[str, ...] = option((), check=check_cidrs)


#: destination type -> its config
DESTINATION_CONFIGS: dict[str, type[DestinationConfig]] = {
    "file": FileConfig,
    "subscribers": SubscribersConfig,
    "stdout": StdoutConfig,
    "pipe": PipeConfig,
    "program": ProgramConfig,
    "nats": NatsConfig,
    "web": WebConfig,
}
DESTINATION_TYPES = tuple(DESTINATION_CONFIGS)
# once accepted on every destination type; still read and checked there, then unused
_EVERY_TYPE = ("queue_bytes", "buffer_bytes", "stall_timeout", "max_clients", "allow",
               "flush_interval")


def _fields(cls: type) -> dict[str, dataclasses.Field[typing.Any]]:
    return {f.name: f for f in dataclasses.fields(cls)}


def read_destination(t: Table) -> DestinationConfig:
    base = _fields(DestinationConfig)
    name = read_field(t, base["name"], str, "is required")
    kind = t.get("type", str)
    if kind not in DESTINATION_CONFIGS:
        raise t.error("type", f"must be one of {', '.join(DESTINATION_TYPES)}, not {kind!r}")
    cls = DESTINATION_CONFIGS[kind]
    own = _fields(cls)
    for key in t.data:
        owners = [k for k, c in DESTINATION_CONFIGS.items() if key in _fields(c)]
        if key in own or not owners:
            continue  # its own key, or one no type takes (read_table refuses it)
        if key in _EVERY_TYPE:
            owner = DESTINATION_CONFIGS[owners[0]]
            read_field(t, _fields(owner)[key], typing.get_type_hints(owner)[key], "")
            continue
        raise t.error(key, f"does not apply to a {kind} destination "
                      f"(only to {' or '.join(owners)})")
    config = read_table(t, cls, required=f"is required for a {kind} destination",
                        name=name, type=kind)
    if isinstance(config, WebConfig) and bool(config.tls_cert) != bool(config.tls_key):
        raise t.error("tls_key" if config.tls_cert else "tls_cert",
                      "is required too: HTTPS takes tls_cert and tls_key together")
    if isinstance(config, SubscribersConfig):
        tls = config.listen.scheme == "tls"
        if tls and not (config.tls_cert and config.tls_key):
            raise t.error("tls_cert", "and tls_key are required to listen on tls://")
        if not tls and (config.tls_cert or config.tls_key or config.tls_ca):
            raise t.error("tls_cert", "only applies to subscribers that listen on tls://")
    return config
