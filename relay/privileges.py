"""Dropping root: after every port is bound and every file and key is open, become USER.

In the lifecycle, between start and run.  The order is the one that leaves nothing of
root behind: supplementary groups first (``setgroups([])``), then the group, then the
user, since after ``setuid`` the other two are no longer allowed.  From then on the
relay opens files as that user: a SIGHUP reopen, a rotation, a FIFO that returns and a
program destination's command all happen with its rights.  The files and directories
the relay created at start are given to it first, so that it can rotate and reopen them.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
from collections.abc import Sequence
from dataclasses import dataclass

from relay.config import Options
from relay.errors import ConfigError

log = logging.getLogger("relay")


@dataclass(frozen=True)
class Credentials:
    uid: int
    gid: int
    user: str
    group: str


def resolve(options: Options) -> Credentials | None:
    """The user and group of OPTIONS as ids; None when neither is set.  A group alone
    keeps the user; a user alone takes its primary group."""
    if not options.user and not options.group:
        return None
    uid = os.getuid()
    gid = os.getgid()
    user = options.user or str(uid)
    if options.user:
        try:
            entry = pwd.getpwnam(options.user) if not options.user.isdigit() \
                else pwd.getpwuid(int(options.user))
        except KeyError:
            raise ConfigError(f"[options] key 'user': no such user {options.user!r}") from None
        uid, gid = entry.pw_uid, entry.pw_gid
    group = options.group or str(gid)
    if options.group:
        try:
            gentry = grp.getgrnam(options.group) if not options.group.isdigit() \
                else grp.getgrgid(int(options.group))
        except KeyError:
            raise ConfigError(f"[options] key 'group': no such group {options.group!r}"
                              ) from None
        gid = gentry.gr_gid
    return Credentials(uid, gid, user, group)


def drop(creds: Credentials | None, created: Sequence[str] = ()) -> None:
    """Become CREDS (setgroups, setgid, setuid), first giving it the files and directories
    the relay CREATED at start, so that it can reopen and rotate them; ConfigError when
    that is not allowed."""
    if creds is None:
        return
    now = (os.getuid(), os.geteuid(), os.getgid(), os.getegid())
    if now == (creds.uid, creds.uid, creds.gid, creds.gid):
        return  # already that user and group: nothing to drop
    try:
        for path in created:
            os.chown(path, creds.uid, creds.gid, follow_symlinks=False)
        os.setgroups([])
        os.setgid(creds.gid)
        os.setuid(creds.uid)
    except OSError as exc:
        raise ConfigError(f"cannot run as user {creds.user!r} group {creds.group!r}: "
                          f"{exc.strerror} (the relay must start as root to change user)"
                          ) from None
    log.info("running as user %s (uid %d), group %s (gid %d)", creds.user, creds.uid,
             creds.group, creds.gid)
