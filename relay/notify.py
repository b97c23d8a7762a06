"""systemd's readiness protocol, sd_notify(3), for the lifecycle: READY, RELOADING, STOPPING.

Each state is one datagram to the unix socket named by $NOTIFY_SOCKET (a leading "@" is
the abstract namespace).  Without $NOTIFY_SOCKET (not run by systemd, or not Type=notify)
it does nothing; a socket that went away is not worth failing the relay for.
"""

from __future__ import annotations

import os
import socket
import time

READY = "READY=1"
STOPPING = "STOPPING=1"


def notify(state: str) -> bool:
    """Send STATE ("READY=1", ...); True when it reached the socket."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), address)
    except OSError:
        return False
    return True


def reloading() -> str:
    # systemd 253+ wants the CLOCK_MONOTONIC time of the reload with it (Type=notify-reload)
    return f"RELOADING=1\nMONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}"
