"""The HTTP endpoint for operators: /metrics for Prometheus, /healthz for supervisors.

It sits above the assembled data path and below the lifecycle, which hands it the
running relay.  The data path keeps plain integer counters (``received``, ``written``,
...) where they are counted; the collector here reads them only when Prometheus
scrapes, so counting costs the hot path nothing more than it did.  The text format is
prometheus-client's; HTTP is aiohttp's, so that a later web feed can share the server.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector

from relay import __version__
from relay.config import MetricsConfig
from relay.destinations.base import Destination
from relay.destinations.file import FileDestination
from relay.destinations.subscribers import SubscribersDestination
from relay.destinations.web import WebDestination
from relay.sources.base import Connection, SourceRuntime

log = logging.getLogger("relay")


class Observed(Protocol):
    """What the endpoint reads of the running relay (relay.server.Relay)."""

    @property
    def state(self) -> str:
        """"starting", "running" or "stopping"."""

    @property
    def sources(self) -> Mapping[str, SourceRuntime]: ...

    @property
    def destinations(self) -> Mapping[str, Destination[Any]]: ...

    @property
    def connections(self) -> Iterable[Connection]: ...

    @property
    def reloads(self) -> Mapping[str, int]:
        """Config reloads by result, "ok" and "error"."""

    def workers(self) -> tuple[int, list[dict[str, int]]]:
        """(worker processes restarted, and for each worker running: its number,
        connections handed to it and messages it received)."""


class RelayCollector:
    """A prometheus-client collector over the relay's own counters, read at scrape time."""

    def __init__(self, relay: Observed):
        self.relay = relay

    def describe(self) -> Iterable[Metric]:
        return []  # the names depend on the config: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        relay = self.relay
        yield from self._sources(relay.sources, relay.connections)
        yield from self._destinations(relay.destinations)
        reloads = CounterMetricFamily("relay_config_reloads", "Config reloads (SIGHUP), "
                                      "by result", labels=["result"])
        for result in ("ok", "error"):
            reloads.add_metric([result], relay.reloads.get(result, 0))
        yield reloads
        yield from self._workers(*relay.workers())
        yield InfoMetricFamily("relay_build", "The relay's version",
                               value={"version": __version__})

    @staticmethod
    def _sources(sources: Mapping[str, SourceRuntime],
                 connections: Iterable[Connection]) -> Iterator[Metric]:
        labels = ["source"]
        received = CounterMetricFamily("relay_source_received", "Messages received",
                                       labels=labels)
        errors = CounterMetricFamily("relay_source_errors", "Messages that failed to parse or "
                                     "process, and framing errors", labels=labels)
        dropped = CounterMetricFamily("relay_source_dropped", "Messages dropped before "
                                      "parsing (by the kernel, by limits)", labels=labels)
        open_now = GaugeMetricFamily("relay_source_connections", "Connections open now",
                                     labels=labels)
        per_runtime = Counter(c.runtime for c in list(connections))
        for name, runtime in sources.items():
            received.add_metric([name], runtime.received)
            errors.add_metric([name], runtime.errors)
            dropped.add_metric([name], runtime.dropped)
            # (a source the workers serve has its connections there, counted in active)
            open_now.add_metric([name], max(per_runtime[runtime], runtime.active))
        yield from (received, errors, dropped, open_now)

    @staticmethod
    def _workers(restarts: int, workers: list[dict[str, int]]) -> Iterator[Metric]:
        if not workers:
            return
        conns = CounterMetricFamily("relay_worker_connections", "TCP connections handed to "
                                    "each worker process", labels=["worker"])
        received = CounterMetricFamily("relay_worker_received", "Messages each worker process "
                                       "received (since it started)", labels=["worker"])
        for w in workers:
            conns.add_metric([str(w["worker"])], w["connections"])
            received.add_metric([str(w["worker"])], w["received"])
        yield conns
        yield received
        yield CounterMetricFamily("relay_worker_restarts", "Worker processes that exited and "
                                  "were replaced", value=restarts)

    @staticmethod
    def _destinations(destinations: Mapping[str, Destination[Any]]) -> Iterator[Metric]:
        labels = ["destination"]
        written = CounterMetricFamily("relay_destination_written", "Lines that reached the "
                                      "file, pipe, program or client", labels=labels)
        dropped = CounterMetricFamily("relay_destination_dropped", "Lines dropped on purpose "
                                      "(bounded buffers)", labels=labels)
        queued = GaugeMetricFamily("relay_destination_queued_bytes", "Bytes taken and not "
                                   "yet written", labels=labels)
        clients = GaugeMetricFamily("relay_subscribers", "Subscribers (TCP or web) connected now",
                                    labels=labels)
        lost = CounterMetricFamily("relay_subscriber_dropped", "Lines a subscriber did not "
                                   "get because its buffer was full", labels=labels)
        files = GaugeMetricFamily("relay_destination_open_files", "Files a file destination "
                                  "has open now", labels=labels)
        refused = CounterMetricFamily("relay_destination_refused_paths", "Messages whose "
                                      "templated path was refused as spurious (..) and "
                                      "dropped", labels=labels)
        for name, dest in destinations.items():
            written.add_metric([name], dest.written)
            dropped.add_metric([name], dest.dropped)
            queued.add_metric([name], dest.queued() + dest.held_before())
            if isinstance(dest, SubscribersDestination | WebDestination):
                clients.add_metric([name], len(dest.clients))
                lost.add_metric([name], dest.dropped)
            if isinstance(dest, FileDestination):
                files.add_metric([name], dest.open_files)
                refused.add_metric([name], dest.refused)
        yield from (written, dropped, queued, clients, lost, files, refused)


class MetricsServer:
    """GET /metrics (Prometheus text format) and GET /healthz (200 once every source
    listens, 503 while starting or stopping)."""

    def __init__(self, config: MetricsConfig, relay: Observed):
        self.config = config
        self.relay = relay
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(RelayCollector(relay))
        ProcessCollector(registry=self.registry)
        self.runner: web.AppRunner | None = None

    async def start(self) -> list[str]:
        """Listen; the addresses bound, as http://HOST:PORT.  OSError when it cannot."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, self.config.port,
                           reuse_address=True)
        try:
            await site.start()
        except OSError:
            await self.stop()
            raise
        addresses = []
        for address in self.runner.addresses:
            host, port = address[:2]
            addresses.append(f"http://{f'[{host}]' if ':' in host else host}:{port}")
        return addresses

    async def stop(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        state = self.relay.state
        return web.Response(status=200 if state == "running" else 503, text=f"{state}\n")
