"""Configuration: TOML in, frozen dataclasses out, every mistake a ConfigError.

The model is syslog-ng's (options, sources, destinations, filters, rewrites, log paths)
so that a syslog-ng admin reads a relay config at sight.  Unknown keys, wrong types,
duplicate or missing names and unknown schemes are errors that name the file, the table
and the key, with the line where it can be found.
"""

from __future__ import annotations

import grp
import os
import pwd
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relay.config.destinations import (
    DESTINATION_CONFIGS,
    DESTINATION_TYPES,
    BufferedConfig,
    DestinationConfig,
    FileConfig,
    NatsConfig,
    PipeConfig,
    ProgramConfig,
    QueuedConfig,
    RotateConfig,
    StdoutConfig,
    SubscribersConfig,
    WebConfig,
    read_destination,
)
from relay.config.metrics import MetricsConfig, read_metrics
from relay.config.nats import NatsSourceConfig, read_nats_source
from relay.config.reader import Loader, Table
from relay.config.rewrites import RewriteConfig, read_rewrite
from relay.config.values import (
    SOURCE_SCHEMES,
    Listen,
    check_cidrs,
    check_name,
    parse_listen,
    parse_size,
)
from relay.errors import ConfigError
from relay.facts.names import PROTOCOLS

LOG_FLAGS = ("final", "fallback", "catchall", "flow-control")

__all__ = [
    "DESTINATION_CONFIGS", "DESTINATION_TYPES", "LOG_FLAGS", "PROTOCOLS", "SOURCE_SCHEMES",
    "BufferedConfig", "Config", "DestinationConfig", "FileConfig", "FilterConfig", "Listen",
    "LogConfig", "MetricsConfig", "NatsConfig", "NatsSourceConfig", "Options", "PipeConfig",
    "ProgramConfig", "QueuedConfig",
    "RewriteConfig", "RotateConfig", "SourceConfig", "StdoutConfig", "SubscribersConfig",
    "WebConfig", "load", "loads", "parse_listen", "parse_size",
]


@dataclass(frozen=True)
class Options:
    keep_hostname: bool = True
    use_dns: bool = False
    chain_hostnames: bool = False
    use_fqdn: bool = False
    log_msg_size: int = 65536
    user: str = ""  # drop to this user (and its group) once every port and file is open
    group: str = ""
    #: processes that parse and render the TCP and UDP sources (relay.workers); 1: the
    #: main process does everything
    workers: int = field(default_factory=lambda: default_workers())


@dataclass(frozen=True)
class SourceConfig:
    name: str
    listen: Listen
    protocol: str = "auto"
    max_msg_size: int = 65536
    so_rcvbuf: int = 8 * 1024 * 1024
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""
    nats: NatsSourceConfig | None = None  # for a nats:// source: its stream and consumer
    #: whether a tls:// source asks for client certificates: "required", "optional" (one
    #: that is presented must verify) or "none"; "required" when tls_ca is set
    tls_verify: str = "none"
    #: the networks peers may come from (tcp, tls, udp); empty: from anywhere
    allow: tuple[str, ...] = ()
    #: stream sources: connections at once (syslog-ng's max-connections)
    max_connections: int = 1000
    #: stream sources: seconds a connection may stay silent before it is closed; 0: never
    idle_timeout: float = 0.0


TLS_VERIFY = ("required", "optional", "none")
STREAM_SCHEMES = ("tcp", "tls", "unix-stream")


@dataclass(frozen=True)
class FilterConfig:
    name: str
    expr: str
    line: int = 0


@dataclass(frozen=True)
class LogConfig:
    source: tuple[str, ...]
    destination: tuple[str, ...]
    filter: tuple[str, ...] = ()
    rewrite: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    path: str
    options: Options = field(default_factory=Options)
    sources: tuple[SourceConfig, ...] = ()
    destinations: tuple[DestinationConfig, ...] = ()
    filters: tuple[FilterConfig, ...] = ()
    rewrites: tuple[RewriteConfig, ...] = ()
    logs: tuple[LogConfig, ...] = ()
    metrics: MetricsConfig | None = None  # no [metrics] table: no HTTP endpoint


def load(path: str) -> Config:
    """Read and validate a config file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return loads(raw.decode("utf-8", "replace"), path)


def loads(text: str, path: str = "<config>") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    loader = Loader(path, text)
    top = Table(loader, "top level", data)
    options = _options(loader, top.get("options", dict, {}))
    sources = tuple(
        _source(Table(loader, "source", t, i), options)
        for i, t in enumerate(_array(top, "source"))
    )
    destinations = tuple(
        read_destination(Table(loader, "destination", t, i))
        for i, t in enumerate(_array(top, "destination"))
    )
    filters = tuple(
        _filter(Table(loader, "filter", t, i)) for i, t in enumerate(_array(top, "filter"))
    )
    rewrites = tuple(
        read_rewrite(Table(loader, "rewrite", t, i)) for i, t in enumerate(_array(top, "rewrite"))
    )
    logs = tuple(_log(Table(loader, "log", t, i)) for i, t in enumerate(_array(top, "log")))
    metrics_table = top.get("metrics", dict, None)
    metrics = None if metrics_table is None else read_metrics(
        Table(loader, "metrics", metrics_table))
    top.finish()
    config = Config(path, options, sources, destinations, filters, rewrites, logs, metrics)
    _check_names(loader, config)
    return config


def _array(top: Table, key: str) -> list[Mapping[str, Any]]:
    value = top.get(key, list, [])
    if not all(isinstance(v, dict) for v in value):
        raise top.error(key, f"must be an array of tables, written [[{key}]]")
    return list(value)


def _options(loader: Loader, data: Mapping[str, Any]) -> Options:
    t = Table(loader, "options", {k.replace("-", "_"): v for k, v in data.items()})
    opts = Options(
        keep_hostname=t.get("keep_hostname", bool, True),
        use_dns=t.get("use_dns", bool, False),
        chain_hostnames=t.get("chain_hostnames", bool, False),
        use_fqdn=t.get("use_fqdn", bool, False),
        log_msg_size=t.convert("log_msg_size", parse_size,
                               t.get("log_msg_size", (int, str), 65536)),
        user=t.convert("user", _known_user, t.get("user", str, "")),
        group=t.convert("group", _known_group, t.get("group", str, "")),
        workers=t.convert("workers", _workers, t.get("workers", (int, str), "auto")),
    )
    t.finish()
    for key in ("use_dns", "chain_hostnames", "use_fqdn"):
        if getattr(opts, key):
            raise t.error(key, "= true is not supported: the relay writes addresses, as "
                          "syslog-ng does with use-dns(no) chain-hostnames(no) use-fqdn(no)")
    return opts


def default_workers() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _workers(value: int | str) -> int:
    if value == "auto":
        return default_workers()
    if isinstance(value, str) or not 1 <= value <= 64:
        raise ValueError(f'must be "auto" (the number of cores) or 1 to 64, not {value!r}')
    return value


def _known_user(name: str) -> str:
    if name:
        try:
            pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
        except KeyError:
            raise ValueError(f"no such user {name!r}") from None
    return name


def _known_group(name: str) -> str:
    if name:
        try:
            grp.getgrgid(int(name)) if name.isdigit() else grp.getgrnam(name)
        except KeyError:
            raise ValueError(f"no such group {name!r}") from None
    return name


def _name(t: Table) -> str:
    return t.convert("name", check_name, t.get("name", str))


def _source(t: Table, options: Options) -> SourceConfig:
    name = _name(t)
    listen = t.convert("listen", parse_listen, t.get("listen", str))
    # a nats source carries what an edge relay's format-json wrote, by default
    protocol = t.get("protocol", str, "json" if listen.scheme == "nats" else "auto")
    if protocol not in PROTOCOLS:
        raise t.error("protocol", f"must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    size = t.convert("max_msg_size", parse_size,
                     t.get("max_msg_size", (int, str), options.log_msg_size))
    if size < 16:
        raise t.error("max_msg_size", "must be at least 16 bytes")
    rcvbuf = t.convert("so_rcvbuf", parse_size, t.get("so_rcvbuf", (int, str), 8 * 1024 * 1024))
    cert = t.get("tls_cert", str, "")
    key = t.get("tls_key", str, "")
    ca = t.get("tls_ca", str, "")
    if listen.scheme == "tls" and not (cert and key):
        raise t.error("tls_cert", "and tls_key are required for a tls:// source")
    if listen.scheme not in ("tls", "nats") and (cert or key or ca):
        raise t.error("tls_cert", "only applies to a tls:// or nats:// source")
    nats = read_nats_source(t, listen, (ca, cert, key)) if listen.scheme == "nats" else None
    verify = t.get("tls_verify", str, "required" if ca and listen.scheme == "tls" else "none")
    if verify not in TLS_VERIFY:
        raise t.error("tls_verify", f"must be one of {', '.join(TLS_VERIFY)}, not {verify!r}")
    if "tls_verify" in t.data and listen.scheme != "tls":
        raise t.error("tls_verify", "only applies to a tls:// source")
    if verify != "none" and not ca:
        raise t.error("tls_verify", f"= {verify!r} needs tls_ca, the CA that client "
                      "certificates are checked against")
    allow = _allow(t, listen)
    limits = _stream_limits(t, listen)
    t.finish()
    return SourceConfig(name, listen, protocol, size, rcvbuf, cert, key, ca, nats,
                        tls_verify=verify, allow=allow, **limits)


def _allow(t: Table, listen: Listen) -> tuple[str, ...]:
    allow = t.names("allow", ())
    if allow and listen.scheme not in ("tcp", "tls", "udp"):
        raise t.error("allow", "only applies to tcp://, tls:// and udp:// sources")
    return t.convert("allow", check_cidrs, allow)


def _stream_limits(t: Table, listen: Listen) -> dict[str, Any]:
    for key in ("max_connections", "idle_timeout"):
        if key in t.data and listen.scheme not in STREAM_SCHEMES:
            raise t.error(key, "only applies to stream sources (tcp://, tls://, unix-stream://)")
    most = t.get("max_connections", int, 1000)
    if most < 1:
        raise t.error("max_connections", "must be at least 1")
    idle = float(t.get("idle_timeout", (int, float), 0.0))
    if idle < 0:
        raise t.error("idle_timeout", "cannot be negative (0 turns it off)")
    return {"max_connections": most, "idle_timeout": idle}


def _filter(t: Table) -> FilterConfig:
    name = _name(t)
    expr = t.get("expr", str)
    line = t.loader.line_of("filter", "expr", t.index)
    t.finish()
    return FilterConfig(name, expr, line)


def _log(t: Table) -> LogConfig:
    flags = t.names("flags", ())
    for flag in flags:
        if flag not in LOG_FLAGS:
            raise t.error("flags", f"unknown flag {flag!r} (expected {', '.join(LOG_FLAGS)})")
    source = t.names("source", ())
    if not source and "catchall" not in flags:
        raise t.error("source", "is required (or flags = [\"catchall\"])")
    log = LogConfig(
        source=source,
        destination=t.names("destination", ()),
        filter=t.names("filter", ()),
        rewrite=t.names("rewrite", ()),
        flags=flags,
    )
    t.finish()
    return log


def _check_names(loader: Loader, config: Config) -> None:
    tables: dict[str, list[str]] = {
        "source": [s.name for s in config.sources],
        "destination": [d.name for d in config.destinations],
        "filter": [f.name for f in config.filters],
        "rewrite": [r.name for r in config.rewrites],
    }
    for where, names in tables.items():
        seen: set[str] = set()
        for i, item_name in enumerate(names):
            if item_name in seen:
                raise loader.error(where, "name", f"{item_name!r} is defined twice", i)
            seen.add(item_name)
    known = {
        "source": {s.name for s in config.sources},
        "destination": {d.name for d in config.destinations},
        "filter": {f.name for f in config.filters},
        "rewrite": {r.name for r in config.rewrites},
    }
    for i, log in enumerate(config.logs):
        for key in ("source", "destination", "filter", "rewrite"):
            for name in getattr(log, key):
                if name not in known[key]:
                    raise loader.error("log", key, f"names an undefined {key} {name!r}", i)
    if not config.sources:
        raise loader.error("source", None, "is missing: define at least one [[source]]", 0)
    binds: dict[tuple[str, str, str], str] = {}
    endpoints = [(s.name, s.listen) for s in config.sources]
    endpoints += [(d.name, d.listen) for d in config.destinations
                  if isinstance(d, SubscribersConfig)]
    endpoints += [(d.name, Listen("tcp", d.host, d.port)) for d in config.destinations
                  if isinstance(d, WebConfig)]
    for owner, listen in endpoints:
        if listen.scheme in ("stdin", "nats") or (not listen.port and not listen.path):
            continue  # stdin, a NATS server (not ours), or port 0: the kernel picks a port
        kind = "udp" if listen.scheme in ("udp", "unix-dgram") else "stream"
        bind = (kind, listen.host, str(listen.port or listen.path))
        if bind in binds:
            raise ConfigError(f"{config.path}: {owner!r} and {binds[bind]!r} both listen on "
                              f"{listen}")
        binds[bind] = owner
