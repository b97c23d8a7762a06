"""The nats destination: each message published to NATS, to a JetStream stream when set.

The payload is the rendered template without its final newline (one JSON object by
default); the subject is rendered token by token (relay.subject).  With ``stream`` every
publish is a JetStream publish whose acknowledgement is awaited: up to ``max_pending``
are in flight at once, each carries a ``Nats-Msg-Id`` header (this relay's instance id
and a sequence number), and one not acknowledged within ``ack_timeout`` (a lost
connection, a leader election) is published again, with the same id and a growing
delay, until it is: the stream stores it once within its duplicate window.  Without
``stream`` it is a core NATS publish: counted written once the server answered the ping
that follows it, with no guarantee beyond that.

Everything taken and not yet acknowledged counts against ``queue_bytes`` in the
destination's WriteQueue: past it, stream sources pause (``when_full = "drop"``: the
message is dropped and counted instead).  Stopping waits, at most ``stop_timeout``, for
every pending acknowledgement.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Mapping

from nats.aio.client import Client
from nats.aio.msg import Msg

from relay.config import NatsConfig
from relay.destinations.base import Destination, Filter, Render, log
from relay.destinations.queue import WriteQueue
from relay.flow import FlowControl
from relay.message import FLAG_LOCAL, LogMessage
from relay.natsclient import connect, connect_options
from relay.subject import compile_subject

SWEEP = 0.1  # seconds between looks for acknowledgements overdue
MAX_BACKOFF = 8.0  # the longest wait between two publishes of one message


class _Pending:
    """One message published and not yet acknowledged."""

    __slots__ = ("subject", "payload", "headers", "due", "tries")

    def __init__(self, subject: str, payload: bytes, headers: dict[str, str]):
        self.subject = subject
        self.payload = payload
        self.headers = headers
        self.due = 0.0
        self.tries = 0


class NatsDestination(Destination[NatsConfig]):
    def __init__(self, config: NatsConfig, render: Render, flow: FlowControl,
                 named_filters: Mapping[str, Filter] | None = None):
        super().__init__(config, render, flow, named_filters)
        self.subject = compile_subject(config.subject)
        self.queue = WriteQueue(self, flow, config.queue_bytes)
        # past this many bytes queued a message is dropped: the bound itself when asked
        # to drop, else twice it (only datagram sources, which cannot pause, send then)
        self.limit = config.queue_bytes * (1 if config.when_full == "drop" else 2)
        self.instance = config.instance or secrets.token_hex(6)
        self.nc: Client | None = None
        self._waiting: deque[tuple[int, str, bytes]] = deque()  # taken, not yet published
        self._unacked: dict[int, _Pending] = {}
        self._seq = 0
        self._wake = asyncio.Event()
        self._done = asyncio.Event()  # set while nothing is waiting or in flight
        self._done.set()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._reply = ""
        self.retries = 0  # publishes made again (no acknowledgement in time)

    def send(self, msg: LogMessage) -> None:
        if msg.flags & FLAG_LOCAL:
            self.number(msg)
        payload = self.render(msg)
        if payload.endswith(b"\n"):
            payload = payload[:-1]
        size = len(payload)
        if self.queue.size + size > self.limit:
            self.dropped += 1
            return
        self._seq += 1
        self._waiting.append((self._seq, self.subject(msg), payload))
        self._done.clear()
        if self.config.when_full == "drop":
            self.queue.size += size  # counted, but never pauses the sources
        else:
            self.queue.add(size)

    def end_batch(self) -> None:
        if self._waiting:
            self._wake.set()

    def queued(self) -> int:
        return self.queue.size

    def _release(self, size: int) -> None:
        if self.config.when_full == "drop":
            self.queue.size -= size
        else:
            self.queue.remove(size)
        if not self._waiting and not self._unacked:
            self._done.set()

    async def flushed(self) -> None:
        await self._done.wait()

    async def start(self) -> list[str]:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._run()))
        return []

    async def _run(self) -> None:
        options = connect_options(self.config, self.name)
        options["reconnected_cb"] = self._reconnected
        nc = await connect(options, f"destination {self.name}", self._stopping)
        if nc is None:
            return
        self.nc = nc
        if self.config.stream:
            self._reply = nc.new_inbox() + "."
            await nc.subscribe(self._reply + "*", cb=self._acked)
            self._tasks.append(asyncio.get_running_loop().create_task(self._sweep()))
        publish = self._publish_js if self.config.stream else self._publish_core
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting and nc.is_connected and await publish(nc):
                pass

    async def _publish_js(self, nc: Client) -> bool:
        """Publish what waits, as far as max_pending allows; False when there is no room
        (an acknowledgement wakes the publisher again)."""
        room = self.config.max_pending - len(self._unacked)
        if room <= 0:
            return False
        now = time.monotonic()
        due = now + self.config.ack_timeout
        for _ in range(min(room, len(self._waiting))):
            seq, subject, payload = self._waiting.popleft()
            pending = _Pending(subject, payload, {"Nats-Msg-Id": f"{self.instance}-{seq}"})
            pending.due = due
            self._unacked[seq] = pending
            try:
                await nc.publish(subject, payload, reply=f"{self._reply}{seq}",
                                 headers=pending.headers)
            except Exception as exc:  # disconnected with a full buffer: the sweep retries
                pending.due = now
                log.debug("destination %s: publish failed: %s", self.name, exc)
        return True

    async def _publish_core(self, nc: Client) -> bool:
        batch = [self._waiting.popleft()
                 for _ in range(min(self.config.max_pending, len(self._waiting)))]
        size = 0
        try:
            for seq, subject, payload in batch:
                size += len(payload)
                await nc.publish(subject, payload,
                                 headers={"Nats-Msg-Id": f"{self.instance}-{seq}"})
            await nc.flush(max(1, round(self.config.ack_timeout)))
            self.written += len(batch)
        except Exception as exc:  # core NATS promises nothing: counted, not retried
            log.warning("destination %s: %d messages may be lost: %s", self.name, len(batch),
                        exc or type(exc).__name__)
            self.dropped += len(batch)
        self._release(size)
        return True

    async def _acked(self, msg: Msg) -> None:
        seq = int(msg.subject[len(self._reply):])
        pending = self._unacked.get(seq)
        if pending is None:
            return  # a second acknowledgement (the first publish was late)
        data = msg.data
        if not data or b'"error"' in data:
            # no responders (no stream leader yet) or a refusal: try again soon
            if b'"error"' in data:
                log.warning("destination %s: stream %s refused a message: %s", self.name,
                            self.config.stream, data.decode("utf-8", "replace"))
            pending.due = min(pending.due, time.monotonic() + self._backoff(pending))
            return
        del self._unacked[seq]
        self.written += 1
        self._release(len(pending.payload))
        if self._waiting:
            self._wake.set()

    def _backoff(self, pending: _Pending) -> float:
        return min(0.1 * 2 ** pending.tries, MAX_BACKOFF)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP)
            nc = self.nc
            if nc is None or not nc.is_connected:
                continue
            now = time.monotonic()
            overdue = [(seq, p) for seq, p in self._unacked.items() if p.due <= now]
            for seq, pending in overdue:
                await self._again(nc, seq, pending, now)

    async def _again(self, nc: Client, seq: int, pending: _Pending, now: float) -> None:
        pending.tries += 1
        pending.due = now + self.config.ack_timeout + self._backoff(pending)
        self.retries += 1
        try:
            await nc.publish(pending.subject, pending.payload, reply=f"{self._reply}{seq}",
                             headers=pending.headers)
        except Exception as exc:
            log.debug("destination %s: publish failed again: %s", self.name, exc)

    async def _reconnected(self) -> None:
        # what was in flight on the old connection may be lost: publish it again now
        # (the stream keeps one copy of each id); then go on with what waits
        log.warning("destination %s: reconnected to %s", self.name,
                    self.nc.connected_url.netloc if self.nc and self.nc.connected_url else "?")
        now = time.monotonic()
        for pending in self._unacked.values():
            pending.due = now
        self._wake.set()

    async def stop(self) -> None:
        self._wake.set()
        try:
            await asyncio.wait_for(self._done.wait(), self.config.stop_timeout)
        except TimeoutError:
            log.error("destination %s: stopped with %d messages not acknowledged", self.name,
                      len(self._waiting) + len(self._unacked))
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.close()
            except Exception as exc:
                log.debug("destination %s: close: %s", self.name, exc)
