"""The nats source: reads a JetStream stream through a durable pull consumer.

``listen = "nats://HOST:PORT"`` (with ``servers`` to fail over to).  The consumer is
made if missing (explicit acks, ``subject`` as its filter).  Each fetch of up to
``batch`` messages is one batch of frames, parsed with the source's protocol (``json``
by default: what an edge relay's format-json wrote; ``raw``: the payload is MSG) and
routed; then the source waits until every destination its log paths reach has written
what it took (relay.sources.base ``barrier``) and only then acknowledges each message.
So a relay killed at any moment loses nothing: what it had not acknowledged is
delivered again, to it or to another reader of the consumer, once ``ack_wait`` passed.
"""

from __future__ import annotations

import asyncio
from itertools import repeat
from urllib.parse import urlsplit

from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from relay.config import NatsSourceConfig
from relay.natsclient import connect, connect_options
from relay.parse import Peer
from relay.sources.base import SourceRuntime, log

FETCH_WAIT = 1.0  # seconds a fetch waits for messages before asking again
RETRY = 0.5  # seconds between attempts while the stream has no leader


class NatsListener:
    """A running consumer as a Listener: ``close`` stops fetching after the batch at
    hand, ``wait_closed`` waits (briefly) for its acknowledgements."""

    def __init__(self, runtime: SourceRuntime, config: NatsSourceConfig):
        self.runtime = runtime
        self.config = config
        self.addresses: list[str] = []
        self.closing = asyncio.Event()
        self.nc: Client | None = None
        self.task = asyncio.get_running_loop().create_task(self._run())
        host = urlsplit(config.servers[0]).hostname or ""
        self.peer = Peer(host, host, 6)

    def close(self) -> None:
        self.closing.set()

    async def wait_closed(self) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 5.0)
        except TimeoutError:
            self.task.cancel()
        except Exception as exc:
            log.error("source %s: %s", self.runtime.name, exc)
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.close()
            except Exception as exc:
                log.debug("source %s: close: %s", self.runtime.name, exc)

    async def _run(self) -> None:
        c, name = self.config, self.runtime.name
        nc = await connect(connect_options(c, name), f"source {name}", self.closing)
        if nc is None:
            return
        self.nc = nc
        js = nc.jetstream(timeout=5)
        sub = None
        warned = ""
        while not self.closing.is_set():
            try:
                if sub is None:
                    await self._ensure_consumer(js)
                    sub = await js.pull_subscribe_bind(durable=c.durable, stream=c.stream)
                try:
                    msgs = await sub.fetch(c.batch, timeout=FETCH_WAIT)
                except TimeoutError:
                    continue  # nothing new (nats.errors.TimeoutError is one too)
                warned = ""
                self.runtime.deliver([m.data for m in msgs], repeat(self.peer))
                await self.runtime.barrier()
                for m in msgs:
                    await m.ack()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # no leader, a lost connection: try again
                text = f"{type(exc).__name__}: {exc}"
                if text != warned:
                    log.warning("source %s: stream %s consumer %s: %s", name, c.stream,
                                c.durable, text)
                    warned = text
                await asyncio.sleep(RETRY)

    async def _ensure_consumer(self, js: object) -> None:
        c = self.config
        try:
            await js.consumer_info(c.stream, c.durable)  # type: ignore[attr-defined]
        except NotFoundError:
            config = ConsumerConfig(durable_name=c.durable, ack_policy=AckPolicy.EXPLICIT,
                                    ack_wait=c.ack_wait, filter_subject=c.subject or None,
                                    max_ack_pending=max(4 * c.batch, 1024))
            await js.add_consumer(c.stream, config)  # type: ignore[attr-defined]


async def start(runtime: SourceRuntime) -> NatsListener:
    config = runtime.config.nats
    assert config is not None  # the config reader makes one for every nats:// source
    return NatsListener(runtime, config)
