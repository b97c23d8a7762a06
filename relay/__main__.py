"""The command line: ``relay --config FILE``, ``relay --check --config FILE``, ``--version``,
and subcommands (``relay stats``, ``relay tail``), each dispatched on its name before the
daemon's options."""

from __future__ import annotations

import argparse
import logging
import sys

from relay import __version__
from relay.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["stats"]:
        return stats(argv[1:])
    if argv[:1] == ["tail"]:
        from relay import tail

        return tail.main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="relay", description="Relay syslog (UDP, TCP, TLS, unix sockets, stdin) as JSON "
        "lines, the way syslog-ng's format-json writes them.",
        epilog="subcommands: relay stats [HOST:PORT] prints a running relay's metrics as a "
        "table; relay tail [--filter EXPR] [--json] [HOST:PORT] follows its live feed")
    parser.add_argument("--config", "-c", metavar="FILE", help="the TOML config to run")
    parser.add_argument("--check", action="store_true",
                        help="validate the config and exit (0 when valid, 1 otherwise)")
    parser.add_argument("--version", action="version", version=f"relay {__version__}")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    if not args.config:
        parser.error("--config FILE is required")
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="relay: %(levelname)s: %(message)s")

    from relay import config as config_mod
    from relay import heap, server
    from relay.assemble import check

    try:
        config = config_mod.load(args.config)
        check(config)
        if args.check:
            print(f"relay: {args.config}: ok", file=sys.stderr)
            return 0
        heap.keep_freed_memory()
        return server.run(config)
    except ConfigError as exc:
        print(f"relay: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def stats(argv: list[str]) -> int:
    """``relay stats [HOST:PORT]``: a running relay's /metrics as a table."""
    from relay import stats as stats_mod
    from relay.config.metrics import DEFAULT_LISTEN

    parser = argparse.ArgumentParser(prog="relay stats", description="Print the metrics of "
                                     "a running relay ([metrics] listen) as a table.")
    parser.add_argument("address", nargs="?", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                        help=f"where its [metrics] listen (default {DEFAULT_LISTEN})")
    args = parser.parse_args(argv)
    try:
        text = stats_mod.fetch(args.address)
    except (OSError, ValueError) as exc:
        print(f"relay stats: cannot read http://{args.address}/metrics: {exc}",
              file=sys.stderr)
        return 1
    sys.stdout.write(stats_mod.table(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
