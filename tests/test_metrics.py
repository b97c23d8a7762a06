"""The [metrics] endpoint: /metrics names and values, /healthz, and `relay stats`."""

from __future__ import annotations

import asyncio
import os
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from relayproc import RelayProcess, lines_of, wait_for

from relay import __version__, server
from relay.__main__ import main
from relay.config import loads
from relay.destinations.file import FileDestination
from relay.errors import ConfigError

CONFIG = """
[metrics]
listen = "127.0.0.1:0"

[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"

[[destination]]
name = "d_json"
type = "file"
path = "messages.json"

[[destination]]
name = "d_live"
type = "subscribers"
listen = "tcp://127.0.0.1:0"

[[destination]]
name = "d_tree"
type = "file"
path = "tree/$PROGRAM.json"
create_dirs = true

[[destination]]
name = "d_refused"
type = "file"
path = "tree/$PROGRAM/../escape.json"

[[log]]
source = ["s_tcp"]
destination = ["d_json", "d_live", "d_tree", "d_refused"]
"""

NAMES = {
    "relay_source_received_total", "relay_source_errors_total",
    "relay_source_dropped_total", "relay_source_connections",
    "relay_destination_written_total", "relay_destination_dropped_total",
    "relay_destination_queued_bytes", "relay_subscribers", "relay_subscriber_dropped_total",
    "relay_config_reloads_total", "relay_build_info", "relay_destination_open_files",
    "relay_destination_refused_paths_total",
}


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One relay with metrics, two lines received over one open connection, one subscriber."""
    work = str(tmp_path_factory.mktemp("metrics"))
    with RelayProcess(CONFIG, work, expect_addresses=3) as relay:
        sub = socket.create_connection(relay.address("d_live"))
        conn = socket.create_connection(relay.address("s_tcp"))
        conn.sendall(b"<13>Jan  1 00:00:00 host prog: one\n<13>Jan  1 00:00:00 host prog: two\n")
        host, port = relay.address("metrics")
        base = f"http://{host}:{port}"
        wait_for(lambda: len(lines_of(os.path.join(work, "messages.json"))) == 2, 10, "lines")
        wait_for(lambda: len(lines_of(os.path.join(work, "tree", "prog.json"))) == 2, 10,
                 "the templated path's lines")
        wait_for(lambda: 'relay_subscribers{destination="d_live"} 1.0' in get(base + "/metrics")[1],
                 10, "the subscriber to count")
        yield relay, base
        conn.close()
        sub.close()
        assert relay.stop() == 0


def test_metric_names_and_values(running: Any) -> None:
    _, base = running
    status, text = get(base + "/metrics")
    assert status == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert NAMES <= {name for name, _ in samples}
    assert samples[("relay_source_received_total", (("source", "s_tcp"),))] == 2
    assert samples[("relay_source_connections", (("source", "s_tcp"),))] == 1
    assert samples[("relay_destination_written_total", (("destination", "d_json"),))] == 2
    assert samples[("relay_subscribers", (("destination", "d_live"),))] == 1
    assert samples[("relay_destination_open_files", (("destination", "d_json"),))] == 1
    assert samples[("relay_destination_open_files", (("destination", "d_tree"),))] == 1
    assert samples[("relay_destination_written_total", (("destination", "d_tree"),))] == 2
    assert samples[("relay_destination_open_files", (("destination", "d_refused"),))] == 0
    assert samples[("relay_destination_refused_paths_total",
                    (("destination", "d_refused"),))] == 2
    assert samples[("relay_destination_refused_paths_total", (("destination", "d_tree"),))] == 0
    assert samples[("relay_config_reloads_total", (("result", "ok"),))] == 0
    assert samples[("relay_build_info", (("version", __version__),))] == 1
    assert get(base + "/healthz") == (200, "running\n")


def test_relay_stats_prints_a_table(running: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, base = running
    assert main(["stats", base.removeprefix("http://")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["source", "received", "errors", "dropped", "connections"]
    assert out[1].split() == ["s_tcp", "2", "0", "0", "1"]
    assert out[3].split() == ["destination", "written", "dropped", "queued_bytes",
                              "subscribers", "subscriber_dropped", "open_files",
                              "refused_paths"]
    assert out[4].split() == ["d_json", "2", "0", "0", "-", "-", "1", "0"]
    assert out[5].split()[:2] == ["d_live", "2"] and out[5].split()[4] == "1"
    assert out[6].split() == ["d_refused", "0", "2", "0", "-", "-", "0", "2"]
    assert out[7].split() == ["d_tree", "2", "0", "0", "-", "-", "1", "0"]
    assert out[-2:] == ["config reloads: 0 ok, 0 error", f"relay {__version__}"]


def test_relay_stats_without_a_relay(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    assert main(["stats", f"127.0.0.1:{port}"]) == 1
    assert f"cannot read http://127.0.0.1:{port}/metrics" in capsys.readouterr().err


def test_metrics_listen_is_checked() -> None:
    head = '[[source]]\nname = "s"\nlisten = "udp://127.0.0.1:0"\n'
    assert loads(head).metrics is None
    assert loads(head + "[metrics]\n").metrics.listen == "127.0.0.1:9514"  # type: ignore[union-attr]
    for bad in ('"tcp://127.0.0.1:9514"', '"127.0.0.1"', '"127.0.0.1:99999"', "9514"):
        with pytest.raises(ConfigError, match=r"line 5: \[metrics\] key 'listen'"):
            loads(head + f"[metrics]\nlisten = {bad}\n")


async def _status(url: str) -> int:
    return (await asyncio.to_thread(get, url))[0]


@pytest.mark.asyncio
async def test_healthz_is_503_while_starting_and_stopping(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    config = loads(CONFIG.replace("messages.json", os.path.join(str(tmp_path), "m.json")))
    sources_may_start = asyncio.Event()
    destinations_may_stop = asyncio.Event()
    start_source = server.start_source
    stop_file = FileDestination.stop

    async def slow_start(runtime: Any) -> Any:
        await sources_may_start.wait()
        return await start_source(runtime)

    async def slow_stop(self: FileDestination) -> None:
        await destinations_may_stop.wait()
        await stop_file(self)

    monkeypatch.setattr(server, "start_source", slow_start)
    monkeypatch.setattr(FileDestination, "stop", slow_stop)
    relay = server.Relay(config)
    starting = asyncio.create_task(relay.start())
    for _ in range(500):
        await asyncio.sleep(0.01)
        if relay.metrics is not None and relay.metrics.runner is not None \
                and relay.metrics.runner.addresses:
            break
    assert relay.metrics is not None and relay.metrics.runner is not None
    host, port = relay.metrics.runner.addresses[0][:2]
    url = f"http://{host}:{port}/healthz"
    assert await _status(url) == 503
    sources_may_start.set()
    await starting
    assert await _status(url) == 200
    stopping = asyncio.create_task(relay.stop())
    await asyncio.sleep(0)
    assert await _status(url) == 503
    destinations_may_stop.set()
    await stopping
    with pytest.raises(OSError):
        get(url)
