"""A worker process: ``python -m relay.worker DATA CONTROL COUNTS N LEVEL`` (relay.workers).

It is started by the main process, never by hand.  It waits for ``start`` on its control
socket (the config it runs, already cut down by relay.workers.plan, and one listening
socket per source), runs the data path of that config with ChannelDestinations
(relay.workers.proxy) in place of the real destinations, drops privileges as the main
process does, and answers READY.  ``feed`` tells it which client filters a subscribers
destination has now (relay.workers.feed).  Every half second it sends its counters.  ``reload``
switches it to a new config the way the main process switches (relay.reload): unchanged
sources keep their connections.  ``stop``, SIGTERM or the end of the control socket
stop it as the relay stops: stop accepting, drain the connections, flush the lines into
the channel, send the last counters, close.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import socket
import sys
from typing import Any

import orjson

from relay import heap, privileges
from relay.assemble import DataPath, assemble
from relay.config import Config
from relay.errors import RelayError
from relay.server import Relay
from relay.sources.base import SourceRuntime
from relay.sources.shared import SharedTable
from relay.sources.stream import StreamProtocol
from relay.workers.channel import DONE, READY, json_frame
from relay.workers.pool import COUNTERS
from relay.workers.proxy import ChannelProtocol, FeedDestination, WorkerTurns, factory

log = logging.getLogger("relay")

STATS_EVERY = 0.5  # seconds between two reports of the counters


class WorkerRelay(Relay):
    """The relay's data path in a worker: its sources get their sockets from the main
    process, and its destinations hand lines to the channel."""

    def __init__(self, config: Config, counts: SharedTable, n: int = 0):
        super().__init__(config)
        self.counts = counts
        self.n = n  # which worker this is
        self.channel: ChannelProtocol | None = None
        self.sockets: dict[str, socket.socket] = {}
        self.slots: dict[str, int] = {}
        self.handed = 0  # connections the main process handed over

    def _assemble(self, config: Config, reuse: DataPath | None = None) -> DataPath:
        assert self.channel is not None
        return assemble(config, self.flow, reuse=reuse, make_destination=factory(self.channel))

    async def _start_sources(self, runtimes: Any) -> list[str]:
        listed: list[SourceRuntime] = list(runtimes)
        for runtime in listed:
            runtime.shared_active = self.counts.count(self.slots[runtime.name])
            sock = self.sockets.pop(runtime.name, None)
            if sock is None:  # a TCP source: the main process hands its connections over
                runtime.admitted_elsewhere = True
                self.listeners[runtime] = Handed()
            else:  # a UDP source: the first worker reads the socket, the others help
                runtime.listen_socket = sock
                assert self.channel is not None
                runtime.turns = WorkerTurns(runtime.shared_active, self.slots[runtime.name],
                                            self.channel, self.flush, first=self.n == 0)
                runtime.counts_kernel_drops = self.n == 0  # one count per socket
                await super()._start_sources([runtime])
        return []

    def flush(self) -> None:
        """Hand every destination's lines to the channel now."""
        for dest in self.destinations.values():
            dest.flush()

    async def take(self, name: str, sock: socket.socket) -> None:
        """A connection of the source NAME, admitted and handed over by the main process."""
        self.handed += 1
        runtime = self.sources.get(name)
        if runtime is None or self.state != "running":
            sock.close()  # the source went away meanwhile: its peer reconnects
            return
        loop = asyncio.get_running_loop()
        await loop.connect_accepted_socket(lambda: StreamProtocol(runtime), sock)

    def _announce(self, addresses: list[str]) -> None:
        pass  # the main process says what the relay listens on

    def report(self) -> dict[str, Any]:
        return {
            "handed": self.handed,
            "sources": {name: {c: getattr(r, c) for c in COUNTERS}
                        for name, r in self.sources.items()},
            "destinations": {name: d.dropped for name, d in self.destinations.items()},
        }


class Handed:
    """A TCP source in a worker, as a Listener: it listens on nothing; its connections
    come from the main process, and are drained at shutdown as any."""

    addresses: list[str] = []

    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        pass


class Control:
    """The control socket: JSON messages, each with the sockets it hands over."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        sock.setblocking(False)
        self.queue: asyncio.Queue[tuple[dict[str, Any], list[int]]] = asyncio.Queue()
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 20, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, fds = b"", []
        if not data:  # the main process is gone
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.queue.put_nowait(({"op": "stop"}, []))
            return
        self.queue.put_nowait((orjson.loads(data), fds))


def _sockets(names: list[str], fds: list[int]) -> dict[str, socket.socket]:
    return {name: socket.socket(fileno=fd) for name, fd in zip(names, fds, strict=True)}


async def serve(data_fd: int, control_fd: int, counts_fd: int, n: int = 0) -> int:
    loop = asyncio.get_running_loop()
    os.write(data_fd, json_frame(READY, {"ok": True}))  # hello: imported, ready to start
    control = Control(socket.socket(fileno=control_fd))
    counts = SharedTable(counts_fd)
    message, fds = await control.queue.get()
    if message.get("op") != "start":
        return 0
    relay = WorkerRelay(pickle.loads(bytes.fromhex(message["config"])), counts, n)
    _, channel = await loop.create_unix_connection(lambda: ChannelProtocol(relay.flow),
                                                   sock=socket.socket(fileno=data_fd))
    relay.channel = channel
    channel.report = relay.report
    relay.sockets, relay.slots = _sockets(message["sockets"], fds), message["slots"]
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await relay.start()
        privileges.drop(privileges.resolve(relay.config.options), [])
    except (RelayError, OSError) as exc:
        channel.send_json(READY, {"ok": False, "error": str(exc)})
        await relay.stop()
        await channel.drained()
        return 1
    relay.started()
    channel.send_json(READY, {"ok": True})

    async def report() -> None:
        while True:
            await asyncio.sleep(STATS_EVERY)
            channel.send_report()

    async def commands() -> None:
        while True:
            message, fds = await control.queue.get()
            op = message["op"]
            if op == "conn":
                await relay.take(message["source"], socket.socket(fileno=fds[0]))
            elif op == "feed":
                dest = relay.destinations.get(message["destination"])
                if isinstance(dest, FeedDestination):
                    dest.set_groups(message["version"], message["groups"])
            elif op == "stop":
                stop.set()
                return
            elif op == "reload":
                relay.sockets.update(_sockets(message["sockets"], fds))
                relay.slots = message["slots"]
                try:
                    await relay.apply(pickle.loads(bytes.fromhex(message["config"])))
                except RelayError as exc:
                    channel.send_json(DONE, {"ok": False, "error": str(exc)})
                    continue
                channel.send_report()
                channel.send_json(DONE, {"ok": True})

    tasks = [loop.create_task(report()), loop.create_task(commands())]
    await stop.wait()
    await relay.stop()
    for task in tasks:
        task.cancel()
    channel.send_report()
    await channel.drained()
    return 0


def main(argv: list[str]) -> int:
    data_fd, control_fd, counts_fd, n = (int(a) for a in argv[:4])
    level = argv[4] if len(argv) > 4 else "INFO"
    logging.basicConfig(stream=sys.stderr, level=level,
                        format=f"relay: worker {n}: %(levelname)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the main process too
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # reloads come from the main process
    heap.keep_freed_memory()
    try:
        import uvloop

        return uvloop.run(serve(data_fd, control_fd, counts_fd, n))
    except ImportError:
        return asyncio.run(serve(data_fd, control_fd, counts_fd, n))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
