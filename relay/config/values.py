"""The values a config holds that are more than a TOML type: sizes, addresses, names.

Each reader takes what TOML gave and returns the typed value, or raises ValueError with
the message a ConfigError shows after the file, table and key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from relay.facts.allow import parse_networks

SOURCE_SCHEMES = ("udp", "tcp", "tls", "unix-dgram", "unix-stream", "stdin", "nats")


@dataclass(frozen=True)
class Listen:
    """Where a source or the subscribers destination listens."""

    scheme: str
    host: str = ""
    port: int = 0
    path: str = ""

    def __str__(self) -> str:
        if self.scheme in ("udp", "tcp", "tls", "nats"):
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"{self.scheme}://{host}:{self.port}"
        if self.scheme == "stdin":
            return "stdin://"
        return f"{self.scheme}://{self.path}"


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
          "KI": 1024, "MI": 1024**2, "GI": 1024**3, "TI": 1024**4}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


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


def parse_mode(value: object) -> int:
    """A permission mode: an octal string such as "0640" (or "0o640"), or a TOML integer
    written 0o640.  A decimal 640 is refused: it is 0o1200, surely not what was meant."""
    mode = value
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("0o")
        mode = int(text, 8) if text and all(c in "01234567" for c in text) else None
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
        raise ValueError(f'expected an octal mode such as "0640" (or 0o640), not {value!r}')
    return mode


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


def check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid name (letters, digits, _ . -)")
    return value


def check_cidrs(value: tuple[str, ...]) -> tuple[str, ...]:
    parse_networks(value)
    return value


def check_nats_url(value: str) -> str:
    """A NATS server: nats://HOST:PORT (or tls://, ws://, wss://, as nats-py takes them)."""
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in {value!r}") from exc
    if parts.scheme not in ("nats", "tls", "ws", "wss") or not parts.hostname:
        raise ValueError(f"expected nats://HOST:PORT, not {value!r}")
    del port
    return value
