"""A NATS connection as the nats destination and the nats:// source both open it.

I/O layer, beside the sources and destinations that use it: the options nats-py takes
from a config's servers, auth and TLS keys, and a first connection retried until it
succeeds (nats-py reconnects by itself only once it has been connected).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

import nats
from nats.aio.client import Client

log = logging.getLogger("relay")

CONNECT_RETRY = 1.0  # seconds between first connection attempts


def connect_options(config: Any, name: str) -> dict[str, Any]:
    """What nats.connect takes from a config with servers, auth and TLS keys (a nats
    destination's, or a nats source's)."""
    options: dict[str, Any] = {
        "servers": list(config.servers), "name": f"relay-{name}",
        "allow_reconnect": True, "max_reconnect_attempts": -1,
        "reconnect_time_wait": config.reconnect_time_wait, "connect_timeout": 2,
        "pending_size": 64 * 1024 * 1024,
    }
    if config.user:
        options["user"], options["password"] = config.user, config.password
    if config.token:
        options["token"] = config.token
    if config.creds:
        options["user_credentials"] = config.creds
    if config.tls_ca or config.tls_cert:
        context = ssl.create_default_context(cafile=config.tls_ca or None)
        if config.tls_cert:
            context.load_cert_chain(config.tls_cert, config.tls_key or None)
        options["tls"] = context
    return options


async def connect(options: dict[str, Any], what: str,
                  stopping: asyncio.Event | None = None) -> Client | None:
    """A connected client; until the first connection succeeds, try again every second
    (nats-py reconnects by itself only once it has been connected).  None when STOPPING
    is set first."""
    warned = False

    async def report(exc: Exception) -> None:
        log.warning("%s: %s", what, exc or type(exc).__name__)

    while stopping is None or not stopping.is_set():
        try:
            return await nats.connect(**options, error_cb=report)
        except Exception as exc:  # no server reachable yet
            if not warned:
                log.warning("%s: cannot connect to %s yet (%s); retrying", what,
                            ", ".join(options["servers"]), exc or type(exc).__name__)
                warned = True
            await asyncio.sleep(CONNECT_RETRY)
    return None
