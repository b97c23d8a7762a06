"""A Server-Sent Events reader for the tests: what EventSource does, over aiohttp's client.

It parses the stream as the HTML standard says (fields ``id``, ``event``, ``data``, comments
starting with ``:``, an empty line ends an event) and remembers the last id, so that a
test can disconnect and reconnect with ``Last-Event-ID`` as a browser would.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import aiohttp


@dataclass
class Event:
    id: str
    event: str
    data: str


class EventStream:
    def __init__(self, session: aiohttp.ClientSession, url: str, *,
                 last_event_id: str | None = None):
        self.session = session
        self.url = url
        self.last_event_id = last_event_id
        self.response: aiohttp.ClientResponse | None = None
        self.ssl: ssl.SSLContext | bool = True

    async def open(self) -> aiohttp.ClientResponse:
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        self.response = await self.session.get(self.url, headers=headers, ssl=self.ssl)
        return self.response

    async def next(self, timeout: float = 10.0) -> Event:
        """The next event (comments skipped); TimeoutError when none comes in TIMEOUT."""
        assert self.response is not None
        ident, kind, data = None, "message", []
        while True:
            raw = await asyncio.wait_for(self.response.content.readline(), timeout)
            if not raw:
                raise ConnectionError("the stream ended")
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data:
                    if ident is not None:
                        self.last_event_id = ident
                    return Event(ident or "", kind, "\n".join(data))
                ident, kind = None, "message"
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "id":
                ident = value
            elif name == "event":
                kind = value
            elif name == "data":
                data.append(value)

    async def take(self, n: int, timeout: float = 10.0) -> list[Event]:
        return [await self.next(timeout) for _ in range(n)]

    def close(self) -> None:
        if self.response is not None:
            self.response.close()
            self.response = None


class Streams:
    """A client session whose event streams are all closed when it ends."""

    def __init__(self) -> None:
        self.streams: list[EventStream] = []

    async def __aenter__(self) -> Streams:
        self.session = aiohttp.ClientSession()
        return self

    def stream(self, url: str, *, last_event_id: str | None = None) -> EventStream:
        stream = EventStream(self.session, url, last_event_id=last_event_id)
        self.streams.append(stream)
        return stream

    async def __aexit__(self, *exc: object) -> None:
        for stream in self.streams:
            stream.close()
        await self.session.close()
