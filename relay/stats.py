"""``relay stats``: a running relay's /metrics, read back as a table for people.

It reads what Prometheus reads (prometheus-client's parser), so the table and the
scrape always agree; nothing here touches the data path.
"""

from __future__ import annotations

import urllib.request
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

from relay.config.metrics import DEFAULT_LISTEN

#: the per-object tables: label -> (metric name, column) in column order
TABLES: dict[str, list[tuple[str, str]]] = {
    "source": [
        ("relay_source_received_total", "received"),
        ("relay_source_errors_total", "errors"),
        ("relay_source_dropped_total", "dropped"),
        ("relay_source_connections", "connections"),
    ],
    "destination": [
        ("relay_destination_written_total", "written"),
        ("relay_destination_dropped_total", "dropped"),
        ("relay_destination_queued_bytes", "queued_bytes"),
        ("relay_subscribers", "subscribers"),
        ("relay_subscriber_dropped_total", "subscriber_dropped"),
        ("relay_destination_open_files", "open_files"),
        ("relay_destination_refused_paths_total", "refused_paths"),
    ],
}


def fetch(address: str = DEFAULT_LISTEN, timeout: float = 5.0) -> str:
    """The text of http://ADDRESS/metrics; OSError when the relay does not answer."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=timeout) as response:
        return str(response.read().decode("utf-8"))


def table(text: str) -> str:
    """The metrics in TEXT (Prometheus text format) as tables, one row per object."""
    values: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    reloads: dict[str, float] = {}
    version = "?"
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for label in TABLES:
                if label in sample.labels:
                    values[label][sample.labels[label]][sample.name] = sample.value
            if sample.name == "relay_config_reloads_total":
                reloads[sample.labels.get("result", "")] = sample.value
            elif sample.name == "relay_build_info":
                version = sample.labels.get("version", "?")
    out: list[str] = []
    for label, columns in TABLES.items():
        rows = [[label] + [col for _, col in columns]]
        for name in sorted(values[label]):
            got = values[label][name]
            rows.append([name] + [_number(got.get(metric)) for metric, _ in columns])
        out += _aligned(rows) + [""]
    out.append(f"config reloads: {_number(reloads.get('ok'))} ok, "
               f"{_number(reloads.get('error'))} error")
    out.append(f"relay {version}")
    return "\n".join(out) + "\n"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if value == int(value) else f"{value:g}"


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join([row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in
                                                   zip(row[1:], widths[1:], strict=True)])
            for row in rows]
