"""The main process's side of the workers: their processes, their channels, their sockets.

``WorkerPool.start`` starts the worker processes (``python -m relay.worker``), hands
each its config and the sockets it reads (relay.workers.listen), and waits until every
one has started them; only then are TCP connections accepted and handed over.  From then
on each channel's DATA frames go to the real destinations' ``write`` (a full chunk as it
came, small ones joined), its LOCAL messages to their ``send``, a shared UDP socket's
batches through the Reorder first, its FEED lines to the subscribers destination's
clients, and its STATS to the sources' counters.  Each subscribers destination's groups
of client filters (relay.workers.feed) go to every worker when they change, and to a
worker that starts or reloads.

The main process keeps its copy of every UDP socket and the TCP listening sockets: a
worker that dies is replaced by a new one on the same sockets, so that what waits in
them is served by the replacement.  At shutdown the copies are closed as the workers
are told to stop, so that the workers read the sockets empty.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import pickle
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from relay.config import Config
from relay.destinations.base import Destination
from relay.destinations.subscribers import SubscribersDestination
from relay.errors import ConfigError
from relay.flow import FlowControl
from relay.sources.base import SourceRuntime
from relay.sources.shared import SharedTable
from relay.workers import feed, plan
from relay.workers.channel import DATA, FEED
from relay.workers.link import Joiner, MainChannel, Worker
from relay.workers.listen import PoolListener, bind
from relay.workers.reorder import Reorder

log = logging.getLogger("relay")

START_TIMEOUT = 30.0  # seconds a worker may take to start (import, compile, listen)
STOP_TIMEOUT = 30.0  # seconds a worker may take to drain and flush at shutdown
COUNTERS = ("received", "errors", "truncated", "dropped", "denied", "over_limit",
            "tls_refused", "idle_closed", "active")


class WorkerPool:
    def __init__(self, flow: FlowControl, count: int,
                 sources: Callable[[], Mapping[str, SourceRuntime]]):
        self.flow = flow
        self.count_of_workers = count
        self.sources = sources  # the main process's runtimes, whose counters the pool sets
        self.workers: list[Worker] = []
        self.sockets: dict[str, list[socket.socket]] = {}  # UDP source -> its socket
        self.reorder = Reorder()  # the batches of the UDP sockets, back in order
        self.joiner = Joiner()  # small chunks (datagram batches) joined into larger writes
        self.listeners: dict[str, PoolListener] = {}
        self.lookup: dict[str, Any] = {}  # where DATA frames are written (buffered ones)
        self.counts = SharedTable()
        self.slots: dict[str, int] = {}
        self.config: Config | None = None
        self.served: tuple[str, ...] = ()
        self.retired: list[dict[str, Any]] = []  # the last stats of workers that exited
        self.stopping = False
        self.running = False  # every worker has started
        self.restarts = 0
        self.waiting: list[tuple[str, socket.socket]] = []  # connections no worker took yet
        self._unsticking: asyncio.TimerHandle | None = None
        self.dropped_seen: dict[tuple[int, str], int] = {}

    # -- starting -----------------------------------------------------------------------

    def listen(self, config: Config, name: str) -> PoolListener:
        """Bind the sockets of the source NAME; OSError when it cannot listen."""
        source = next(s for s in config.sources if s.name == name)
        tcp = source.listen.scheme == "tcp"
        socks = bind(source, 1)
        for sock in self.sockets.pop(name, ()):
            sock.close()
        if name not in self.slots:
            self.slots[name] = len(self.slots)
        if tcp:  # (a UDP source's slot numbers its batches: on, across a replacement)
            self.counts.count(self.slots[name]).reset()
        listener = PoolListener(source, socks, self.flow,
                                self.counts.count(self.slots[name]), self.hand)
        self.listeners[name] = listener  # accepting once the workers know the source
        if not tcp:
            self.sockets[name] = socks
        return listener

    def _look_up(self, destinations: Mapping[str, Destination[Any]]) -> None:
        """Where DATA frames are written from now on; each counts what waits here for it."""
        for old in self.lookup.values():  # one a reload replaced: its workers' side is gone
            if isinstance(old, SubscribersDestination) and old not in destinations.values():
                old.on_groups = None
        self.lookup = dict(destinations)
        for name, dest in self.lookup.items():
            dest.held_before = functools.partial(self.held_for, name)
            if isinstance(dest, SubscribersDestination):
                dest.on_groups = self.send_groups

    def send_groups(self, dest: SubscribersDestination,
                    workers: list[Worker] | None = None) -> None:
        """Tell the workers (every started one, or WORKERS) DEST's client filters now."""
        groups = dest.groups
        message = {"op": "feed", "destination": dest.name, "version": groups.version,
                   "groups": list(groups.exprs)}
        for worker in self.workers if workers is None else workers:
            if worker.started and not worker.stopping:
                try:
                    worker.tell(message)
                except OSError:
                    pass  # it is exiting: its replacement is told when it starts

    def _send_all_groups(self, workers: list[Worker]) -> None:
        for dest in self.lookup.values():
            if isinstance(dest, SubscribersDestination):
                self.send_groups(dest, workers)

    def held_for(self, name: str) -> int:
        """Bytes of lines for destination NAME held here: joined, or waiting their turn."""
        waiting = sum(len(body) for _, dest, _, body in self.reorder.waiting() if dest == name)
        return self.joiner.held_bytes(name) + waiting

    def write(self, kind: int, name: str, lines: int, body: bytearray) -> None:
        """A DATA frame's lines, or a LOCAL frame's message, to the real destination."""
        dest = self.lookup.get(name)
        if dest is None:  # cannot happen: a destination lives until the workers are done
            log.error("%d lines for unknown destination %r", lines, name)
            return
        if kind == DATA:
            self.joiner.write(name, dest, body, lines)
        elif kind == FEED:
            try:
                version, feed_lines = feed.decode(body)
            except ValueError as exc:  # cannot happen: the channel carries whole frames
                log.error("a feed frame for %r: %s", name, exc)
                return
            dest.deliver(version, lines, feed_lines)
        else:  # numbered and rendered here, in the order the channel brought it
            self.joiner.write_held(name)
            dest.send(pickle.loads(body))
            dest.flush()

    def write_all(self, items: list[tuple[int, str, int, bytearray]]) -> None:
        for kind, name, lines, body in items:
            self.write(kind, name, lines, body)

    def _unstick(self) -> None:
        """Every half second: batches held up by one that never ended (its worker died)."""
        late = self.reorder.stuck(time.monotonic())
        if late:
            log.warning("a batch of datagrams never came back from its worker; the %d "
                        "chunks after it are written", len(late))
            self.write_all(late)
        if not self.stopping:
            self._unsticking = asyncio.get_running_loop().call_later(0.5, self._unstick)

    def hand(self, source: str, conn: socket.socket) -> bool:
        """Give CONN, a connection of SOURCE, to the least busy worker (or keep it until
        one has started again, if none has)."""
        for worker in sorted(self.workers, key=lambda w: w.load):
            if worker.stopping or not worker.started:
                continue
            try:
                worker.tell({"op": "conn", "source": source}, [conn.fileno()])
            except OSError:
                continue
            worker.handed += 1
            return True
        if self.stopping:
            return False
        self.waiting.append((source, conn.dup()))
        return True

    def _hand_waiting(self) -> None:
        waiting, self.waiting = self.waiting, []
        for source, conn in waiting:
            self.hand(source, conn)
            conn.close()

    async def spawn(self) -> None:
        """Start the worker processes and wait until each is ready to be told what to do
        (Python and the relay imported), so that the sockets bound next are read at once:
        datagrams do not pile up in them while a worker starts."""
        loop = asyncio.get_running_loop()
        for n in range(self.count_of_workers):
            worker = Worker(n)
            self.workers.append(worker)
            await self._spawn(loop, worker)
        hellos = await asyncio.gather(*(self._wait(w, START_TIMEOUT) for w in self.workers))
        for worker, hello in zip(self.workers, hellos, strict=True):
            if not hello.get("ok"):
                raise ConfigError(f"worker {worker.n}: {hello.get('error', 'did not start')}")

    async def start(self, config: Config, destinations: Mapping[str, Destination[Any]]) -> None:
        """Hand every worker its config and sockets (bound by ``listen`` meanwhile)."""
        self.config, self.served = config, plan.served(config)
        self._look_up(destinations)
        answers = await asyncio.gather(*(self._start(w) for w in self.workers))
        for worker, answer in zip(self.workers, answers, strict=True):
            if not answer.get("ok"):
                raise ConfigError(f"worker {worker.n}: {answer.get('error', 'did not start')}")
        self.running = True
        self._send_all_groups(self.workers)
        self._unsticking = asyncio.get_running_loop().call_later(0.5, self._unstick)
        for listener in self.listeners.values():
            listener.accepting()

    async def _spawn(self, loop: asyncio.AbstractEventLoop, worker: Worker) -> None:
        data, data_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        control, control_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)  # only the main process speaks to systemd
        fds = (data_child.fileno(), control_child.fileno(), self.counts.fd)
        worker.process = subprocess.Popen(
            [sys.executable, "-m", "relay.worker", *map(str, fds), str(worker.n),
             logging.getLevelName(log.getEffectiveLevel())],
            pass_fds=fds, env=env, stdin=subprocess.DEVNULL)
        data_child.close()
        control_child.close()
        control.settimeout(10.0)
        worker.control = control
        worker.answer = loop.create_future()  # its hello (see spawn)
        _, worker.channel = await loop.create_unix_connection(
            lambda: MainChannel(self, worker), sock=data)

    async def _start(self, worker: Worker) -> dict[str, Any]:
        assert self.config is not None
        names = [n for n in self.served if n in self.sockets]
        answer = await self._ask(worker, {
            "op": "start", "config": pickle.dumps(plan.worker_config(self.config, self.served)
                                                  ).hex(),
            "sockets": names, "slots": self.slots},
            [self.sockets[n][0].fileno() for n in names], START_TIMEOUT)
        worker.started = bool(answer.get("ok"))
        return answer

    async def _ask(self, worker: Worker, message: dict[str, Any], fds: list[int],
                   timeout: float) -> dict[str, Any]:
        worker.answer = asyncio.get_running_loop().create_future()
        try:
            worker.tell(message, fds)
        except OSError as exc:
            worker.answer = None
            return {"ok": False, "error": f"cannot tell it ({exc})"}
        return await self._wait(worker, timeout)

    async def _wait(self, worker: Worker, timeout: float) -> dict[str, Any]:
        assert worker.answer is not None
        try:
            return dict(await asyncio.wait_for(worker.answer, timeout))
        except TimeoutError:
            return {"ok": False, "error": f"no answer in {timeout:g}s"}
        finally:
            worker.answer = None

    # -- running ------------------------------------------------------------------------

    def count(self) -> None:
        """Set the served sources' counters to the sum of what every worker reported."""
        runtimes = self.sources()
        reports = [w.stats for w in self.workers if w.stats] + self.retired
        for name in self.served:
            runtime = runtimes.get(name)
            if runtime is None:
                continue
            gate = getattr(self.listeners.get(name), "gate", None)
            for counter in COUNTERS:
                total = sum(r.get("sources", {}).get(name, {}).get(counter, 0) for r in reports)
                if gate is not None and counter != "active":
                    total += getattr(gate, counter)
                setattr(runtime, counter, total)
        for worker in self.workers:
            for dest, dropped in worker.stats.get("destinations", {}).items():
                seen = self.dropped_seen.get((id(worker), dest), 0)
                if dropped > seen and dest in self.lookup:
                    self.lookup[dest].dropped += dropped - seen
                    self.dropped_seen[(id(worker), dest)] = dropped

    def report(self) -> list[dict[str, int]]:
        return [{"worker": w.n, "connections": w.handed,
                 "received": sum(c.get("received", 0)
                                 for c in w.stats.get("sources", {}).values())}
                for w in self.workers]

    def worker_lost(self, worker: Worker) -> None:
        if worker.stats:
            self.retired.append({"sources": worker.stats.get("sources", {})})
            worker.stats = {}
            self.count()
        if self.stopping or worker.stopping or worker not in self.workers:
            return
        code = worker.process.poll() if worker.process is not None else None
        self.restarts += 1
        log.error("worker %d exited (%s); starting another on its sockets", worker.n,
                  "still running" if code is None else f"status {code}")
        asyncio.get_running_loop().create_task(self._replace(worker))

    async def _replace(self, old: Worker) -> None:
        if old.process is not None and old.process.poll() is None:
            old.process.kill()
        worker = Worker(old.n)
        self.workers[self.workers.index(old)] = worker
        await self._spawn(asyncio.get_running_loop(), worker)
        answer = await self._wait(worker, START_TIMEOUT)
        if answer.get("ok"):
            answer = await self._start(worker)
            self._send_all_groups([worker])
            self._hand_waiting()
        if not answer.get("ok"):
            log.error("worker %d: %s", worker.n, answer.get("error"))

    async def reload(self, config: Config, fresh: tuple[str, ...],
                     destinations: Mapping[str, Destination[Any]]) -> None:
        """Take CONFIG, whose served sources FRESH are new (bound already by ``listen``),
        in every worker; returns once every worker has switched and flushed what its
        sources that went away had taken."""
        self._look_up({**self.lookup, **destinations})  # old names live until all are done
        self.config, self.served = config, plan.served(config)
        names = [n for n in fresh if n in self.sockets]
        message = {"op": "reload", "config": pickle.dumps(
            plan.worker_config(config, self.served)).hex(), "sockets": names,
            "slots": self.slots}
        answers = await asyncio.gather(*(self._ask(
            w, message, [self.sockets[n][0].fileno() for n in names], START_TIMEOUT)
            for w in self.workers))
        self._look_up(destinations)
        self._send_all_groups(self.workers)  # (a new destination's worker side has none)
        for listener in self.listeners.values():
            listener.accepting()
        for name in list(self.sockets):
            if name not in self.served:
                for sock in self.sockets.pop(name):
                    sock.close()
        for name in list(self.listeners):
            if name not in self.served:
                self.listeners.pop(name).close()
        errors = [f"worker {w.n}: {a.get('error')}" for w, a in
                  zip(self.workers, answers, strict=True) if not a.get("ok")]
        if errors:
            log.error("reload in the workers: %s", "; ".join(errors))

    # -- stopping -----------------------------------------------------------------------

    async def stop(self) -> None:
        """Tell every worker to stop (stop accepting, drain, flush into its channel) and
        wait until each channel has ended, so that everything reached the destinations."""
        self.stopping = True
        for listener in self.listeners.values():
            listener.close()
        for _, conn in self.waiting:  # no worker came back for them: their peers reconnect
            conn.close()
        self.waiting.clear()
        for worker in self.workers:
            worker.stopping = True
            try:
                worker.tell({"op": "stop"})
            except OSError:
                pass
        for socks in self.sockets.values():  # the workers' copies are the last ones
            for sock in socks:
                sock.close()
        self.sockets.clear()
        waits = [w.channel.lost for w in self.workers if w.channel is not None]
        if waits:
            done, pending = await asyncio.wait(waits, timeout=STOP_TIMEOUT)
            if pending:
                log.error("%d workers did not stop in %gs", len(pending), STOP_TIMEOUT)
        for worker in self.workers:
            await self._reap(worker)
        if self._unsticking is not None:
            self._unsticking.cancel()
        self.write_all(self.reorder.drain())  # what a dead worker's missing batch held up
        self.joiner.write_all()
        self.count()
        self.counts.close()

    async def _reap(self, worker: Worker) -> None:
        process = worker.process
        if process is None:
            return
        for _ in range(100):
            if process.poll() is not None:
                break
            await asyncio.sleep(0.02)
        else:
            process.kill()
            process.wait()
        if worker.control is not None:
            worker.control.close()
