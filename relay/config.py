"""Configuration: TOML in, frozen dataclasses out, every mistake a ConfigError.

The model is syslog-ng's (options, sources, destinations, filters, rewrites, log paths)
so that a syslog-ng admin reads a relay config at sight.  Unknown keys, wrong types,
duplicate or missing names and unknown schemes are errors that name the file, the table
and the key, with the line where it can be found.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from relay.errors import ConfigError

DEFAULT_TEMPLATE = "$(format-json --scope selected_macros --scope nv_pairs)\\n"
PROTOCOLS = ("auto", "rfc3164", "rfc5424", "json", "raw")
SOURCE_SCHEMES = ("udp", "tcp", "tls", "unix-dgram", "unix-stream", "stdin")
DESTINATION_TYPES = ("file", "subscribers", "stdout", "pipe", "program")
LOG_FLAGS = ("final", "fallback", "catchall", "flow-control")

T = TypeVar("T")


@dataclass(frozen=True)
class Listen:
    """Where a source or the subscribers destination listens."""

    scheme: str
    host: str = ""
    port: int = 0
    path: str = ""

    def __str__(self) -> str:
        if self.scheme in ("udp", "tcp", "tls"):
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"{self.scheme}://{host}:{self.port}"
        if self.scheme == "stdin":
            return "stdin://"
        return f"{self.scheme}://{self.path}"


@dataclass(frozen=True)
class Options:
    keep_hostname: bool = True
    use_dns: bool = False
    chain_hostnames: bool = False
    use_fqdn: bool = False
    log_msg_size: int = 65536


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


@dataclass(frozen=True)
class RotateConfig:
    max_bytes: int = 100 * 1024 * 1024
    keep: int = 5
    compress: str = ""  # "" or "gzip"


@dataclass(frozen=True)
class DestinationConfig:
    name: str
    type: str
    template: str = DEFAULT_TEMPLATE
    path: str = ""
    rotate: RotateConfig | None = None
    listen: Listen | None = None
    command: str = ""
    # bounds and fan-out policy
    queue_bytes: int = 16 * 1024 * 1024
    buffer_bytes: int = 4 * 1024 * 1024
    stall_timeout: float = 30.0
    max_clients: int = 256
    allow: tuple[str, ...] = ()
    flush_interval: float = 0.1


@dataclass(frozen=True)
class FilterConfig:
    name: str
    expr: str
    line: int = 0


@dataclass(frozen=True)
class RewriteConfig:
    name: str
    spec: Mapping[str, Any]


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


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
          "KI": 1024, "MI": 1024**2, "GI": 1024**3, "TI": 1024**4}


def parse_size(value: object) -> int:
    """A byte count: an integer, or a string such as "100MiB", "64KiB", "1GB"."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 100MiB")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            unit = (m.group(2) or "").upper().rstrip("B")
            return int(float(m.group(1)) * _UNITS[unit])
    raise ValueError(f"expected a size such as 100MiB, not {value!r}")


def parse_listen(value: str) -> Listen:
    """udp://HOST:PORT, tcp://, tls://, unix-dgram:///path, unix-stream:///path, stdin://."""
    if "://" not in value:
        raise ValueError(f"expected SCHEME://ADDRESS, not {value!r}")
    scheme = value.split("://", 1)[0].lower()
    if scheme not in SOURCE_SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r} (expected one of {', '.join(SOURCE_SCHEMES)})")
    if scheme == "stdin":
        return Listen("stdin")
    if scheme.startswith("unix-"):
        path = value.split("://", 1)[1]
        if not path:
            raise ValueError(f"{scheme}:// needs a socket path, as in {scheme}:///run/relay.sock")
        return Listen(scheme, path=path)
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in {value!r}") from exc
    if not parts.hostname or port is None:
        raise ValueError(f"expected {scheme}://HOST:PORT, not {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"unexpected path or query in {value!r}")
    return Listen(scheme, host=parts.hostname, port=port)


class _Table:
    """One TOML table being read: typed getters that know where they are for errors."""

    def __init__(self, loader: _Loader, where: str, data: Mapping[str, Any], index: int = -1):
        self.loader = loader
        self.where = where
        self.data = data
        self.index = index
        self.used: set[str] = set()

    def error(self, key: str | None, message: str) -> ConfigError:
        return self.loader.error(self.where, key, message, self.index)

    def get(self, key: str, kind: type[T] | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise self.error(key, "is required")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join(_type_name(k) for k in kinds)
            raise self.error(key, f"must be {names}, not {_type_name(type(value))}")
        return value

    def names(self, key: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(key, (list, str), default)
        if isinstance(value, str):
            return (value,)
        if not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of names")
        return tuple(value)

    def convert(self, key: str, func: Callable[[Any], T], value: Any) -> T:
        try:
            return func(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def finish(self) -> None:
        for key in self.data:
            if key not in self.used:
                raise self.error(key, "is not a known key")


def _type_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            list: "a list", dict: "a table"}.get(kind, kind.__name__)


class _Loader:
    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, where: str, key: str | None, index: int) -> int:
        """Best effort: the line of KEY inside the INDEX-th [[where]] (or [where]) table."""
        header = re.compile(r"^\s*\[\[?\s*" + re.escape(where.split(".")[0]) + r"\s*\]\]?\s*$")
        any_header = re.compile(r"^\s*\[")
        seen = -1
        start = None
        for n, line in enumerate(self.lines):
            if header.match(line):
                seen += 1
                if seen == max(index, 0):
                    start = n
                    break
        if start is None:
            return 0
        if key is None:
            return start + 1
        key_re = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for n in range(start + 1, len(self.lines)):
            if any_header.match(self.lines[n]):
                break
            if key_re.match(self.lines[n]):
                return n + 1
        return start + 1

    def error(self, where: str, key: str | None, message: str, index: int = -1) -> ConfigError:
        table = f"[[{where}]]" if index >= 0 else f"[{where}]"
        if index >= 0:
            table += f" #{index + 1}"
        line = self.line_of(where, key, index)
        at = f", line {line}" if line else ""
        what = f"{table} key {key!r}" if key else table
        return ConfigError(f"{self.path}{at}: {what} {message}")


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
    loader = _Loader(path, text)
    top = _Table(loader, "top level", data)
    options = _options(loader, top.get("options", dict, {}))
    sources = tuple(
        _source(_Table(loader, "source", t, i), options)
        for i, t in enumerate(_array(top, "source"))
    )
    destinations = tuple(
        _destination(_Table(loader, "destination", t, i))
        for i, t in enumerate(_array(top, "destination"))
    )
    filters = tuple(
        _filter(_Table(loader, "filter", t, i)) for i, t in enumerate(_array(top, "filter"))
    )
    rewrites = tuple(
        _rewrite(_Table(loader, "rewrite", t, i)) for i, t in enumerate(_array(top, "rewrite"))
    )
    logs = tuple(_log(_Table(loader, "log", t, i)) for i, t in enumerate(_array(top, "log")))
    top.finish()
    config = Config(path, options, sources, destinations, filters, rewrites, logs)
    _check_names(loader, config)
    return config


def _array(top: _Table, key: str) -> list[Mapping[str, Any]]:
    value = top.get(key, list, [])
    if not all(isinstance(v, dict) for v in value):
        raise top.error(key, f"must be an array of tables, written [[{key}]]")
    return list(value)


def _options(loader: _Loader, data: Mapping[str, Any]) -> Options:
    t = _Table(loader, "options", {k.replace("-", "_"): v for k, v in data.items()})
    opts = Options(
        keep_hostname=t.get("keep_hostname", bool, True),
        use_dns=t.get("use_dns", bool, False),
        chain_hostnames=t.get("chain_hostnames", bool, False),
        use_fqdn=t.get("use_fqdn", bool, False),
        log_msg_size=t.convert("log_msg_size", parse_size,
                               t.get("log_msg_size", (int, str), 65536)),
    )
    t.finish()
    for key in ("use_dns", "chain_hostnames", "use_fqdn"):
        if getattr(opts, key):
            raise t.error(key, "= true is not supported: the relay writes addresses, as "
                          "syslog-ng does with use-dns(no) chain-hostnames(no) use-fqdn(no)")
    return opts


def _name(t: _Table) -> str:
    name = t.get("name", str)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
        raise t.error("name", f"{name!r} is not a valid name (letters, digits, _ . -)")
    return name


def _source(t: _Table, options: Options) -> SourceConfig:
    name = _name(t)
    listen = t.convert("listen", parse_listen, t.get("listen", str))
    protocol = t.get("protocol", str, "auto")
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
    if listen.scheme != "tls" and (cert or key or ca):
        raise t.error("tls_cert", "only applies to a tls:// source")
    t.finish()
    return SourceConfig(name, listen, protocol, size, rcvbuf, cert, key, ca)


def _destination(t: _Table) -> DestinationConfig:
    name = _name(t)
    kind = t.get("type", str)
    if kind not in DESTINATION_TYPES:
        raise t.error("type", f"must be one of {', '.join(DESTINATION_TYPES)}, not {kind!r}")
    template = t.get("template", str, DEFAULT_TEMPLATE)
    path = t.get("path", str, "")
    command = t.get("command", str, "")
    listen = None
    rotate = None
    if kind in ("file", "pipe") and not path:
        raise t.error("path", f"is required for a {kind} destination")
    if kind not in ("file", "pipe") and path:
        raise t.error("path", f"does not apply to a {kind} destination")
    if kind == "program" and not command:
        raise t.error("command", "is required for a program destination")
    if kind != "program" and command:
        raise t.error("command", f"does not apply to a {kind} destination")
    if kind == "subscribers":
        listen = t.convert("listen", parse_listen, t.get("listen", str))
        if listen.scheme not in ("tcp", "unix-stream"):
            raise t.error("listen", "subscribers listen on tcp:// or unix-stream://")
    elif "listen" in t.data:
        t.get("listen", str)
        raise t.error("listen", f"does not apply to a {kind} destination")
    if "rotate" in t.data:
        if kind != "file":
            raise t.error("rotate", "only applies to a file destination")
        rotate = _rotate(_Table(t.loader, "destination.rotate", t.get("rotate", dict), t.index))
    queue = t.convert("queue_bytes", parse_size, t.get("queue_bytes", (int, str), 16 << 20))
    buffer = t.convert("buffer_bytes", parse_size, t.get("buffer_bytes", (int, str), 4 << 20))
    stall = float(t.get("stall_timeout", (int, float), 30.0))
    max_clients = t.get("max_clients", int, 256)
    allow = t.names("allow", ())
    for cidr in allow:
        t.convert("allow", _check_cidr, cidr)
    flush = float(t.get("flush_interval", (int, float), 0.1))
    if not 0 < flush <= 0.1:
        raise t.error("flush_interval", "must be more than 0 and at most 0.1 seconds")
    t.finish()
    return DestinationConfig(name, kind, template, path, rotate, listen, command, queue, buffer,
                             stall, max_clients, allow, flush)


def _check_cidr(value: str) -> str:
    import ipaddress

    ipaddress.ip_network(value, strict=False)
    return value


def _rotate(t: _Table) -> RotateConfig:
    max_bytes = t.convert("max_bytes", parse_size, t.get("max_bytes", (int, str), 100 << 20))
    keep = t.get("keep", int, 5)
    compress = t.get("compress", str, "")
    if compress not in ("", "gzip", "none"):
        raise t.error("compress", f'must be "gzip" or "none", not {compress!r}')
    if keep < 1:
        raise t.error("keep", "must be at least 1")
    if max_bytes < 1:
        raise t.error("max_bytes", "must be positive")
    t.finish()
    return RotateConfig(max_bytes, keep, "" if compress == "none" else compress)


def _filter(t: _Table) -> FilterConfig:
    name = _name(t)
    expr = t.get("expr", str)
    line = t.loader.line_of("filter", "expr", t.index)
    t.finish()
    return FilterConfig(name, expr, line)


def _rewrite(t: _Table) -> RewriteConfig:
    name = _name(t)
    spec = {k: v for k, v in t.data.items() if k != "name"}
    t.used.update(spec)
    if not spec:
        raise t.error(None, "needs a rule: set, unset, subst, set_tag or clear_tag")
    t.finish()
    return RewriteConfig(name, spec)


def _log(t: _Table) -> LogConfig:
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


def _check_names(loader: _Loader, config: Config) -> None:
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
    endpoints += [(d.name, d.listen) for d in config.destinations if d.listen]
    for owner, listen in endpoints:
        if listen.scheme == "stdin" or (not listen.port and not listen.path):
            continue  # stdin, or port 0: the kernel picks a free port
        kind = "udp" if listen.scheme in ("udp", "unix-dgram") else "stream"
        bind = (kind, listen.host, str(listen.port or listen.path))
        if bind in binds:
            raise ConfigError(f"{config.path}: {owner!r} and {binds[bind]!r} both listen on "
                              f"{listen}")
        binds[bind] = owner
