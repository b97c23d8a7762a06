"""The [metrics] table: where the relay answers /metrics and /healthz over HTTP.

Absent, the relay serves nothing.  ``listen`` is HOST:PORT (``[::1]:9514`` for IPv6);
port 0 lets the kernel pick one, printed at start like every other address.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from relay.config.reader import Table, option, read_table

DEFAULT_LISTEN = "127.0.0.1:9514"


def split_host_port(value: str) -> tuple[str, int]:
    """HOST:PORT (or [V6]:PORT) as (host, port); ValueError when it is not one."""
    if "://" in value or "/" in value:
        raise ValueError(f"expected HOST:PORT, such as {DEFAULT_LISTEN}, not {value!r}")
    parts = urlsplit(f"http://{value}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in {value!r}") from None
    if not parts.hostname or port is None:
        raise ValueError(f"expected HOST:PORT, such as {DEFAULT_LISTEN}, not {value!r}")
    return parts.hostname, port


def _host_port(value: str) -> str:
    split_host_port(value)
    return value


class HostPort:
    """The host and port of a ``listen = "HOST:PORT"`` key."""

    listen: str

    @property
    def host(self) -> str:
        return split_host_port(self.listen)[0]

    @property
    def port(self) -> int:
        return split_host_port(self.listen)[1]


@dataclass(frozen=True, kw_only=True)
class MetricsConfig(HostPort):
    listen: str = option(DEFAULT_LISTEN, check=_host_port)


def read_metrics(t: Table) -> MetricsConfig:
    return read_table(t, MetricsConfig)
