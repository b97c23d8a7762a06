"""netmask() and netmask6(): a message's source address against a network.

Part of the pipeline stage (``relay.filter``).  Addresses are read as glibc reads them
(``relay.facts.cnum``: inet_aton, inet_pton), with no socket:

    netmask   = address [ "/" ( length / address ) ]      ; length read with atoi()
    netmask6  = address6 [ "/" length6 ]                  ; 1..128, else never matches

A message with no source address (a local or internal source) counts as loopback.
"""

from __future__ import annotations

from relay.facts.cnum import CSPACE, c_atoi, inet_aton, inet_pton6
from relay.filter.predicates import Predicate, never
from relay.message import LogMessage

#: how many source addresses each netmask remembers (the senders of a busy relay)
CACHE_SIZE = 4096


# Each netmask caches what it read of the source addresses it saw, in its own closure
# (so nothing global needs a reset); the cache empties when it grows past CACHE_SIZE.
# The lookups are written out in each closure: they run for every message.


def compile_netmask(cidr: str) -> Predicate:
    address, mask = _parse_netmask(cidr)
    cache: dict[str, int | None] = {}

    def netmask(msg: LogMessage) -> bool:
        ip = msg.source_ip
        value = cache.get(ip, -1)
        if value == -1:
            value = _ipv4(ip)
            if len(cache) > CACHE_SIZE:
                cache.clear()
            cache[ip] = value
        return value is not None and value & mask == address

    return netmask


def compile_netmask6(cidr: str) -> Predicate:
    network = _parse_netmask6(cidr)
    if network is None:
        return never
    address, prefix = network
    shift = 128 - prefix
    cache: dict[str, int | None] = {}

    def netmask6(msg: LogMessage) -> bool:
        ip = msg.source_ip
        value = cache.get(ip, -1)
        if value == -1:
            value = _ipv6(ip)
            if len(cache) > CACHE_SIZE:
                cache.clear()
            cache[ip] = value
        return value is not None and value >> shift == address

    return netmask6


def _parse_netmask(cidr: str) -> tuple[int, int]:
    """filter_netmask_new(): "a.b.c.d", "a.b.c.d/len" or "a.b.c.d/m.m.m.m"."""
    slash = cidr.find("/")
    if len(cidr) >= 32 or slash < 0:
        address, mask = inet_aton(cidr) or 0, 0xFFFFFFFF
    else:
        address = inet_aton(cidr[:slash]) or 0
        rest = cidr[slash + 1 :]
        if "." in rest:
            mask = inet_aton(rest) or 0
        else:
            prefix = c_atoi(rest)  # syslog-ng's atoi(): "--8" is 0, "4294967304" is 8
            if prefix == 32:
                mask = 0xFFFFFFFF
            else:
                # C int shifts: counts are taken modulo 32 on x86
                mask = ((((1 << (prefix & 31)) - 1) & 0xFFFFFFFF) << ((32 - prefix) & 31))
                mask &= 0xFFFFFFFF
    return address & mask, mask


def _ipv4(ip: str) -> int | None:
    if not ip:
        return 0x7F000001  # no address (local or internal source): loopback
    if ":" in ip:
        return None
    return inet_aton(ip)


def _parse_netmask6(cidr: str) -> tuple[int, int] | None:
    slash = cidr.find("/")
    if len(cidr) >= 46 + 5 or slash < 0:
        text, prefix = cidr, 128
    else:
        # white space, then decimal digits: no sign (unlike strtol)
        digits = ""
        for ch in cidr[slash + 1 :].lstrip(CSPACE):
            if not "0" <= ch <= "9":
                break
            digits += ch
        prefix = int(digits or "0")
        if not 0 < prefix < 129:
            return None
        text = cidr[:slash]
    address = _ipv6(text) if text else None
    if address is None or not text:
        return None
    return address >> (128 - prefix), prefix


def _ipv6(ip: str) -> int | None:
    if not ip:
        return 1  # ::1
    if ":" not in ip:
        return None
    return inet_pton6(ip)
