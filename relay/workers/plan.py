"""Which sources the workers serve, and the config a worker runs (no IO).

A source is served by the workers when it listens on TCP or UDP and every destination
its log paths can reach writes rendered lines as they are (a file with a fixed path, a
pipe, a program or stdout), or is a subscribers feed, whose clients' filters the workers
run (relay.workers.feed).  A worker runs the config cut down to those sources, the
log paths that take them and the destinations these reach, without [metrics].
"""

from __future__ import annotations

import dataclasses

from relay.config import Config, DestinationConfig

SCHEMES = ("tcp", "udp")
LINE_TYPES = ("file", "pipe", "program", "stdout", "subscribers")


def _takes(log_sources: tuple[str, ...], flags: tuple[str, ...], source: str) -> bool:
    return "catchall" in flags or source in log_sources


def _writes_lines(dest: DestinationConfig) -> bool:
    return dest.type in LINE_TYPES and "$" not in getattr(dest, "path", "")


def served(config: Config) -> tuple[str, ...]:
    """The names of the sources that the workers serve (none with ``workers = 1``)."""
    if config.options.workers <= 1:
        return ()
    by_name = {d.name: d for d in config.destinations}
    names = []
    for source in config.sources:
        if source.listen.scheme not in SCHEMES:
            continue
        reached = [by_name[d] for lg in config.logs if _takes(lg.source, lg.flags, source.name)
                   for d in lg.destination]
        if all(_writes_lines(d) for d in reached):
            names.append(source.name)
    return tuple(names)


def why_not(config: Config, source: str) -> str:
    """Why SOURCE is not served by the workers ("" when it is)."""
    if source in served(config):
        return ""
    by_name = {d.name: d for d in config.destinations}
    for lg in config.logs:
        if _takes(lg.source, lg.flags, source):
            for name in lg.destination:
                if not _writes_lines(by_name[name]):
                    return f"destination {name!r} needs each message"
    return "only TCP and UDP sources are"


def worker_config(config: Config, names: tuple[str, ...]) -> Config:
    """CONFIG as a worker runs it: the sources NAMES and what they reach."""
    wanted = set(names)
    logs = tuple(lg for lg in config.logs if "catchall" in lg.flags or wanted & set(lg.source))
    used = {d for lg in logs for d in lg.destination}
    return dataclasses.replace(
        config, metrics=None, options=dataclasses.replace(config.options, workers=1),
        sources=tuple(s for s in config.sources if s.name in wanted),
        logs=logs,
        destinations=tuple(d for d in config.destinations if d.name in used))


def refusal(old: Config, new: Config, kept: list[str]) -> str:
    """Why a reload from OLD to NEW cannot be done with workers running ("" if it can):
    a change of their number, or a kept source that moves in or out of the workers."""
    if old.options.workers != new.options.workers:
        return (f"[options] workers changed from {old.options.workers} to "
                f"{new.options.workers}: that takes a restart")
    was, now = set(served(old)), set(served(new))
    for name in kept:
        if (name in was) != (name in now):
            where = "the main process" if name in was else "the workers"
            return (f"source {name!r} would move to {where} ({why_not(new, name) or 'it may'}"
                    "): that takes a restart")
    return ""
