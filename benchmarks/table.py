"""The README's benchmark tables from one run's figures: ``python -m benchmarks.table FILE``.

FILE is what ``python -m benchmarks --json FILE`` wrote.  One table per workload, one row
per benchmark, the three daemons side by side; the ratios are msg/s of the relay over
each peer's in the same run.  loggen shares the cores with each daemon, so its own CPU per
message is given too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

TITLES = {
    "tcp": "**TCP, one connection** (300,000 lines)",
    "tcp8": "**TCP, eight connections at once** (`loggen --active-connections=8`)",
    "udp": "**UDP at a fixed offered rate**",
}
PEERS = ("relay", "syslog-ng", "rsyslog")


def _num(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    if not a or not b or not b["msg_per_s"]:
        return "-"
    return f"**{a['msg_per_s'] / b['msg_per_s']:.2f}×**"


def _triple(rows: dict[str, dict[str, Any]], key: str, digits: int) -> str:
    return " / ".join(_num(rows[p][key], digits) if p in rows else "-" for p in PEERS)


def _sender(rows: dict[str, dict[str, Any]]) -> str:
    """loggen's CPU µs per message sent, from the lowest to the highest of the three runs
    (figures from before it was measured have none)."""
    found = sorted(r["loggen_cpu_us_per_msg"] for r in rows.values()
                   if r.get("loggen_cpu_us_per_msg"))
    if not found:
        return "-"
    return _num(found[0], 2) if found[0] == found[-1] else (
        f"{_num(found[0], 2)} to {_num(found[-1], 2)}")


def tables(results: Iterable[dict[str, Any]]) -> str:
    by_bench: dict[str, dict[str, dict[str, Any]]] = {}
    order: dict[str, list[str]] = {}
    for r in results:
        if r.get("error"):
            continue
        if r["bench"] not in by_bench:
            order.setdefault(r["workload"], []).append(r["bench"])
        by_bench.setdefault(r["bench"], {})[r["daemon"]] = r
    out = []
    for workload, benches in order.items():
        out += [TITLES.get(workload, workload), "",
                "| benchmark | relay % written | relay msg/s | syslog-ng msg/s | rsyslog msg/s "
                "| relay/syslog-ng | relay/rsyslog | CPU µs/msg relay / syslog-ng / rsyslog "
                "| peak RSS MiB relay / syslog-ng / rsyslog | loggen CPU µs/msg |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for bench in benches:
            rows = by_bench[bench]
            relay = rows.get("relay")
            rates = [_num(rows[p]["msg_per_s"]) if p in rows else "-" for p in PEERS]
            out.append(" | ".join([
                f"| {bench}", f"{relay['pct_written']:.2f}" if relay else "-", *rates,
                _ratio(relay, rows.get("syslog-ng")), _ratio(relay, rows.get("rsyslog")),
                _triple(rows, "cpu_us_per_msg", 2), _triple(rows, "rss_mib", 1),
                _sender(rows)]) + " |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m benchmarks.table FIGURES.json", file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        data = json.load(f)
    sys.stdout.write(tables(data["results"]))
    if data.get("micro"):
        print("| case | µs/msg |\n| --- | ---: |")
        for m in data["micro"]:
            print(f"| {m['case']} | {m['us_per_msg']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
