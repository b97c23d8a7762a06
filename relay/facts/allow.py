"""Allow lists: which peer addresses a listener takes, as CIDR networks (``allow = [...]``).

One place for the sources and the subscribers destination alike.  Networks are read by
the standard library's ``ipaddress``; an IPv4-mapped IPv6 peer (``::ffff:10.1.2.3``, as a
dual-stack socket reports an IPv4 sender) is matched as the IPv4 address it maps.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: how many peer addresses an allow list remembers the answer for
CACHE_SIZE = 4096


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The networks of CIDRS ("10.0.0.0/8", "::1/128", "192.0.2.7"); host bits may be set.
    ValueError names the first one that is not a network."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def peer_address(host: str) -> Address | None:
    """HOST as an address (IPv4-mapped IPv6 as IPv4, a zone index dropped); None when it is
    not an IP address."""
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


class AllowList:
    """``allow(host)``: whether a peer at HOST may connect or send.  An empty list allows
    every peer; a host that is not an IP address (a unix socket) is always allowed."""

    __slots__ = ("networks", "_cache")

    def __init__(self, cidrs: Iterable[str]):
        self.networks = parse_networks(cidrs)
        self._cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __call__(self, host: str) -> bool:
        found = self._cache.get(host)
        if found is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            found = self._cache[host] = self._allows(host)
        return found

    def _allows(self, host: str) -> bool:
        if not self.networks:
            return True
        addr = peer_address(host)
        if addr is None:
            return True
        return any(addr in net for net in self.networks)
